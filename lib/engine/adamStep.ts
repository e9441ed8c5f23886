// One Adam update of one parameter, torch.optim.Adam's arithmetic: on the torch backend a single
// fused kernel (UnpairedAdam: four passes in libtorch where the composite dispatches thirteen
// kernels and eight scalar uploads per parameter, which for a network of a few hundred
// parameters was thousands of kernel calls a step); elsewhere the composite, whose numbers the
// other backends keep. Neither runs under a gradient tape: it is the optimiser's update.
import { tf } from "./tf.js";
import type { Tensor } from "./tf.js";

export const ADAM = "UnpairedAdam";

export interface AdamConstants {
  beta1: number;
  beta2: number;
  eps: number;
  /** lr / (1 - beta1^t), computed in double precision. */
  stepSize: number;
  /** sqrt(1 - beta2^t), computed in double precision. */
  bc2Sqrt: number;
}

export interface AdamResult {
  param: Tensor;
  expAvg: Tensor;
  expAvgSq: Tensor;
}

/** The composite update (any backend). */
export function adamStepComposite(param: Tensor, expAvg: Tensor, expAvgSq: Tensor, grad: Tensor, c: AdamConstants): AdamResult {
  return tf.tidy(() => {
    // exp_avg = b1 exp_avg + (1 - b1) grad; exp_avg_sq.mul_(b2).addcmul_(grad, grad, value=1 - b2)
    const m = tf.add(tf.mul(expAvg, c.beta1), tf.mul(grad, 1 - c.beta1));
    const v = tf.add(tf.mul(expAvgSq, c.beta2), tf.mul(tf.mul(grad, 1 - c.beta2), grad));
    // denom = (exp_avg_sq.sqrt() / sqrt(bias_correction2)).add_(eps); param.addcdiv_(exp_avg, denom, value=-step_size)
    const denom = tf.add(tf.div(tf.sqrt(v), c.bc2Sqrt), c.eps);
    const p = tf.sub(param, tf.mul(tf.div(m, denom), c.stepSize));
    return { param: p, expAvg: m, expAvgSq: v };
  }) as unknown as AdamResult;
}

/** New parameter and moments after one update with `grad` (float32 tensors of one shape). */
export function adamStep(param: Tensor, expAvg: Tensor, expAvgSq: Tensor, grad: Tensor, c: AdamConstants): AdamResult {
  if (tf.getBackend() !== "torch" || !tf.getKernel(ADAM, "torch")) return adamStepComposite(param, expAvg, expAvgSq, grad, c);
  const [p, m, v] = tf.engine().runKernel(ADAM, { param, expAvg, expAvgSq, grad }, { ...c }) as Tensor[];
  return { param: p!, expAvg: m!, expAvgSq: v! };
}
