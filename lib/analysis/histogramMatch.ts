// Histogram matching: the classical baseline a learned T1 -> T2 translation has to beat. Each
// source intensity is sent to the reference intensity at the same quantile, the way
// scikit-image's exposure.match_histograms does it for one channel: the distinct source values
// and their cumulative frequencies, the distinct reference values and theirs, and a linear
// interpolation of the reference values at the source quantiles. With a mask only the masked
// voxels take part (a skull-stripped brain, not its background); the rest get `background`.
import { UnpairedError } from "../util/errors.js";

export interface HistogramMatchOptions {
  /** Voxels of the source that take part (non-zero); default: all. Same length as the source. */
  mask?: ArrayLike<number>;
  /** Value given to voxels outside the mask (default 0). */
  background?: number;
  /** Match -source instead of source (a T1 inverted before it is matched to a T2 histogram). */
  invert?: boolean;
}

/** Distinct values of `xs` (sorted) and their cumulative frequencies in (0, 1]. */
function quantilesOf(xs: Float64Array): { values: Float64Array; quantiles: Float64Array } {
  xs.sort();
  const values: number[] = [];
  const cum: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    if (i + 1 < xs.length && xs[i + 1] === xs[i]) continue;
    values.push(xs[i]!);
    cum.push((i + 1) / xs.length);
  }
  return { values: Float64Array.from(values), quantiles: Float64Array.from(cum) };
}

/** numpy.interp: piecewise-linear through (xp, fp), xp increasing; clamps outside. */
function interp(x: number, xp: Float64Array, fp: Float64Array): number {
  const n = xp.length;
  if (x <= xp[0]!) return fp[0]!;
  if (x >= xp[n - 1]!) return fp[n - 1]!;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xp[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const t = (x - xp[lo]!) / (xp[hi]! - xp[lo]!);
  return fp[lo]! + t * (fp[hi]! - fp[lo]!);
}

/**
 * The source's intensities remapped so that their histogram is the reference's. `reference` is a
 * flat list of intensities (e.g. the brain voxels of one or several T2 volumes, pooled).
 */
export function histogramMatch(source: ArrayLike<number>, reference: ArrayLike<number>, options: HistogramMatchOptions = {}): Float32Array {
  const mask = options.mask;
  if (mask !== undefined && mask.length !== source.length) {
    throw new UnpairedError("BAD_VOLUME", `histogramMatch: the mask has ${mask.length} voxels, the source ${source.length}; give a mask on the source's grid`);
  }
  if (reference.length === 0) throw new UnpairedError("BAD_VOLUME", "histogramMatch: the reference holds no intensities (an empty mask?)");
  const sign = options.invert ? -1 : 1;
  const picked: number[] = [];
  for (let i = 0; i < source.length; i++) {
    if (mask !== undefined && !mask[i]) continue;
    const v = source[i]!;
    if (!Number.isFinite(v)) throw new UnpairedError("BAD_VOLUME", `histogramMatch: source voxel ${i} is ${v}`);
    picked.push(i);
  }
  if (picked.length === 0) throw new UnpairedError("BAD_VOLUME", "histogramMatch: the mask selects no source voxel");
  const src = new Float64Array(picked.length);
  for (let k = 0; k < picked.length; k++) src[k] = sign * source[picked[k]!]!;
  const ref = Float64Array.from(reference as ArrayLike<number>);
  for (let i = 0; i < ref.length; i++) if (!Number.isFinite(ref[i]!)) throw new UnpairedError("BAD_VOLUME", `histogramMatch: reference intensity ${i} is ${ref[i]}`);
  const s = quantilesOf(Float64Array.from(src));
  const r = quantilesOf(ref);
  // The matched value of each distinct source value, then a lookup per voxel.
  const mapped = new Float64Array(s.values.length);
  for (let j = 0; j < mapped.length; j++) mapped[j] = interp(s.quantiles[j]!, r.quantiles, r.values);
  const out = new Float32Array(source.length).fill(options.background ?? 0);
  for (let k = 0; k < picked.length; k++) {
    const v = src[k]!;
    let lo = 0;
    let hi = s.values.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s.values[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    out[picked[k]!] = mapped[lo]!;
  }
  return out;
}
