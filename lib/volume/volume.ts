// The kit's image containers: a Volume (intensities) and a LabelVolume (integer labels), each a
// flat typed array with a shape, voxel spacing and voxel-to-world affine, 2D or 3D.
//
// Memory order is NIfTI's: x varies fastest, then y, then z. A volume of shape [nx, ny, nz] is
// therefore, read as a C-order array, [nz, ny, nx] = [depth, height, width]: exactly the layout
// of one channel of a tfjs tensor [batch, depth, height, width, channels], with no transpose.
import { UnpairedError } from "../util/errors.js";

/** 4x4 voxel-to-world matrix (row-major rows; world in mm, RAS+ as NIfTI defines it). */
export type Affine = number[][];

/** Integer label storage: the narrowest array that holds the labels (Int32Array for negatives). */
export type LabelArray = Uint8Array | Uint16Array | Int32Array;

interface Geometry {
  /** [nx, ny] or [nx, ny, nz]; x varies fastest in `data`. */
  shape: number[];
  /** Voxel size in mm along each axis of `shape` (same length as shape). */
  spacing: number[];
  /** Voxel (i, j, k, 1) to world (x, y, z, 1). For 2D volumes k is 0. */
  affine: Affine;
}

export interface Volume extends Geometry {
  data: Float32Array;
}

export interface LabelVolume extends Geometry {
  data: LabelArray;
}

export const voxelCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** diag(spacing) with a zero origin: the affine of a volume that has no orientation of its own. */
export function spacingAffine(spacing: readonly number[]): Affine {
  const s = [spacing[0] ?? 1, spacing[1] ?? 1, spacing[2] ?? 1];
  return [
    [s[0]!, 0, 0, 0],
    [0, s[1]!, 0, 0],
    [0, 0, s[2]!, 0],
    [0, 0, 0, 1],
  ];
}

function checkGeometry(what: string, shape: readonly number[], length: number, spacing: readonly number[], affine: Affine): void {
  if (shape.length !== 2 && shape.length !== 3) {
    throw new UnpairedError("BAD_VOLUME", `${what}: shape [${shape}] must have 2 or 3 axes`);
  }
  if (!shape.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new UnpairedError("BAD_VOLUME", `${what}: shape [${shape}] must be positive whole numbers`);
  }
  if (voxelCount(shape) !== length) {
    throw new UnpairedError("BAD_VOLUME", `${what}: shape [${shape}] holds ${voxelCount(shape)} voxels but the data has ${length}`);
  }
  if (spacing.length !== shape.length || !spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new UnpairedError("BAD_VOLUME", `${what}: spacing [${spacing}] must give one positive size per axis of [${shape}]`);
  }
  if (affine.length !== 4 || !affine.every((r) => r.length === 4 && r.every(Number.isFinite))) {
    throw new UnpairedError("BAD_VOLUME", `${what}: the affine must be a finite 4x4 matrix`);
  }
}

/** Builds a Volume, checking that shape, data, spacing and affine agree. */
export function makeVolume(
  data: Float32Array,
  shape: readonly number[],
  spacing: readonly number[] = shape.map(() => 1),
  affine: Affine = spacingAffine(spacing),
): Volume {
  checkGeometry("volume", shape, data.length, spacing, affine);
  return { data, shape: [...shape], spacing: [...spacing], affine: affine.map((r) => [...r]) };
}

/** Builds a LabelVolume, checking that shape, data, spacing and affine agree. */
export function makeLabelVolume(
  data: LabelArray,
  shape: readonly number[],
  spacing: readonly number[] = shape.map(() => 1),
  affine: Affine = spacingAffine(spacing),
): LabelVolume {
  checkGeometry("label volume", shape, data.length, spacing, affine);
  return { data, shape: [...shape], spacing: [...spacing], affine: affine.map((r) => [...r]) };
}

/** A new, empty typed array of the same kind as `a`. */
export function emptyLike<T extends Float32Array | LabelArray>(a: T, length: number): T {
  const ctor = a.constructor as new (n: number) => T;
  return new ctor(length);
}

/** The narrowest label array that holds every value in [min, max]. */
export function labelArrayFor(min: number, max: number, length: number): LabelArray {
  if (min >= 0 && max <= 255) return new Uint8Array(length);
  if (min >= 0 && max <= 65535) return new Uint16Array(length);
  return new Int32Array(length);
}

/** Flat index of voxel (x, y[, z]) in a volume of `shape`. */
export function voxelIndex(shape: readonly number[], x: number, y: number, z = 0): number {
  return x + shape[0]! * (y + shape[1]! * z);
}

/** Same voxel grid: equal shapes and affines within `tol` mm (spacing follows from the affine). */
export function sameGeometry(a: Geometry, b: Geometry, tol = 1e-4): boolean {
  if (a.shape.length !== b.shape.length || a.shape.some((n, i) => n !== b.shape[i])) return false;
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) if (Math.abs(a.affine[r]![c]! - b.affine[r]![c]!) > tol) return false;
  return true;
}
