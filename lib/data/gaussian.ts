// Separable Gaussian smoothing of 2D/3D intensity arrays (x fastest), with explicit kernels and
// border rules, for the style perturbations and anything else that needs a blur.
import { UnpairedError } from "../util/errors.js";
import { type Volume, makeVolume, voxelCount } from "../volume/volume.js";

/**
 * How samples outside the array are read.
 * - "reflect": half-sample symmetric, the edge voxel repeated: (d c b a | a b c d | d c b a).
 *   scipy.ndimage's default ("reflect"); the kit's default.
 * - "mirror": whole-sample symmetric, the edge voxel not repeated: (d c b | a b c d | c b a).
 *   scipy's "mirror", numpy/torch's "reflect".
 * - "edge": the edge voxel replicated (a a a | a b c d | d d d); scipy "nearest", torch "replicate".
 * - "zeros": zero outside. MONAI's GaussianSmooth (separable_filtering's default) does this,
 *   which pulls the border towards 0.
 * Reflections repeat as often as needed, so a kernel wider than the array is fine.
 */
export type BorderMode = "reflect" | "mirror" | "edge" | "zeros";

/**
 * The discrete kernel.
 * - "sampled": exp(-x^2 / (2 sigma^2)) at the integer offsets, normalised to sum 1 (scipy).
 * - "erf": the Gaussian's mass over each unit voxel [x - 1/2, x + 1/2] (MONAI's default
 *   approx="erf"), normalised to sum 1 (MONAI leaves it unnormalised; the difference is the
 *   mass beyond the truncation, under 1e-6 for truncate 4).
 */
export type KernelKind = "sampled" | "erf";

export interface GaussianOptions {
  /** Kernel radius = floor(truncate * sigma + 0.5) voxels (scipy's rule). Default 4. */
  truncate?: number;
  /** Default "reflect". */
  border?: BorderMode;
  /** Default "sampled". */
  kernel?: KernelKind;
}

export const GAUSSIAN_DEFAULTS: Required<GaussianOptions> = { truncate: 4, border: "reflect", kernel: "sampled" };

const BORDERS: readonly BorderMode[] = ["reflect", "mirror", "edge", "zeros"];
const KERNELS: readonly KernelKind[] = ["sampled", "erf"];

/** The options with defaults filled in, checked (BAD_OPTION for a bad one). */
export function resolveGaussianOptions(opts: GaussianOptions): Required<GaussianOptions> {
  const o = { ...GAUSSIAN_DEFAULTS, ...definedOnly(opts) };
  if (!(Number.isFinite(o.truncate) && o.truncate > 0)) {
    throw new UnpairedError("BAD_OPTION", `gaussian smoothing: truncate must be a positive number, got ${o.truncate}`);
  }
  if (!BORDERS.includes(o.border)) {
    throw new UnpairedError("BAD_OPTION", `gaussian smoothing: border must be one of ${BORDERS.join(", ")}, got ${String(o.border)}`);
  }
  if (!KERNELS.includes(o.kernel)) {
    throw new UnpairedError("BAD_OPTION", `gaussian smoothing: kernel must be one of ${KERNELS.join(", ")}, got ${String(o.kernel)}`);
  }
  return o;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Kernel radius in voxels for one sigma: floor(truncate * sigma + 0.5); 0 for sigma 0. */
export function gaussianRadius(sigma: number, truncate = GAUSSIAN_DEFAULTS.truncate): number {
  return Math.floor(truncate * sigma + 0.5);
}

/**
 * The normalised 1D Gaussian kernel for `sigma` (voxels, >= 0), of length 2 * radius + 1, centre
 * at index radius. sigma 0 (or any sigma whose radius rounds to 0) gives [1]: the identity.
 */
export function gaussianKernel1d(sigma: number, opts: Omit<GaussianOptions, "border"> = {}): Float64Array {
  const o = resolveGaussianOptions(opts);
  if (!(Number.isFinite(sigma) && sigma >= 0)) {
    throw new UnpairedError("BAD_OPTION", `gaussian smoothing: sigma must be a finite number >= 0, got ${sigma}`);
  }
  const r = gaussianRadius(sigma, o.truncate);
  const k = new Float64Array(2 * r + 1);
  if (r === 0) {
    k[0] = 1;
    return k;
  }
  if (o.kernel === "sampled") {
    for (let i = -r; i <= r; i++) k[i + r] = Math.exp((-0.5 * i * i) / (sigma * sigma));
  } else {
    // Mass of N(0, sigma) over [i - 1/2, i + 1/2], through erfc so the tails keep their precision.
    const t = Math.SQRT1_2 / sigma;
    for (let i = 0; i <= r; i++) {
      const w = i === 0 ? 1 - erfc(0.5 * t) : 0.5 * (erfc(t * (i - 0.5)) - erfc(t * (i + 0.5)));
      k[r + i] = w;
      k[r - i] = w;
    }
  }
  let s = 0;
  for (const w of k) s += w;
  for (let i = 0; i < k.length; i++) k[i] = k[i]! / s;
  return k;
}

/** Complementary error function for z >= 0 (Chebyshev-fitted form; relative error < 1.2e-7). */
function erfc(z: number): number {
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * Math.exp(-z * z + poly);
}

/** Index read for position `i` (any integer) along an axis of length n; -1 means "zero". */
export function borderIndex(i: number, n: number, mode: BorderMode): number {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case "zeros":
      return -1;
    case "edge":
      return i < 0 ? 0 : n - 1;
    case "reflect": {
      const p = 2 * n;
      const m = ((i % p) + p) % p;
      return m < n ? m : p - 1 - m;
    }
    case "mirror": {
      if (n === 1) return 0;
      const p = 2 * n - 2;
      const m = ((i % p) + p) % p;
      return m < n ? m : p - m;
    }
  }
}

export function assertArrayShape(what: string, length: number, shape: readonly number[]): void {
  if (shape.length !== 2 && shape.length !== 3) {
    throw new UnpairedError("BAD_VOLUME", `${what}: shape [${shape}] must have 2 or 3 axes`);
  }
  if (!shape.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new UnpairedError("BAD_VOLUME", `${what}: shape [${shape}] must be positive whole numbers`);
  }
  if (voxelCount(shape) !== length) {
    throw new UnpairedError("BAD_VOLUME", `${what}: shape [${shape}] holds ${voxelCount(shape)} voxels but the array has ${length}`);
  }
}

/**
 * Correlates the array with a 1D kernel (odd length, centre in the middle) along one axis,
 * reading outside the array by `border`. Returns a new Float64Array; the input is not touched.
 */
export function filterAxis(
  x: ArrayLike<number>,
  shape: readonly number[],
  axis: number,
  kernel: ArrayLike<number>,
  border: BorderMode = GAUSSIAN_DEFAULTS.border,
): Float64Array {
  assertArrayShape("filterAxis", x.length, shape);
  if (!(Number.isInteger(axis) && axis >= 0 && axis < shape.length)) {
    throw new UnpairedError("BAD_OPTION", `filterAxis: axis ${axis} is not an axis of [${shape}]`);
  }
  if (kernel.length % 2 !== 1) throw new UnpairedError("BAD_OPTION", `filterAxis: the kernel length must be odd, got ${kernel.length}`);
  const n = shape[axis]!;
  const r = (kernel.length - 1) / 2;
  const kl = kernel.length;
  const stride = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const outer = x.length / (stride * n);
  // Source offset (in units of `stride`) for each output position and tap; -1 reads zero.
  const src = new Int32Array(n * kl);
  for (let i = 0; i < n; i++) for (let t = 0; t < kl; t++) src[i * kl + t] = borderIndex(i + t - r, n, border);
  const out = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) {
    const base0 = o * n * stride;
    for (let s = 0; s < stride; s++) {
      const base = base0 + s;
      for (let i = 0; i < n; i++) {
        let acc = 0;
        const row = i * kl;
        for (let t = 0; t < kl; t++) {
          const j = src[row + t]!;
          if (j >= 0) acc += kernel[t]! * x[base + j * stride]!;
        }
        out[base + i * stride] = acc;
      }
    }
  }
  return out;
}

/**
 * Gaussian smoothing, exactly separable: one 1D pass per axis with that axis's sigma (voxels;
 * one number for all axes, or one per axis; 0 leaves an axis alone). Sums in float64, returns a
 * new Float32Array.
 */
export function gaussianSmooth(
  x: Float32Array,
  shape: readonly number[],
  sigma: number | readonly number[],
  opts: GaussianOptions = {},
): Float32Array {
  assertArrayShape("gaussianSmooth", x.length, shape);
  const o = resolveGaussianOptions(opts);
  const sig = typeof sigma === "number" ? shape.map(() => sigma) : [...sigma];
  if (sig.length !== shape.length) {
    throw new UnpairedError("BAD_OPTION", `gaussianSmooth: ${sig.length} sigmas for a ${shape.length}D array`);
  }
  let cur: ArrayLike<number> = x;
  for (let a = 0; a < shape.length; a++) {
    const k = gaussianKernel1d(sig[a]!, o);
    if (k.length === 1) continue;
    cur = filterAxis(cur, shape, a, k, o.border);
  }
  return Float32Array.from(cur);
}

/** gaussianSmooth on a Volume: a new Volume with the same geometry. */
export function gaussianSmoothVolume(v: Volume, sigma: number | readonly number[], opts: GaussianOptions = {}): Volume {
  return makeVolume(gaussianSmooth(v.data, v.shape, sigma, opts), v.shape, v.spacing, v.affine);
}
