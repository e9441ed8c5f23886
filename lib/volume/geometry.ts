// Affine arithmetic and the small shared helpers of the volume operations (crop, resample,
// orient, slices): voxel-to-world maps, input checks, and rebuilding a volume of the same kind.
import { UnpairedError } from "../util/errors.js";
import { voxelCount, type Affine, type LabelVolume, type Volume } from "./volume.js";

/** Either container: the operations that move voxels work on both and keep the array type. */
export type AnyVolume = Volume | LabelVolume;

/** Label values to match: one value or a list. */
export type LabelValues = number | readonly number[];

/** World position (x, y, z) of the voxel coordinate `ijk` ([i, j] or [i, j, k]; k = 0 if absent). */
export function applyAffine(affine: Affine, ijk: readonly number[]): [number, number, number] {
  const i = ijk[0] ?? 0;
  const j = ijk[1] ?? 0;
  const k = ijk[2] ?? 0;
  const row = (r: number) => affine[r]![0]! * i + affine[r]![1]! * j + affine[r]![2]! * k + affine[r]![3]!;
  return [row(0), row(1), row(2)];
}

/** The 4x4 product a·b. */
export function multiplyAffines(a: Affine, b: Affine): Affine {
  const out: Affine = [];
  for (let r = 0; r < 4; r++) {
    const row: number[] = [];
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r]![k]! * b[k]![c]!;
      row.push(s);
    }
    out.push(row);
  }
  return out;
}

/**
 * The affine of a grid whose voxel 0 sits at old voxel coordinate `offset` (same axes, same
 * step): affine·T(offset), i.e. the origin moves to affine·[offset, 1].
 */
export function translateAffine(affine: Affine, offset: readonly number[]): Affine {
  const out = affine.map((r) => [...r]);
  const world = applyAffine(affine, offset);
  for (let r = 0; r < 3; r++) out[r]![3] = world[r]!;
  return out;
}

/** Throws BAD_VOLUME unless `vol` is a 2D or 3D volume whose data length matches its shape. */
export function checkVolume(vol: AnyVolume, what: string): void {
  const n = vol.shape.length;
  if ((n !== 2 && n !== 3) || !vol.shape.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new UnpairedError("BAD_VOLUME", `${what}: shape [${vol.shape}] must be 2 or 3 positive whole numbers`);
  }
  if (voxelCount(vol.shape) !== vol.data.length) {
    throw new UnpairedError("BAD_VOLUME", `${what}: shape [${vol.shape}] holds ${voxelCount(vol.shape)} voxels but the data has ${vol.data.length}`);
  }
  if (vol.spacing.length !== n) {
    throw new UnpairedError("BAD_VOLUME", `${what}: spacing [${vol.spacing}] needs one value per axis of [${vol.shape}]`);
  }
}

/** Throws BAD_VOLUME unless every volume in `others` has exactly the shape of `ref`. */
export function checkSameShape(ref: AnyVolume, others: readonly AnyVolume[], what: string): void {
  for (const o of others) {
    if (o.shape.length !== ref.shape.length || o.shape.some((s, i) => s !== ref.shape[i])) {
      throw new UnpairedError("BAD_VOLUME", `${what}: shapes differ ([${ref.shape}] vs [${o.shape}]); image and labels must be aligned voxel for voxel`);
    }
  }
}

/** Throws BAD_OPTION unless `size` is one positive whole number per axis (`ndim` of them). */
export function checkSize(size: readonly number[], ndim: number, what: string): void {
  if (size.length !== ndim || !size.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new UnpairedError("BAD_OPTION", `${what}: size [${size}] must be ${ndim} positive whole numbers`);
  }
}

/** Throws BAD_OPTION unless `axis` is a whole number in [0, ndim). */
export function checkAxis(axis: number, ndim: number, what: string): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= ndim) {
    throw new UnpairedError("BAD_OPTION", `${what}: axis ${axis} must be 0..${ndim - 1} for a ${ndim}D volume`);
  }
}

/** True for a LabelVolume (integer data), false for a Volume (Float32Array). */
export function isLabelVolume(vol: AnyVolume): vol is LabelVolume {
  return !(vol.data instanceof Float32Array);
}

/** A volume of the same kind as `like` (Volume or LabelVolume) with new data and geometry. */
export function rebuild<V extends AnyVolume>(like: V, data: V["data"], shape: readonly number[], spacing: readonly number[], affine: Affine): V {
  void like;
  return { data, shape: [...shape], spacing: [...spacing], affine: affine.map((r) => [...r]) } as unknown as V;
}

/** A predicate for "voxel value is one of `values`" (fast path for a single value). */
export function labelMatcher(values: LabelValues, what: string): (v: number) => boolean {
  const list = typeof values === "number" ? [values] : [...values];
  if (list.length === 0 || !list.every(Number.isFinite)) {
    throw new UnpairedError("BAD_OPTION", `${what}: give at least one finite label value (got [${list}])`);
  }
  if (list.length === 1) {
    const only = list[0]!;
    return (v) => v === only;
  }
  const set = new Set(list);
  return (v) => set.has(v);
}

/** Strides (in voxels) of each axis of `shape`: [1, nx] or [1, nx, nx*ny]. */
export function stridesOf(shape: readonly number[]): number[] {
  const out: number[] = [];
  let s = 1;
  for (const n of shape) {
    out.push(s);
    s *= n;
  }
  return out;
}
