// 2D views and training samples of volumes: one slice along an axis (with its own honest affine),
// all slices, the slice through a label, and random 2D/3D patches (optionally foreground-biased).
import { UnpairedError } from "../util/errors.js";
import type { Rng } from "../util/random.js";
import { cropOrPad, labelCentroid } from "./crop.js";
import {
  checkAxis,
  checkSameShape,
  checkSize,
  checkVolume,
  labelMatcher,
  multiplyAffines,
  rebuild,
  stridesOf,
  type AnyVolume,
  type LabelValues,
} from "./geometry.js";
import { emptyLike, type Affine, type LabelVolume } from "./volume.js";

/**
 * The 2D slice `index` of the 3D volume `vol` along `axis` (0 = x, 1 = y, 2 = z). The slice keeps
 * the other two axes in order: axis 2 -> [nx, ny], axis 1 -> [nx, nz], axis 0 -> [ny, nz], with their
 * spacings. Its affine maps slice voxel (i, j, 0) to the world position of the corresponding 3D
 * voxel; the third column is the 3D affine's column for `axis` (so (i, j, k) is the 3D voxel at
 * index + k along `axis`, and the 3x3 part stays invertible).
 */
export function extractSlice<V extends AnyVolume>(vol: V, axis: number, index: number): V {
  checkVolume(vol, "extractSlice");
  if (vol.shape.length !== 3) throw new UnpairedError("BAD_VOLUME", `extractSlice: needs a 3D volume, got shape [${vol.shape}]`);
  checkAxis(axis, 3, "extractSlice");
  const n = vol.shape[axis]!;
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new UnpairedError("BAD_OPTION", `extractSlice: index ${index} must be 0..${n - 1} along axis ${axis}`);
  }
  const [r0, r1] = [0, 1, 2].filter((a) => a !== axis) as [number, number];
  const strides = stridesOf(vol.shape);
  const n0 = vol.shape[r0]!;
  const n1 = vol.shape[r1]!;
  const s0 = strides[r0]!;
  const s1 = strides[r1]!;
  const src = vol.data;
  const out = emptyLike(src, n0 * n1);
  const base = index * strides[axis]!;
  let o = 0;
  for (let j = 0; j < n1; j++) {
    let i0 = base + j * s1;
    for (let i = 0; i < n0; i++, i0 += s0) out[o++] = src[i0]!;
  }
  // M: slice voxel (i, j, k) -> 3D voxel.
  const m: Affine = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 1],
  ];
  m[r0]![0] = 1;
  m[r1]![1] = 1;
  m[axis]![2] = 1;
  m[axis]![3] = index;
  return rebuild(vol, out, [n0, n1], [vol.spacing[r0]!, vol.spacing[r1]!], multiplyAffines(vol.affine, m));
}

/** Every 2D slice of the 3D volume `vol` along `axis`, in index order; see {@link extractSlice}. */
export function slicesAlong<V extends AnyVolume>(vol: V, axis: number): V[] {
  checkVolume(vol, "slicesAlong");
  if (vol.shape.length !== 3) throw new UnpairedError("BAD_VOLUME", `slicesAlong: needs a 3D volume, got shape [${vol.shape}]`);
  checkAxis(axis, 3, "slicesAlong");
  return Array.from({ length: vol.shape[axis]! }, (_, k) => extractSlice(vol, axis, k));
}

/**
 * The slice along `axis` through the centroid of the voxels of `labels` with one of `values`
 * (index = centroid rounded, halves up), cut from both `image` and `labels`. Shapes must match;
 * an absent label is a BAD_VOLUME error. (For a non-convex label the centroid's slice may hold
 * none of it.)
 */
export function sliceAtLabel<V extends AnyVolume>(
  image: V,
  labels: LabelVolume,
  values: LabelValues,
  axis: number,
): { image: V; labels: LabelVolume; index: number } {
  checkVolume(image, "sliceAtLabel (image)");
  checkVolume(labels, "sliceAtLabel (labels)");
  checkSameShape(image, [labels], "sliceAtLabel");
  const centroid = labelCentroid(labels, values);
  if (!centroid) throw new UnpairedError("BAD_VOLUME", `sliceAtLabel: label ${JSON.stringify(values)} does not occur in the label volume`);
  checkAxis(axis, image.shape.length, "sliceAtLabel");
  const index = Math.round(centroid[axis]!);
  return { image: extractSlice(image, axis, index), labels: extractSlice(labels, axis, index), index };
}

export interface RandomPatchOptions {
  /**
   * Probability (0..1) of forcing the patch to contain a voxel of `foregroundLabels` (nnU-Net's
   * foreground oversampling, e.g. 0.33). Default 0: the position is uniform.
   */
  foregroundProbability?: number;
  /** The label values that count as foreground (needed when foregroundProbability > 0). */
  foregroundLabels?: LabelValues;
  /** Which of the label volumes the foreground is looked for in (default 0). */
  foregroundFrom?: number;
  /** Image value where the patch runs past the volume (default 0). */
  padValue?: number;
  /** Label value where the patch runs past the volume (default 0). */
  labelPadValue?: number;
  /** For a 2D patch of a 3D volume: the axis the slice is taken across (default 2: an x-y patch). */
  sliceAxis?: number;
}

export interface Patch<V extends AnyVolume> {
  image: V;
  /** The same box cut from each label volume, in the order given. */
  labels: LabelVolume[];
  /** Voxel index, in the input volume, of the patch's first voxel (3 entries for a 3D input). */
  start: number[];
  /** True when the position was chosen to contain a foreground voxel. */
  foreground: boolean;
}

/**
 * A random patch of `size` voxels cut identically from `image` and every volume in `labels`
 * (which must all have the image's shape). `size` has one entry per axis of the image, or two for
 * a 2D patch of a 3D image: then a [size[0], size[1]] patch is cut in a random slice across
 * `sliceAxis` and returned as 2D volumes (axes as {@link extractSlice} orders them).
 *
 * Position, per axis with volume size n and patch size m: start is uniform over the whole numbers
 * in [min(0, n - m), max(0, n - m)], so the patch lies inside the volume when it fits and is
 * padded (`padValue`, `labelPadValue`) around a randomly placed volume when it does not. With
 * probability `foregroundProbability` (drawn first, only when > 0) and when the label volume holds
 * foreground, a label value is drawn uniformly among those present, then one of its voxels
 * uniformly, and start is drawn among the positions above whose patch contains that voxel.
 * Deterministic for a given Rng state. Geometry of every patch as in {@link cropOrPad}.
 */
export function randomPatch<V extends AnyVolume>(
  rng: Rng,
  image: V,
  labels: readonly LabelVolume[],
  size: readonly number[],
  options: RandomPatchOptions = {},
): Patch<V> {
  checkVolume(image, "randomPatch (image)");
  labels.forEach((l, i) => checkVolume(l, `randomPatch (labels ${i})`));
  checkSameShape(image, labels, "randomPatch");
  const nd = image.shape.length;
  const sliceAxis = options.sliceAxis ?? 2;
  const twoD = nd === 3 && size.length === 2;
  let full = [...size];
  if (twoD) {
    checkAxis(sliceAxis, 3, "randomPatch (sliceAxis)");
    full = [...size];
    full.splice(sliceAxis, 0, 1);
  }
  checkSize(full, nd, "randomPatch");
  const p = options.foregroundProbability ?? 0;
  if (!(p >= 0 && p <= 1)) throw new UnpairedError("BAD_OPTION", `randomPatch: foregroundProbability ${p} must lie in [0, 1]`);
  const from = options.foregroundFrom ?? 0;
  if (p > 0) {
    if (options.foregroundLabels === undefined) throw new UnpairedError("BAD_OPTION", "randomPatch: foregroundProbability > 0 needs foregroundLabels");
    if (!(Number.isInteger(from) && from >= 0 && from < labels.length)) {
      throw new UnpairedError("BAD_OPTION", `randomPatch: foregroundFrom ${from} must index one of the ${labels.length} label volumes`);
    }
  }
  const lo = image.shape.map((n, a) => Math.min(0, n - full[a]!));
  const hi = image.shape.map((n, a) => Math.max(0, n - full[a]!));
  let foreground = false;
  if (p > 0 && rng.chance(p)) {
    const voxel = randomLabelVoxel(rng, labels[from]!, options.foregroundLabels!);
    if (voxel) {
      foreground = true;
      voxel.forEach((v, a) => {
        lo[a] = Math.max(lo[a]!, v - full[a]! + 1);
        hi[a] = Math.min(hi[a]!, v);
      });
    }
  }
  const start = lo.map((l, a) => rng.intRange(l, hi[a]!));
  let patchImage = cropOrPad(image, start, full, options.padValue ?? 0);
  let patchLabels = labels.map((l) => cropOrPad(l, start, full, options.labelPadValue ?? 0));
  if (twoD) {
    patchImage = extractSlice(patchImage, sliceAxis, 0);
    patchLabels = patchLabels.map((l) => extractSlice(l, sliceAxis, 0));
  }
  return { image: patchImage, labels: patchLabels, start, foreground };
}

/**
 * A random voxel (coordinates per axis) of `labels` whose value is one of `values`: first a value
 * uniformly among those present, then one of its voxels uniformly; null when none is present.
 */
export function randomLabelVoxel(rng: Rng, labels: AnyVolume, values: LabelValues): number[] | null {
  checkVolume(labels, "randomLabelVoxel");
  const match = labelMatcher(values, "randomLabelVoxel");
  const d = labels.data;
  const counts = new Map<number, number>();
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (match(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  if (counts.size === 0) return null;
  const present = [...counts.keys()].sort((a, b) => a - b);
  const value = rng.pick(present);
  let r = rng.int(counts.get(value)!);
  for (let i = 0; i < d.length; i++) {
    if (d[i] === value && r-- === 0) {
      const nx = labels.shape[0]!;
      const ny = labels.shape[1]!;
      const out = [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))];
      return out.slice(0, labels.shape.length);
    }
  }
  return null;
}
