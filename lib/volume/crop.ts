// Cropping and padding on the voxel grid: a box (start + size, padding outside), a centred crop/pad,
// label bounding boxes and centroids, and the fixed-size ROI crop around a label (e.g. the cochleae).
import { UnpairedError } from "../util/errors.js";
import {
  checkSameShape,
  checkSize,
  checkVolume,
  isLabelVolume,
  labelMatcher,
  rebuild,
  translateAffine,
  type AnyVolume,
  type LabelValues,
} from "./geometry.js";
import { emptyLike, type LabelVolume } from "./volume.js";

/**
 * Crops (and/or pads) `vol` to the box that starts at voxel `start` and has `size` voxels per axis.
 * Both have one entry per axis ([x, y] or [x, y, z]); `start` may be negative and the box may run
 * past the end: voxels of the box outside the volume get `padValue` (default 0). The result has
 * shape `size`, the same spacing and kind (Volume or LabelVolume), and its affine is
 * affine·T(start), so every kept voxel keeps its world position (the new origin is affine·[start, 1]).
 */
export function cropOrPad<V extends AnyVolume>(vol: V, start: readonly number[], size: readonly number[], padValue = 0): V {
  checkVolume(vol, "cropOrPad");
  const nd = vol.shape.length;
  checkSize(size, nd, "cropOrPad");
  if (start.length !== nd || !start.every(Number.isInteger)) {
    throw new UnpairedError("BAD_OPTION", `cropOrPad: start [${start}] must be ${nd} whole numbers`);
  }
  if (!Number.isFinite(padValue)) throw new UnpairedError("BAD_OPTION", `cropOrPad: padValue ${padValue} must be finite`);
  if (isLabelVolume(vol)) {
    const probe = emptyLike(vol.data, 1);
    probe[0] = padValue;
    if (probe[0] !== padValue) {
      throw new UnpairedError("BAD_OPTION", `cropOrPad: pad value ${padValue} does not fit the labels' ${vol.data.constructor.name}`);
    }
  }
  const [nx, ny, nz = 1] = vol.shape as [number, number, number?];
  const [mx, my, mz = 1] = size as [number, number, number?];
  const [sx, sy, sz = 0] = start as [number, number, number?];
  const src = vol.data;
  const out = emptyLike(src, mx * my * mz);
  if (padValue !== 0) out.fill(padValue);
  // The run of x inside the volume, in box coordinates.
  const x0 = Math.max(0, -sx);
  const x1 = Math.min(mx, nx - sx);
  if (x1 > x0) {
    for (let z = 0; z < mz; z++) {
      const oz = z + sz;
      if (oz < 0 || oz >= nz) continue;
      for (let y = 0; y < my; y++) {
        const oy = y + sy;
        if (oy < 0 || oy >= ny) continue;
        const from = sx + x0 + nx * (oy + ny * oz);
        out.set(src.subarray(from, from + (x1 - x0)), x0 + mx * (y + my * z));
      }
    }
  }
  return rebuild(vol, out, size, vol.spacing, translateAffine(vol.affine, start));
}

/**
 * Crops and/or pads each axis of `vol` symmetrically to `shape`. Per axis the box starts at
 * trunc((n - m) / 2): when the difference is odd, the extra voxel is cropped from (or padded at)
 * the end. Padding uses `padValue`; geometry as in {@link cropOrPad}.
 */
export function centerCropOrPad<V extends AnyVolume>(vol: V, shape: readonly number[], padValue = 0): V {
  checkVolume(vol, "centerCropOrPad");
  checkSize(shape, vol.shape.length, "centerCropOrPad");
  const start = vol.shape.map((n, a) => Math.trunc((n - shape[a]!) / 2) + 0); // + 0: no -0
  return cropOrPad(vol, start, shape, padValue);
}

/** An axis-aligned box of voxels: `start` (inclusive) and `end` (exclusive) per axis. */
export interface BoundingBox {
  start: number[];
  /** One past the last voxel, per axis. */
  end: number[];
  /** end - start. */
  size: number[];
  /** How many voxels matched. */
  count: number;
}

/**
 * The smallest box holding every voxel of `labels` whose value is one of `values`; null when no
 * voxel matches. Coordinates are voxel indices per axis ([x, y] or [x, y, z]).
 */
export function boundingBox(labels: AnyVolume, values: LabelValues): BoundingBox | null {
  checkVolume(labels, "boundingBox");
  const match = labelMatcher(values, "boundingBox");
  const [nx, ny, nz = 1] = labels.shape as [number, number, number?];
  const d = labels.data;
  let lo = [Infinity, Infinity, Infinity];
  let hi = [-1, -1, -1];
  let count = 0;
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        if (!match(d[i]!)) continue;
        count++;
        if (x < lo[0]!) lo[0] = x;
        if (x > hi[0]!) hi[0] = x;
        if (y < lo[1]!) lo[1] = y;
        if (y > hi[1]!) hi[1] = y;
        if (z < lo[2]!) lo[2] = z;
        if (z > hi[2]!) hi[2] = z;
      }
    }
  }
  if (count === 0) return null;
  const nd = labels.shape.length;
  lo = lo.slice(0, nd);
  hi = hi.slice(0, nd).map((h) => h + 1);
  return { start: lo, end: hi, size: hi.map((h, a) => h - lo[a]!), count };
}

/**
 * The centroid (mean voxel coordinate, per axis) of the voxels of `labels` whose value is one of
 * `values`; null when no voxel matches.
 */
export function labelCentroid(labels: AnyVolume, values: LabelValues): number[] | null {
  checkVolume(labels, "labelCentroid");
  const match = labelMatcher(values, "labelCentroid");
  const [nx, ny, nz = 1] = labels.shape as [number, number, number?];
  const d = labels.data;
  let sx = 0;
  let sy = 0;
  let sz = 0;
  let count = 0;
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        if (!match(d[i]!)) continue;
        count++;
        sx += x;
        sy += y;
        sz += z;
      }
    }
  }
  if (count === 0) return null;
  return [sx / count, sy / count, sz / count].slice(0, labels.shape.length);
}

export interface CropAroundLabelOptions {
  /** What the box is centred on: the label voxels' centroid (default) or their bounding box's centre. */
  centre?: "centroid" | "box";
  /** Image value outside the volume (default 0). */
  padValue?: number;
  /** Label value outside the volume (default 0). */
  labelPadValue?: number;
  /**
   * Shift the box (per axis) so that it stays inside the volume where the volume is large enough;
   * where it is not, the box is centred on the volume and padded. Default false: the box is
   * centred on the label exactly and padded where it runs out.
   */
  keepInside?: boolean;
}

export interface LabelCrop<V extends AnyVolume> {
  image: V;
  labels: LabelVolume;
  /** Voxel index (in the input) of the box's first voxel, per axis; may be negative. */
  start: number[];
  /** The centre used (continuous voxel coordinates in the input). */
  centre: number[];
}

/**
 * A fixed-size box of `size` voxels centred on the voxels of `labels` with one of `values` (their
 * centroid, or their bounding box's centre), cut identically from `image` and `labels` (the
 * IntraStyler "ROI around the cochleae": a fixed-size crop around label 3). The box covers
 * voxels start..start+size-1 per axis with start = round(centre - (size - 1) / 2) (halves round
 * up). Shapes of image and labels must match (BAD_VOLUME otherwise); an absent label is a
 * BAD_VOLUME error. Geometry as in {@link cropOrPad}.
 */
export function cropAroundLabel<V extends AnyVolume>(
  image: V,
  labels: LabelVolume,
  values: LabelValues,
  size: readonly number[],
  options: CropAroundLabelOptions = {},
): LabelCrop<V> {
  checkVolume(image, "cropAroundLabel (image)");
  checkVolume(labels, "cropAroundLabel (labels)");
  checkSameShape(image, [labels], "cropAroundLabel");
  checkSize(size, image.shape.length, "cropAroundLabel");
  const mode = options.centre ?? "centroid";
  if (mode !== "centroid" && mode !== "box") {
    throw new UnpairedError("BAD_OPTION", `cropAroundLabel: centre must be "centroid" or "box", got ${String(mode)}`);
  }
  let centre: number[] | null;
  if (mode === "centroid") {
    centre = labelCentroid(labels, values);
  } else {
    const box = boundingBox(labels, values);
    centre = box && box.start.map((s, a) => (s + box.end[a]! - 1) / 2);
  }
  if (!centre) {
    throw new UnpairedError("BAD_VOLUME", `cropAroundLabel: label ${JSON.stringify(values)} does not occur in the label volume; nothing to centre the crop on`);
  }
  const start = centre.map((c, a) => {
    const m = size[a]!;
    const n = image.shape[a]!;
    const s = Math.round(c - (m - 1) / 2) + 0; // + 0: no -0
    if (!options.keepInside) return s;
    return n >= m ? Math.min(Math.max(s, 0), n - m) : Math.trunc((n - m) / 2) + 0;
  });
  return {
    image: cropOrPad(image, start, size, options.padValue ?? 0),
    labels: cropOrPad(labels, start, size, options.labelPadValue ?? 0),
    start,
    centre,
  };
}
