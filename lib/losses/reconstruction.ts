// Reconstruction losses: L1 (mean absolute error), CycleGAN's cycle-consistency L1 and the
// identity L1 (CycleGAN, SynDiff). Any shape, 2D and 3D alike; the weights are the caller's.
import { tf } from "../engine/tf.js";
import type { Tensor } from "../engine/tf.js";
import { badOption, checkFloat, sameShape } from "./common.js";

function l1(a: Tensor, b: Tensor, what: string): tf.Scalar {
  sameShape(what, "a", a, "b", b);
  checkFloat(what, "a", a);
  checkFloat(what, "b", b);
  if (a.size === 0) badOption(`${what}: the inputs are empty (shape [${a.shape}])`);
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))) as tf.Scalar);
}

/** mean |a - b| over every element (PyTorch's L1Loss, reduction "mean"); a and b the same shape. */
export function l1Loss(a: Tensor, b: Tensor): tf.Scalar {
  return l1(a, b, "l1Loss");
}

/** Cycle consistency: mean |real - F(G(real))| (the caller weights it by lambda, 10 in CycleGAN). */
export function cycleLoss(real: Tensor, reconstructed: Tensor): tf.Scalar {
  return l1(real, reconstructed, "cycleLoss");
}

/** Identity: mean |y - G(y)| for a generator G: X -> Y fed its own output domain (weight 0.5 * lambda). */
export function identityLoss(real: Tensor, identityOutput: Tensor): tf.Scalar {
  return l1(real, identityOutput, "identityLoss");
}
