// Surface-distance metrics of segmentations in mm: ASSD, HD95, the boundary ASSD between the
// predicted and true intra-/extra-meatal interfaces (CrossMoDA), and one call that gives Dice,
// ASSD and HD95 for every label of a prediction/truth pair.
//
// Definitions (S_P, S_T: the surface voxels of the predicted and true structure, see surface.ts:
// face neighbours, outside the volume counts as background; d(x, S): Euclidean distance in mm
// from voxel centre x to the nearest voxel centre of S, from an exact distance transform):
// - ASSD = (Σ_{x∈S_P} d(x, S_T) + Σ_{y∈S_T} d(y, S_P)) / (|S_P| + |S_T|): the mean of all
//   surface-to-surface distances of both directions pooled. (medpy's `assd` instead averages
//   the two directional means; the two agree when |S_P| = |S_T|.)
// - HD95 = the 95th percentile of the same pooled distances (numpy's default, linear
//   interpolation between order statistics), as medpy's `hd95`; not the maximum of the two
//   directional 95th percentiles.
// - Empty structures: both empty -> ASSD 0 and HD95 0 (nothing to find, nothing found);
//   exactly one empty -> `emptyPenalty` (mm) when given, else NaN (undefined distance).
//
// Work is confined to the bounding box of the two structures, which is exact: every surface
// voxel, and every voxel whose distance is read, lies inside it.
import { UnpairedError } from "../util/errors.js";
import { percentile } from "../volume/normalise.js";
import { edtSquared } from "./edt.js";
import { checkLabelPair, diceFromCounts, labelList, overlapCounts, type LabelInput } from "./overlap.js";
import { interfaceMask, surfaceMask } from "./surface.js";

export type { LabelInput } from "./overlap.js";

export interface SurfaceDistanceOptions {
  /** The structure is `data == label` in both maps; default: every nonzero voxel (binary masks). */
  label?: number;
  /** Voxel size in mm per axis; default the prediction's spacing, else the truth's, else 1. */
  spacing?: readonly number[];
  /** Returned (mm) when exactly one of the two is empty; default NaN. */
  emptyPenalty?: number;
}

/** The two directional distance lists between the surfaces of a prediction and a truth. */
export interface SurfaceDistances {
  /** d(x, S_T) in mm for every predicted surface voxel x (ascending voxel order); Infinity when the truth is empty. */
  predToTruth: Float64Array;
  /** d(y, S_P) in mm for every true surface voxel y; Infinity when the prediction is empty. */
  truthToPred: Float64Array;
  predEmpty: boolean;
  truthEmpty: boolean;
}

/** Three axes of a 2D or 3D shape (nz = 1 for 2D). */
const dims3 = (shape: readonly number[]): [number, number, number] => [shape[0]!, shape[1]!, shape.length === 3 ? shape[2]! : 1];

function resolveSpacing(what: string, shape: readonly number[], pred: LabelInput, truth: LabelInput, spacing: readonly number[] | undefined): number[] {
  const s = spacing ?? pred.spacing ?? truth.spacing ?? shape.map(() => 1);
  if (s.length !== shape.length || !s.every((v) => Number.isFinite(v) && v > 0)) {
    throw new UnpairedError("BAD_CONFIG", `${what}: spacing [${s}] must give one positive voxel size in mm per axis of shape [${shape}]`);
  }
  return [...s];
}

function checkPenalty(what: string, p: number | undefined): void {
  if (p !== undefined && !(typeof p === "number" && p >= 0)) {
    throw new UnpairedError("BAD_CONFIG", `${what}: emptyPenalty ${p} must be a non-negative distance in mm (or left out for NaN)`);
  }
}

/** Inclusive-exclusive voxel box [lo, hi) on three axes. */
interface Box {
  lo: [number, number, number];
  hi: [number, number, number];
}

const emptyBox = (): Box => ({ lo: [Infinity, Infinity, Infinity], hi: [-Infinity, -Infinity, -Infinity] });
const boxIsEmpty = (b: Box): boolean => !(b.hi[0] > b.lo[0]);

/** Grows `box` to hold every voxel with data == label (label null: every nonzero voxel). */
function extendBox(data: ArrayLike<number>, d: [number, number, number], label: number | null, box: Box): void {
  const [nx, ny, nz] = d;
  const { lo, hi } = box;
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++, i += nx) {
      let first = -1;
      let last = -1;
      if (label === null) {
        for (let x = 0; x < nx; x++) if (data[i + x] !== 0) { if (first < 0) first = x; last = x; }
      } else {
        for (let x = 0; x < nx; x++) if (data[i + x] === label) { if (first < 0) first = x; last = x; }
      }
      if (first < 0) continue;
      if (first < lo[0]) lo[0] = first;
      if (last + 1 > hi[0]) hi[0] = last + 1;
      if (y < lo[1]) lo[1] = y;
      if (y + 1 > hi[1]) hi[1] = y + 1;
      if (z < lo[2]) lo[2] = z;
      if (z + 1 > hi[2]) hi[2] = z + 1;
    }
  }
}

/** The box's voxels of `data`, as 1 where data == label (label null: nonzero), x fastest. */
function cropMatch(data: ArrayLike<number>, d: [number, number, number], box: Box, label: number | null): Uint8Array {
  const [nx, ny] = d;
  const bx = box.hi[0] - box.lo[0];
  const by = box.hi[1] - box.lo[1];
  const bz = box.hi[2] - box.lo[2];
  const out = new Uint8Array(bx * by * bz);
  let k = 0;
  for (let z = box.lo[2]; z < box.hi[2]; z++) {
    for (let y = box.lo[1]; y < box.hi[1]; y++) {
      const row = box.lo[0] + nx * (y + ny * z);
      if (label === null) for (let x = 0; x < bx; x++) out[k++] = data[row + x] !== 0 ? 1 : 0;
      else for (let x = 0; x < bx; x++) out[k++] = data[row + x] === label ? 1 : 0;
    }
  }
  return out;
}

const boxShape = (box: Box, ndim: number): number[] => [0, 1, 2].slice(0, ndim).map((a) => box.hi[a]! - box.lo[a]!);

/** Distances from every point of set A to set B and back (both given as masks over `shape`). */
function setDistances(sa: Uint8Array, sb: Uint8Array, shape: readonly number[], spacing: readonly number[]): SurfaceDistances {
  let na = 0;
  let nb = 0;
  for (let i = 0; i < sa.length; i++) {
    na += sa[i]!;
    nb += sb[i]!;
  }
  const predToTruth = new Float64Array(na);
  const truthToPred = new Float64Array(nb);
  const result = { predToTruth, truthToPred, predEmpty: na === 0, truthEmpty: nb === 0 };
  if (na === 0 || nb === 0) {
    predToTruth.fill(Infinity);
    truthToPred.fill(Infinity);
    return result;
  }
  const d2 = edtSquared(sb, shape, spacing);
  for (let i = 0, k = 0; k < na; i++) if (sa[i] !== 0) predToTruth[k++] = Math.sqrt(d2[i]!);
  edtSquared(sa, shape, spacing, d2);
  for (let i = 0, k = 0; k < nb; i++) if (sb[i] !== 0) truthToPred[k++] = Math.sqrt(d2[i]!);
  return result;
}

/** Surface distances of the structure `label` (null: nonzero) of two maps of one grid. */
function structureDistances(pred: ArrayLike<number>, truth: ArrayLike<number>, shape: readonly number[], spacing: readonly number[], label: number | null): SurfaceDistances {
  const d = dims3(shape);
  const box = emptyBox();
  extendBox(pred, d, label, box);
  extendBox(truth, d, label, box);
  if (boxIsEmpty(box)) return { predToTruth: new Float64Array(0), truthToPred: new Float64Array(0), predEmpty: true, truthEmpty: true };
  // Cropping is exact: structure voxels on the box's edge where the volume goes on have
  // neighbours outside the structure there, so they are surface voxels either way.
  const bs = boxShape(box, shape.length);
  const sa = surfaceMask(cropMatch(pred, d, box, label), bs);
  const sb = surfaceMask(cropMatch(truth, d, box, label), bs);
  return setDistances(sa, sb, bs, spacing);
}

/** Distances between two point sets given as masks (e.g. two interfaces), cropped to their box. */
function maskSetDistances(a: Uint8Array, b: Uint8Array, shape: readonly number[], spacing: readonly number[]): SurfaceDistances {
  const d = dims3(shape);
  const box = emptyBox();
  extendBox(a, d, null, box);
  extendBox(b, d, null, box);
  if (boxIsEmpty(box)) return { predToTruth: new Float64Array(0), truthToPred: new Float64Array(0), predEmpty: true, truthEmpty: true };
  const bs = boxShape(box, shape.length);
  return setDistances(cropMatch(a, d, box, null), cropMatch(b, d, box, null), bs, spacing);
}

/**
 * The directional surface distances (mm) between the structure in `pred` and in `truth`
 * (`options.label`, default every nonzero voxel). Both maps must share shape and spacing.
 */
export function surfaceDistances(pred: LabelInput, truth: LabelInput, options: SurfaceDistanceOptions = {}): SurfaceDistances {
  const shape = checkLabelPair("surfaceDistances", pred, truth);
  const spacing = resolveSpacing("surfaceDistances", shape, pred, truth, options.spacing);
  if (options.label !== undefined) labelList("surfaceDistances", options.label);
  return structureDistances(pred.data, truth.data, shape, spacing, options.label ?? null);
}

/** ASSD and HD95 of directional distances, with the empty cases of this module's header. */
export function summarizeDistances(d: SurfaceDistances, emptyPenalty?: number): { assd: number; hd95: number } {
  if (d.predEmpty && d.truthEmpty) return { assd: 0, hd95: 0 };
  if (d.predEmpty || d.truthEmpty) {
    const p = emptyPenalty ?? NaN;
    return { assd: p, hd95: p };
  }
  const n = d.predToTruth.length + d.truthToPred.length;
  const pooled = new Float64Array(n);
  pooled.set(d.predToTruth, 0);
  pooled.set(d.truthToPred, d.predToTruth.length);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += pooled[i]!;
  return { assd: sum / n, hd95: percentile(pooled, 95) };
}

/**
 * Average symmetric surface distance (mm): the mean of all surface-to-surface distances of both
 * directions pooled. Both empty -> 0; exactly one empty -> options.emptyPenalty, else NaN.
 */
export function assd(pred: LabelInput, truth: LabelInput, options: SurfaceDistanceOptions = {}): number {
  checkPenalty("assd", options.emptyPenalty);
  return summarizeDistances(surfaceDistances(pred, truth, options), options.emptyPenalty).assd;
}

/**
 * 95th percentile (mm) of the pooled surface distances of both directions (linear
 * interpolation, as numpy.percentile). Both empty -> 0; exactly one empty -> emptyPenalty, else NaN.
 */
export function hd95(pred: LabelInput, truth: LabelInput, options: SurfaceDistanceOptions = {}): number {
  checkPenalty("hd95", options.emptyPenalty);
  return summarizeDistances(surfaceDistances(pred, truth, options), options.emptyPenalty).hd95;
}

export interface BoundaryOptions {
  /** The two labels whose interface is compared; default [1, 2] (CrossMoDA's intra-/extra-meatal VS). */
  labels?: readonly [number, number];
  spacing?: readonly number[];
  emptyPenalty?: number;
}

/**
 * Boundary ASSD (mm): the ASSD between the predicted and the true interface of two labels
 * (voxels of a touching b plus voxels of b touching a; see interfaceMask). Empty cases as assd:
 * neither map has the interface -> 0; only one has it -> emptyPenalty, else NaN.
 */
export function boundaryAssd(pred: LabelInput, truth: LabelInput, options: BoundaryOptions = {}): number {
  const shape = checkLabelPair("boundaryAssd", pred, truth);
  const spacing = resolveSpacing("boundaryAssd", shape, pred, truth, options.spacing);
  checkPenalty("boundaryAssd", options.emptyPenalty);
  const [a, b] = checkBoundaryLabels("boundaryAssd", options.labels ?? [1, 2]);
  const d = maskSetDistances(interfaceMask(pred.data, shape, a, b), interfaceMask(truth.data, shape, a, b), shape, spacing);
  return summarizeDistances(d, options.emptyPenalty).assd;
}

function checkBoundaryLabels(what: string, labels: readonly number[]): [number, number] {
  if (!Array.isArray(labels) || labels.length !== 2 || !labels.every(Number.isInteger) || labels[0] === labels[1]) {
    throw new UnpairedError("BAD_CONFIG", `${what}: boundary labels [${labels}] must be two different whole numbers, e.g. [1, 2]`);
  }
  return [labels[0]!, labels[1]!];
}

export interface SegmentationMetricsOptions {
  /** The labels to score, e.g. [1, 2, 3] for CrossMoDA. */
  labels: readonly number[];
  /** A name per label (same order), e.g. ["intra-meatal VS", "extra-meatal VS", "cochlea"]; default the label number. */
  names?: readonly string[];
  /** Voxel size in mm per axis; default the prediction's spacing, else the truth's, else 1. */
  spacing?: readonly number[];
  /** ASSD/HD95 (mm) when exactly one of prediction and truth lacks a structure; default NaN. */
  emptyPenalty?: number;
  /**
   * The two labels whose interface gives the boundary ASSD; default [1, 2] when `labels` holds
   * both 1 and 2, else none. null: no boundary ASSD.
   */
  boundary?: readonly [number, number] | null;
}

export interface SegmentationRow {
  label: number;
  name: string;
  /** Both empty -> 1, exactly one empty -> 0. */
  dice: number;
  /** mm; both empty -> 0, exactly one empty -> emptyPenalty or NaN. */
  assd: number;
  /** mm; same empty cases as assd. */
  hd95: number;
  predVoxels: number;
  truthVoxels: number;
}

export interface SegmentationMetrics {
  rows: SegmentationRow[];
  /** ASSD (mm) between the predicted and true interface of `boundary`; null when not asked for. */
  boundaryAssd: number | null;
  /** The labels of the boundary ASSD, or null. */
  boundary: [number, number] | null;
  /** The spacing (mm) the distances were measured with. */
  spacing: number[];
}

/**
 * Dice, ASSD and HD95 for every label of a prediction/truth pair (one row per label, in the
 * order of options.labels), plus the boundary ASSD. Empty cases: both empty -> Dice 1, ASSD 0,
 * HD95 0; exactly one empty -> Dice 0 and ASSD = HD95 = emptyPenalty (mm) if given, else NaN.
 * The boundary ASSD follows the same rule with "interface" in place of "structure".
 */
export function segmentationMetrics(pred: LabelInput, truth: LabelInput, options: SegmentationMetricsOptions): SegmentationMetrics {
  const what = "segmentationMetrics";
  if (!options || typeof options !== "object") throw new UnpairedError("BAD_CONFIG", `${what}: pass options with labels, e.g. { labels: [1, 2, 3] }`);
  const shape = checkLabelPair(what, pred, truth);
  const labels = labelList(what, options.labels);
  if (options.names !== undefined && options.names.length !== labels.length) {
    throw new UnpairedError("BAD_CONFIG", `${what}: ${options.names.length} names for ${labels.length} labels; give one name per label, in the same order`);
  }
  const spacing = resolveSpacing(what, shape, pred, truth, options.spacing);
  checkPenalty(what, options.emptyPenalty);
  const rows = labels.map((label, i): SegmentationRow => {
    const c = overlapCounts(pred.data, truth.data, label);
    const s = summarizeDistances(structureDistances(pred.data, truth.data, shape, spacing, label), options.emptyPenalty);
    return { label, name: options.names?.[i] ?? String(label), dice: diceFromCounts(c.pred, c.truth, c.both), assd: s.assd, hd95: s.hd95, predVoxels: c.pred, truthVoxels: c.truth };
  });
  const boundary =
    options.boundary === null ? null : options.boundary !== undefined ? checkBoundaryLabels(what, options.boundary) : labels.includes(1) && labels.includes(2) ? ([1, 2] as [number, number]) : null;
  const boundaryValue = boundary ? boundaryAssd(pred, truth, { labels: boundary, spacing, ...(options.emptyPenalty !== undefined ? { emptyPenalty: options.emptyPenalty } : {}) }) : null;
  return { rows, boundaryAssd: boundaryValue, boundary, spacing };
}
