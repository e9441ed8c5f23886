// Normalisation over axes, (x - mean) / sqrt(var + eps) with the mean and biased variance of each
// slice: the core of instance norm (spatial axes) and group norm (spatial axes and a group's
// channels). On the torch backend it is one fused kernel forward and one backward
// (UnpairedNormalise / UnpairedNormaliseGrad: a few passes over x where tfjs's composite of
// moments and arithmetic makes about twenty with its gradient); elsewhere, and inside a
// gradient that an outer gradient records (second order), it is that composite, whose numbers
// the other backends keep.
import { tf } from "./tf.js";
import type { Tensor } from "./tf.js";

export const NORMALISE = "UnpairedNormalise";
export const NORMALISE_GRAD = "UnpairedNormaliseGrad";

/** The composite: moments, then centre and scale (differentiable to any order). */
export function normaliseComposite(x: Tensor, axes: number[], eps: number): Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, axes, true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  });
}

/** d normalise / dx applied to dy, written with differentiable ops. */
function normaliseGradComposite(dy: Tensor, x: Tensor, axes: number[], eps: number): Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, axes, true);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(tf.sub(x, mean), rstd);
    const mdy = tf.mean(dy, axes, true);
    const mdyx = tf.mean(tf.mul(dy, xhat), axes, true);
    return tf.mul(tf.sub(tf.sub(dy, mdy), tf.mul(xhat, mdyx)), rstd);
  });
}

let registered = false;

function registerGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: NORMALISE,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [Tensor];
      const { axes, eps } = attrs as unknown as { axes: number[]; eps: number };
      return {
        x: () =>
          tf.engine().isTapeOn() || tf.getBackend() !== "torch"
            ? normaliseGradComposite(dy as Tensor, x, axes, eps)
            : (tf.engine().runKernel(NORMALISE_GRAD, { dy: dy as Tensor, x }, { axes, eps }) as Tensor),
      };
    },
  });
}

/** (x - mean) / sqrt(var + eps) over `axes` (kept as size-1 axes in the statistics). */
export function normaliseOver(x: Tensor, axes: number[], eps: number): Tensor {
  if (tf.getBackend() !== "torch" || !tf.getKernel(NORMALISE, "torch")) return normaliseComposite(x, axes, eps);
  registerGradient();
  return tf.engine().runKernel(NORMALISE, { x }, { axes, eps }) as Tensor;
}
