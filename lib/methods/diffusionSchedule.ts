// SynDiff's few-step diffusion process: the variance-preserving (VP) schedule discretised into T
// large steps (T = 4, beta_min 0.1, beta_max 20 in the paper), forward sampling q(x_t | x_0) and
// q(x_{t+1} | x_t), and the Gaussian posterior q(x_t | x_0, x_{t+1}) the adversarial generator's
// x_0 prediction is pushed through. Coefficients are computed once in float64 on the CPU; the
// tensor functions take their Gaussian noise from the caller, so the method's Rng decides it.
//
// Discretisation. The continuous VP SDE has marginal mean factor exp(L(s)) with
// L(s) = -s^2 (beta_max - beta_min) / 4 - s beta_min / 2, so alpha_bar(s) = exp(2 L(s)). It is
// read at T + 1 times s_k = eps + (1 - eps) k / T (eps = 1e-3), k = 0..T, and the step betas are
// beta_k = 1 - alpha_bar(s_k) / alpha_bar(s_{k-1}) for k = 1..T, with beta_0 = 1e-8 in front.
// Indices: the "forward" arrays (length T + 1) are indexed by k = 0..T; a training pair uses
// x_t at k = t and x_{t+1} at k = t + 1, with t drawn from 0..T-1. The "posterior" arrays (length
// T) are indexed by t = 0..T-1 and describe q(x_t | x_0, x_{t+1}), i.e. they use beta_{t+1}.
import { tf } from "../engine/tf.js";
import type { Tensor } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";

export interface VpScheduleOptions {
  /** Diffusion steps T (4 in SynDiff). */
  timesteps: number;
  betaMin: number;
  betaMax: number;
  /** Start of the continuous time grid (1e-3 in the reference). */
  epsSmall?: number;
}

export interface VpSchedule {
  readonly timesteps: number;
  /** Continuous times s_k, k = 0..T. */
  readonly times: Float64Array;
  /** beta_k, k = 0..T (beta_0 = 1e-8). */
  readonly betas: Float64Array;
  /** sqrt(beta_k): the noise scale of q(x_k | x_{k-1}). */
  readonly sigmas: Float64Array;
  /** sqrt(1 - beta_k): the signal scale of q(x_k | x_{k-1}). */
  readonly alphaSqrt: Float64Array;
  /** prod_{j <= k} sqrt(1 - beta_j): the signal scale of q(x_k | x_0). */
  readonly alphaSqrtCum: Float64Array;
  /** sqrt(1 - alphaSqrtCum_k^2): the noise scale of q(x_k | x_0) (VP: the two add to variance 1). */
  readonly sigmasCum: Float64Array;
  /** Posterior coefficients for t = 0..T-1 (steps 1..T; beta_0 left out). */
  readonly posterior: PosteriorCoefficients;
}

export interface PosteriorCoefficients {
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  readonly alphasCumprod: Float64Array;
  /** alphasCumprod shifted right by one, starting at 1. */
  readonly alphasCumprodPrev: Float64Array;
  /** Var q(x_t | x_0, x_{t+1}) = beta (1 - acPrev) / (1 - ac). */
  readonly variance: Float64Array;
  /** log(max(variance, 1e-20)) (the t = 0 variance is 0). */
  readonly logVarianceClipped: Float64Array;
  /** Coefficient of x_0 in the posterior mean. */
  readonly meanCoefX0: Float64Array;
  /** Coefficient of x_{t+1} in the posterior mean. */
  readonly meanCoefXNext: Float64Array;
}

/** log of the VP SDE's mean factor at continuous time s. */
export function vpLogMeanCoefficient(s: number, betaMin: number, betaMax: number): number {
  return -0.25 * s * s * (betaMax - betaMin) - 0.5 * s * betaMin;
}

/** The discrete VP schedule and its posterior coefficients. */
export function vpSchedule(o: VpScheduleOptions): VpSchedule {
  const T = o.timesteps;
  const eps = o.epsSmall ?? 1e-3;
  if (!(Number.isInteger(T) && T >= 1)) throw new UnpairedError("BAD_OPTION", `vpSchedule: timesteps must be a whole number >= 1, got ${T}`);
  if (!(o.betaMin > 0 && o.betaMax >= o.betaMin && Number.isFinite(o.betaMax))) {
    throw new UnpairedError("BAD_OPTION", `vpSchedule: need 0 < betaMin <= betaMax, got ${o.betaMin}, ${o.betaMax}`);
  }
  const n = T + 1;
  const times = new Float64Array(n);
  const alphaBar = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    times[k] = (k / T) * (1 - eps) + eps;
    alphaBar[k] = Math.exp(2 * vpLogMeanCoefficient(times[k]!, o.betaMin, o.betaMax));
  }
  const betas = new Float64Array(n);
  betas[0] = 1e-8;
  for (let k = 1; k < n; k++) betas[k] = 1 - alphaBar[k]! / alphaBar[k - 1]!;
  const sigmas = betas.map(Math.sqrt);
  const alphaSqrt = betas.map((b) => Math.sqrt(1 - b));
  const alphaSqrtCum = new Float64Array(n);
  let running = 1;
  for (let k = 0; k < n; k++) alphaSqrtCum[k] = running *= alphaSqrt[k]!;
  const sigmasCum = alphaSqrtCum.map((a) => Math.sqrt(1 - a * a));

  const pb = betas.slice(1);
  const alphas = pb.map((b) => 1 - b);
  const alphasCumprod = new Float64Array(T);
  running = 1;
  for (let t = 0; t < T; t++) alphasCumprod[t] = running *= alphas[t]!;
  const alphasCumprodPrev = new Float64Array(T);
  for (let t = 0; t < T; t++) alphasCumprodPrev[t] = t === 0 ? 1 : alphasCumprod[t - 1]!;
  const variance = pb.map((b, t) => (b * (1 - alphasCumprodPrev[t]!)) / (1 - alphasCumprod[t]!));
  const posterior: PosteriorCoefficients = {
    betas: pb,
    alphas,
    alphasCumprod,
    alphasCumprodPrev,
    variance,
    logVarianceClipped: variance.map((v) => Math.log(Math.max(v, 1e-20))),
    meanCoefX0: pb.map((b, t) => (b * Math.sqrt(alphasCumprodPrev[t]!)) / (1 - alphasCumprod[t]!)),
    meanCoefXNext: pb.map((_, t) => ((1 - alphasCumprodPrev[t]!) * Math.sqrt(alphas[t]!)) / (1 - alphasCumprod[t]!)),
  };
  return { timesteps: T, times, betas, sigmas, alphaSqrt, alphaSqrtCum, sigmasCum, posterior };
}

function checkSteps(what: string, t: readonly number[], x: Tensor, max: number): void {
  if (t.length !== x.shape[0]) throw new UnpairedError("BAD_OPTION", `${what}: ${t.length} time steps for a batch of ${x.shape[0]}`);
  for (const v of t) if (!(Number.isInteger(v) && v >= 0 && v <= max)) throw new UnpairedError("BAD_OPTION", `${what}: time step ${v} is not a whole number in 0..${max}`);
}

/** Per-sample coefficients [b, 1, .., 1] (broadcast over the image axes of `like`). */
function perSample(values: Float64Array, t: readonly number[], like: Tensor): Tensor {
  return tf.tensor(
    t.map((i) => values[i]!),
    [t.length, ...Array(like.rank - 1).fill(1)],
    "float32",
  );
}

/** q(x_k | x_0): alphaSqrtCum_k x_0 + sigmasCum_k noise, per sample k = t[i] (0..T). */
export function qSample(s: VpSchedule, x0: Tensor, t: readonly number[], noise: Tensor): Tensor {
  checkSteps("qSample", t, x0, s.timesteps);
  return tf.tidy(() => tf.add(tf.mul(perSample(s.alphaSqrtCum, t, x0), x0), tf.mul(perSample(s.sigmasCum, t, x0), noise)));
}

/** q(x_{k+1} | x_k): alphaSqrt_{k+1} x_k + sigmas_{k+1} noise, per sample k = t[i] (0..T-1). */
export function qStep(s: VpSchedule, xt: Tensor, t: readonly number[], noise: Tensor): Tensor {
  checkSteps("qStep", t, xt, s.timesteps - 1);
  const next = t.map((v) => v + 1);
  return tf.tidy(() => tf.add(tf.mul(perSample(s.alphaSqrt, next, xt), xt), tf.mul(perSample(s.sigmas, next, xt), noise)));
}

/** A training pair (x_t, x_{t+1}) from x_0: x_t ~ q(x_t | x_0), then x_{t+1} ~ q(x_{t+1} | x_t). */
export function qSamplePair(s: VpSchedule, x0: Tensor, t: readonly number[], noiseT: Tensor, noiseNext: Tensor): { xt: Tensor; xNext: Tensor } {
  checkSteps("qSamplePair", t, x0, s.timesteps - 1);
  const xt = qSample(s, x0, t, noiseT);
  const xNext = qStep(s, xt, t, noiseNext);
  return { xt, xNext };
}

/** Mean of q(x_t | x_0, x_{t+1}) per sample t = t[i] (0..T-1). */
export function posteriorMean(s: VpSchedule, x0: Tensor, xNext: Tensor, t: readonly number[]): Tensor {
  checkSteps("posteriorMean", t, xNext, s.timesteps - 1);
  const p = s.posterior;
  return tf.tidy(() => tf.add(tf.mul(perSample(p.meanCoefX0, t, x0), x0), tf.mul(perSample(p.meanCoefXNext, t, xNext), xNext)));
}

/**
 * A draw of x_t from q(x_t | x_0, x_{t+1}): mean + exp(logVar / 2) noise, with no noise at t = 0
 * (the last reverse step returns the mean, which there is x_0 itself). Differentiable in x_0.
 */
export function samplePosterior(s: VpSchedule, x0: Tensor, xNext: Tensor, t: readonly number[], noise: Tensor): Tensor {
  checkSteps("samplePosterior", t, xNext, s.timesteps - 1);
  const std = Float64Array.from(t, (v) => (v === 0 ? 0 : Math.exp(0.5 * s.posterior.logVarianceClipped[v]!)));
  return tf.tidy(() => tf.add(posteriorMean(s, x0, xNext, t), tf.mul(perSample(std, t.map((_, i) => i), xNext), noise)));
}
