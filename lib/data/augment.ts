// Intensity augmentation: the IntraStyler style perturbations (MONAI-style gamma, bias field,
// Gaussian smoothing, Gaussian noise) that make contrastive negatives, and seeded training transforms.
//
// Every function takes a Float32Array with its shape ([nx, ny] or [nx, ny, nz], x fastest) and
// returns a new array; inputs are never modified. All randomness comes from the Rng passed in,
// so the same seed gives the same output.
import { UnpairedError } from "../util/errors.js";
import { Rng } from "../util/random.js";
import { type LabelVolume, type Volume, makeLabelVolume, makeVolume } from "../volume/volume.js";
import { flipAxes } from "../volume/orient.js";
import {
  type BorderMode,
  type GaussianOptions,
  type KernelKind,
  GAUSSIAN_DEFAULTS,
  assertArrayShape,
  gaussianSmooth,
  resolveGaussianOptions,
} from "./gaussian.js";

/** A closed-open interval [lo, hi) that a parameter is drawn from uniformly. */
export type ParamRange = readonly [number, number];

function bad(message: string): UnpairedError {
  return new UnpairedError("BAD_OPTION", message);
}

function checkRange(what: string, r: ParamRange, min = -Infinity, minInclusive = true): void {
  if (!Array.isArray(r) || r.length !== 2 || !r.every(Number.isFinite) || r[0] > r[1]) {
    throw bad(`${what}: expected a range [lo, hi] of finite numbers with lo <= hi, got ${JSON.stringify(r)}`);
  }
  if (minInclusive ? r[0] < min : r[0] <= min) {
    throw bad(`${what}: the range [${r[0]}, ${r[1]}] must lie ${minInclusive ? "at or above" : "above"} ${min}`);
  }
}

function checkProbability(what: string, p: number): void {
  if (!(Number.isFinite(p) && p >= 0 && p <= 1)) throw bad(`${what}: a probability must be in [0, 1], got ${p}`);
}

function withData(v: Volume, data: Float32Array): Volume {
  return makeVolume(data, v.shape, v.spacing, v.affine);
}

// ---------------------------------------------------------------------------------------------
// Contrast (gamma)

/** Added to the intensity range before dividing (MONAI AdjustContrast's epsilon). */
export const CONTRAST_EPS = 1e-7;

/**
 * MONAI AdjustContrast: out = ((x - min) / (max - min + eps))^gamma * (max - min) + min, with
 * min and max over the whole array and eps = 1e-7. gamma > 0. A constant array comes back as is.
 */
export function adjustContrast(x: Float32Array, shape: readonly number[], gamma: number): Float32Array {
  assertArrayShape("adjustContrast", x.length, shape);
  if (!(Number.isFinite(gamma) && gamma > 0)) throw bad(`adjustContrast: gamma must be a positive number, got ${gamma}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.pow((x[i]! - lo) / (range + CONTRAST_EPS), gamma) * range + lo;
  return out;
}

/** gamma uniform in `range` (default (0.5, 1.5)), then adjustContrast. */
export function randomAdjustContrast(
  x: Float32Array,
  shape: readonly number[],
  rng: Rng,
  range: ParamRange = STYLE_DEFAULTS.gamma,
): { data: Float32Array; gamma: number } {
  checkRange("randomAdjustContrast gamma", range, 0, false);
  const gamma = rng.range(range[0], range[1]);
  return { data: adjustContrast(x, shape, gamma), gamma };
}

/** adjustContrast on a Volume. */
export function adjustContrastVolume(v: Volume, gamma: number): Volume {
  return withData(v, adjustContrast(v.data, v.shape, gamma));
}

// ---------------------------------------------------------------------------------------------
// Bias field

/**
 * The polynomial basis of the bias field's log.
 * - "legendre": products of Legendre polynomials P_i(x) P_j(y) [P_k(z)], as MONAI RandBiasField
 *   evaluates it (numpy leggrid2d/leggrid3d). The default.
 * - "monomial": plain monomials x^i y^j [z^k].
 * Both span the same space (total degree <= degree); they differ in what a random coefficient
 * vector looks like (e.g. P2(x) = (3x^2 - 1) / 2 also shifts the centre).
 */
export type BiasBasis = "legendre" | "monomial";

export interface BiasFieldOptions {
  /** Highest total degree of the polynomial (default 3). */
  degree?: number;
  /** Default "legendre". */
  basis?: BiasBasis;
}

/**
 * The exponent tuples [i, j] (2D) or [i, j, k] (3D) with i + j (+ k) <= degree, in lexicographic
 * order ([0,0,0], [0,0,1], [0,0,2], [0,0,3], [0,1,0], ...; MONAI's 3D order). Coefficient t of a
 * bias field multiplies term t. Count: C(degree + dims, dims), so 10 in 2D and 20 in 3D for degree 3.
 */
export function biasFieldTerms(dims: number, degree = 3): number[][] {
  if (dims !== 2 && dims !== 3) throw bad(`biasFieldTerms: dims must be 2 or 3, got ${dims}`);
  if (!(Number.isInteger(degree) && degree >= 0 && degree <= 20)) throw bad(`bias field: degree must be a whole number in [0, 20], got ${degree}`);
  const terms: number[][] = [];
  for (let i = 0; i <= degree; i++) {
    for (let j = 0; j <= degree - i; j++) {
      if (dims === 2) terms.push([i, j]);
      else for (let k = 0; k <= degree - i - j; k++) terms.push([i, j, k]);
    }
  }
  return terms;
}

/** Normalised coordinate of voxel i on an axis of n voxels: linspace(-1, 1, n); 0 when n is 1. */
export function normalisedCoordinate(i: number, n: number): number {
  return n === 1 ? 0 : -1 + (2 * i) / (n - 1);
}

/** table[d][i] = basis polynomial of degree d at the normalised coordinate of voxel i. */
function basisTable(n: number, degree: number, basis: BiasBasis): Float64Array[] {
  const table = Array.from({ length: degree + 1 }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    const t = normalisedCoordinate(i, n);
    table[0]![i] = 1;
    if (degree >= 1) table[1]![i] = t;
    for (let d = 2; d <= degree; d++) {
      table[d]![i] =
        basis === "monomial" ? table[d - 1]![i]! * t : ((2 * d - 1) * t * table[d - 1]![i]! - (d - 1) * table[d - 2]![i]!) / d;
    }
  }
  return table;
}

function resolveBias(opts: BiasFieldOptions): Required<BiasFieldOptions> {
  const degree = opts.degree ?? STYLE_DEFAULTS.biasDegree;
  const basis = opts.basis ?? STYLE_DEFAULTS.biasBasis;
  if (basis !== "legendre" && basis !== "monomial") throw bad(`bias field: basis must be "legendre" or "monomial", got ${String(basis)}`);
  return { degree, basis };
}

/**
 * The log of the bias field, P(coords) = sum_t coeffs[t] * term_t(coords), on the normalised
 * coordinates (each axis linspace(-1, 1)); terms as biasFieldTerms(shape.length, degree) lists them.
 */
export function biasFieldLog(shape: readonly number[], coeffs: ArrayLike<number>, opts: BiasFieldOptions = {}): Float64Array {
  assertArrayShape("biasFieldLog", shape.reduce((a, b) => a * b, 1), shape);
  const { degree, basis } = resolveBias(opts);
  const terms = biasFieldTerms(shape.length, degree);
  if (coeffs.length !== terms.length) {
    throw bad(`bias field: a degree-${degree} ${shape.length}D field needs ${terms.length} coefficients, got ${coeffs.length}`);
  }
  for (let t = 0; t < coeffs.length; t++) if (!Number.isFinite(coeffs[t]!)) throw bad(`bias field: coefficient ${t} is ${coeffs[t]}`);
  const [nx, ny, nz = 1] = shape as [number, number, number?];
  const bx = basisTable(nx, degree, basis);
  const by = basisTable(ny, degree, basis);
  const bz = basisTable(nz, degree, basis);
  const out = new Float64Array(nx * ny * nz);
  terms.forEach((e, t) => {
    const c = coeffs[t]!;
    if (c === 0) return;
    const px = bx[e[0]!]!;
    const py = by[e[1]!]!;
    const pz = bz[e[2] ?? 0]!;
    let idx = 0;
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        const cyz = c * py[y]! * pz[z]!;
        for (let x = 0; x < nx; x++) out[idx++] += cyz * px[x]!;
      }
    }
  });
  return out;
}

/** Multiplicative bias field: out = x * exp(P(coords)) (MONAI RandBiasField, for given coefficients). */
export function applyBiasField(
  x: Float32Array,
  shape: readonly number[],
  coeffs: ArrayLike<number>,
  opts: BiasFieldOptions = {},
): Float32Array {
  assertArrayShape("applyBiasField", x.length, shape);
  const p = biasFieldLog(shape, coeffs, opts);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * Math.exp(p[i]!);
  return out;
}

/** One coefficient per term uniform in `coeffRange` (default (1e-5, 0.1)), then applyBiasField. */
export function randomBiasField(
  x: Float32Array,
  shape: readonly number[],
  rng: Rng,
  opts: BiasFieldOptions & { coeffRange?: ParamRange } = {},
): { data: Float32Array; coeffs: number[] } {
  const range = opts.coeffRange ?? STYLE_DEFAULTS.biasCoeff;
  checkRange("randomBiasField coefficients", range);
  assertArrayShape("randomBiasField", x.length, shape);
  const bias = resolveBias(opts);
  const n = biasFieldTerms(shape.length, bias.degree).length;
  const coeffs = Array.from({ length: n }, () => rng.range(range[0], range[1]));
  return { data: applyBiasField(x, shape, coeffs, bias), coeffs };
}

/** applyBiasField on a Volume. */
export function applyBiasFieldVolume(v: Volume, coeffs: ArrayLike<number>, opts: BiasFieldOptions = {}): Volume {
  return withData(v, applyBiasField(v.data, v.shape, coeffs, opts));
}

// ---------------------------------------------------------------------------------------------
// Gaussian smoothing (the filter itself is in gaussian.ts)

/** One sigma per axis, each uniform in `sigmaRange` (default (0.5, 1.5) voxels), then gaussianSmooth. */
export function randomGaussianSmooth(
  x: Float32Array,
  shape: readonly number[],
  rng: Rng,
  opts: GaussianOptions & { sigmaRange?: ParamRange } = {},
): { data: Float32Array; sigma: number[] } {
  const range = opts.sigmaRange ?? STYLE_DEFAULTS.sigma;
  checkRange("randomGaussianSmooth sigma", range, 0);
  assertArrayShape("randomGaussianSmooth", x.length, shape);
  const sigma = shape.map(() => rng.range(range[0], range[1]));
  const { sigmaRange: _unused, ...gopts } = opts;
  return { data: gaussianSmooth(x, shape, sigma, gopts), sigma };
}

// ---------------------------------------------------------------------------------------------
// Gaussian noise

/**
 * Adds N(mean, std) noise to every voxel. The noise comes from `noise`: a seed (a fresh Rng, so
 * the same seed always gives the same field) or an Rng, which it advances.
 */
export function addGaussianNoise(
  x: Float32Array,
  shape: readonly number[],
  std: number,
  noise: number | Rng,
  mean = 0,
): Float32Array {
  assertArrayShape("addGaussianNoise", x.length, shape);
  if (!(Number.isFinite(std) && std >= 0)) throw bad(`addGaussianNoise: std must be a finite number >= 0, got ${std}`);
  if (!Number.isFinite(mean)) throw bad(`addGaussianNoise: mean must be finite, got ${mean}`);
  const g = typeof noise === "number" ? new Rng(noise) : noise;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! + mean + std * g.normal();
  return out;
}

/**
 * std uniform in `stdRange` (default (0, 0.4), MONAI RandGaussianNoise with std 0.4), and a noise
 * seed, both drawn from rng; then addGaussianNoise. The returned seed replays the same field.
 */
export function randomGaussianNoise(
  x: Float32Array,
  shape: readonly number[],
  rng: Rng,
  opts: { stdRange?: ParamRange; mean?: number } = {},
): { data: Float32Array; std: number; seed: number } {
  const range = opts.stdRange ?? STYLE_DEFAULTS.noiseStd;
  checkRange("randomGaussianNoise std", range, 0);
  const std = rng.range(range[0], range[1]);
  const seed = rng.nextUint32();
  return { data: addGaussianNoise(x, shape, std, seed, opts.mean ?? STYLE_DEFAULTS.noiseMean), std, seed };
}

/** addGaussianNoise on a Volume. */
export function addGaussianNoiseVolume(v: Volume, std: number, noise: number | Rng, mean = 0): Volume {
  return withData(v, addGaussianNoise(v.data, v.shape, std, noise, mean));
}

// ---------------------------------------------------------------------------------------------
// The style perturbation (IntraStyler's negatives)

export type StylePerturbationName = "contrast" | "bias" | "smooth" | "noise";

/** The order the perturbations are applied in when several fire. */
export const STYLE_PERTURBATIONS: readonly StylePerturbationName[] = ["contrast", "bias", "smooth", "noise"];

export interface StylePerturbationOptions {
  /** Probability that each perturbation fires, one number for all or one per name. Default 0.25. */
  p?: number | Partial<Record<StylePerturbationName, number>>;
  /**
   * Condition on at least one perturbation firing (the draw is redone, exactly, from the
   * distribution restricted to non-empty sets), so the output never equals the input unchanged.
   * With p = 0.25 each then fires with probability 0.25 / (1 - 0.75^4) ~ 0.366. Default false
   * (the reference's behaviour); randomStyleNegative turns it on.
   */
  atLeastOne?: boolean;
  /** Gamma range (default [0.5, 1.5]). */
  gamma?: ParamRange;
  /** Bias coefficient range (default [1e-5, 0.1]). */
  biasCoeff?: ParamRange;
  /** Bias polynomial degree (default 3). */
  biasDegree?: number;
  /** Bias polynomial basis (default "legendre", MONAI's). */
  biasBasis?: BiasBasis;
  /** Smoothing sigma range per axis in voxels (default [0.5, 1.5]). */
  sigma?: ParamRange;
  /** Smoothing kernel and border (default truncate 4, border "reflect", kernel "sampled"). */
  smoothing?: GaussianOptions;
  /** Noise std range (default [0, 0.4]). */
  noiseStd?: ParamRange;
  /** Noise mean (default 0). */
  noiseMean?: number;
}

export const STYLE_DEFAULTS = {
  p: 0.25,
  atLeastOne: false,
  gamma: [0.5, 1.5] as ParamRange,
  biasCoeff: [1e-5, 0.1] as ParamRange,
  biasDegree: 3,
  biasBasis: "legendre" as BiasBasis,
  sigma: [0.5, 1.5] as ParamRange,
  smoothing: { ...GAUSSIAN_DEFAULTS } as Required<GaussianOptions>,
  noiseStd: [0, 0.4] as ParamRange,
  noiseMean: 0,
} as const;

/** What one style perturbation did: enough to replay it with applyStylePerturbation. */
export interface StylePerturbationRecord {
  /** The perturbations that fired, in the order applied. */
  fired: StylePerturbationName[];
  contrast?: { gamma: number };
  bias?: { coeffs: number[]; degree: number; basis: BiasBasis };
  smooth?: { sigma: number[]; truncate: number; border: BorderMode; kernel: KernelKind };
  noise?: { std: number; mean: number; seed: number };
}

function firingProbabilities(p: StylePerturbationOptions["p"]): number[] {
  const probs = STYLE_PERTURBATIONS.map((name) => {
    if (p === undefined) return STYLE_DEFAULTS.p;
    if (typeof p === "number") return p;
    return p[name] ?? STYLE_DEFAULTS.p;
  });
  probs.forEach((q, i) => checkProbability(`style perturbation p (${STYLE_PERTURBATIONS[i]})`, q));
  return probs;
}

/**
 * Which perturbations fire, as a bit mask (bit i = STYLE_PERTURBATIONS[i]), from one uniform draw:
 * each fires independently with its probability; with atLeastOne the empty set is excluded and
 * the rest renormalised (exactly the independent draw conditioned on "at least one").
 */
function drawFiringMask(rng: Rng, probs: readonly number[], atLeastOne: boolean): number {
  const n = probs.length;
  const weights: number[] = [];
  let total = 0;
  for (let mask = 0; mask < 1 << n; mask++) {
    let w = 1;
    for (let i = 0; i < n; i++) w *= mask & (1 << i) ? probs[i]! : 1 - probs[i]!;
    if (atLeastOne && mask === 0) w = 0;
    weights.push(w);
    total += w;
  }
  if (!(total > 0)) throw bad("style perturbation: atLeastOne needs at least one perturbation with p > 0");
  let u = rng.uniform() * total;
  let last = 0;
  for (let mask = 0; mask < weights.length; mask++) {
    if (weights[mask]! <= 0) continue;
    last = mask;
    if (u < weights[mask]!) return mask;
    u -= weights[mask]!;
  }
  return last; // rounding at the top end
}

/**
 * The IntraStyler intensity perturbation (MONAI RandAdjustContrast, RandBiasField,
 * RandGaussianSmooth, RandGaussianNoise, each with probability p = 0.25 by default), applied in
 * that fixed order; several firing at once gives the "mixture". Returns the new array and a
 * record of what fired with which parameters.
 *
 * Draws from rng: one uniform for the firing set, then each fired perturbation's parameters in
 * order (gamma; the bias coefficients; one sigma per axis; the noise std and noise seed).
 */
export function randomStylePerturbation(
  x: Float32Array,
  shape: readonly number[],
  rng: Rng,
  opts: StylePerturbationOptions = {},
): { data: Float32Array; record: StylePerturbationRecord } {
  assertArrayShape("randomStylePerturbation", x.length, shape);
  const probs = firingProbabilities(opts.p);
  const gammaRange = opts.gamma ?? STYLE_DEFAULTS.gamma;
  const coeffRange = opts.biasCoeff ?? STYLE_DEFAULTS.biasCoeff;
  const sigmaRange = opts.sigma ?? STYLE_DEFAULTS.sigma;
  const stdRange = opts.noiseStd ?? STYLE_DEFAULTS.noiseStd;
  checkRange("style perturbation gamma", gammaRange, 0, false);
  checkRange("style perturbation bias coefficients", coeffRange);
  checkRange("style perturbation sigma", sigmaRange, 0);
  checkRange("style perturbation noise std", stdRange, 0);
  const bias = resolveBias({ degree: opts.biasDegree, basis: opts.biasBasis });
  const nTerms = biasFieldTerms(shape.length, bias.degree).length;
  const smoothing = resolveGaussianOptions(opts.smoothing ?? {});
  const noiseMean = opts.noiseMean ?? STYLE_DEFAULTS.noiseMean;
  if (!Number.isFinite(noiseMean)) throw bad(`style perturbation: noiseMean must be finite, got ${noiseMean}`);

  const mask = drawFiringMask(rng, probs, opts.atLeastOne ?? STYLE_DEFAULTS.atLeastOne);
  const record: StylePerturbationRecord = { fired: [] };
  STYLE_PERTURBATIONS.forEach((name, i) => {
    if (!(mask & (1 << i))) return;
    record.fired.push(name);
    if (name === "contrast") record.contrast = { gamma: rng.range(gammaRange[0], gammaRange[1]) };
    else if (name === "bias") {
      record.bias = { coeffs: Array.from({ length: nTerms }, () => rng.range(coeffRange[0], coeffRange[1])), ...bias };
    } else if (name === "smooth") record.smooth = { sigma: shape.map(() => rng.range(sigmaRange[0], sigmaRange[1])), ...smoothing };
    else record.noise = { std: rng.range(stdRange[0], stdRange[1]), mean: noiseMean, seed: rng.nextUint32() };
  });
  return { data: applyStylePerturbation(x, shape, record), record };
}

/**
 * randomStylePerturbation with atLeastOne on by default: a negative for the style contrastive
 * loss. A negative identical to its positive carries no signal (its logit ties the positive's),
 * and with four perturbations at p = 0.25 that would happen to 0.75^4 ~ 32% of negatives.
 */
export function randomStyleNegative(
  x: Float32Array,
  shape: readonly number[],
  rng: Rng,
  opts: StylePerturbationOptions = {},
): { data: Float32Array; record: StylePerturbationRecord } {
  return randomStylePerturbation(x, shape, rng, { ...opts, atLeastOne: opts.atLeastOne ?? true });
}

/** `count` negatives (reference code: 12) of one positive, each from randomStyleNegative. */
export function styleNegatives(
  x: Float32Array,
  shape: readonly number[],
  rng: Rng,
  count = 12,
  opts: StylePerturbationOptions = {},
): { data: Float32Array; record: StylePerturbationRecord }[] {
  if (!(Number.isInteger(count) && count >= 0)) throw bad(`styleNegatives: count must be a whole number >= 0, got ${count}`);
  return Array.from({ length: count }, () => randomStyleNegative(x, shape, rng, opts));
}

/** Replays a record: the same perturbations, same parameters, same order; no randomness. */
export function applyStylePerturbation(x: Float32Array, shape: readonly number[], record: StylePerturbationRecord): Float32Array {
  assertArrayShape("applyStylePerturbation", x.length, shape);
  let cur = x;
  for (const name of record.fired) {
    if (name === "contrast") cur = adjustContrast(cur, shape, need(record.contrast, name).gamma);
    else if (name === "bias") {
      const b = need(record.bias, name);
      cur = applyBiasField(cur, shape, b.coeffs, { degree: b.degree, basis: b.basis });
    } else if (name === "smooth") {
      const s = need(record.smooth, name);
      cur = gaussianSmooth(cur, shape, s.sigma, { truncate: s.truncate, border: s.border, kernel: s.kernel });
    } else if (name === "noise") {
      const n = need(record.noise, name);
      cur = addGaussianNoise(cur, shape, n.std, n.seed, n.mean);
    } else throw bad(`applyStylePerturbation: unknown perturbation ${String(name)}`);
  }
  return cur === x ? Float32Array.from(x) : cur;
}

function need<T>(v: T | undefined, name: string): T {
  if (v === undefined) throw bad(`applyStylePerturbation: "${name}" fired but the record has no parameters for it`);
  return v;
}

/** randomStylePerturbation on a Volume. */
export function randomStylePerturbationVolume(
  v: Volume,
  rng: Rng,
  opts: StylePerturbationOptions = {},
): { volume: Volume; record: StylePerturbationRecord } {
  const { data, record } = randomStylePerturbation(v.data, v.shape, rng, opts);
  return { volume: withData(v, data), record };
}

/** randomStyleNegative on a Volume. */
export function randomStyleNegativeVolume(
  v: Volume,
  rng: Rng,
  opts: StylePerturbationOptions = {},
): { volume: Volume; record: StylePerturbationRecord } {
  const { data, record } = randomStyleNegative(v.data, v.shape, rng, opts);
  return { volume: withData(v, data), record };
}

/** applyStylePerturbation on a Volume. */
export function applyStylePerturbationVolume(v: Volume, record: StylePerturbationRecord): Volume {
  return withData(v, applyStylePerturbation(v.data, v.shape, record));
}

// ---------------------------------------------------------------------------------------------
// Training augmentation: composable seeded transforms on an image (and its labels)

/** One training sample: an image and, for labelled data, its labels (same shape). */
export interface Sample {
  image: Volume;
  label?: LabelVolume;
}

/** A seeded transform: never modifies the sample given (returns it as is when it changes nothing). */
export type Transform<S extends Sample = Sample> = (sample: S, rng: Rng) => S;

/** Applies the transforms in order, all drawing from the same rng. */
export function compose<S extends Sample = Sample>(transforms: readonly Transform<S>[]): Transform<S> {
  const list = [...transforms];
  return (sample, rng) => list.reduce((s, t) => t(s, rng), sample);
}

/**
 * Mirrors image and labels together along each of `axes` (default [0], x: left-right in RAS),
 * each axis independently with probability p (default 0.5). The geometry (affine) is kept: the
 * result is a mirrored subject in the same frame, as augmentation intends.
 */
export function randomFlip<S extends Sample = Sample>(opts: { axes?: readonly number[]; p?: number } = {}): Transform<S> {
  const axes = [...(opts.axes ?? [0])];
  const p = opts.p ?? 0.5;
  checkProbability("randomFlip", p);
  if (!axes.every((a) => Number.isInteger(a) && a >= 0 && a <= 2)) throw bad(`randomFlip: axes must be 0, 1 or 2, got [${axes}]`);
  return (sample, rng) => {
    const { image, label } = sample;
    if (label && (label.shape.length !== image.shape.length || label.shape.some((n, i) => n !== image.shape[i]))) {
      throw new UnpairedError("BAD_VOLUME", `randomFlip: label shape [${label.shape}] differs from image shape [${image.shape}]`);
    }
    const bad3 = axes.find((a) => a >= image.shape.length);
    if (bad3 !== undefined) throw bad(`randomFlip: axis ${bad3} is not an axis of [${image.shape}]`);
    const fired = axes.filter(() => rng.chance(p));
    if (fired.length === 0) return sample;
    // The voxels move as lib/volume's flipAxes moves them; the affine stays (same frame).
    const out: S = { ...sample, image: withData(image, flipAxes(image, fired).data) };
    if (label) out.label = makeLabelVolume(flipAxes(label, fired).data, label.shape, label.spacing, label.affine);
    return out;
  };
}

/** With probability p (default 1): image * (1 + U(-range, range)), range default 0.1. Labels untouched. */
export function randomIntensityScale<S extends Sample = Sample>(opts: { range?: number; p?: number } = {}): Transform<S> {
  const range = opts.range ?? 0.1;
  const p = opts.p ?? 1;
  checkProbability("randomIntensityScale", p);
  if (!(Number.isFinite(range) && range >= 0)) throw bad(`randomIntensityScale: range must be a finite number >= 0, got ${range}`);
  return (sample, rng) => {
    if (!rng.chance(p)) return sample;
    const f = 1 + rng.range(-range, range);
    const src = sample.image.data;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i]! * f;
    return { ...sample, image: withData(sample.image, out) };
  };
}

/** With probability p (default 1): image + U(-range, range), range default 0.1. Labels untouched. */
export function randomIntensityShift<S extends Sample = Sample>(opts: { range?: number; p?: number } = {}): Transform<S> {
  const range = opts.range ?? 0.1;
  const p = opts.p ?? 1;
  checkProbability("randomIntensityShift", p);
  if (!(Number.isFinite(range) && range >= 0)) throw bad(`randomIntensityShift: range must be a finite number >= 0, got ${range}`);
  return (sample, rng) => {
    if (!rng.chance(p)) return sample;
    const d = rng.range(-range, range);
    const src = sample.image.data;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i]! + d;
    return { ...sample, image: withData(sample.image, out) };
  };
}

/** The style perturbation as a Transform (image only; labels untouched). */
export function randomStyle<S extends Sample = Sample>(opts: StylePerturbationOptions = {}): Transform<S> {
  return (sample, rng) => ({ ...sample, image: randomStylePerturbationVolume(sample.image, rng, opts).volume });
}

export interface TrainingAugmentationOptions {
  /** Axes to flip (default [0]); [] for none. */
  flipAxes?: readonly number[];
  /** Probability of each flip (default 0.5). */
  flipP?: number;
  /** Intensity scale half-range (default 0.1; 0 for none). */
  scale?: number;
  /** Intensity shift half-range (default 0.1; 0 for none). */
  shift?: number;
}

/**
 * The usual augmentation for images normalised to [-1, 1]: random flips, then
 * x * (1 + U(-0.1, 0.1)), then + U(-0.1, 0.1). No clipping afterwards.
 */
export function trainingAugmentation<S extends Sample = Sample>(opts: TrainingAugmentationOptions = {}): Transform<S> {
  const parts: Transform<S>[] = [];
  const axes = opts.flipAxes ?? [0];
  if (axes.length > 0) parts.push(randomFlip<S>({ axes, p: opts.flipP ?? 0.5 }));
  if ((opts.scale ?? 0.1) > 0) parts.push(randomIntensityScale<S>({ range: opts.scale ?? 0.1 }));
  if ((opts.shift ?? 0.1) > 0) parts.push(randomIntensityShift<S>({ range: opts.shift ?? 0.1 }));
  return compose(parts);
}
