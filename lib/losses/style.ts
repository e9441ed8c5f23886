// IntraStyler's style losses: the style contrastive InfoNCE (a crop's style vector must pick
// another crop of the same image among intensity-perturbed copies) and style consistency.
import { tf } from "../engine/tf.js";
import type { Tensor } from "../engine/tf.js";
import { badOption, checkFloat, checkPositive, crossEntropyFirst } from "./common.js";

/** The reference code's temperature, 1/100. */
export const STYLE_TAU = 0.01;

export interface StyleContrastiveOptions {
  /** Temperature tau, default 0.01 (IntraStyler's reference code). */
  tau?: number;
}

/**
 * Style contrastive InfoNCE. query [B, K] (the exemplar crop's style, unit vectors), positive
 * [B, K] (another crop of the same image), negatives [B, N, K] (per query) or [N, K] (the same
 * N for every query, the B = 1 case of the reference). Per query b:
 *   logits = [q_b . pos_b, q_b . neg_{b,1}, ..., q_b . neg_{b,N}] / tau,
 *   loss_b = cross-entropy with target 0 = logsumexp(logits) - logits[0];
 * the result is the mean over the batch. Vectors are used as given (no renormalisation).
 */
export function styleContrastiveLoss(query: Tensor, positive: Tensor, negatives: Tensor, opts: StyleContrastiveOptions = {}): tf.Scalar {
  const what = "styleContrastiveLoss";
  const tau = opts.tau ?? STYLE_TAU;
  checkPositive(what, "tau", tau);
  if (query.rank !== 2) badOption(`${what}: query must be [batch, styleDim], got shape [${query.shape}]`);
  const [b, k] = query.shape as [number, number];
  if (positive.rank !== 2 || positive.shape[0] !== b || positive.shape[1] !== k) {
    badOption(`${what}: positive [${positive.shape}] must match query [${query.shape}]`);
  }
  const shared = negatives.rank === 2;
  const ok = shared ? negatives.shape[1] === k : negatives.rank === 3 && negatives.shape[0] === b && negatives.shape[2] === k;
  if (!ok || negatives.shape[negatives.rank - 2] === 0) {
    badOption(`${what}: negatives must be [N, ${k}] or [${b}, N, ${k}] with N >= 1, got [${negatives.shape}]`);
  }
  for (const [name, t] of [["query", query], ["positive", positive], ["negatives", negatives]] as const) checkFloat(what, name, t);
  return tf.tidy(() => {
    const lPos = tf.sum(tf.mul(query, positive), 1, true); // [B, 1]
    const lNeg = shared
      ? tf.matMul(query, negatives as tf.Tensor2D, false, true) // [B, N]
      : tf.squeeze(tf.matMul(tf.expandDims(query, 1) as tf.Tensor3D, negatives as tf.Tensor3D, false, true), [1]);
    const logits = tf.div(tf.concat([lPos, lNeg], 1), tau) as tf.Tensor2D;
    return tf.mean(crossEntropyFirst(logits)) as tf.Scalar;
  });
}

/**
 * Style consistency: mean over the batch of 1 - cos(a_b, b_b), with a = E(G(x, s)) and b = s,
 * both [B, K]. The cosine is a_b . b_b / (max(|a_b|, eps) * max(|b_b|, eps)), eps 1e-8, so it
 * is right for vectors that are not quite unit and finite (gradient too) for a zero vector.
 */
export function styleConsistencyLoss(encodedStyle: Tensor, style: Tensor, eps = 1e-8): tf.Scalar {
  const what = "styleConsistencyLoss";
  if (encodedStyle.rank !== 2) badOption(`${what}: encodedStyle must be [batch, styleDim], got shape [${encodedStyle.shape}]`);
  if (style.rank !== 2 || style.shape[0] !== encodedStyle.shape[0] || style.shape[1] !== encodedStyle.shape[1]) {
    badOption(`${what}: style [${style.shape}] must match encodedStyle [${encodedStyle.shape}]`);
  }
  checkFloat(what, "encodedStyle", encodedStyle);
  checkFloat(what, "style", style);
  checkPositive(what, "eps", eps);
  return tf.tidy(() => {
    // sqrt(max(|v|^2, eps^2)) = max(|v|, eps), with a finite gradient at v = 0.
    const norm = (v: Tensor) => tf.sqrt(tf.maximum(tf.sum(tf.square(v), 1), eps * eps));
    const cos = tf.div(tf.sum(tf.mul(encodedStyle, style), 1), tf.mul(norm(encodedStyle), norm(style)));
    return tf.mean(tf.sub(1, cos)) as tf.Scalar;
  });
}
