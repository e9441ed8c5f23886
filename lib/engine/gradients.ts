// Gradients the kit registers in place of, or in addition to, tfjs-core's. tfjs-core 4.22's
// MirrorPad gradient only slices the centre out of dy, dropping what flows into the mirrored
// border: the reflection padding of every ResNet generator would train on a wrong gradient; the
// fix folds each border back onto the cells it mirrors. And tfjs-core has no gradient at all
// for Conv3DBackpropInputV2, so no 3D transposed convolution could train. Second-order
// gradients (gradients of gradients, SynDiff's R1 penalty) get their fixes in secondOrder.ts.
import { tf } from "./tf.js";
import type { Tensor } from "./tf.js";
import { installSecondOrderGradients } from "./secondOrder.js";

let fixed: string[] | null = null;

/** dL/dx of mirrorPad(x, paddings, mode): per axis, the centre plus both borders reversed and
 * added onto their source cells (reflect skips the edge cell, symmetric includes it). */
export function mirrorPadGrad(dy: Tensor, xShape: number[], paddings: [number, number][], mode: "reflect" | "symmetric"): Tensor {
  return tf.tidy(() => {
    const skip = mode === "reflect" ? 1 : 0;
    let g = dy;
    for (let axis = 0; axis < xShape.length; axis++) {
      const [before, after] = paddings[axis]!;
      if (before === 0 && after === 0) continue;
      const n = xShape[axis]!;
      const size = g.shape.slice();
      const begin = g.shape.map(() => 0);
      const part = (start: number, len: number): Tensor => {
        const b = begin.slice();
        const s = size.slice();
        b[axis] = start;
        s[axis] = len;
        return tf.slice(g, b, s);
      };
      const padAlong = (t: Tensor, lo: number, hi: number): Tensor =>
        tf.pad(t, g.shape.map((_, i) => (i === axis ? [lo, hi] : [0, 0])) as [number, number][]);
      let mid = part(before, n);
      if (before > 0) mid = tf.add(mid, padAlong(tf.reverse(part(0, before), axis), skip, n - before - skip));
      if (after > 0) mid = tf.add(mid, padAlong(tf.reverse(part(before + n, after), axis), n - after - skip, skip));
      g = mid;
    }
    return g;
  });
}

/** Registers the kit's gradient fixes once; returns the kernels whose gradients it replaced. */
export function installGradientFixes(): string[] {
  if (fixed) return fixed;
  tf.registerGradient({
    kernelName: tf.MirrorPad,
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0]!;
      const { paddings, mode } = attrs as unknown as { paddings: [number, number][]; mode: "reflect" | "symmetric" };
      return { x: () => mirrorPadGrad(dy as Tensor, x.shape, paddings, mode) };
    },
  });
  tf.registerGradient({
    kernelName: tf.Conv3DBackpropInputV2,
    inputsToSave: ["dy", "filter"],
    gradFunc: (ddx, saved, attrs) => {
      const [dy, filter] = saved as [tf.Tensor5D, tf.Tensor5D];
      const { strides, pad } = attrs as unknown as { strides: [number, number, number]; pad: "valid" | "same" };
      return {
        dy: () => tf.conv3d(ddx as tf.Tensor5D, filter, strides, pad),
        filter: () =>
          tf.engine().runKernel(tf.Conv3DBackpropFilterV2, { x: ddx as tf.Tensor, dy }, {
            strides,
            pad,
            filterShape: filter.shape,
          }) as tf.Tensor,
      };
    },
  });
  fixed = ["MirrorPad", "Conv3DBackpropInputV2", ...installSecondOrderGradients()];
  return fixed;
}
