// Exact Euclidean distance transform of a binary mask in linear time, 2D or 3D (any number of
// axes), with anisotropic voxel spacing in mm: the distance from every voxel to the nearest
// feature voxel. Used by the surface distances (ASSD, HD95) of lib/analysis.
//
// Method: the squared distance is separable, d²(p) = min_q Σ_a (s_a (p_a - q_a))², so it is
// computed one axis at a time. The first axis (x, contiguous in memory) needs only the 1D
// distance to the nearest feature of each row (two scans); every further axis takes the lower
// envelope of the parabolas s²(i - j)² + f(j) over the line (Felzenszwalb & Huttenlocher, "Distance
// transforms of sampled functions", 2012). Each pass is O(voxels); no per-voxel allocation: one
// set of line buffers is made per call and reused for every line.
//
// Output: a Float64Array (squared distances in mm² stay exact integers times spacing², and
// the values agree with scipy's float64 result to rounding). Feature voxels get 0; with no
// feature voxel at all every value is Infinity.
//
// Note: scipy.ndimage.distance_transform_edt(x) measures the distance to the nearest ZERO of
// x, so edt(mask) here equals distance_transform_edt(mask == 0, sampling=spacing) there.
import { UnpairedError } from "../util/errors.js";

export interface EdtOptions {
  /** Return squared distances (mm²) instead of distances (mm). Default false. */
  squared?: boolean;
  /** Write into this array (length = voxel count) instead of allocating one. */
  out?: Float64Array;
}

function checkInputs(mask: ArrayLike<number>, shape: readonly number[], spacing: readonly number[], out: Float64Array | undefined): number {
  if (shape.length < 1 || !shape.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new UnpairedError("BAD_VOLUME", `edt: shape [${shape}] must be positive whole numbers (one per axis)`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (mask.length !== n) {
    throw new UnpairedError("BAD_VOLUME", `edt: the mask has ${mask.length} voxels but shape [${shape}] holds ${n}; pass the mask's own shape`);
  }
  if (spacing.length !== shape.length || !spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new UnpairedError("BAD_VOLUME", `edt: spacing [${spacing}] must give one positive size (mm) per axis of shape [${shape}]`);
  }
  if (out && out.length !== n) {
    throw new UnpairedError("BAD_CONFIG", `edt: options.out has length ${out.length}; it must have one entry per voxel (${n})`);
  }
  return n;
}

/**
 * Euclidean distance (mm) from every voxel to the nearest nonzero voxel of `mask`.
 * `mask`: flat, x fastest, `shape` [nx, ny(, nz)]; `spacing`: mm per axis (default 1).
 * Returns a Float64Array of voxel count (squared distances with `{ squared: true }`);
 * Infinity everywhere when the mask has no nonzero voxel.
 */
export function edt(mask: ArrayLike<number>, shape: readonly number[], spacing: readonly number[] = shape.map(() => 1), options: EdtOptions = {}): Float64Array {
  const n = checkInputs(mask, shape, spacing, options.out);
  const out = options.out ?? new Float64Array(n);
  const maxLen = Math.max(...shape);
  const ws: Workspace = {
    f: new Float64Array(maxLen),
    h: new Float64Array(maxLen),
    v: new Int32Array(maxLen),
    z: new Float64Array(maxLen + 1),
  };
  const nx = shape[0]!;
  rowPass(mask, out, nx, n / nx, spacing[0]! * spacing[0]!);
  let stride = nx;
  for (let axis = 1; axis < shape.length; axis++) {
    const len = shape[axis]!;
    if (len > 1) envelopePass(out, len, stride, n / (stride * len), spacing[axis]! * spacing[axis]!, ws);
    stride *= len;
  }
  if (!options.squared) for (let i = 0; i < n; i++) out[i] = Math.sqrt(out[i]!);
  return out;
}

/** Squared Euclidean distance (mm²) to the nearest nonzero voxel: `edt(..., { squared: true })`. */
export function edtSquared(mask: ArrayLike<number>, shape: readonly number[], spacing?: readonly number[], out?: Float64Array): Float64Array {
  return edt(mask, shape, spacing, { squared: true, ...(out ? { out } : {}) });
}

interface Workspace {
  /** The current line's input values. */
  f: Float64Array;
  /** f(v) + s² v² of each parabola of the envelope. */
  h: Float64Array;
  /** Positions of the parabolas in the envelope. */
  v: Int32Array;
  /** Boundaries between envelope parabolas: parabola k rules over [z[k], z[k+1]]. */
  z: Float64Array;
}

/** Axis 0: squared distance (times s²) to the nearest feature in the same row; Infinity if none. */
function rowPass(mask: ArrayLike<number>, out: Float64Array, nx: number, rows: number, s2: number): void {
  for (let r = 0, o = 0; r < rows; r++, o += nx) {
    // Forward: distance to the last feature at or before x (Infinity before the first one).
    let last = -1;
    for (let x = 0; x < nx; x++) {
      if (mask[o + x] !== 0) {
        last = x;
        out[o + x] = 0;
      } else {
        out[o + x] = last < 0 ? Infinity : x - last;
      }
    }
    if (last < 0) continue; // no feature in the row: all Infinity already
    // Backward: the next feature at or after x may be nearer; square and scale on the way.
    let next = -1;
    for (let x = nx - 1; x >= 0; x--) {
      if (mask[o + x] !== 0) {
        next = x;
        continue;
      }
      let d = out[o + x]!;
      if (next >= 0 && next - x < d) d = next - x;
      out[o + x] = d * d * s2;
    }
  }
}

/**
 * One axis of length `len` whose elements lie `stride` apart: every line gets the lower envelope
 * of its parabolas s²(i - j)² + f(j) (the j with f(j) = Infinity take no part).
 */
function envelopePass(out: Float64Array, len: number, stride: number, outer: number, s2: number, ws: Workspace): void {
  const { f, h, v, z } = ws;
  const inv2s2 = 1 / (2 * s2);
  const block = stride * len;
  for (let o = 0; o < outer; o++) {
    const base0 = o * block;
    for (let inner = 0; inner < stride; inner++) {
      const base = base0 + inner;
      // Gather the line and build the lower envelope in one sweep.
      let k = -1;
      for (let q = 0, i = base; q < len; q++, i += stride) {
        const fq = out[i]!;
        f[q] = fq;
        if (fq === Infinity) continue;
        const hq = fq + s2 * q * q;
        if (k < 0) {
          k = 0;
          v[0] = q;
          h[0] = hq;
          z[0] = -Infinity;
          continue;
        }
        // Intersection of parabola q with the envelope's last parabola v[k], in voxel units.
        let s = ((hq - h[k]!) * inv2s2) / (q - v[k]!);
        while (s <= z[k]!) {
          k--;
          s = ((hq - h[k]!) * inv2s2) / (q - v[k]!);
        }
        k++;
        v[k] = q;
        h[k] = hq;
        z[k] = s;
      }
      if (k < 0) continue; // no finite value on the line: it stays Infinity
      z[k + 1] = Infinity;
      // Read the envelope off at every position.
      let j = 0;
      for (let q = 0, i = base; q < len; q++, i += stride) {
        while (z[j + 1]! < q) j++;
        const d = q - v[j]!;
        out[i] = s2 * d * d + f[v[j]!]!;
      }
    }
  }
}
