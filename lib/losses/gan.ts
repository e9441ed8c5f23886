// Adversarial losses: LSGAN (CycleGAN's default), vanilla BCE-with-logits, the non-saturating
// softplus form (SynDiff), the discriminator and generator objectives, and SynDiff's R1 penalty.
import { tf } from "../engine/tf.js";
import type { Tensor } from "../engine/tf.js";
import { badOption, checkFloat, softplus } from "./common.js";

export type GanMode = "lsgan" | "vanilla" | "nonsaturating";
export const GAN_MODES: readonly GanMode[] = ["lsgan", "vanilla", "nonsaturating"];

function checkMode(what: string, mode: string): void {
  if (!(GAN_MODES as readonly string[]).includes(mode)) badOption(`${what}: GAN mode "${mode}" is not one of ${GAN_MODES.join(", ")}`);
}

/**
 * The GAN loss of discriminator outputs (raw logits, any shape), averaged over every element:
 * - "lsgan": mean((x - 1)^2) for real, mean(x^2) for fake;
 * - "vanilla": binary cross-entropy with logits against 1 / 0, i.e. mean(softplus(-x)) for
 *   real, mean(softplus(x)) for fake;
 * - "nonsaturating": mean(softplus(-x)) for real, mean(softplus(x)) for fake (SynDiff/StyleGAN).
 * "vanilla" and "nonsaturating" are the same numbers: CycleGAN's vanilla generator loss is the
 * BCE against "real", which is already the non-saturating form; both names are kept for the papers.
 */
export function ganLoss(prediction: Tensor, targetIsReal: boolean, mode: GanMode = "lsgan"): tf.Scalar {
  checkMode("ganLoss", mode);
  checkFloat("ganLoss", "prediction", prediction);
  if (prediction.size === 0) badOption(`ganLoss: prediction is empty (shape [${prediction.shape}])`);
  return tf.tidy(() => {
    if (mode === "lsgan") return tf.mean(tf.square(targetIsReal ? tf.sub(prediction, 1) : prediction)) as tf.Scalar;
    return tf.mean(softplus(targetIsReal ? tf.neg(prediction) : prediction)) as tf.Scalar;
  });
}

/**
 * The discriminator objective scale * (ganLoss(predReal, real) + ganLoss(predFake, fake)).
 * scale defaults to 0.5 as in CycleGAN; SynDiff sums the two terms (scale 1).
 * predFake must come from detached fakes (the caller's job: build them outside the gradient).
 */
export function discriminatorLoss(predReal: Tensor, predFake: Tensor, mode: GanMode = "lsgan", scale = 0.5): tf.Scalar {
  if (!Number.isFinite(scale)) badOption(`discriminatorLoss: scale must be finite, got ${scale}`);
  return tf.tidy(() => tf.mul(tf.add(ganLoss(predReal, true, mode), ganLoss(predFake, false, mode)), scale) as tf.Scalar);
}

/** The generator objective: its fakes judged against the "real" target, ganLoss(predFake, true). */
export function generatorLoss(predFake: Tensor, mode: GanMode = "lsgan"): tf.Scalar {
  return ganLoss(predFake, true, mode);
}

/**
 * SynDiff's R1 penalty on real data: with g = d(sum D(real)) / d(real),
 *   r1 = (1/B) * sum_b sum_{all non-batch elements i} g[b, i]^2
 * i.e. the squared L2 norm of each sample's gradient, averaged over the batch (axis 0).
 * gamma (SynDiff adds r1_gamma / 2 * r1) is applied by the caller. The inner gradient is built
 * with tf.grad, so the result stays differentiable with respect to the discriminator's weights
 * (the second-order term an outer tf.variableGrads / optimizer.minimize needs).
 * `discriminatorFn` maps the batch to its logits (any shape); close over extra inputs (t, x_{t+1}).
 * Double backprop relies on the engine's second-order fixes (lib/engine/secondOrder.ts): stock
 * tfjs-core 4.22 silently gets tanh/sigmoid/exp/elu wrong and has no gradient for leakyRelu or
 * maximum. Softmax/logSoftmax and max-pool gradients are not fixed: keep them out of `discriminatorFn`.
 */
export function r1Penalty(realInput: Tensor, discriminatorFn: (x: Tensor) => Tensor): tf.Scalar {
  checkFloat("r1Penalty", "realInput", realInput);
  if (realInput.rank < 2) badOption(`r1Penalty: realInput must be a batch [batch, ...], got shape [${realInput.shape}]`);
  return tf.tidy(() => {
    const g = tf.grad((x: Tensor) => tf.sum(discriminatorFn(x)))(realInput);
    const perSample = tf.sum(tf.reshape(tf.square(g), [realInput.shape[0]!, -1]), 1);
    return tf.mean(perSample) as tf.Scalar;
  });
}
