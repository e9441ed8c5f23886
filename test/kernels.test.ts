// The wasm kernel pack against the cpu backend, kernel by kernel, over a grid of shapes
// (batch, channels, kernel 1/3/4/7, stride 1/2, 'same'/'valid', odd sizes), both unrolling
// paths of the filter gradient and both depth folds of the 3D kernels. Tolerance: max abs
// difference <= 1e-5 x max(1, max |reference|) (float32 sums of up to ~10^3 terms).
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { engineInfo, tf } from "../lib/engine/index.js";
import { assertClose, liveCounts, onBoth, seeded, size, startWasm } from "./helpers.js";

const TOL = 1e-5;
type Pad = "same" | "valid";

before(startWasm);

/** [x shape NHWC, filter shape, stride, pad] */
const GRID_2D: [number[], number[], number | [number, number], Pad][] = [
  [[1, 9, 11, 3], [3, 3, 3, 4], 1, "same"],
  [[2, 9, 11, 3], [3, 3, 3, 4], 2, "same"],
  [[1, 10, 7, 2], [7, 7, 2, 3], 1, "valid"],
  [[2, 13, 12, 2], [7, 7, 2, 1], 1, "same"],
  [[1, 9, 11, 3], [4, 4, 3, 5], 2, "same"],
  [[1, 13, 13, 4], [3, 3, 4, 2], 2, "valid"],
  [[2, 8, 8, 1], [1, 1, 1, 3], 2, "same"],
  [[1, 7, 9, 5], [1, 1, 5, 5], 1, "valid"],
  [[1, 11, 9, 1], [3, 3, 1, 8], [2, 1], "same"], // unrolls x (1 input channel)
  [[2, 11, 9, 8], [3, 3, 8, 1], [1, 2], "same"], // unrolls dy (1 output channel)
  [[1, 12, 12, 6], [4, 4, 6, 2], 2, "valid"],
];

/** [x shape NDHWC, filter shape, stride, pad] */
const GRID_3D: [number[], number[], number | [number, number, number], Pad][] = [
  [[1, 5, 6, 7, 2], [3, 3, 3, 2, 4], 1, "same"],
  [[2, 7, 6, 5, 3], [3, 4, 2, 3, 2], 2, "same"],
  [[1, 8, 8, 8, 1], [7, 7, 7, 1, 2], 1, "valid"],
  [[1, 9, 8, 7, 5], [3, 3, 3, 5, 2], 1, "same"], // output fold (2 < 5 output channels)
  [[2, 9, 8, 7, 6], [5, 3, 3, 6, 1], 2, "same"], // output fold with depth stride 2
  [[1, 8, 9, 7, 4], [4, 3, 2, 4, 3], [1, 2, 2], "valid"],
  [[1, 6, 9, 8, 2], [4, 4, 4, 2, 3], [2, 1, 2], "valid"],
  [[1, 5, 5, 5, 3], [1, 1, 1, 3, 3], 1, "valid"],
];

function caseName(xs: number[], ws: number[], s: unknown, p: string) {
  return `x ${xs.join("x")} w ${ws.join("x")} stride ${JSON.stringify(s)} ${p}`;
}

describe("kernel pack registration", () => {
  test("engineInfo lists every replaced kernel with a reason", () => {
    const info = engineInfo();
    assert.equal(info?.backend, "wasm");
    const names = info!.replacedKernels.map((k) => k.kernel).sort();
    assert.deepEqual(names, ["Conv2DBackpropFilter", "Conv2DBackpropInput", "Conv3D", "Conv3DBackpropFilterV2", "Conv3DBackpropInputV2", "Slice", "SplitV", "Sum", "UnsortedSegmentSum"]);
    for (const k of info!.replacedKernels) assert.ok(["missing", "slow", "wrong"].includes(k.reason));
  });
});

describe("2D convolution kernels match the cpu backend", () => {
  for (const [xs, ws, s, p] of GRID_2D) {
    test(caseName(xs, ws, s, p), async () => {
      const x = seeded(size(xs), 1);
      const w = seeded(size(ws), 2);
      const fwd = await onBoth(() => tf.conv2d(tf.tensor4d(x, xs as never), tf.tensor4d(w, ws as never), s, p));
      assertClose(fwd.wasm, fwd.cpu, TOL, "Conv2D");
      const dy = seeded(size(fwd.shape), 3);
      const dW = await onBoth(() =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x: tf.tensor(x, xs), dy: tf.tensor(dy, fwd.shape) }, {
          strides: s, pad: p, filterShape: ws, dataFormat: "NHWC",
        }) as tf.Tensor);
      assertClose(dW.wasm, dW.cpu, TOL, "Conv2DBackpropFilter");
      const dx = await onBoth(() =>
        tf.engine().runKernel("Conv2DBackpropInput", { dy: tf.tensor(dy, fwd.shape), filter: tf.tensor(w, ws) }, {
          strides: s, pad: p, inputShape: xs, dataFormat: "NHWC",
        }) as tf.Tensor);
      assertClose(dx.wasm, dx.cpu, TOL, "Conv2DBackpropInput");
    });
  }

  test("explicit asymmetric padding (as the 3D kernels pass it)", async () => {
    const xs = [1, 9, 8, 3];
    const ws = [3, 4, 3, 2];
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [2, 0], [1, 2], [0, 0]];
    const x = seeded(size(xs), 4);
    const w = seeded(size(ws), 5);
    const fwd = await onBoth(() => tf.conv2d(tf.tensor4d(x, xs as never), tf.tensor4d(w, ws as never), 1, pad));
    const dy = seeded(size(fwd.shape), 6);
    for (const kernel of ["Conv2DBackpropFilter", "Conv2DBackpropInput"]) {
      const r = await onBoth(() =>
        tf.engine().runKernel(
          kernel,
          kernel === "Conv2DBackpropFilter" ? { x: tf.tensor(x, xs), dy: tf.tensor(dy, fwd.shape) } : { dy: tf.tensor(dy, fwd.shape), filter: tf.tensor(w, ws) },
          { strides: 1, pad, filterShape: ws, inputShape: xs, dataFormat: "NHWC" },
        ) as tf.Tensor);
      assertClose(r.wasm, r.cpu, TOL, kernel);
    }
  });

  test("conv2dTranspose (Conv2DBackpropInput as a forward op), stride 2", async () => {
    const xs = [1, 5, 6, 4];
    const ws = [3, 3, 2, 4];
    const x = seeded(size(xs), 7);
    const w = seeded(size(ws), 8);
    const r = await onBoth(() => tf.conv2dTranspose(tf.tensor4d(x, xs as never), tf.tensor4d(w, ws as never), [1, 11, 13, 2], 2, "valid"));
    assertClose(r.wasm, r.cpu, TOL, "conv2dTranspose");
  });
});

describe("3D convolution kernels match the cpu backend", () => {
  for (const [xs, ws, s, p] of GRID_3D) {
    test(caseName(xs, ws, s, p), async () => {
      const x = seeded(size(xs), 11);
      const w = seeded(size(ws), 12);
      const fwd = await onBoth(() => tf.conv3d(tf.tensor5d(x, xs as never), tf.tensor5d(w, ws as never), s as never, p));
      assertClose(fwd.wasm, fwd.cpu, TOL, "Conv3D");
      const dy = seeded(size(fwd.shape), 13);
      const dW = await onBoth(() =>
        tf.engine().runKernel("Conv3DBackpropFilterV2", { x: tf.tensor(x, xs), dy: tf.tensor(dy, fwd.shape) }, {
          strides: s, pad: p, filterShape: ws,
        }) as tf.Tensor);
      assertClose(dW.wasm, dW.cpu, TOL, "Conv3DBackpropFilterV2");
      const dx = await onBoth(() =>
        tf.engine().runKernel("Conv3DBackpropInputV2", { dy: tf.tensor(dy, fwd.shape), filter: tf.tensor(w, ws) }, {
          strides: s, pad: p, inputShape: xs,
        }) as tf.Tensor);
      assertClose(dx.wasm, dx.cpu, TOL, "Conv3DBackpropInputV2");
    });
  }

  test("dilated Conv3D keeps the backend's own (correct) forward kernel", async () => {
    const xs = [1, 7, 7, 7, 2];
    const ws = [3, 3, 3, 2, 3];
    const x = seeded(size(xs), 14);
    const w = seeded(size(ws), 15);
    const r = await onBoth(() => tf.conv3d(tf.tensor5d(x, xs as never), tf.tensor5d(w, ws as never), 1, "valid", "NDHWC", 2));
    assertClose(r.wasm, r.cpu, TOL, "dilated Conv3D");
  });
});

describe("Slice matches the cpu backend for every rank", () => {
  const cases: [number[], number[], number[]][] = [
    [[7], [2], [4]],
    [[5, 6], [1, 0], [3, 6]],
    [[4, 5, 6], [1, 2, 0], [2, 3, 6]],
    [[3, 4, 5, 6], [0, 1, 2, 3], [3, 2, 2, 2]],
    [[2, 5, 6, 7, 3], [1, 1, 2, 0, 0], [1, 3, 4, 7, 3]],
    [[2, 5, 6, 7, 3], [0, 2, 1, 3, 1], [2, 2, 3, 3, 2]],
    [[2, 3, 4, 5, 6, 2], [1, 0, 1, 2, 3, 0], [1, 3, 2, 2, 3, 2]],
    [[3, 4, 5, 2, 2], [0, 0, 0, 0, 0], [3, 4, 5, 2, 2]],
    [[3, 4, 5], [1, 1, 1], [0, 2, 2]],
  ];
  for (const [shape, begin, sz] of cases) {
    test(`shape ${shape.join("x")} begin ${begin} size ${sz}`, async () => {
      const x = seeded(size(shape), 21);
      const r = await onBoth(() => tf.slice(tf.tensor(x, shape), begin, sz));
      assert.deepEqual(r.shape, sz);
      assertClose(r.wasm, r.cpu, 0, "Slice float32");
      const ints = await onBoth(() => tf.cast(tf.slice(tf.tensor(Int32Array.from(x, (v) => Math.round(v * 1000)), shape, "int32"), begin, sz), "float32"));
      assertClose(ints.wasm, ints.cpu, 0, "Slice int32");
    });
  }
});

describe("Sum over axis blocks and SplitV match the cpu backend", () => {
  const shape = [2, 5, 6, 7, 3];
  for (const [axes, keepDims] of [[[1, 2, 3], true], [[1, 2, 3], false], [[0], false], [[2], true], [[0, 1, 2, 3, 4], false], [[1, 3], false], [[4], false], [[3, 4], true]] as const) {
    test(`sum over [${axes}] keepDims ${keepDims}`, async () => {
      const x = seeded(size(shape), 41);
      const r = await onBoth(() => tf.sum(tf.tensor(x, shape), [...axes], keepDims));
      assertClose(r.wasm, r.cpu, 1e-5, `sum ${axes}`);
    });
  }
  test("split (and the gradient of concat) along each axis", async () => {
    for (let axis = 0; axis < 5; axis++) {
      const x = seeded(size(shape), 50 + axis);
      const n = shape[axis]!;
      const sizes = n >= 3 ? [1, n - 3, 2] : [1, n - 1];
      const r = await onBoth(() => tf.concat(tf.split(tf.tensor(x, shape), sizes, axis).map((t, i) => tf.mul(t, i + 1)), axis));
      assertClose(r.wasm, r.cpu, 0, `split axis ${axis}`);
    }
    const a = seeded(size([2, 4, 5, 3]), 7);
    const g = await onBoth(() => tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.concat([t, tf.mul(t, 2)], 3))))(tf.tensor(a, [2, 4, 5, 3])));
    assertClose(g.wasm, g.cpu, 1e-6, "concat gradient");
  });
});

describe("filter gradients too large for the heap at once are summed over batch chunks", () => {
  test("2D and 3D, chunked vs the cpu backend", async () => {
    const { setUnrollBudget } = await import("../lib/engine/kernels/conv2dGrads.js");
    const old = setUnrollBudget(500);
    try {
      const x2 = seeded(size([5, 9, 8, 3]), 31);
      const r2 = await onBoth(() => tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(tf.tensor(x2, [5, 9, 8, 3]) as tf.Tensor4D, w as tf.Tensor4D, 2, "same"))))(tf.tensor(seeded(size([3, 3, 3, 4]), 2), [3, 3, 3, 4])));
      assertClose(r2.wasm, r2.cpu, 1e-5, "chunked 2D filter grad");
      const x3 = seeded(size([2, 6, 7, 5, 2]), 33);
      const r3 = await onBoth(() => tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.conv3d(tf.tensor(x3, [2, 6, 7, 5, 2]) as tf.Tensor5D, w as tf.Tensor5D, 1, "same"))))(tf.tensor(seeded(size([3, 3, 3, 2, 3]), 4), [3, 3, 3, 2, 3])));
      assertClose(r3.wasm, r3.cpu, 1e-5, "chunked 3D filter grad");
    } finally {
      setUnrollBudget(old);
    }
  });
});

describe("UnsortedSegmentSum (the gradient of gather) matches the cpu backend", () => {
  test("direct: repeated, missing and out-of-range segment ids, float32 and int32", async () => {
    const x = seeded(6 * 4 * 3, 5);
    const ids = [2, 0, 2, 5, -1, 1];
    const r = await onBoth(() => tf.unsortedSegmentSum(tf.tensor(x, [6, 4, 3]), tf.tensor1d(ids, "int32"), 4));
    assert.deepEqual(r.shape, [4, 4, 3]);
    assertClose(r.wasm, r.cpu, 1e-6, "UnsortedSegmentSum float32");
    const ints = await onBoth(() => tf.cast(tf.unsortedSegmentSum(tf.tensor(Int32Array.from(x, (v) => Math.round(v * 100)), [6, 12], "int32"), tf.tensor1d(ids, "int32"), 3), "float32"));
    assertClose(ints.wasm, ints.cpu, 0, "UnsortedSegmentSum int32");
  });
  for (const axis of [0, 1, 2, 3]) {
    test(`gradient of gather along axis ${axis}`, async () => {
      const shape = [2, 5, 4, 3];
      const x = seeded(size(shape), 9 + axis);
      const n = shape[axis]!;
      const idx = [n - 1, 0, 1, n - 1, 1];
      const r = await onBoth(() => {
        const xt = tf.tensor(x, shape);
        const w = tf.tensor(seeded(size([...shape.slice(0, axis), idx.length, ...shape.slice(axis + 1)]), 3), [...shape.slice(0, axis), idx.length, ...shape.slice(axis + 1)]);
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(idx, "int32"), axis), w)))(xt);
      });
      assertClose(r.wasm, r.cpu, 1e-6, `gather grad axis ${axis}`);
    });
  }
});

describe("kernels leave no tensors or heap buffers behind", () => {
  test("every replaced kernel, forward and gradients", async () => {
    await tf.setBackend("wasm");
    const x2 = tf.tensor4d(seeded(2 * 9 * 9 * 3, 31), [2, 9, 9, 3]);
    const w2 = tf.tensor4d(seeded(3 * 3 * 3 * 4, 32), [3, 3, 3, 4]);
    const x3 = tf.tensor5d(seeded(6 * 7 * 8 * 2, 33), [1, 6, 7, 8, 2]);
    const w3 = tf.tensor5d(seeded(27 * 2 * 3, 34), [3, 3, 3, 2, 3]);
    const w3small = tf.tensor5d(seeded(27 * 2, 35), [3, 3, 3, 2, 1]);
    const run = () => {
      for (const s of [1, 2]) {
        tf.dispose(tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, "same")))([x2, w2]));
        tf.dispose(tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, s, "same")))([x3, w3]));
        tf.dispose(tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, s, "valid")))([x3, w3small]));
      }
      tf.dispose(tf.slice(x3, [0, 1, 1, 1, 0], [1, 3, 3, 3, 2]));
    };
    run(); // first use may create lasting caches
    const before = liveCounts();
    run();
    run();
    assert.deepEqual(liveCounts(), before);
    tf.dispose([x2, w2, x3, w3, w3small]);
  });
});

describe("the backend's own 3D average pooling is correct (kept as is)", () => {
  const cases: [number[], number, number, "same" | "valid"][] = [
    [[1, 6, 7, 8, 2], 2, 2, "valid"],
    [[2, 5, 6, 7, 3], 3, 1, "same"],
    [[1, 7, 7, 7, 1], 3, 2, "same"],
  ];
  for (const [xs, k, s, p] of cases) {
    test(`avgPool3d x ${xs.join("x")} k ${k} stride ${s} ${p}, value and gradient`, async () => {
      const x = seeded(size(xs), 41);
      const pool = (t: tf.Tensor) => tf.avgPool3d(t as tf.Tensor5D, k, s, p);
      const fwd = await onBoth(() => pool(tf.tensor(x, xs)));
      assertClose(fwd.wasm, fwd.cpu, TOL, "AvgPool3D");
      const w = seeded(size(fwd.shape), 42);
      const g = await onBoth(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t), tf.tensor(w, fwd.shape))))(tf.tensor(x, xs)));
      assertClose(g.wasm, g.cpu, TOL, "AvgPool3DGrad");
    });
  }
});
