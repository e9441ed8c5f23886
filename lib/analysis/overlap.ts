// Volume overlap of segmentations: the Dice coefficient per label, and the input checks that
// every segmentation metric of lib/analysis shares (same shape, same spacing).
import { UnpairedError } from "../util/errors.js";

/**
 * A label map: a LabelVolume, or any flat array of integer labels with its shape
 * ([nx, ny] or [nx, ny, nz], x fastest) and, optionally, its spacing in mm.
 */
export interface LabelInput {
  data: ArrayLike<number>;
  shape: readonly number[];
  spacing?: readonly number[];
}

/** Checks that `pred` and `truth` are label maps of one voxel grid; returns the shape. */
export function checkLabelPair(what: string, pred: LabelInput, truth: LabelInput): readonly number[] {
  for (const [name, v] of [["pred", pred], ["truth", truth]] as const) {
    if (!v || !v.data || !Array.isArray(v.shape)) {
      throw new UnpairedError("BAD_VOLUME", `${what}: ${name} must be a label volume ({ data, shape }); got ${v === null ? "null" : typeof v}`);
    }
    if ((v.shape.length !== 2 && v.shape.length !== 3) || !v.shape.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new UnpairedError("BAD_VOLUME", `${what}: ${name} has shape [${v.shape}]; it must be [nx, ny] or [nx, ny, nz] of positive whole numbers`);
    }
    const n = v.shape.reduce((a, b) => a * b, 1);
    if (v.data.length !== n) {
      throw new UnpairedError("BAD_VOLUME", `${what}: ${name} has ${v.data.length} voxels but its shape [${v.shape}] holds ${n}`);
    }
  }
  if (pred.shape.length !== truth.shape.length || pred.shape.some((n, i) => n !== truth.shape[i])) {
    throw new UnpairedError(
      "BAD_VOLUME",
      `${what}: pred has shape [${pred.shape}] but truth has [${truth.shape}]; resample or crop the prediction onto the ground truth's grid first`,
    );
  }
  if (pred.spacing && truth.spacing) {
    const bad = pred.spacing.length !== truth.spacing.length || pred.spacing.some((s, i) => Math.abs(s - truth.spacing![i]!) > 1e-4 * Math.max(1, Math.abs(s)));
    if (bad) {
      throw new UnpairedError(
        "BAD_VOLUME",
        `${what}: pred has spacing [${pred.spacing}] mm but truth has [${truth.spacing}] mm; they must share one voxel grid (resample the prediction, or pass options.spacing to override both)`,
      );
    }
  }
  return pred.shape;
}

/** Label list from `labels` (one label or several), checked. */
export function labelList(what: string, labels: number | readonly number[]): number[] {
  const list = typeof labels === "number" ? [labels] : [...(labels ?? [])];
  if (list.length === 0 || !list.every((l) => Number.isInteger(l))) {
    throw new UnpairedError("BAD_CONFIG", `${what}: labels [${list}] must be one or more whole numbers (e.g. [1, 2, 3] for CrossMoDA)`);
  }
  return list;
}

/**
 * Dice = 2|P ∩ T| / (|P| + |T|) for each label, P the prediction's and T the truth's voxels
 * of that label, in the order of `labels`. Empty cases: both empty -> 1 (nothing to find and
 * nothing found), exactly one empty -> 0.
 */
export function dice(pred: LabelInput, truth: LabelInput, labels: number | readonly number[]): number[] {
  checkLabelPair("dice", pred, truth);
  const list = labelList("dice", labels);
  return list.map((l) => {
    const c = overlapCounts(pred.data, truth.data, l);
    return diceFromCounts(c.pred, c.truth, c.both);
  });
}

/** Voxel counts of one label: in the prediction, in the truth, and in both. */
export function overlapCounts(pred: ArrayLike<number>, truth: ArrayLike<number>, label: number): { pred: number; truth: number; both: number } {
  let p = 0;
  let t = 0;
  let both = 0;
  for (let i = 0; i < pred.length; i++) {
    const a = pred[i] === label;
    const b = truth[i] === label;
    if (a) p++;
    if (b) t++;
    if (a && b) both++;
  }
  return { pred: p, truth: t, both };
}

/** Dice from voxel counts, with the empty cases above. */
export function diceFromCounts(pred: number, truth: number, both: number): number {
  if (pred + truth === 0) return 1;
  return (2 * both) / (pred + truth);
}
