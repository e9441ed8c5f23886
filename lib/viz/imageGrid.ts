// Pictures of volumes: 2D display slices (plain or through a label's centroid), window/level to
// 8-bit grey, label contours drawn in colour, and image tiles composed into one grid image/PNG.
//
// Display orientation (one convention for images and labels alike): a slice keeps the two other
// axes in order (across z: [x, y]; across y: [x, z]; across x: [y, z], as lib/volume's extractSlice
// does); the first becomes the columns, increasing to the right, and the second the rows,
// increasing UPWARDS (row 0 at the top holds its last index). For RAS-oriented data such as the
// phantoms (identity-like affines) that is the usual view: axial slices with anterior up and the
// subject's right on the right (neurological convention), coronal and sagittal slices with
// superior up. `orientation: "raw"` keeps row r = index r instead (the order of a tensor's height
// axis, as the training display shows it).
import { UnpairedError } from "../util/errors.js";
import { labelCentroid } from "../volume/crop.js";
import { checkAxis, checkSameShape, checkVolume, labelMatcher, type AnyVolume, type LabelValues } from "../volume/geometry.js";
import { percentiles as percentilesOf } from "../volume/normalise.js";
import { extractSlice } from "../volume/slices.js";
import { emptyLike, type LabelArray, type LabelVolume } from "../volume/volume.js";
import { colourAt } from "./figure.js";
import { checkBitmap, makeBitmap, writePng, writePngSync, type Bitmap, type Channels } from "./png.js";

// ---------------------------------------------------------------------------------------------
// Slices

/** A 2D scalar image: `data` row-major, row 0 at the top, `width` values per row. */
export interface ScalarImage {
  width: number;
  height: number;
  data: ArrayLike<number>;
}

/** "up": rows run from the last index of the second in-plane axis (top) to 0; "raw": row r = index r. */
export type SliceOrientation = "up" | "raw";

/** A slice of a volume in display order (see the module comment), with where it came from. */
export interface DisplaySlice<T extends Float32Array | LabelArray = Float32Array | LabelArray> extends ScalarImage {
  data: T;
  /** Size in mm of one column step and one row step. */
  spacing: [number, number];
  /** The volume axis the slice was cut across (0 = x, 1 = y, 2 = z); null for a 2D volume. */
  axis: number | null;
  /** The slice's index along `axis`; null for a 2D volume. */
  index: number | null;
  orientation: SliceOrientation;
}

export interface SliceOptions {
  /** The axis to cut across (default 2: an x-y, i.e. axial, slice). Ignored for 2D volumes. */
  axis?: number;
  /** The slice index along `axis` (default: the middle, floor(n / 2)). Ignored for 2D volumes. */
  index?: number;
  /** Row order (default "up"; see the module comment). */
  orientation?: SliceOrientation;
}

function checkOrientation(o: unknown, what: string): SliceOrientation {
  if (o === undefined) return "up";
  if (o !== "up" && o !== "raw") throw new UnpairedError("BAD_OPTION", `${what}: orientation must be "up" or "raw", got ${JSON.stringify(o)}`);
  return o;
}

/** Reorders an x-fastest [n0, n1] array into display rows. */
function toDisplayOrder<T extends Float32Array | LabelArray>(src: T, n0: number, n1: number, orientation: SliceOrientation): T {
  if (orientation === "raw") return src.slice() as T;
  const out = emptyLike(src, n0 * n1);
  for (let r = 0; r < n1; r++) {
    const from = (n1 - 1 - r) * n0;
    out.set(src.subarray(from, from + n0), r * n0);
  }
  return out;
}

/**
 * The 2D slice `index` of `volume` across `axis`, in display order (module comment); a 2D volume
 * is returned whole (axis and index null). Works on Volumes and LabelVolumes alike, keeping the
 * array type. Data are copied.
 */
export function sliceOf<V extends AnyVolume>(volume: V, options: SliceOptions = {}): DisplaySlice<V["data"]> {
  checkVolume(volume, "sliceOf");
  const orientation = checkOrientation(options.orientation, "sliceOf");
  if (volume.shape.length === 2) {
    const [n0, n1] = volume.shape as [number, number];
    return { width: n0, height: n1, data: toDisplayOrder(volume.data, n0, n1, orientation), spacing: [volume.spacing[0]!, volume.spacing[1]!], axis: null, index: null, orientation };
  }
  const axis = options.axis ?? 2;
  checkAxis(axis, 3, "sliceOf");
  const n = volume.shape[axis]!;
  const index = options.index ?? Math.floor(n / 2);
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new UnpairedError("BAD_OPTION", `sliceOf: index ${index} must be a whole number 0..${n - 1} along axis ${axis} of shape [${volume.shape}]`);
  }
  const s = extractSlice(volume, axis, index);
  const [n0, n1] = s.shape as [number, number];
  return { width: n0, height: n1, data: toDisplayOrder(s.data, n0, n1, orientation), spacing: [s.spacing[0]!, s.spacing[1]!], axis, index, orientation };
}

export interface CentroidSliceOptions {
  /** The axis to cut across (default 2). Ignored for 2D volumes. */
  axis?: number;
  /** The labels whose centroid picks the slice (default: every non-zero label). */
  labelValues?: LabelValues;
  /** Row order (default "up"). */
  orientation?: SliceOrientation;
}

export interface CentroidSlice<T extends Float32Array | LabelArray> {
  image: DisplaySlice<T>;
  labels: DisplaySlice<LabelArray>;
  /** The axis cut across; null for 2D volumes. */
  axis: number | null;
  /** The slice index; null for 2D volumes. */
  index: number | null;
  /** True when the label occurs in the volume (the slice goes through its centroid). */
  found: boolean;
  /** Why the middle slice was taken instead (label absent); null when `found`. */
  fallback: string | null;
}

/**
 * The slice through the centroid of `labelValues` in `labels` (index = centroid rounded, halves
 * up), cut from both `volume` and `labels` (same shape). When the label is absent the middle slice
 * is taken and the result says so (`found: false`, `fallback` gives the reason). A 2D pair passes
 * through whole. (For a non-convex label the centroid's slice may miss it.)
 */
export function centroidSlice<V extends AnyVolume>(volume: V, labels: LabelVolume, options: CentroidSliceOptions = {}): CentroidSlice<V["data"]> {
  checkVolume(volume, "centroidSlice (image)");
  checkVolume(labels, "centroidSlice (labels)");
  checkSameShape(volume, [labels], "centroidSlice");
  const orientation = checkOrientation(options.orientation, "centroidSlice");
  let values: LabelValues | null = options.labelValues ?? null;
  if (values !== null) labelMatcher(values, "centroidSlice (labelValues)");
  else {
    const present = new Set<number>();
    for (let i = 0; i < labels.data.length; i++) if (labels.data[i] !== 0) present.add(labels.data[i]!);
    values = present.size > 0 ? [...present] : null;
  }
  const centroid = values === null ? null : labelCentroid(labels, values);
  const what = options.labelValues === undefined ? "no non-zero label" : `label ${JSON.stringify(options.labelValues)} does not occur`;
  if (volume.shape.length === 2) {
    return {
      image: sliceOf(volume, { orientation }),
      labels: sliceOf(labels, { orientation }),
      axis: null,
      index: null,
      found: centroid !== null,
      fallback: centroid === null ? `${what} in the labels; the 2D image is shown whole` : null,
    };
  }
  const axis = options.axis ?? 2;
  checkAxis(axis, 3, "centroidSlice");
  const middle = Math.floor(volume.shape[axis]! / 2);
  const index = centroid === null ? middle : Math.round(centroid[axis]!);
  return {
    image: sliceOf(volume, { axis, index, orientation }),
    labels: sliceOf(labels, { axis, index, orientation }),
    axis,
    index,
    found: centroid !== null,
    fallback: centroid === null ? `${what} in the labels; showing the middle slice ${middle} of axis ${axis}` : null,
  };
}

/**
 * Repeats rows or columns (nearest neighbour) so that the pixels of `slice` become about square:
 * the coarser of its two spacings is divided into round(coarse / fine) copies of the finer one.
 * Apply the same call to an image slice and its labels. Returns the slice itself when already square.
 */
export function squarePixels<T extends Float32Array | LabelArray>(slice: DisplaySlice<T>): DisplaySlice<T> {
  const [sc, sr] = slice.spacing;
  const fx = sc > sr ? Math.max(1, Math.round(sc / sr)) : 1;
  const fy = sr > sc ? Math.max(1, Math.round(sr / sc)) : 1;
  if (fx === 1 && fy === 1) return slice;
  const w = slice.width * fx;
  const h = slice.height * fy;
  const out = emptyLike(slice.data, w * h);
  for (let r = 0; r < h; r++) {
    const srcRow = Math.floor(r / fy) * slice.width;
    for (let c = 0; c < w; c++) out[r * w + c] = slice.data[srcRow + Math.floor(c / fx)]!;
  }
  return { ...slice, width: w, height: h, data: out, spacing: [sc / fx, sr / fy] };
}

function checkScalarImage(img: ScalarImage, what: string): void {
  if (img === null || typeof img !== "object" || !Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new UnpairedError("BAD_VOLUME", `${what}: expected a 2D image {width, height, data} with positive whole sizes (e.g. from sliceOf)`);
  }
  if (!img.data || img.data.length !== img.width * img.height) {
    throw new UnpairedError("BAD_VOLUME", `${what}: ${img.width}x${img.height} pixels need ${img.width * img.height} values, but data has ${img.data?.length}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Window / level

/**
 * How intensities map to grey levels 0..255:
 * - `{window, level}`: level - window/2 -> 0, level + window/2 -> 255 (a CT/MR viewer's window);
 * - `{range: [lo, hi]}`: a fixed range, e.g. [-1, 1] for network outputs;
 * - `{percentiles: [lo, hi]}`: the lo-th and hi-th percentiles of the image (or of `of`, e.g. the
 *   whole volume, so that several slices share one window). The default is percentiles [0.5, 99.5].
 * Values outside the window are clipped.
 */
export type WindowSpec =
  | { window: number; level: number }
  | { range: readonly [number, number] }
  | { percentiles: readonly [number, number]; of?: ArrayLike<number> };

export const DEFAULT_WINDOW: WindowSpec = Object.freeze({ percentiles: Object.freeze([0.5, 99.5]) as readonly [number, number] });

/** The intensity interval [lo, hi] that `spec` maps onto 0..255, for the values `data`. */
export function intensityWindow(data: ArrayLike<number>, spec: WindowSpec = DEFAULT_WINDOW): [number, number] {
  if (spec === null || typeof spec !== "object") throw new UnpairedError("BAD_OPTION", "windowLevel: give {window, level}, {range: [lo, hi]} or {percentiles: [lo, hi]}");
  if ("window" in spec || "level" in spec) {
    const { window, level } = spec as { window: number; level: number };
    if (!Number.isFinite(window) || !Number.isFinite(level) || !(window > 0)) {
      throw new UnpairedError("BAD_OPTION", `windowLevel: window (${window}) must be a positive number and level (${level}) a finite one`);
    }
    return [level - window / 2, level + window / 2];
  }
  if ("range" in spec) {
    const [lo, hi] = spec.range ?? [];
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo! < hi!)) {
      throw new UnpairedError("BAD_OPTION", `windowLevel: range [${spec.range}] must be two finite numbers, low before high (e.g. [-1, 1])`);
    }
    return [lo!, hi!];
  }
  if ("percentiles" in spec) {
    const [qlo, qhi] = spec.percentiles ?? [];
    if (!(qlo! >= 0 && qhi! <= 100 && qlo! < qhi!)) {
      throw new UnpairedError("BAD_OPTION", `windowLevel: percentiles [${spec.percentiles}] must satisfy 0 <= lo < hi <= 100 (e.g. [0.5, 99.5])`);
    }
    const [lo, hi] = percentilesOf(spec.of ?? data, [qlo!, qhi!]) as [number, number];
    return [lo, hi];
  }
  throw new UnpairedError("BAD_OPTION", "windowLevel: give {window, level}, {range: [lo, hi]} or {percentiles: [lo, hi]}");
}

/**
 * An 8-bit grey image of `slice`: [lo, hi] of the window (see {@link WindowSpec}; default the 0.5th
 * and 99.5th percentiles) maps linearly onto 0..255, rounded, and values outside are clipped. When
 * lo = hi (a constant image) values <= lo become 0 and the rest 255; NaN becomes 0.
 */
export function windowLevel(slice: ScalarImage, spec: WindowSpec = DEFAULT_WINDOW): Bitmap {
  checkScalarImage(slice, "windowLevel");
  const [lo, hi] = intensityWindow(slice.data, spec);
  const out = makeBitmap(slice.width, slice.height, 1);
  const src = slice.data;
  const d = out.data;
  const span = hi - lo;
  for (let i = 0; i < d.length; i++) {
    const v = src[i]!;
    if (!(v > lo)) d[i] = 0; // also NaN
    else if (v >= hi) d[i] = 255;
    else d[i] = Math.round(((v - lo) * 255) / span); // multiply first: exact halves stay exact
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Colours, channels and contours

/** A colour: "#rgb", "#rrggbb", "rgb(r, g, b)", or [r, g, b] with 0..255 components. */
export type Colour = string | readonly [number, number, number];

/** [r, g, b] (0..255) of a colour; BAD_OPTION when it cannot be read. */
export function parseColour(colour: Colour, what = "colour"): [number, number, number] {
  if (Array.isArray(colour)) {
    if (colour.length === 3 && colour.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) return [colour[0]!, colour[1]!, colour[2]!];
  } else if (typeof colour === "string") {
    const s = colour.trim();
    let m = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(s);
    if (m) return [m[1]!, m[2]!, m[3]!].map((h) => parseInt(h + h, 16)) as [number, number, number];
    m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(s);
    if (m) return [m[1]!, m[2]!, m[3]!].map((h) => parseInt(h, 16)) as [number, number, number];
    m = /^rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$/i.exec(s);
    if (m && [m[1], m[2], m[3]].every((v) => Number(v) <= 255)) return [Number(m[1]), Number(m[2]), Number(m[3])];
  }
  throw new UnpairedError("BAD_OPTION", `${what}: cannot read ${JSON.stringify(colour)}; use "#rrggbb", "#rgb", "rgb(r, g, b)" or [r, g, b] with 0..255`);
}

/**
 * `image` with `channels` samples per pixel: grey is replicated to RGB, RGB becomes grey by the
 * Rec. 601 luma, a missing alpha is 255 and a dropped alpha is simply dropped. Returns `image`
 * itself when it already has that many channels.
 */
export function convertChannels(image: Bitmap, channels: Channels): Bitmap {
  checkBitmap(image, "convertChannels");
  if (image.channels === channels) return image;
  const n = image.width * image.height;
  const out = makeBitmap(image.width, image.height, channels);
  const src = image.data;
  const sc = image.channels;
  const d = out.data;
  const srcColour = sc >= 3;
  const srcAlpha = sc === 2 || sc === 4;
  const dstColour = channels >= 3;
  const dstAlpha = channels === 2 || channels === 4;
  for (let p = 0; p < n; p++) {
    const i = p * sc;
    const o = p * channels;
    const r = src[i]!;
    const g = srcColour ? src[i + 1]! : r;
    const b = srcColour ? src[i + 2]! : r;
    if (dstColour) {
      d[o] = r;
      d[o + 1] = g;
      d[o + 2] = b;
    } else {
      d[o] = srcColour ? Math.round(0.299 * r + 0.587 * g + 0.114 * b) : r;
    }
    if (dstAlpha) d[o + channels - 1] = srcAlpha ? src[i + sc - 1]! : 255;
  }
  return out;
}

export interface ContourOptions {
  /**
   * Colour per label value: a map {label: colour} or a function; labels it leaves out use the
   * default, PALETTE order by label (label 1 -> PALETTE[0], label 2 -> PALETTE[1], ...).
   */
  colours?: Readonly<Record<number, Colour>> | ((label: number) => Colour | undefined);
  /** Contour width in pixels, drawn inwards from each label's boundary (default 1). */
  thickness?: number;
  /** Only these labels get contours (default: every non-zero label). */
  labelValues?: LabelValues;
}

/**
 * An RGB copy of `grey` (a grey or colour image) with the boundary of each label of `labels`
 * (same size, display order) drawn in its colour. A boundary pixel is a pixel of a non-zero label
 * with a 4-neighbour of another value inside the image (the image edge is not a boundary); with
 * `thickness` t > 1 the pixels of the same label within t - 1 4-neighbour steps of those are
 * drawn too, so the contour grows inwards and never covers another label.
 */
export function overlayContours(grey: Bitmap, labels: ScalarImage, options: ContourOptions = {}): Bitmap {
  checkBitmap(grey, "overlayContours (image)");
  checkScalarImage(labels, "overlayContours (labels)");
  if (labels.width !== grey.width || labels.height !== grey.height) {
    throw new UnpairedError(
      "BAD_VOLUME",
      `overlayContours: the labels are ${labels.width}x${labels.height} but the image is ${grey.width}x${grey.height}; slice both the same way (e.g. centroidSlice)`,
    );
  }
  const thickness = options.thickness ?? 1;
  if (!Number.isInteger(thickness) || thickness < 1) throw new UnpairedError("BAD_OPTION", `overlayContours: thickness ${thickness} must be a whole number >= 1`);
  const include = options.labelValues === undefined ? null : labelMatcher(options.labelValues, "overlayContours (labelValues)");
  const { width: w, height: h } = labels;
  const lab = labels.data;
  // ring[p] = 1 + steps from the boundary for drawn pixels, 0 otherwise.
  const ring = new Uint8Array(w * h);
  let frontier: number[] = [];
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const p = r * w + c;
      const v = lab[p]!;
      if (v === 0 || (include && !include(v))) continue;
      if ((c > 0 && lab[p - 1] !== v) || (c < w - 1 && lab[p + 1] !== v) || (r > 0 && lab[p - w] !== v) || (r < h - 1 && lab[p + w] !== v)) {
        ring[p] = 1;
        frontier.push(p);
      }
    }
  }
  for (let step = 2; step <= thickness && frontier.length > 0; step++) {
    const next: number[] = [];
    for (const p of frontier) {
      const v = lab[p]!;
      const c = p % w;
      const neighbours = [c > 0 ? p - 1 : -1, c < w - 1 ? p + 1 : -1, p - w, p + w];
      for (const q of neighbours) {
        if (q < 0 || q >= w * h || ring[q] !== 0 || lab[q] !== v) continue;
        ring[q] = step;
        next.push(q);
      }
    }
    frontier = next;
  }
  const out = convertChannels(grey, 3);
  const result = out === grey ? { ...grey, data: grey.data.slice() } : out;
  const cache = new Map<number, [number, number, number]>();
  const colourOf = (v: number): [number, number, number] => {
    let rgb = cache.get(v);
    if (!rgb) {
      const given = typeof options.colours === "function" ? options.colours(v) : options.colours?.[v];
      rgb = parseColour(given ?? colourAt(v - 1), `overlayContours colour of label ${v}`);
      cache.set(v, rgb);
    }
    return rgb;
  };
  const d = result.data;
  for (let p = 0; p < w * h; p++) {
    if (ring[p] === 0) continue;
    const [r, g, b] = colourOf(lab[p]!);
    d[p * 3] = r;
    d[p * 3 + 1] = g;
    d[p * 3 + 2] = b;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Grids

/** Integer nearest-neighbour upscaling: each pixel becomes a factor x factor block. */
export function upscale(image: Bitmap, factor: number): Bitmap {
  checkBitmap(image, "upscale");
  if (!Number.isInteger(factor) || factor < 1) throw new UnpairedError("BAD_OPTION", `upscale: factor ${factor} must be a whole number >= 1`);
  if (factor === 1) return image;
  const { width, height, channels: ch } = image;
  const out = makeBitmap(width * factor, height * factor, ch);
  const ow = width * factor;
  for (let r = 0; r < height; r++) {
    const row = new Uint8Array(ow * ch);
    for (let c = 0; c < width; c++) {
      const px = image.data.subarray((r * width + c) * ch, (r * width + c + 1) * ch);
      for (let k = 0; k < factor; k++) row.set(px, (c * factor + k) * ch);
    }
    for (let k = 0; k < factor; k++) out.data.set(row, (r * factor + k) * ow * ch);
  }
  return out;
}

export interface ComposeGridOptions {
  /** Pixels between neighbouring cells (default 2). */
  gap?: number;
  /** Pixels around the whole grid (default 0). */
  margin?: number;
  /** Colour of gaps, margins and padding (default white); a number is a grey level 0..255. */
  background?: Colour | number;
  /** Integer nearest-neighbour upscaling of every tile (default 1). */
  scale?: number;
}

/** Where each tile went in a composed grid, in output pixels. */
export interface GridLayout {
  /** Left edge of each column, and its width. */
  columnX: number[];
  columnWidth: number[];
  /** Top edge of each row, and its height. */
  rowY: number[];
  rowHeight: number[];
}

/**
 * One image of `tiles` (rows of tiles; rows may differ in length, and null/undefined leaves a cell
 * empty). Each column is as wide as its widest tile and each row as tall as its tallest (after
 * `scale`); a smaller tile is centred in its cell (extra pixel right/below). Cells are `gap` pixels
 * apart, inside a `margin`, on `background`. The output is grey when every tile and the background
 * are grey, RGB otherwise, with alpha when any tile has one.
 */
export function composeGrid(tiles: readonly (readonly (Bitmap | null | undefined)[])[], options: ComposeGridOptions = {}): Bitmap {
  return composeGridWithLayout(tiles, options).image;
}

/** {@link composeGrid}, also returning where the cells are. */
export function composeGridWithLayout(
  tiles: readonly (readonly (Bitmap | null | undefined)[])[],
  options: ComposeGridOptions = {},
): { image: Bitmap; layout: GridLayout } {
  const gap = options.gap ?? 2;
  const margin = options.margin ?? 0;
  const scale = options.scale ?? 1;
  if (!Number.isInteger(gap) || gap < 0) throw new UnpairedError("BAD_OPTION", `composeGrid: gap ${gap} must be a whole number of pixels >= 0`);
  if (!Number.isInteger(margin) || margin < 0) throw new UnpairedError("BAD_OPTION", `composeGrid: margin ${margin} must be a whole number of pixels >= 0`);
  if (!Number.isInteger(scale) || scale < 1) throw new UnpairedError("BAD_OPTION", `composeGrid: scale ${scale} must be a whole number >= 1`);
  if (!Array.isArray(tiles) || tiles.length === 0 || !tiles.every(Array.isArray)) {
    throw new UnpairedError("BAD_OPTION", "composeGrid: tiles must be a non-empty array of rows (arrays of images)");
  }
  const bg = options.background ?? "#ffffff";
  let bgRgb: [number, number, number];
  if (typeof bg === "number") {
    if (!Number.isInteger(bg) || bg < 0 || bg > 255) throw new UnpairedError("BAD_OPTION", `composeGrid: background grey level ${bg} must be 0..255`);
    bgRgb = [bg, bg, bg];
  } else bgRgb = parseColour(bg, "composeGrid background");
  const nRows = tiles.length;
  const nCols = Math.max(...tiles.map((r) => r.length));
  const colW = new Array<number>(nCols).fill(0);
  const rowH = new Array<number>(nRows).fill(0);
  let colour = !(bgRgb[0] === bgRgb[1] && bgRgb[1] === bgRgb[2]);
  let alpha = false;
  let count = 0;
  tiles.forEach((row, r) =>
    row.forEach((t, c) => {
      if (t === null || t === undefined) return;
      count++;
      checkBitmap(t, `composeGrid tile [${r}][${c}]`);
      colW[c] = Math.max(colW[c]!, t.width * scale);
      rowH[r] = Math.max(rowH[r]!, t.height * scale);
      if (t.channels >= 3) colour = true;
      if (t.channels === 2 || t.channels === 4) alpha = true;
    }),
  );
  if (count === 0) throw new UnpairedError("BAD_OPTION", "composeGrid: every cell is empty; give at least one tile");
  const channels = ((colour ? 3 : 1) + (alpha ? 1 : 0)) as Channels;
  const columnX: number[] = [];
  let x = margin;
  for (let c = 0; c < nCols; c++) {
    columnX.push(x);
    x += colW[c]! + (c < nCols - 1 ? gap : 0);
  }
  const rowY: number[] = [];
  let y = margin;
  for (let r = 0; r < nRows; r++) {
    rowY.push(y);
    y += rowH[r]! + (r < nRows - 1 ? gap : 0);
  }
  const width = x + margin;
  const height = y + margin;
  const fill = colour ? [...bgRgb, 255] : [bgRgb[0], 255];
  const out = makeBitmap(width, height, channels, fill);
  tiles.forEach((row, r) =>
    row.forEach((t, c) => {
      if (t === null || t === undefined) return;
      const tile = convertChannels(upscale(t, scale), channels);
      const ox = columnX[c]! + Math.floor((colW[c]! - tile.width) / 2);
      const oy = rowY[r]! + Math.floor((rowH[r]! - tile.height) / 2);
      const rowBytes = tile.width * channels;
      for (let ty = 0; ty < tile.height; ty++) {
        out.data.set(tile.data.subarray(ty * rowBytes, (ty + 1) * rowBytes), ((oy + ty) * width + ox) * channels);
      }
    }),
  );
  return { image: out, layout: { columnX, columnWidth: colW, rowY, rowHeight: rowH } };
}

/** Composes `tiles` ({@link composeGrid}) and writes the grid to `path` as a PNG, atomically; returns the image. */
export async function writeImageGridPng(path: string, tiles: readonly (readonly (Bitmap | null | undefined)[])[], options: ComposeGridOptions = {}): Promise<Bitmap> {
  const image = composeGrid(tiles, options);
  await writePng(path, image);
  return image;
}

/** Synchronous twin of {@link writeImageGridPng}. */
export function writeImageGridPngSync(path: string, tiles: readonly (readonly (Bitmap | null | undefined)[])[], options: ComposeGridOptions = {}): Bitmap {
  const image = composeGrid(tiles, options);
  writePngSync(path, image);
  return image;
}
