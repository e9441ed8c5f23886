// Surfaces for the surface-distance metrics: the surface voxels of a binary structure, and the
// interface between two labels (CrossMoDA's intra-/extra-meatal boundary of the schwannoma).
//
// Neighbourhood: face neighbours only (4 in 2D, 6 in 3D). Edge of the volume: outside the
// volume counts as background, so a structure voxel on the volume's edge is a surface voxel
// (the same as scipy.ndimage.binary_erosion(mask, generate_binary_structure(ndim, 1),
// border_value=0), the surface being mask & ~eroded). A 3D volume with a single slice therefore
// has every structure voxel on its surface; for slice-wise 2D metrics pass a 2D shape.
// Interfaces have no such edge effect: outside the volume is neither of the two labels.
import { UnpairedError } from "../util/errors.js";

function dims(what: string, length: number, shape: readonly number[]): [number, number, number] {
  if ((shape.length !== 2 && shape.length !== 3) || !shape.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new UnpairedError("BAD_VOLUME", `${what}: shape [${shape}] must be 2 or 3 positive whole numbers ([nx, ny] or [nx, ny, nz])`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (length !== n) throw new UnpairedError("BAD_VOLUME", `${what}: the data has ${length} voxels but shape [${shape}] holds ${n}; pass the data's own shape`);
  return [shape[0]!, shape[1]!, shape.length === 3 ? shape[2]! : 1];
}

/**
 * Surface of a binary structure (nonzero voxels of `mask`, flat, x fastest, `shape` [nx, ny(, nz)]):
 * 1 at every structure voxel with a face neighbour outside the structure or outside the volume.
 */
export function surfaceMask(mask: ArrayLike<number>, shape: readonly number[]): Uint8Array {
  const [nx, ny, nz] = dims("surfaceMask", mask.length, shape);
  const is3d = shape.length === 3;
  const sy = nx;
  const sz = nx * ny;
  const out = new Uint8Array(mask.length);
  for (let z = 0, i = 0; z < nz; z++) {
    const zEdge = is3d && (z === 0 || z === nz - 1);
    for (let y = 0; y < ny; y++) {
      const yzEdge = zEdge || y === 0 || y === ny - 1;
      for (let x = 0; x < nx; x++, i++) {
        if (mask[i] === 0) continue;
        if (
          yzEdge ||
          x === 0 ||
          x === nx - 1 ||
          mask[i - 1] === 0 ||
          mask[i + 1] === 0 ||
          mask[i - sy] === 0 ||
          mask[i + sy] === 0 ||
          (is3d && (mask[i - sz] === 0 || mask[i + sz] === 0))
        ) {
          out[i] = 1;
        }
      }
    }
  }
  return out;
}

/** Surface of the structure `labels == label` (see surfaceMask for the neighbourhood and edge rule). */
export function labelSurface(labels: ArrayLike<number>, shape: readonly number[], label: number): Uint8Array {
  dims("labelSurface", labels.length, shape);
  const m = new Uint8Array(labels.length);
  for (let i = 0; i < m.length; i++) m[i] = labels[i] === label ? 1 : 0;
  return surfaceMask(m, shape);
}

/**
 * Interface between labels `a` and `b` (default 1 and 2: CrossMoDA's intra- and extra-meatal
 * VS): 1 at every voxel of label a with a face neighbour of label b, and every voxel of label b
 * with a face neighbour of label a. Empty (all 0) when the two labels do not touch.
 */
export function interfaceMask(labels: ArrayLike<number>, shape: readonly number[], a = 1, b = 2): Uint8Array {
  const [nx, ny, nz] = dims("interfaceMask", labels.length, shape);
  if (a === b) throw new UnpairedError("BAD_CONFIG", `interfaceMask: the two labels are both ${a}; give two different labels (e.g. 1 and 2)`);
  const is3d = shape.length === 3;
  const sy = nx;
  const sz = nx * ny;
  const out = new Uint8Array(labels.length);
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const l = labels[i];
        let other: number;
        if (l === a) other = b;
        else if (l === b) other = a;
        else continue;
        if (
          (x > 0 && labels[i - 1] === other) ||
          (x < nx - 1 && labels[i + 1] === other) ||
          (y > 0 && labels[i - sy] === other) ||
          (y < ny - 1 && labels[i + sy] === other) ||
          (is3d && ((z > 0 && labels[i - sz] === other) || (z < nz - 1 && labels[i + sz] === other)))
        ) {
          out[i] = 1;
        }
      }
    }
  }
  return out;
}

/** Flat indices of the nonzero voxels of `mask`, ascending. */
export function maskIndices(mask: ArrayLike<number>): Int32Array {
  let count = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) count++;
  const out = new Int32Array(count);
  for (let i = 0, k = 0; i < mask.length; i++) if (mask[i] !== 0) out[k++] = i;
  return out;
}
