// Plotly figures made of images: a generic labelled grid, the IntraStyler exemplar grid (source
// images x exemplars, paper Fig. 4) and the SLERP style-interpolation grid (paper Fig. 3). Each cell
// is an `image` trace whose `source` is a PNG data URI, on its own pair of hidden axes; the figure's
// size follows from the cells and one display scale, so every image keeps its aspect ratio.
import { UnpairedError } from "../util/errors.js";
import { colourAt, type Figure, type Trace } from "./figure.js";
import { checkBitmap, pngDataUri, type Bitmap } from "./png.js";

/** Colour of the titles and outline of extrapolated columns (t outside [0, 1]). */
export const EXTRAPOLATED_COLOUR = "#d62728";

/** A column title: its text, and optionally a colour and a small note above it. */
export interface ColumnTitle {
  text: string;
  colour?: string;
  note?: string;
}

/** Display options shared by the image figures. */
export interface ImageFigureOptions {
  /** Figure title. */
  title?: string;
  /** Screen pixels of the largest tile side (default 160); every image gets the same magnification. */
  tileSize?: number;
  /** Screen pixels between cells (default 4). */
  gap?: number;
}

/** One row of {@link imageGridFigure}: a label (drawn on the left) and its images; null leaves a cell empty. */
export interface ImageGridRow {
  label?: string;
  colour?: string;
  images: readonly (Bitmap | null | undefined)[];
}

export interface ImageGridInput extends ImageFigureOptions {
  rows: readonly ImageGridRow[];
  /** One title per column (fewer is fine; the rest stay untitled). */
  columnTitles?: readonly (string | ColumnTitle)[];
}

/** An image with an optional row label. */
export interface LabelledImage {
  image: Bitmap;
  label?: string;
}

/** An exemplar (a target image chosen per style cluster): its name and/or cluster give its title and colour. */
export interface ExemplarImage {
  image: Bitmap;
  /** Title text (default "cluster <cluster>", or "exemplar <j>"). */
  name?: string;
  /** Cluster index: colours the title like the cluster in the style-space plot (PALETTE order). */
  cluster?: number;
}

export interface ExemplarGridInput extends ImageFigureOptions {
  /** Source images, one per row (a bare image or {image, label}). */
  sources: readonly (Bitmap | LabelledImage)[];
  /** Exemplars, one per column, drawn along the top row. */
  exemplars: readonly ExemplarImage[];
  /** translations[i][j]: source i translated with the style of exemplar j. */
  translations: readonly (readonly Bitmap[])[];
}

export interface InterpolationGridInput extends ImageFigureOptions {
  /** One per row: a source image to show in a first column, and/or just its label. */
  sources: readonly (Bitmap | { image?: Bitmap; label?: string })[];
  /** Interpolation weights, one per column: style = slerp(s_A, s_B, t). */
  ts: readonly number[];
  /** images[i][j]: source i translated with the style at ts[j]. */
  images: readonly (readonly Bitmap[])[];
  /** Which columns are extrapolated (default: t < 0 or t > 1). */
  extrapolated?: readonly boolean[];
  /** The exemplars whose styles are interpolated (t = 0 and t = 1), drawn at the left and right ends. */
  exemplars?: readonly [ExemplarImage, ExemplarImage];
}

// ---------------------------------------------------------------------------------------------
// The layout engine: cells on a row/column grid, some spanning several rows.

interface Cell {
  row: number;
  col: number;
  rowSpan: number;
  image: Bitmap;
  name: string;
}

interface GridSpec extends ImageFigureOptions {
  nRows: number;
  nCols: number;
  cells: Cell[];
  columnTitles: (ColumnTitle | null)[];
  rowLabels: ({ text: string; colour?: string } | null)[];
  /** Extra screen pixels after these rows / columns (a separator). */
  extraGapAfterRow?: Map<number, number>;
  extraGapAfterCol?: Map<number, number>;
  /** Columns outlined with a dotted line of the given colour. */
  outlinedColumns?: { col: number; colour: string }[];
}

const TITLE_PX = 40;
const COLUMN_TITLE_PX = 22;
const NOTE_PX = 16;
const ROW_LABEL_PX = 30;
const EDGE_PX = 8;

const round4 = (v: number): number => Math.round(v * 1e4) / 1e4 + 0; // + 0: no -0 (JSON has none)
const clamp01 = (v: number): number => Math.min(1, Math.max(0, round4(v)));

function checkFigureOptions(o: ImageFigureOptions, what: string): { tileSize: number; gap: number } {
  const tileSize = o.tileSize ?? 160;
  const gap = o.gap ?? 4;
  if (!(Number.isFinite(tileSize) && tileSize >= 8)) throw new UnpairedError("BAD_OPTION", `${what}: tileSize ${tileSize} must be a number of screen pixels >= 8`);
  if (!(Number.isFinite(gap) && gap >= 0)) throw new UnpairedError("BAD_OPTION", `${what}: gap ${gap} must be a number of screen pixels >= 0`);
  if (o.title !== undefined && typeof o.title !== "string") throw new UnpairedError("BAD_OPTION", `${what}: title must be a string`);
  return { tileSize, gap };
}

function buildGridFigure(spec: GridSpec, what: string): Figure {
  const { tileSize, gap } = checkFigureOptions(spec, what);
  const { nRows, nCols, cells } = spec;
  if (cells.length === 0) throw new UnpairedError("BAD_OPTION", `${what}: there are no images to show`);
  const maxSide = Math.max(...cells.map((c) => Math.max(c.image.width, c.image.height)));
  const scale = tileSize / maxSide; // screen pixels per image pixel, the same for every image
  const colW = new Array<number>(nCols).fill(0);
  const rowH = new Array<number>(nRows).fill(0);
  for (const c of cells) {
    colW[c.col] = Math.max(colW[c.col]!, c.image.width * scale);
    if (c.rowSpan === 1) rowH[c.row] = Math.max(rowH[c.row]!, c.image.height * scale);
  }
  const typical = Math.max(...rowH, 1);
  for (let r = 0; r < nRows; r++) if (rowH[r] === 0) rowH[r] = typical;
  for (let c = 0; c < nCols; c++) if (colW[c] === 0) colW[c] = Math.max(...colW, 1);
  const extraR = (r: number) => spec.extraGapAfterRow?.get(r) ?? 0;
  const extraC = (c: number) => spec.extraGapAfterCol?.get(c) ?? 0;
  const spanHeight = (row: number, span: number): number => {
    let h = 0;
    for (let r = row; r < row + span; r++) h += rowH[r]! + (r < row + span - 1 ? gap + extraR(r) : 0);
    return h;
  };
  // A spanning image taller than the rows it spans stretches its last row.
  for (const c of cells) {
    if (c.rowSpan > 1) {
      const need = c.image.height * scale - spanHeight(c.row, c.rowSpan);
      if (need > 0) rowH[c.row + c.rowSpan - 1]! += need;
    }
  }
  const colX: number[] = [];
  let x = 0;
  for (let c = 0; c < nCols; c++) {
    colX.push(x);
    x += colW[c]! + (c < nCols - 1 ? gap + extraC(c) : 0);
  }
  const rowY: number[] = [];
  let y = 0;
  for (let r = 0; r < nRows; r++) {
    rowY.push(y);
    y += rowH[r]! + (r < nRows - 1 ? gap + extraR(r) : 0);
  }
  const W = x;
  const H = y;
  const hasTitles = spec.columnTitles.some((t) => t !== null);
  const hasNotes = spec.columnTitles.some((t) => t?.note !== undefined);
  const hasRowLabels = spec.rowLabels.some((t) => t !== null);
  const margin = {
    l: EDGE_PX + (hasRowLabels ? ROW_LABEL_PX : 0),
    r: EDGE_PX,
    t: EDGE_PX + (spec.title ? TITLE_PX : 0) + (hasTitles ? COLUMN_TITLE_PX : 0) + (hasNotes ? NOTE_PX : 0),
    b: EDGE_PX,
    pad: 0,
  };
  // Whole screen pixels overall; the fraction left over widens the right and bottom margins.
  const width = Math.ceil(W + margin.l + margin.r);
  const height = Math.ceil(H + margin.t + margin.b);
  margin.r = round4(width - margin.l - W);
  margin.b = round4(height - margin.t - H);

  const data: Trace[] = [];
  const layout: Figure["layout"] = {};
  cells.forEach((cell, k) => {
    const suffix = k === 0 ? "" : String(k + 1);
    const bw = colW[cell.col]!;
    const bh = spanHeight(cell.row, cell.rowSpan);
    const bx = colX[cell.col]!;
    const by = rowY[cell.row]!;
    // Axis ranges: the box's size in image pixels, centred on the image (pixel centres at 0..w-1).
    const halfW = bw / scale / 2;
    const halfH = bh / scale / 2;
    const cx = (cell.image.width - 1) / 2;
    const cy = (cell.image.height - 1) / 2;
    data.push({ type: "image", name: cell.name, source: pngDataUri(cell.image), xaxis: `x${suffix}`, yaxis: `y${suffix}`, hoverinfo: "name" });
    const hidden = { showticklabels: false, ticks: "", showgrid: false, zeroline: false, showline: false };
    layout[`xaxis${suffix}`] = { domain: [clamp01(bx / W), clamp01((bx + bw) / W)], range: [round4(cx - halfW), round4(cx + halfW)], anchor: `y${suffix}`, ...hidden };
    layout[`yaxis${suffix}`] = {
      domain: [clamp01(1 - (by + bh) / H), clamp01(1 - by / H)],
      range: [round4(cy + halfH), round4(cy - halfH)], // reversed: row 0 at the top
      anchor: `x${suffix}`,
      scaleanchor: `x${suffix}`,
      scaleratio: 1,
      ...hidden,
    };
  });

  const annotations: Record<string, unknown>[] = [];
  spec.columnTitles.forEach((t, c) => {
    if (t === null || c >= nCols) return;
    const xc = clamp01((colX[c]! + colW[c]! / 2) / W);
    const colour = t.colour ?? "#222222";
    annotations.push({ text: t.text, x: xc, y: 1, xref: "paper", yref: "paper", xanchor: "center", yanchor: "bottom", yshift: 2, showarrow: false, font: { size: 12, color: colour } });
    if (t.note !== undefined) {
      annotations.push({ text: t.note, x: xc, y: 1, xref: "paper", yref: "paper", xanchor: "center", yanchor: "bottom", yshift: 2 + COLUMN_TITLE_PX - 4, showarrow: false, font: { size: 10, color: colour } });
    }
  });
  spec.rowLabels.forEach((t, r) => {
    if (t === null || r >= nRows) return;
    const yc = clamp01(1 - (rowY[r]! + rowH[r]! / 2) / H);
    annotations.push({ text: t.text, x: 0, y: yc, xref: "paper", yref: "paper", xanchor: "right", yanchor: "middle", xshift: -6, textangle: -90, showarrow: false, font: { size: 12, color: t.colour ?? "#222222" } });
  });
  const shapes: Record<string, unknown>[] = (spec.outlinedColumns ?? []).map(({ col, colour }) => ({
    type: "rect",
    xref: "paper",
    yref: "paper",
    x0: clamp01((colX[col]! - gap / 2) / W),
    x1: clamp01((colX[col]! + colW[col]! + gap / 2) / W),
    y0: 0,
    y1: 1,
    line: { color: colour, width: 1.5, dash: "dot" },
    fillcolor: "rgba(0,0,0,0)",
    layer: "above",
  }));

  Object.assign(layout, {
    width,
    height,
    margin,
    showlegend: false,
    hovermode: "closest",
    paper_bgcolor: "#ffffff",
    plot_bgcolor: "#ffffff",
    annotations,
  });
  if (shapes.length > 0) layout.shapes = shapes;
  if (spec.title) {
    const title = { text: spec.title, x: 0.5, xanchor: "center", yref: "container", y: round4(1 - EDGE_PX / height), yanchor: "top", font: { size: 15 } };
    layout.title = title;
  }
  return { data, layout, config: { displaylogo: false, responsive: false } };
}

const figureOptions = (o: ImageFigureOptions): ImageFigureOptions => ({ title: o.title, tileSize: o.tileSize, gap: o.gap });

function checkImage(image: unknown, what: string): Bitmap {
  checkBitmap(image as Bitmap, what);
  return image as Bitmap;
}

function checkText(text: unknown, what: string): string {
  if (typeof text !== "string") throw new UnpairedError("BAD_OPTION", `${what} must be a string, got ${typeof text}`);
  return text;
}

/** Array.isArray without narrowing (narrowing a readonly array to any[] loses its element type). */
const isArray = (x: unknown): boolean => Array.isArray(x);

const isBitmap = (x: unknown): x is Bitmap => typeof x === "object" && x !== null && "data" in x && "width" in x;

function exemplarTitle(e: ExemplarImage, j: number, what: string): ColumnTitle {
  if (e.cluster !== undefined && !Number.isInteger(e.cluster)) throw new UnpairedError("BAD_OPTION", `${what}: cluster ${e.cluster} must be a whole number`);
  const text = e.name !== undefined ? checkText(e.name, `${what} name`) : e.cluster !== undefined ? `cluster ${e.cluster}` : `exemplar ${j + 1}`;
  return e.cluster !== undefined ? { text, colour: colourAt(e.cluster) } : { text };
}

// ---------------------------------------------------------------------------------------------
// The builders

/**
 * A grid of images: one row per entry of `rows` (its label drawn rotated on the left), columns
 * titled by `columnTitles`. One image trace per non-empty cell, in row-major order.
 */
export function imageGridFigure(input: ImageGridInput): Figure {
  const what = "imageGridFigure";
  if (!input || !isArray(input.rows) || input.rows.length === 0) throw new UnpairedError("BAD_OPTION", `${what}: rows must be a non-empty array of {label, images}`);
  const nRows = input.rows.length;
  const nCols = Math.max(...input.rows.map((r, i) => {
    if (!r || !isArray(r.images)) throw new UnpairedError("BAD_OPTION", `${what}: rows[${i}].images must be an array of images (null for an empty cell)`);
    return r.images.length;
  }));
  const titles = (input.columnTitles ?? []).map((t, c): ColumnTitle => (typeof t === "string" ? { text: t } : { ...t, text: checkText(t?.text, `${what}: columnTitles[${c}].text`) }));
  if (titles.length > nCols) throw new UnpairedError("BAD_OPTION", `${what}: ${titles.length} column titles for ${nCols} columns; give at most one per column`);
  const cells: Cell[] = [];
  input.rows.forEach((row, r) =>
    row.images.forEach((img, c) => {
      if (img === null || img === undefined) return;
      const label = row.label ?? `row ${r + 1}`;
      cells.push({ row: r, col: c, rowSpan: 1, image: checkImage(img, `${what}: rows[${r}].images[${c}]`), name: titles[c] ? `${label} / ${titles[c]!.text}` : label });
    }),
  );
  return buildGridFigure(
    {
      ...figureOptions(input),
      nRows,
      nCols,
      cells,
      columnTitles: Array.from({ length: nCols }, (_, c) => titles[c] ?? null),
      rowLabels: input.rows.map((r, i) => (r.label === undefined ? null : { text: checkText(r.label, `${what}: rows[${i}].label`), ...(r.colour ? { colour: r.colour } : {}) })),
    },
    what,
  );
}

/**
 * The IntraStyler exemplar grid (paper Fig. 4, bottom): the exemplars along the top row, titled by
 * name/cluster (coloured like their cluster), the source images down the first column, and
 * translations[i][j] (source i in the style of exemplar j) in row i + 1, column j + 1. The top-left
 * cell is empty; a wider gap separates the exemplar row and the source column from the
 * translations. Traces: the exemplars (row 0), then each source row: source, translations.
 */
export function exemplarGridFigure(input: ExemplarGridInput): Figure {
  const what = "exemplarGridFigure";
  const { sources, exemplars, translations } = input ?? ({} as ExemplarGridInput);
  if (!isArray(sources) || sources.length === 0) throw new UnpairedError("BAD_OPTION", `${what}: sources must be a non-empty array of images`);
  if (!isArray(exemplars) || exemplars.length === 0) throw new UnpairedError("BAD_OPTION", `${what}: exemplars must be a non-empty array of {image, name?, cluster?}`);
  if (!isArray(translations) || translations.length !== sources.length) {
    throw new UnpairedError("BAD_OPTION", `${what}: translations needs one row per source (${sources.length}), got ${isArray(translations) ? translations.length : typeof translations}`);
  }
  const nR = sources.length;
  const nE = exemplars.length;
  const cells: Cell[] = [];
  const titles = exemplars.map((e, j) => exemplarTitle(e, j, `${what}: exemplars[${j}]`));
  exemplars.forEach((e, j) => cells.push({ row: 0, col: j + 1, rowSpan: 1, image: checkImage(e?.image, `${what}: exemplars[${j}].image`), name: `exemplar: ${titles[j]!.text}` }));
  const rowLabels: GridSpec["rowLabels"] = [{ text: "exemplar" }];
  sources.forEach((s, i) => {
    const image = isBitmap(s) ? s : s?.image;
    const label = (isBitmap(s) ? undefined : s?.label) ?? `source ${i + 1}`;
    rowLabels.push({ text: checkText(label, `${what}: sources[${i}].label`) });
    cells.push({ row: i + 1, col: 0, rowSpan: 1, image: checkImage(image, `${what}: sources[${i}]`), name: `${label}: source` });
    const row = translations[i];
    if (!isArray(row) || row.length !== nE) {
      throw new UnpairedError("BAD_OPTION", `${what}: translations[${i}] needs one image per exemplar (${nE}), got ${isArray(row) ? row.length : typeof row}`);
    }
    row.forEach((img, j) => cells.push({ row: i + 1, col: j + 1, rowSpan: 1, image: checkImage(img, `${what}: translations[${i}][${j}]`), name: `${label} in the style of ${titles[j]!.text}` }));
  });
  const { gap } = checkFigureOptions(input, what);
  const separator = Math.max(6, gap * 2);
  return buildGridFigure(
    {
      ...figureOptions(input),
      nRows: nR + 1,
      nCols: nE + 1,
      cells,
      columnTitles: [{ text: "source" }, ...titles],
      rowLabels,
      extraGapAfterRow: new Map([[0, separator]]),
      extraGapAfterCol: new Map([[0, separator]]),
    },
    what,
  );
}

/** "t = 0.25": t with at most 3 decimals and no trailing zeros. */
export const formatT = (t: number): string => `t = ${Number(t.toFixed(3))}`;

/**
 * The style-interpolation grid (IntraStyler Fig. 3): one row per source, one column per t (titled
 * "t = 0.25"), images[i][j] = source i with the style slerp(s_A, s_B, ts[j]). Extrapolated columns
 * (t outside [0, 1] unless `extrapolated` says otherwise) get red titles, an "extrapolated" note and
 * a dotted outline. Optional columns: the source images first (when `sources` carry images), and
 * the two exemplars at the ends (A left of the t columns, B right of them, each spanning all rows,
 * noted "style at t = 0" / "t = 1"). Traces in row-major order of the cells' top-left corners.
 */
export function interpolationGridFigure(input: InterpolationGridInput): Figure {
  const what = "interpolationGridFigure";
  const { sources, ts, images } = input ?? ({} as InterpolationGridInput);
  if (!isArray(sources) || sources.length === 0) throw new UnpairedError("BAD_OPTION", `${what}: sources must be a non-empty array (one per row)`);
  if (!isArray(ts) || ts.length === 0 || !ts.every(Number.isFinite)) throw new UnpairedError("BAD_OPTION", `${what}: ts must be a non-empty array of finite numbers`);
  if (!isArray(images) || images.length !== sources.length) {
    throw new UnpairedError("BAD_OPTION", `${what}: images needs one row per source (${sources.length}), got ${isArray(images) ? images.length : typeof images}`);
  }
  const extrapolated = input.extrapolated ?? ts.map((t) => t < 0 || t > 1);
  if (!isArray(extrapolated) || extrapolated.length !== ts.length) {
    throw new UnpairedError("BAD_OPTION", `${what}: extrapolated needs one flag per t (${ts.length})`);
  }
  const exemplars = input.exemplars;
  if (exemplars !== undefined && (!isArray(exemplars) || exemplars.length !== 2)) {
    throw new UnpairedError("BAD_OPTION", `${what}: exemplars must be the two exemplars [A (t = 0), B (t = 1)]`);
  }
  const srcImages = sources.map((s, i) => {
    const img = isBitmap(s) ? s : s?.image;
    return img === undefined ? null : checkImage(img, `${what}: sources[${i}].image`);
  });
  const labels = sources.map((s, i) => checkText((isBitmap(s) ? undefined : s?.label) ?? `source ${i + 1}`, `${what}: sources[${i}].label`));
  const withSources = srcImages.some((s) => s !== null);
  const nR = sources.length;
  const firstT = (withSources ? 1 : 0) + (exemplars ? 1 : 0);
  const nCols = firstT + ts.length + (exemplars ? 1 : 0);
  const cells: Cell[] = [];
  const columnTitles: GridSpec["columnTitles"] = [];
  const outlined: { col: number; colour: string }[] = [];
  if (withSources) columnTitles.push({ text: "source" });
  let exTitles: ColumnTitle[] = [];
  if (exemplars) {
    exTitles = exemplars.map((e, j) => exemplarTitle(e, j, `${what}: exemplars[${j}]`));
    columnTitles.push({ ...exTitles[0]!, note: "style at t = 0" });
  }
  ts.forEach((t, j) => {
    columnTitles.push(extrapolated[j] ? { text: formatT(t), colour: EXTRAPOLATED_COLOUR, note: "extrapolated" } : { text: formatT(t) });
    if (extrapolated[j]) outlined.push({ col: firstT + j, colour: EXTRAPOLATED_COLOUR });
  });
  if (exemplars) columnTitles.push({ ...exTitles[1]!, note: "style at t = 1" });
  for (let i = 0; i < nR; i++) {
    if (withSources && srcImages[i]) cells.push({ row: i, col: 0, rowSpan: 1, image: srcImages[i]!, name: `${labels[i]}: source` });
    if (exemplars && i === 0) {
      cells.push({ row: 0, col: firstT - 1, rowSpan: nR, image: checkImage(exemplars[0].image, `${what}: exemplars[0].image`), name: `exemplar A: ${exTitles[0]!.text}` });
    }
    const row = images[i];
    if (!isArray(row) || row.length !== ts.length) {
      throw new UnpairedError("BAD_OPTION", `${what}: images[${i}] needs one image per t (${ts.length}), got ${isArray(row) ? row.length : typeof row}`);
    }
    row.forEach((img, j) => cells.push({ row: i, col: firstT + j, rowSpan: 1, image: checkImage(img, `${what}: images[${i}][${j}]`), name: `${labels[i]}, ${formatT(ts[j]!)}` }));
    if (exemplars && i === 0) {
      cells.push({ row: 0, col: nCols - 1, rowSpan: nR, image: checkImage(exemplars[1].image, `${what}: exemplars[1].image`), name: `exemplar B: ${exTitles[1]!.text}` });
    }
  }
  const { gap } = checkFigureOptions(input, what);
  const separator = Math.max(6, gap * 2);
  const extraGapAfterCol = new Map<number, number>();
  if (firstT > 0) extraGapAfterCol.set(firstT - 1, separator);
  if (withSources && exemplars) extraGapAfterCol.set(0, separator);
  if (exemplars) extraGapAfterCol.set(nCols - 2, separator);
  return buildGridFigure(
    {
      ...figureOptions(input),
      nRows: nR,
      nCols,
      cells,
      columnTitles,
      rowLabels: labels.map((text) => ({ text })),
      extraGapAfterCol,
      outlinedColumns: outlined,
    },
    what,
  );
}
