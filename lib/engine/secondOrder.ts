// Gradients whose own gradients are right, so double backpropagation (SynDiff's R1 penalty:
// d/dweights of |d sum(D(x)) / dx|^2) works through every op a discriminator uses. tfjs-core
// 4.22 gets it wrong in three ways:
// - Tanh, Sigmoid, Exp and Elu read their saved *output* y. The engine records the copy of y it
//   saves before the kernel's own tape node, so an outer gradient cannot see that y depends on
//   x and silently drops that term (tanh'' is lost: the result is just wrong).
// - LeakyRelu, Maximum, Minimum (and Prelu, ClipByValue) build their gradient from Greater /
//   Less / LessEqual / LogicalNot, which have no gradient: the outer gradient throws "gradient
//   function not found for Greater" (so does a first-order gradient through tf.where on a
//   comparison of x). Maximum and Minimum also ignore broadcasting ("gradient of input 'b' has
//   shape ...").
// - AvgPoolGrad, Conv2DBackpropFilter, Conv3DBackpropFilterV2 and EluGrad, kernels that
//   gradients run, have no gradient of their own.
// The fixes: while an outer tape records (tf.engine().isTapeOn() inside a gradient function:
// only a gradient of a gradient), the output-reading gradients recompute their output from the
// saved input and LeakyRelu's gradient is dy * step(x, alpha), all ops with gradients; in a plain
// first-order step (nothing records) they run tfjs-core's own formula on the same saved tensors,
// so first-order results are bit-identical and cost the same (Tanh, Sigmoid, Exp and Elu also
// save x now: one copy of their input per forward under a tape). Comparisons and logical ops
// get their true gradient, zero; the kernels above get theirs.
import { tf } from "./tf.js";
import type { Tensor } from "./tf.js";

type Attrs = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** True inside a gradient function whose work an outer gradient records (second order). */
function outerTapeRecords(): boolean {
  return tf.engine().isTapeOn();
}

/** dy reduced over the axes it was broadcast along, back to `shape`. */
function unbroadcast(g: Tensor, shape: number[]): Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, g.shape);
  return axes.length > 0 ? tf.reshape(tf.sum(g, axes), shape) : g;
}

const f32 = (t: Tensor) => tf.cast(t, "float32");

/** Registers the second-order fixes; returns the kernels whose gradients it (re)registered. */
export function installSecondOrderGradients(): string[] {
  const names: string[] = [];
  const register = (config: tf.GradConfig) => {
    tf.registerGradient(config);
    names.push(config.kernelName);
  };

  // Gradients that read the saved output: recompute it from x when an outer tape records.
  // `fromInput` is the derivative written with ops on x (differentiable again), `fromOutput`
  // tfjs-core's own first-order formula on the saved output y.
  const outputReading = (kernelName: string, fromInput: (x: Tensor) => Tensor, fromOutput: (dy: Tensor, y: Tensor) => Tensor) =>
    register({
      kernelName,
      inputsToSave: ["x"],
      outputsToSave: [true],
      gradFunc: (dy, saved) => {
        const [x, y] = saved as [Tensor, Tensor];
        if (outerTapeRecords()) return { x: () => tf.mul(dy as Tensor, fromInput(x)) };
        return { x: () => fromOutput(dy as Tensor, y) };
      },
    });
  outputReading(tf.Tanh, (x) => tf.sub(1, tf.square(tf.tanh(x))), (dy, y) => tf.mul(tf.sub(tf.scalar(1), tf.square(y)), dy));
  outputReading(
    tf.Sigmoid,
    (x) => {
      const s = tf.sigmoid(x);
      return tf.mul(s, tf.sub(1, s));
    },
    (dy, y) => tf.mul(dy, tf.mul(y, tf.sub(tf.scalar(1), y))),
  );
  outputReading(tf.Exp, (x) => tf.exp(x), (dy, y) => tf.mul(dy, y));
  // elu'(x) = 1 for x > 0, exp(x) otherwise (exp of min(x, 0): no overflow, no 0 * inf).
  outputReading(
    tf.Elu,
    (x) => {
      const pos = tf.step(x);
      return tf.add(pos, tf.mul(tf.exp(tf.minimum(x, 0)), tf.sub(1, pos)));
    },
    (dy, y) => tf.engine().runKernel(tf.EluGrad, { dy, y }) as Tensor,
  );

  // LeakyRelu: dy * step(x, alpha) is 1 for x > 0 and alpha otherwise; Step's gradient is zero.
  register({
    kernelName: tf.LeakyRelu,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [Tensor];
      const { alpha } = attrs as Attrs as { alpha: number };
      if (outerTapeRecords()) return { x: () => tf.mul(dy as Tensor, tf.step(x, alpha)) };
      return { x: () => tf.where(tf.greater(x, 0), dy as Tensor, tf.mul(dy as Tensor, alpha)) };
    },
  });

  // Maximum / Minimum: tfjs-core's masks (ties go to a), reduced back over broadcast axes. With
  // equal shapes these are tfjs-core's exact ops.
  register({
    kernelName: tf.Maximum,
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [Tensor, Tensor];
      return {
        a: () => unbroadcast(tf.mul(dy as Tensor, f32(tf.greaterEqual(a, b))), a.shape),
        b: () => unbroadcast(tf.mul(dy as Tensor, f32(tf.less(a, b))), b.shape),
      };
    },
  });
  register({
    kernelName: tf.Minimum,
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [Tensor, Tensor];
      return {
        a: () => unbroadcast(tf.mul(dy as Tensor, f32(tf.lessEqual(a, b))), a.shape),
        b: () => unbroadcast(tf.mul(dy as Tensor, f32(tf.greater(a, b))), b.shape),
      };
    },
  });

  // Comparisons and logical ops are piecewise constant: their gradient is zero (tfjs-core has
  // one for GreaterEqual only; without it any gradient through a mask built from x throws).
  for (const kernelName of [tf.Greater, tf.Less, tf.LessEqual, tf.Equal, tf.NotEqual, tf.LogicalAnd, tf.LogicalOr]) {
    register({
      kernelName,
      inputsToSave: ["a", "b"],
      gradFunc: (_dy, saved) => {
        const [a, b] = saved as [Tensor, Tensor];
        return { a: () => tf.zeros(a.shape, "float32"), b: () => tf.zeros(b.shape, "float32") };
      },
    });
  }
  register({
    kernelName: tf.LogicalNot,
    gradFunc: (dy) => ({ x: () => tf.zeros((dy as Tensor).shape, "float32") }),
  });

  // AvgPoolGrad(dy, input) is linear in dy (its adjoint is avgPool) and uses input for its shape.
  register({
    kernelName: tf.AvgPoolGrad,
    gradFunc: (ddx, _saved, attrs) => {
      const { filterSize, strides, pad } = attrs as Attrs;
      const g = ddx as tf.Tensor4D;
      return {
        dy: () => tf.avgPool(g, filterSize, strides, pad),
        input: () => tf.zeros(g.shape, "float32"),
      };
    },
  });

  // Conv2DBackpropFilter(x, dy) is bilinear: <ddw, dW> differentiates to conv2DBackpropInput(dy,
  // ddw) for x and conv2d(x, ddw) for dy (needed when the inner gradient is the filter's, e.g.
  // a penalty on weight gradients, and for conv2dTranspose's filter path).
  register({
    kernelName: tf.Conv2DBackpropFilter,
    inputsToSave: ["x", "dy"],
    gradFunc: (ddw, saved, attrs) => {
      const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
      const { strides, pad, dataFormat, dimRoundingMode } = attrs as Attrs;
      return {
        x: () =>
          tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: ddw as Tensor }, {
            strides,
            pad,
            dataFormat,
            dimRoundingMode,
            inputShape: x.shape,
          }) as Tensor,
        dy: () => tf.conv2d(x, ddw as tf.Tensor4D, strides, pad, dataFormat, 1, dimRoundingMode),
      };
    },
  });
  // The same in 3D (Conv3DBackpropInputV2's gradient is registered in gradients.ts).
  register({
    kernelName: tf.Conv3DBackpropFilterV2,
    inputsToSave: ["x", "dy"],
    gradFunc: (ddw, saved, attrs) => {
      const [x, dy] = saved as [tf.Tensor5D, tf.Tensor5D];
      const { strides, pad } = attrs as Attrs as { strides: [number, number, number]; pad: "valid" | "same" };
      return {
        x: () => tf.engine().runKernel(tf.Conv3DBackpropInputV2, { dy, filter: ddw as Tensor }, { strides, pad, inputShape: x.shape }) as Tensor,
        dy: () => tf.conv3d(x, ddw as tf.Tensor5D, strides, pad),
      };
    },
  });

  return names;
}
