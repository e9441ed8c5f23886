// Gradients through the kit's engine on the suite's backend (torch where built, else wasm; CI runs
// this file on both), checked by finite differences (not only against
// another backend): for a random direction v, (L(p + e v) - L(p - e v)) / 2e must equal
// <dL/dp, v>. The losses are linear in each argument, so the difference quotient is exact up
// to float32 rounding; tolerance 1e-3 relative.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mirrorPadGrad, tf } from "../lib/engine/index.js";
import { seeded, size, startSuiteEngine, suiteBackend } from "./helpers.js";

before(startSuiteEngine);

/** Checks dL/dp_i for every argument i of `loss` along one random direction each. */
function checkDirectional(name: string, loss: (...args: tf.Tensor[]) => tf.Scalar, shapes: number[][], seed: number): void {
  const args = shapes.map((s, i) => tf.tensor(seeded(size(s), seed + i), s));
  const grads = tf.grads(loss)(args);
  for (let i = 0; i < args.length; i++) {
    const v = tf.tensor(seeded(size(shapes[i]!), seed + 100 + i), shapes[i]!);
    const analytic = tf.sum(tf.mul(grads[i]!, v)).dataSync()[0]!;
    const eps = 0.5;
    const at = (sign: number) =>
      tf.tidy(() => {
        const moved = args.map((a, j) => (j === i ? tf.add(a, tf.mul(v, sign * eps)) : a));
        return loss(...moved).dataSync()[0]!;
      });
    const numeric = (at(1) - at(-1)) / (2 * eps);
    const scale = Math.max(1, Math.abs(numeric));
    assert.ok(Math.abs(analytic - numeric) <= 1e-3 * scale, `${name}, argument ${i}: analytic ${analytic} vs finite difference ${numeric}`);
    v.dispose();
  }
  tf.dispose([...args, ...grads]);
}

/** A fixed random weighting of the output, so the loss sees every output element. */
function weighted(y: tf.Tensor, seed: number): tf.Scalar {
  return tf.sum(tf.mul(y, tf.tensor(seeded(y.size, seed), y.shape)));
}

describe(`gradients agree with finite differences on ${suiteBackend()}`, () => {
  const conv2dCases: [number[], number[], number, "same" | "valid"][] = [
    [[1, 9, 8, 3], [3, 3, 3, 4], 1, "same"],
    [[2, 9, 8, 3], [3, 3, 3, 4], 2, "same"],
    [[1, 10, 9, 2], [7, 7, 2, 1], 1, "valid"],
    [[1, 9, 9, 4], [4, 4, 4, 2], 2, "valid"],
  ];
  for (const [xs, ws, s, p] of conv2dCases) {
    test(`conv2d x ${xs} w ${ws} stride ${s} ${p}`, () => {
      checkDirectional("conv2d", (x, w) => weighted(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, p), 9), [xs, ws], 1);
    });
  }

  test("conv2dTranspose stride 2 (the generator's upsampling)", () => {
    checkDirectional(
      "conv2dTranspose",
      (x, w) => weighted(tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [1, 11, 9, 3], 2, "valid"), 9),
      [[1, 5, 4, 4], [3, 3, 3, 4]],
      2,
    );
  });

  const conv3dCases: [number[], number[], number, "same" | "valid"][] = [
    [[1, 5, 6, 7, 2], [3, 3, 3, 2, 4], 1, "same"],
    [[1, 7, 6, 5, 3], [3, 3, 3, 3, 2], 2, "same"],
    [[1, 8, 8, 8, 3], [7, 7, 7, 3, 1], 1, "valid"],
    [[2, 6, 7, 6, 2], [4, 4, 4, 2, 3], 2, "valid"],
  ];
  for (const [xs, ws, s, p] of conv3dCases) {
    test(`conv3d x ${xs} w ${ws} stride ${s} ${p}`, () => {
      checkDirectional("conv3d", (x, w) => weighted(tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, s, p), 9), [xs, ws], 3);
    });
  }

  test("conv3dTranspose stride 2 (its gradient is registered by the kit)", () => {
    checkDirectional(
      "conv3dTranspose",
      (x, w) => weighted(tf.conv3dTranspose(x as tf.Tensor5D, w as tf.Tensor5D, [1, 9, 7, 9, 2], 2, "valid"), 9),
      [[1, 4, 3, 4, 3], [3, 3, 3, 2, 3]],
      4,
    );
  });

  for (const mode of ["reflect", "symmetric"] as const) {
    test(`mirrorPad ${mode} folds the border gradient back (tfjs-core drops it)`, () => {
      checkDirectional(
        `mirrorPad ${mode}`,
        (x) => weighted(tf.mirrorPad(x, [[0, 0], [3, 2], [1, 3], [0, 0]], mode), 9),
        [[1, 5, 6, 2]],
        5,
      );
      checkDirectional(
        `mirrorPad ${mode} 5D`,
        (x) => weighted(tf.mirrorPad(x, [[0, 0], [2, 1], [1, 1], [3, 0], [0, 0]], mode), 9),
        [[1, 4, 3, 5, 2]],
        6,
      );
    });
  }

  test("mirrorPadGrad on a hand-computed 1D case", () => {
    // x = [a b c d], reflect pad 2 left 1 right -> [c b a b c d c]; dy = 1..7.
    // a <- 3; b <- 2 + 4; c <- 1 + 5 + 7; d <- 6.
    const g = mirrorPadGrad(tf.tensor1d([1, 2, 3, 4, 5, 6, 7]), [4], [[2, 1]], "reflect");
    assert.deepEqual(Array.from(g.dataSync()), [3, 6, 13, 6]);
    // symmetric: [b a a b c d d]: a <- 2 + 3; b <- 1 + 4; c <- 5; d <- 6 + 7.
    const s = mirrorPadGrad(tf.tensor1d([1, 2, 3, 4, 5, 6, 7]), [4], [[2, 1]], "symmetric");
    assert.deepEqual(Array.from(s.dataSync()), [5, 5, 5, 13]);
    tf.dispose([g, s]);
  });
});
