// Conformance of the torch backend: every kernel it registers, run on seeded random inputs
// (odd sizes, broadcasting, asymmetric "same" padding, strided and dilated convolutions, both
// gradients) against tfjs's cpu backend as the reference. Values must agree within a stated
// tolerance relative to the largest reference magnitude (TOL = 1e-5 for element-wise and shape
// ops, CONV_TOL = 1e-4 for convolutions and matrix products, whose sums run in another order),
// shapes and dtypes exactly. The kernels the cases dispatch on torch are recorded: every
// registered kernel, and every kernel the kit uses (test/fixtures/kit-kernels.tsv), must be met.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tf } from "../lib/engine/index.js";
import { kernelsUsedBy } from "../lib/engine/kernelRecorder.js";
import { normaliseOver } from "../lib/engine/normalise.js";
import { adamStep } from "../lib/engine/adamStep.js";
import { TORCH_KERNELS } from "../lib/engine/torch/index.js";
import { UnpairedError } from "../lib/util/errors.js";
import { onCpuAndTorch, seeded, size, torchAvailable } from "./helpers.js";

const TOL = 1e-5;
const CONV_TOL = 1e-4;

let skip: string | false = false;
const met = new Set<string>();

before(async () => {
  const t = await torchAvailable();
  skip = t.ok ? false : t.reason;
});

/** Seeded uniform values in [lo, hi). */
function rand(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  const v = seeded(size(shape), seed).map((u) => lo + ((u + 1) / 2) * (hi - lo));
  return tf.tensor(v, shape);
}
const ints = (shape: number[], seed: number, n: number) => tf.tensor(Array.from(seeded(size(shape), seed), (u) => Math.floor(((u + 1) / 2) * n)), shape, "int32");
const bools = (shape: number[], seed: number) => tf.tensor(Array.from(seeded(size(shape), seed), (u) => (u > 0 ? 1 : 0)), shape, "bool");

function close(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  let scale = 1;
  for (const v of b) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (Number.isNaN(y) || !Number.isFinite(y)) {
      assert.ok(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)), `${what}: [${i}] torch ${x}, cpu ${y}`);
      continue;
    }
    assert.ok(Math.abs(x - y) <= tol * scale, `${what}: [${i}] torch ${x}, cpu ${y} (tolerance ${tol} x ${scale})`);
  }
}

async function check(what: string, f: () => tf.Tensor | tf.Tensor[], tol = TOL): Promise<void> {
  const r = await onCpuAndTorch(f);
  // Once more on torch (now current) to record which kernels the case dispatches there.
  const rec = kernelsUsedBy(() => tf.tidy(f));
  tf.dispose(rec.result);
  for (const k of rec.kernels) met.add(k);
  assert.deepEqual(r.shapes[1], r.shapes[0], `${what}: shapes`);
  assert.deepEqual(r.dtypes[1], r.dtypes[0], `${what}: dtypes`);
  r.cpu.forEach((c, i) => close(r.torch[i]!, c, tol, `${what}${r.cpu.length > 1 ? ` output ${i}` : ""}`));
}

/** d(sum(f(x) * w))/dx for a fixed random weighting w, so every output element counts. */
function gradOf(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): tf.Tensor[] {
  const y0 = tf.tidy(() => f(...xs));
  const w = rand(y0.shape, 99);
  y0.dispose();
  return tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs);
}

const cases: [string, () => tf.Tensor | tf.Tensor[], number?][] = [];
const add = (what: string, f: () => tf.Tensor | tf.Tensor[], tol?: number) => cases.push([what, f, tol]);

// Element-wise unary ops, on [3, 5, 7] (odd sizes) and a transposed (non-contiguous) view.
const unary: [string, (x: tf.Tensor) => tf.Tensor, number, number][] = [
  ["abs", tf.abs, -2, 2], ["neg", tf.neg, -2, 2], ["exp", tf.exp, -3, 3], ["log", tf.log, 0.01, 5],
  ["log1p", tf.log1p, -0.9, 3], ["sqrt", tf.sqrt, 0, 4], ["rsqrt", tf.rsqrt, 0.1, 4], ["square", tf.square, -3, 3],
  ["relu", tf.relu, -1, 1], ["sigmoid", tf.sigmoid, -6, 6], ["tanh", tf.tanh, -3, 3], ["softplus", tf.softplus, -5, 5],
  ["sign", tf.sign, -1, 1], ["floor", tf.floor, -3, 3], ["ceil", tf.ceil, -3, 3], ["round", tf.round, -3, 3],
  ["sin", tf.sin, -3, 3], ["cos", tf.cos, -3, 3], ["expm1", tf.expm1, -2, 2], ["reciprocal", tf.reciprocal, 0.2, 3],
  ["erf", tf.erf, -2, 2], ["elu", tf.elu, -3, 3], ["relu6", tf.relu6, -2, 8], ["selu", tf.selu, -3, 3],
  ["atan", tf.atan, -4, 4], ["zerosLike", tf.zerosLike, -1, 1], ["onesLike", tf.onesLike, -1, 1],
];
for (const [name, op, lo, hi] of unary) {
  add(name, () => op(rand([3, 5, 7], 1, lo, hi)));
  add(`${name} of a transposed view`, () => op(tf.transpose(rand([4, 3, 2], 2, lo, hi), [2, 0, 1])));
}
add("round half to even", () => tf.round(tf.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5])));
add("isNaN, isInf, isFinite", () => {
  const x = tf.tensor([0, NaN, Infinity, -Infinity, 1.5, -2]);
  return [tf.isNaN(x), tf.isInf(x), tf.isFinite(x)];
});
add("logicalNot", () => tf.logicalNot(bools([4, 5], 3)));
add("step", () => [tf.step(rand([4, 6], 4)), tf.step(tf.tensor([NaN, -1, 0, 2]), 0.3)]);
add("leakyRelu (alpha 0.2 and 1.5)", () => [tf.leakyRelu(rand([3, 9], 5), 0.2), tf.leakyRelu(rand([3, 9], 5), 1.5)]);
add("prelu", () => tf.prelu(rand([2, 3, 4], 6), rand([4], 7)));
add("clipByValue", () => tf.clipByValue(rand([5, 5], 8, -3, 3), -1, 0.5));
add("eluGrad", () => tf.engine().runKernel("EluGrad", { dy: rand([3, 4], 9), y: tf.elu(rand([3, 4], 10, -2, 2)) }) as tf.Tensor);
add("cast float to int32 (truncates), int32 to bool, bool to float", () => [
  tf.cast(tf.tensor([-2.7, -0.5, 0.5, 2.7, 3]), "int32"),
  tf.cast(tf.tensor([0, 3, -1, 0], [4], "int32"), "bool"),
  tf.cast(bools([7], 11), "float32"),
  tf.cast(rand([3], 12), "float32"),
]);
add("unary gradients", () => {
  const x = rand([4, 5], 13, 0.2, 2);
  return gradOf((a) => tf.add(tf.add(tf.tanh(a), tf.sigmoid(a)), tf.add(tf.log(a), tf.sqrt(a))), [x]);
});

// Broadcasting binary ops.
const pairs: [number[], number[]][] = [[[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [4]], [[2, 3, 4], [3, 1]], [[2, 3, 4], []], [[1, 3, 1], [2, 1, 5]]];
const binary: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, number, number][] = [
  ["add", tf.add, -2, 2], ["sub", tf.sub, -2, 2], ["mul", tf.mul, -2, 2], ["div", tf.div, 0.5, 2],
  ["pow", tf.pow, 0.1, 2], ["maximum", tf.maximum, -1, 1], ["minimum", tf.minimum, -1, 1],
  ["squaredDifference", tf.squaredDifference, -2, 2], ["mod", tf.mod, 0.3, 3], ["atan2", tf.atan2, -2, 2],
  ["equal", (a, b) => tf.equal(tf.round(a), tf.round(b)), -2, 2], ["notEqual", (a, b) => tf.notEqual(tf.round(a), tf.round(b)), -2, 2],
  ["less", tf.less, -1, 1], ["lessEqual", (a, b) => tf.lessEqual(tf.round(a), tf.round(b)), -2, 2],
  ["greater", tf.greater, -1, 1], ["greaterEqual", (a, b) => tf.greaterEqual(tf.round(a), tf.round(b)), -2, 2],
];
for (const [name, op, lo, hi] of binary) {
  for (const [sa, sb] of pairs) add(`${name} [${sa}] with [${sb}]`, () => op(rand(sa, 20, lo, hi), rand(sb, 21, lo, hi)));
}
add("int32 arithmetic and floorDiv, mod with negatives", () => {
  const a = tf.tensor([7, -7, 9, -9, 0, 5], [6], "int32");
  const b = tf.tensor([2, 2, -4, -4, 3, 5], [6], "int32");
  return [tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.floorDiv(a, b), tf.mod(a, b), tf.maximum(a, b)];
});
add("mod and floorDiv of floats with negatives", () => [tf.mod(tf.tensor([-3.5, 3.5, -1, 4]), tf.tensor([2, -2, 3, 3])), tf.floorDiv(tf.tensor([-3.5, 3.5, -1, 4]), tf.tensor([2, -2, 3, 3]))]);
add("logicalAnd, logicalOr (broadcast)", () => [tf.logicalAnd(bools([3, 4], 22), bools([4], 23)), tf.logicalOr(bools([3, 4], 24), bools([3, 1], 25))]);
add("broadcast gradients", () => gradOf((a, b) => tf.div(tf.mul(a, b), tf.add(tf.square(b), 1)), [rand([2, 3, 4], 26), rand([3, 1], 27)]));

// Reductions.
for (const [axes, keep] of [[null, false], [0, false], [[1, 2], true], [[0, 2], false], [-1, true]] as [number | number[] | null, boolean][]) {
  const ax = axes ?? undefined;
  add(`sum/mean/max/min/prod over ${JSON.stringify(axes)} keepDims ${keep}`, () => {
    const x = rand([3, 4, 5], 30, 0.5, 1.5);
    return [tf.sum(x, ax, keep), tf.mean(x, ax, keep), tf.max(x, ax, keep), tf.min(x, ax, keep), tf.prod(x, ax, keep)];
  });
  add(`any/all over ${JSON.stringify(axes)}`, () => [tf.any(bools([3, 4, 5], 31), ax, keep), tf.all(bools([3, 4, 5], 32), ax, keep)]);
}
add("int32 sum", () => [tf.sum(ints([4, 6], 33, 100)), tf.sum(ints([4, 6], 34, 100), 1)]);
add("sum of a transposed view over a block of axes", () => tf.sum(tf.transpose(rand([2, 3, 4, 5], 35), [0, 3, 1, 2]), [1, 2]));
add("argMax, argMin", () => [tf.argMax(rand([4, 7], 36), 1), tf.argMin(rand([4, 7], 37), 0), tf.argMax(rand([2, 3, 4], 38), -1)]);
add("cumsum (exclusive, reverse)", () => {
  const x = rand([3, 6], 39);
  return [tf.cumsum(x, 1), tf.cumsum(x, 1, true), tf.cumsum(x, 1, false, true), tf.cumsum(x, 0, true, true)];
});
add("softmax and its gradient", () => [tf.softmax(rand([3, 10], 40, -4, 4)), ...gradOf((a) => tf.softmax(a), [rand([3, 10], 41, -4, 4)])]);
add("reduction gradients", () => gradOf((a) => tf.add(tf.mean(a, [1, 2], true), tf.max(a, -1, true)), [rand([2, 3, 5], 42)]));

// Shape, slicing and indexing.
add("reshape of a transposed view, expandDims, squeeze", () => {
  const t = tf.transpose(rand([2, 3, 4], 50), [1, 2, 0]);
  return [tf.reshape(t, [3, 8]), tf.reshape(t, [-1]), tf.expandDims(t, 1), tf.squeeze(rand([1, 3, 1, 2], 51)), tf.squeeze(rand([1, 3, 1, 2], 51), [2])];
});
add("transpose rank 5", () => tf.transpose(rand([2, 3, 1, 4, 5], 52), [0, 4, 1, 2, 3]));
add("slice", () => {
  const x = rand([5, 6, 7], 53);
  return [tf.slice(x, [1, 0, 2], [3, -1, 4]), tf.slice(x, [4, 5, 6], [1, 1, 1]), tf.slice(tf.transpose(x), [0, 1, 1], [2, 2, 2])];
});
add("stridedSlice (steps, negative steps, masks)", () => {
  const x = rand([6, 7], 54);
  return [
    tf.stridedSlice(x, [1, 0], [5, 7], [2, 3]),
    tf.stridedSlice(x, [5, 6], [0, 0], [-1, -2]),
    tf.stridedSlice(x, [0, 2], [0, 5], [1, 1], 1, 1),
    tf.stridedSlice(x, [2, 0], [3, 7], [1, 1], 0, 0, 0, 0, 1),
    tf.stridedSlice(x, [-1, -3], [-5, -7], [-1, -1]),
  ];
});
add("concat (each axis, a view, one input), stack, unstack", () => {
  const a = rand([2, 3, 4], 55), b = rand([2, 3, 4], 56);
  return [tf.concat([a, b], 0), tf.concat([a, b, a], 2), tf.concat([a, tf.transpose(tf.transpose(b, [0, 2, 1]), [0, 2, 1])], 1), tf.concat([a]), tf.stack([a, b], 1), ...tf.unstack(a, 2)];
});
add("split", () => [...tf.split(rand([4, 9], 57), [2, 3, 4], 1), ...tf.split(rand([6, 2], 58), 3, 0)]);
add("concat and slice gradients", () => gradOf((a, b) => tf.slice(tf.concat([a, b], 1), [0, 1], [2, 4]), [rand([2, 3], 59), rand([2, 3], 60)]));
add("pad with a constant", () => [tf.pad(rand([2, 3], 61), [[1, 2], [0, 3]], 0.5), tf.pad(rand([1, 4, 5, 2], 62), [[0, 0], [2, 1], [0, 1], [0, 0]])]);
for (const mode of ["reflect", "symmetric"] as const) {
  add(`mirrorPad ${mode}`, () => [
    tf.mirrorPad(rand([4, 5], 63), [[1, 2], [2, 0]], mode),
    tf.mirrorPad(rand([1, 6, 5, 3], 64), [[0, 0], [2, 1], [1, 2], [0, 0]], mode),
    tf.mirrorPad(rand([1, 4, 5, 6, 2], 65), [[0, 0], [1, 1], [2, 2], [1, 0], [0, 0]], mode),
    tf.mirrorPad(rand([2, 5, 5, 3], 66), [[1, 1], [1, 1], [0, 0], [1, 0]], mode),
  ]);
}
add("mirrorPad reflect gradient (4D and 5D)", () => [
  ...gradOf((a) => tf.mirrorPad(a, [[0, 0], [3, 3], [3, 3], [0, 0]], "reflect"), [rand([1, 7, 6, 2], 67)]),
  ...gradOf((a) => tf.mirrorPad(a, [[0, 0], [1, 1], [1, 1], [1, 1], [0, 0]], "reflect"), [rand([1, 4, 5, 3, 2], 68)]),
]);
add("reverse, tile", () => [tf.reverse(rand([3, 4, 5], 69), [0, 2]), tf.reverse(rand([3, 4], 70)), tf.tile(rand([2, 3], 71), [2, 3]), tf.tile(rand([1, 2, 1], 72), [3, 1, 2])]);
add("gather (axis 0, 1, 2D indices) and its gradient", () => [
  tf.gather(rand([5, 4], 73), tf.tensor([4, 0, 2, 2], [4], "int32")),
  tf.gather(rand([3, 6, 2], 74), tf.tensor([[5, 1], [0, 0]], [2, 2], "int32"), 1),
  ...gradOf((a) => tf.gather(a, tf.tensor([1, 1, 3, 0], [4], "int32"), 0), [rand([5, 3], 75)]),
]);
add("where (same shape, broadcast, rank-1 condition)", () => [
  tf.where(bools([3, 4], 76), rand([3, 4], 77), rand([3, 4], 78)),
  tf.where(bools([3, 4], 79), rand([3, 4], 80), tf.zerosLike(rand([3, 4], 81))),
  // Past one parallel chunk, with a transposed (strided) branch, NaN and infinities kept bit for bit.
  tf.where(bools([2, 9, 40, 50], 150), tf.transpose(rand([2, 50, 40, 9], 151), [0, 3, 2, 1]), tf.div(rand([2, 9, 40, 50], 152), tf.sub(rand([2, 9, 40, 50], 153), 0.5).round())),
  tf.where(bools([5, 7], 154), ints([5, 7], 155, 100), ints([5, 7], 156, 100)),
  tf.where(bools([3, 4], 157), rand([3, 4], 158), rand([1, 4], 159)),
]);
add("oneHot (indices outside the depth give all off)", () => [tf.oneHot(tf.tensor([0, 3, 1, -1, 7], [5], "int32"), 4), tf.oneHot(ints([2, 3], 82, 5), 5, 2, -1)]);
add("matMul (transposes, rank 3, broadcast batch)", () => [
  tf.matMul(rand([3, 5], 83), rand([5, 4], 84)),
  tf.matMul(rand([5, 3], 85), rand([5, 4], 86), true),
  tf.matMul(rand([3, 5], 87), rand([4, 5], 88), false, true),
  tf.matMul(rand([2, 3, 5], 89), rand([2, 5, 4], 90)),
  tf.matMul(rand([2, 5, 3], 91), rand([1, 4, 5], 92), true, true),
], CONV_TOL);
add("matMul gradients", () => gradOf((a, b) => tf.matMul(a, b, false, true), [rand([3, 6], 93), rand([4, 6], 94)]), CONV_TOL);
add("unsortedSegmentSum", () => [tf.unsortedSegmentSum(rand([6, 3], 95), tf.tensor([0, 2, 2, 1, 0, 2], [6], "int32"), 4), tf.unsortedSegmentSum(rand([5], 96), tf.tensor([1, 1, 0, 3, 3], [5], "int32"), 4)]);
add("addN", () => tf.addN([rand([3, 4], 97), rand([3, 4], 98), rand([3, 4], 99), rand([3, 4], 100)]));
add("fill, range (int, float, negative and automatic step)", () => [
  tf.fill([2, 3], 1.5), tf.fill([4], 7, "int32"),
  tf.range(0, 10, 3), tf.range(2, 5, 0.5), tf.range(5, 0, -1.5), tf.range(5, 0), tf.range(0, 6, 1, "int32"), tf.range(3, 3),
]);

// The fused normalisation (instance norm over spatial axes, group norm over spatial axes and a
// group's channels) against tfjs's composite of moments on cpu, forward and gradient.
add("normalise over spatial axes (2D and 3D) and a group's channels", () => [
  normaliseOver(rand([2, 5, 6, 3], 101, -2, 3), [1, 2], 1e-5),
  normaliseOver(rand([1, 3, 4, 5, 2], 102), [1, 2, 3], 1e-5),
  normaliseOver(rand([2, 4, 3, 2, 3], 103), [1, 2, 4], 1e-6),
]);
add("adam update (fused on torch, the composite on cpu), first and a later step, odd shapes", () => {
  const out: tf.Tensor[] = [];
  for (const [shape, t, seed] of [[[3, 3, 5, 7], 1, 110], [[13], 40, 111]] as const) {
    const [b1, b2, lr] = [0.5, 0.999, 2e-4];
    const c = { beta1: b1, beta2: b2, eps: 1e-8, stepSize: lr / (1 - b1 ** t), bc2Sqrt: Math.sqrt(1 - b2 ** t) };
    const p0 = rand([...shape], seed);
    const r = adamStep(p0, rand([...shape], seed + 1, -0.01, 0.01), rand([...shape], seed + 2, 0, 1e-4), rand([...shape], seed + 3, -0.1, 0.1), c);
    // The update itself (lr-sized), so the tolerance is relative to it, not to the parameter.
    out.push(tf.sub(r.param, p0), r.expAvg, r.expAvgSq);
  }
  return out;
});
add("normalise: gradients", () => [
  ...gradOf((x) => normaliseOver(x, [1, 2], 1e-5), [rand([2, 5, 6, 3], 104, -2, 3)]),
  ...gradOf((x) => normaliseOver(x, [1, 2, 4], 1e-6), [rand([1, 4, 3, 2, 3], 105)]),
], 1e-4);

// Convolutions: strides, dilations, "same" on even sizes (asymmetric pads), explicit pads, NCHW.
const conv2dCases: [string, number[], number[], number | [number, number], "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]], number | [number, number]][] = [
  ["3x3 valid", [2, 9, 8, 3], [3, 3, 3, 4], 1, "valid", 1],
  ["3x3 same", [1, 7, 6, 2], [3, 3, 2, 5], 1, "same", 1],
  ["3x3 stride 2 same on even sizes", [1, 8, 10, 3], [3, 3, 3, 4], 2, "same", 1],
  ["3x3 stride 2 valid on odd sizes", [1, 9, 7, 2], [3, 3, 2, 3], 2, "valid", 1],
  ["4x4 stride [2, 1] same", [1, 8, 7, 2], [4, 4, 2, 3], [2, 1], "same", 1],
  ["7x7 valid", [1, 12, 11, 1], [7, 7, 1, 4], 1, "valid", 1],
  ["1x1", [2, 5, 5, 6], [1, 1, 6, 3], 1, "valid", 1],
  ["explicit pads", [1, 6, 7, 2], [3, 2, 2, 3], 1, [[0, 0], [2, 0], [1, 2], [0, 0]], 1],
  ["dilation 2", [1, 11, 9, 2], [3, 3, 2, 2], 1, "same", 2],
];
for (const [name, xs, ws, strides, pad, dil] of conv2dCases) {
  add(`conv2d ${name}`, () => tf.conv2d(rand(xs, 110) as tf.Tensor4D, rand(ws, 111) as tf.Tensor4D, strides, pad as "same", "NHWC", dil), CONV_TOL);
  const dilated = dil !== 1;
  if (!dilated) add(`conv2d ${name}: gradients`, () => gradOf((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad as "same"), [rand(xs, 112), rand(ws, 113)]), CONV_TOL);
}
add("conv2d NCHW and its filter gradient", () => {
  const x = rand([1, 2, 6, 5], 114), w = rand([3, 3, 2, 3], 115);
  return [tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same", "NCHW"), tf.engine().runKernel("Conv2DBackpropFilter", { x, dy: rand([1, 3, 6, 5], 116) }, { strides: 1, pad: "same", filterShape: [3, 3, 2, 3], dataFormat: "NCHW" }) as tf.Tensor];
}, CONV_TOL);
add("conv2dTranspose (stride 2, same and valid) and gradients", () => [
  tf.conv2dTranspose(rand([1, 4, 5, 3], 117) as tf.Tensor4D, rand([3, 3, 2, 3], 118) as tf.Tensor4D, [1, 8, 10, 2], 2, "same"),
  tf.conv2dTranspose(rand([1, 4, 4, 3], 119) as tf.Tensor4D, rand([3, 3, 2, 3], 120) as tf.Tensor4D, [1, 9, 9, 2], 2, "valid"),
  ...gradOf((x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [1, 8, 10, 2], 2, "same"), [rand([1, 4, 5, 3], 121), rand([3, 3, 2, 3], 122)]),
], CONV_TOL);
const conv3dCases: [string, number[], number[], number | [number, number, number], "same" | "valid"][] = [
  ["3x3x3 valid", [1, 5, 6, 7, 2], [3, 3, 3, 2, 3], 1, "valid"],
  ["3x3x3 same", [2, 4, 5, 6, 2], [3, 3, 3, 2, 2], 1, "same"],
  ["3x3x3 stride 2 same on even sizes", [1, 6, 8, 4, 2], [3, 3, 3, 2, 3], 2, "same"],
  ["stride [1, 2, 2] valid", [1, 5, 7, 7, 1], [3, 3, 3, 1, 4], [1, 2, 2], "valid"],
  ["1x3x3 same", [1, 3, 6, 6, 2], [1, 3, 3, 2, 2], 1, "same"],
];
for (const [name, xs, ws, strides, pad] of conv3dCases) {
  add(`conv3d ${name}`, () => tf.conv3d(rand(xs, 130) as tf.Tensor5D, rand(ws, 131) as tf.Tensor5D, strides, pad), CONV_TOL);
  add(`conv3d ${name}: gradients`, () => gradOf((x, w) => tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, strides, pad), [rand(xs, 132), rand(ws, 133)]), CONV_TOL);
}
add("conv3d dilation 2", () => tf.conv3d(rand([1, 7, 7, 7, 1], 134) as tf.Tensor5D, rand([3, 3, 3, 1, 2], 135) as tf.Tensor5D, 1, "valid", "NDHWC", 2), CONV_TOL);
add("conv3dTranspose (stride 2) and gradients", () => [
  tf.conv3dTranspose(rand([1, 3, 4, 2, 3], 136) as tf.Tensor5D, rand([3, 3, 3, 2, 3], 137) as tf.Tensor5D, [1, 6, 8, 4, 2], 2, "same"),
  ...gradOf((x, w) => tf.conv3dTranspose(x as tf.Tensor5D, w as tf.Tensor5D, [1, 6, 8, 4, 2], 2, "same"), [rand([1, 3, 4, 2, 3], 138), rand([3, 3, 3, 2, 3], 139)]),
], CONV_TOL);

// Pooling: average (padding not counted) and max, "same" on even and odd sizes, gradients.
// tfjs cpu's AvgPoolGrad divides by the whole window even where its forward left padding out
// of the average, so with "same" padding the gradient is checked against the forward instead
// (below); the forward and the "valid" gradients against cpu here.
const pool2d: [string, number[], number, number, "same" | "valid"][] = [
  ["2x2 stride 2 valid", [1, 8, 6, 3], 2, 2, "valid"],
  ["3x3 stride 2 same on even sizes", [2, 8, 6, 2], 3, 2, "same"],
  ["3x3 stride 1 same", [1, 5, 7, 2], 3, 1, "same"],
  ["3x3 stride 2 valid on odd sizes", [1, 9, 7, 1], 3, 2, "valid"],
];
const pool3d: [string, number[], number, number, "same" | "valid"][] = [
  ["2x2x2 stride 2 valid", [1, 4, 6, 4, 2], 2, 2, "valid"],
  ["3x3x3 stride 2 same on even sizes", [1, 4, 6, 8, 1], 3, 2, "same"],
  ["3x3x3 stride 1 same", [2, 3, 5, 4, 2], 3, 1, "same"],
];
for (const [name, xs, k, s, pad] of pool2d) {
  const avg = (x: tf.Tensor) => tf.avgPool(x as tf.Tensor4D, k, s, pad);
  add(`avgPool ${name}${pad === "valid" ? " and its gradient" : ""}`, () => [avg(rand(xs, 140)), ...(pad === "valid" ? gradOf(avg, [rand(xs, 141)]) : [])]);
  add(`maxPool ${name} and its gradient`, () => [tf.maxPool(rand(xs, 142) as tf.Tensor4D, k, s, pad), ...gradOf((x) => tf.maxPool(x as tf.Tensor4D, k, s, pad), [rand(xs, 143)])]);
}
for (const [name, xs, k, s, pad] of pool3d) {
  const avg = (x: tf.Tensor) => tf.avgPool3d(x as tf.Tensor5D, k, s, pad);
  add(`avgPool3d ${name}${pad === "valid" ? " and its gradient" : ""}`, () => [avg(rand(xs, 144)), ...(pad === "valid" ? gradOf(avg, [rand(xs, 145)]) : [])]);
  add(`maxPool3d ${name} and its gradient`, () => [tf.maxPool3d(rand(xs, 146) as tf.Tensor5D, k, s, pad), ...gradOf((x) => tf.maxPool3d(x as tf.Tensor5D, k, s, pad), [rand(xs, 147)])]);
}

/** The gradient of sum(pool(x) * w), pool linear, from the forward alone: element i of the
 * gradient is the weighted sum of pool(e_i), all basis images e_i pooled in one batch. */
function linearGradFromForward(pool: (x: tf.Tensor) => tf.Tensor, shape: number[], w: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const n = size(shape);
    const basis = tf.reshape(tf.eye(n), [n, ...shape.slice(1)]);
    const y = pool(basis);
    return Float32Array.from(tf.sum(tf.mul(y, w), y.shape.slice(1).map((_, i) => i + 1)).dataSync());
  });
}

describe("torch kernels agree with the cpu backend", () => {
  for (const [what, f, tol] of cases) {
    test(what, async (t) => {
      if (skip) return t.skip(skip);
      await check(what, f, tol);
    });
  }

  test("every registered kernel, and every kernel the kit uses, was exercised above", async (t) => {
    if (skip) return t.skip(skip);
    const missing = TORCH_KERNELS.filter((k) => !met.has(k));
    assert.deepEqual(missing, [], `registered but not tested: ${missing.join(", ")}`);
    const kit = readFileSync(new URL("./fixtures/kit-kernels.tsv", import.meta.url), "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split("\t")[0]!);
    const notProvided = kit.filter((k) => !TORCH_KERNELS.includes(k));
    assert.deepEqual(notProvided, [], `the kit uses kernels torch lacks: ${notProvided.join(", ")}`);
  });
});

describe("torch average pooling with same padding: gradient against its own forward", () => {
  const same = [...pool2d.map(([n, xs, k, s, p]) => [n, [1, ...xs.slice(1)] as number[], k, s, p, 2] as const), ...pool3d.map(([n, xs, k, s, p]) => [n, [1, ...xs.slice(1)] as number[], k, s, p, 3] as const)].filter((c) => c[4] === "same");
  for (const [name, xs, k, s, pad, dims] of same) {
    test(`avgPool${dims === 3 ? "3d" : ""} ${name}`, async (t) => {
      if (skip) return t.skip(skip);
      await tf.setBackend("torch");
      const pool = (x: tf.Tensor) => (dims === 2 ? tf.avgPool(x as tf.Tensor4D, k, s, pad) : tf.avgPool3d(x as tf.Tensor5D, k, s, pad));
      const x = rand(xs, 148);
      const y0 = pool(x);
      const w = rand(y0.shape, 149);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a), w)))(x);
      const got = Float32Array.from(g.dataSync());
      const rec = kernelsUsedBy(() => tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(pool(a)))(x)));
      tf.dispose(rec.result);
      for (const kname of rec.kernels) met.add(kname);
      const wValues = w.dataSync();
      await tf.setBackend("cpu");
      const ref = linearGradFromForward(pool, xs, tf.tensor(wValues, w.shape));
      close(got, ref, TOL, `avgPool ${name} gradient`);
      tf.dispose([y0, g]);
      await tf.setBackend("torch");
      tf.dispose([x, w]);
    });
  }
});

describe("torch errors", () => {
  test("a shape mismatch inside libtorch is an UnpairedError naming the kernel, and the engine goes on", async (t) => {
    if (skip) return t.skip(skip);
    await tf.setBackend("torch");
    const x = tf.zeros([1, 5, 5, 3]);
    const w = tf.zeros([3, 3, 3, 2]);
    assert.throws(
      () => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy: tf.zeros([1, 4, 4, 2]) }, { strides: 1, pad: "valid", filterShape: [3, 3, 3, 2], dataFormat: "NHWC" }),
      (e: unknown) => e instanceof UnpairedError && e.code === "KERNEL_FAILED" && /^Conv2DBackpropFilter on the torch backend failed: /.test(e.message),
    );
    assert.throws(() => tf.engine().runKernel("BatchMatMul", { a: tf.zeros([2, 3]), b: tf.zeros([4, 5]) }, { transposeA: false, transposeB: false }), (e: unknown) => e instanceof UnpairedError && /BatchMatMul/.test(e.message));
    const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "valid");
    assert.deepEqual(y.shape, [1, 3, 3, 2]);
    tf.dispose([x, w, y]);
  });

  test("an allocation libtorch cannot make is OUT_OF_MEMORY, not a crash", async (t) => {
    if (skip) return t.skip(skip);
    await tf.setBackend("torch");
    // 2^62 bytes: no machine has them, so the allocator refuses at once.
    assert.throws(() => tf.engine().runKernel("Fill", {}, { shape: [2 ** 30, 2 ** 30], value: 0, dtype: "float32" }), (e: unknown) => e instanceof UnpairedError && e.code === "OUT_OF_MEMORY" && /Fill/.test(e.message));
  });

  test("string tensors are refused with a clear error", async (t) => {
    if (skip) return t.skip(skip);
    await tf.setBackend("torch");
    assert.throws(() => tf.tensor(["a", "b"]), (e: unknown) => e instanceof UnpairedError && e.code === "KERNEL_UNSUPPORTED" && /string/.test(e.message));
  });
});
