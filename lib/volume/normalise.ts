// Intensity normalisation: percentiles computed like numpy.percentile (by selection on a typed-array
// copy), percentile clipping to [-1, 1], and z-score / mean scaling over the non-zero voxels.
import { UnpairedError } from "../util/errors.js";
import { checkVolume } from "./geometry.js";
import type { Volume } from "./volume.js";

/**
 * The q-th percentiles (q in [0, 100]) of `data`, exactly as numpy.percentile's default
 * ("linear") method: with the values sorted as v[0..n-1], h = q/100·(n - 1), the result is
 * v[floor(h)] + (v[floor(h)+1] - v[floor(h)])·(h - floor(h)) (numpy's lerp, evaluated from the
 * upper end when the fraction is >= 0.5). Uses quickselect on one Float32Array copy (Float64Array
 * when `data` is not a Float32Array): O(n) per distinct order statistic, no sort. Empty data or a
 * NaN is a BAD_VOLUME error.
 */
export function percentiles(data: ArrayLike<number>, qs: readonly number[]): number[] {
  const n = data.length;
  if (n === 0) throw new UnpairedError("BAD_VOLUME", "percentile: the data is empty");
  for (const q of qs) {
    if (!(q >= 0 && q <= 100)) throw new UnpairedError("BAD_OPTION", `percentile: q = ${q} must lie in [0, 100]`);
  }
  const a = data instanceof Float32Array ? data.slice() : Float64Array.from(data);
  for (let i = 0; i < n; i++) {
    if (a[i] !== a[i]) throw new UnpairedError("BAD_VOLUME", `percentile: the data holds NaN (at index ${i})`);
  }
  const plan = qs.map((q) => {
    const h = (q / 100) * (n - 1);
    const lo = Math.floor(h);
    return { lo, hi: Math.min(lo + 1, n - 1), t: h - lo };
  });
  // Order statistics needed, ascending; each selection leaves everything above it to the right.
  const ks = [...new Set(plan.flatMap((p) => [p.lo, p.hi]))].sort((x, y) => x - y);
  const value = new Map<number, number>();
  let from = 0;
  for (const k of ks) {
    select(a, k, from, n - 1);
    value.set(k, a[k]!);
    from = k + 1;
  }
  return plan.map(({ lo, hi, t }) => {
    const va = value.get(lo)!;
    const vb = value.get(hi)!;
    const d = vb - va;
    return t >= 0.5 ? vb - d * (1 - t) : va + d * t;
  });
}

/** One percentile of `data`; see {@link percentiles}. */
export function percentile(data: ArrayLike<number>, q: number): number {
  return percentiles(data, [q])[0]!;
}

/** Hoare/Wirth selection: permutes a[l..r] so that a[k] is the value of rank k there, with
 * a[l..k-1] <= a[k] <= a[k+1..r]. Handles runs of equal values (e.g. background zeros) in O(n). */
function select(a: Float32Array | Float64Array, k: number, l: number, r: number): void {
  if (k === l || k === r) {
    // An end of the range (percentile 0 or 100, or the neighbour of one already selected): one scan.
    let best = k;
    for (let i = l; i <= r; i++) if (k === l ? a[i]! < a[best]! : a[i]! > a[best]!) best = i;
    const t = a[k]!;
    a[k] = a[best]!;
    a[best] = t;
    return;
  }
  while (l < r) {
    const m = (l + r) >>> 1;
    const p = a[l]!;
    const q = a[m]!;
    const s = a[r]!;
    const x = p < q ? (q < s ? q : p < s ? s : p) : p < s ? p : q < s ? s : q;
    let i = l;
    let j = r;
    do {
      while (a[i]! < x) i++;
      while (x < a[j]!) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) l = i;
    if (k < i) r = j;
  }
}

export interface PercentileNormaliseOptions {
  /** Lower percentile, clipped to (default 0, i.e. the minimum). */
  lower?: number;
  /** Upper percentile, clipped to (default 99.9). */
  upper?: number;
  /** Output range the clipped [p_lo, p_hi] maps onto (default [-1, 1]). */
  range?: readonly [number, number];
}

/**
 * Percentile normalisation: p_lo and p_hi are the `lower` and `upper` percentiles of all voxels
 * ({@link percentiles}); each voxel is clipped to [p_lo, p_hi] and mapped linearly onto `range`
 * (default [-1, 1]: p_lo -> -1, p_hi -> 1). A constant image (p_hi = p_lo) maps to the middle of
 * the range (all zeros by default), never NaN. Returns a new Volume with the same geometry.
 */
export function percentileNormalise(vol: Volume, options: PercentileNormaliseOptions = {}): Volume {
  checkVolume(vol, "percentileNormalise");
  const lower = options.lower ?? 0;
  const upper = options.upper ?? 99.9;
  const [a, b] = options.range ?? [-1, 1];
  if (!(lower <= upper)) throw new UnpairedError("BAD_OPTION", `percentileNormalise: lower (${lower}) must not exceed upper (${upper})`);
  if (!Number.isFinite(a) || !Number.isFinite(b) || !(a < b)) {
    throw new UnpairedError("BAD_OPTION", `percentileNormalise: range [${a}, ${b}] must be two finite numbers, low before high`);
  }
  const [lo, hi] = percentiles(vol.data, [lower, upper]) as [number, number];
  const out = new Float32Array(vol.data.length);
  if (hi > lo) {
    const scale = (b - a) / (hi - lo);
    const src = vol.data;
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      out[i] = a + ((v < lo ? lo : v > hi ? hi : v) - lo) * scale;
    }
  } else {
    out.fill((a + b) / 2);
  }
  return copyGeometry(vol, out);
}

/** Count, mean and (population) standard deviation of the non-zero voxels. */
export interface NonZeroStats {
  count: number;
  mean: number;
  std: number;
}

/** {@link NonZeroStats} of `data` (two passes in float64); mean = std = 0 when every voxel is zero. */
export function nonZeroStats(data: ArrayLike<number>): NonZeroStats {
  let count = 0;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v !== 0) {
      count++;
      sum += v;
    }
  }
  if (count === 0) return { count: 0, mean: 0, std: 0 };
  const mean = sum / count;
  let ss = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v !== 0) ss += (v - mean) * (v - mean);
  }
  return { count, mean, std: Math.sqrt(ss / count) };
}

export interface NonZeroNormaliseOptions {
  /** "zscore" (default): (v - mean) / std; "mean": v / mean. Both over non-zero voxels only. */
  mode?: "zscore" | "mean";
}

/**
 * Non-zero normalisation, for skull-stripped or masked images whose background is exactly 0:
 * statistics come from the non-zero voxels only ({@link nonZeroStats}) and only they are changed;
 * zeros stay zero. "zscore": v -> (v - mean) / std (if std = 0 the non-zero voxels become 0);
 * "mean": v -> v / mean (a BAD_VOLUME error if that mean is 0). An all-zero volume is returned
 * as zeros. Returns a new Volume with the same geometry.
 */
export function nonZeroNormalise(vol: Volume, options: NonZeroNormaliseOptions = {}): Volume {
  checkVolume(vol, "nonZeroNormalise");
  const mode = options.mode ?? "zscore";
  if (mode !== "zscore" && mode !== "mean") {
    throw new UnpairedError("BAD_OPTION", `nonZeroNormalise: mode must be "zscore" or "mean", got ${String(mode)}`);
  }
  const src = vol.data;
  const out = new Float32Array(src.length);
  const { count, mean, std } = nonZeroStats(src);
  if (count > 0) {
    if (mode === "mean" && mean === 0) {
      throw new UnpairedError("BAD_VOLUME", "nonZeroNormalise: the non-zero voxels average to 0, so mode \"mean\" cannot scale them; use \"zscore\"");
    }
    const shift = mode === "zscore" ? mean : 0;
    const scale = mode === "zscore" ? (std > 0 ? 1 / std : 0) : 1 / mean;
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (v !== 0) out[i] = (v - shift) * scale;
    }
  }
  return copyGeometry(vol, out);
}

function copyGeometry(vol: Volume, data: Float32Array): Volume {
  return { data, shape: [...vol.shape], spacing: [...vol.spacing], affine: vol.affine.map((r) => [...r]) };
}
