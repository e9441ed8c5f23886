// Second-order gradients (double backpropagation) on the cpu backend and the suite's (torch where built, else wasm; CI runs this file on both): SynDiff trains its
// discriminators with an R1 penalty, the squared norm of d sum(D(x)) / dx, differentiated again
// with respect to the discriminator's weights. For every op such a discriminator and its penalty
// use, with p = [x, w, ...] (x first):
//   L(p) = sum(c * f(p)) + sum(f(p)^2) / 2    (c fixed: the op's own curvature counts; the f^2
//                                             term makes the dy its gradient gets depend on p)
//   g(p) = dL/dx                             (first order, tf.grad)
//   S(p) = sum(r * g^2)                       (r > 0 fixed: an R1-like penalty)
// and dS/dp (tf.grads over a function that calls tf.grad: second order) is checked against
// central finite differences of S, which only needs first-order gradients, along random
// directions: (S(p + e u) - S(p - e u)) / 2e = <dS/dp, u>. Inputs of ops with kinks (relu,
// leakyRelu, abs, maximum) keep a margin from them that the steps cannot cross. Elementwise ops
// are also checked element by element against closed forms evaluated in float64. The R1 penalty
// of lib/losses through the kit's PatchGAN (2D and 3D) and a SynDiff-like time-conditioned
// discriminator is checked the same way against its weights, one parameter tensor at a time and
// all together (with a check that no leaky-ReLU input changes sign between the evaluation
// points). Before lib/engine/secondOrder.ts, tanh / sigmoid / exp (and so the kit's softplus)
// came out wrong here and leakyRelu, maximum, minimum, elu, avgPool and filter-gradient cases
// threw.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../lib/engine/index.js";
import { Conv, InstanceNorm, Lambda, Linear, instanceNormalise, type Layer } from "../lib/nn/index.js";
import { PatchGan } from "../lib/models/patchGan.js";
import { r1Penalty } from "../lib/losses/gan.js";
import { softplus as kitSoftplus } from "../lib/losses/common.js";
import { Rng } from "../lib/util/random.js";
import { assertClose, liveCounts, seeded, size, startSuiteEngine, suiteBackend } from "./helpers.js";

type T = tf.Tensor;
type Fn = (...p: T[]) => T;

before(startSuiteEngine);

// ---------------------------------------------------------------------------------------------
// Data.

/** Uniform in [lo, hi). */
function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  return seeded(n, seed).map((v) => lo + ((v + 1) / 2) * (hi - lo));
}

/** Uniform in +-[margin, 1): values at least `margin` from 0 (kinks of relu, abs, leakyRelu). */
function awayFromZero(n: number, seed: number, margin = 0.2): Float32Array {
  return seeded(n, seed).map((v) => Math.sign(v || 1) * (margin + (1 - margin) * Math.abs(v)));
}

function rms(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! ** 2;
  return Math.sqrt(s / Math.max(1, a.length)) || 1;
}

// ---------------------------------------------------------------------------------------------
// The generic check.

interface Case {
  name: string;
  shapes: number[][];
  f: Fn;
  /** Parameter values (default: seeded uniform in [-1, 1)). */
  init?: (seed: number) => Float32Array[];
  /** Finite-difference step, relative to each parameter's RMS (default 1e-2). */
  eps?: number;
  /** Relative tolerance of the directional derivative (default 2e-3). */
  tol?: number;
}

/** S(p) = sum(r * (dL/dx)^2) with L = sum(c * f(p)) + sum(f(p)^2) / 2. */
function penalty(f: Fn, c: T, r: T): (...p: T[]) => tf.Scalar {
  return (...p: T[]) =>
    tf.tidy(() => {
      const rest = p.slice(1);
      const g = tf.grad((x: T) => {
        const y = f(x, ...rest);
        return tf.add(tf.sum(tf.mul(c, y)), tf.mul(tf.sum(tf.square(y)), 0.5)) as tf.Scalar;
      })(p[0]!);
      return tf.sum(tf.mul(r, tf.square(g))) as tf.Scalar;
    });
}

function scalarOf(s: () => tf.Scalar): number {
  const t = s();
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}

/** Second-order gradient dS/dp of a case, as plain arrays (throws with the case's name). */
function secondOrder(name: string, S: (...p: T[]) => tf.Scalar, params: T[]): Float32Array[] {
  let grads: T[];
  try {
    grads = tf.grads(S)(params);
  } catch (e) {
    throw new Error(`${name}: the second-order gradient threw: ${(e as Error).message}`);
  }
  const out = grads.map((g) => Float32Array.from(g.dataSync()));
  tf.dispose(grads);
  return out;
}

/** Asserts <analytic, u> = (S(p + e u) - S(p - e u)) / 2e for one parameter and direction. */
function checkDirection(what: string, S: (...p: T[]) => tf.Scalar, data: Float32Array[], shapes: number[][], i: number, analytic: Float32Array, u: Float32Array, eps: number, tol: number): void {
  const at = (sign: number) =>
    scalarOf(() =>
      tf.tidy(() => S(...data.map((d, j) => tf.tensor(j === i ? d.map((v, k) => v + sign * eps * u[k]!) : d, shapes[j]!)))),
    );
  const numeric = (at(1) - at(-1)) / (2 * eps);
  let projected = 0;
  let magnitude = 0;
  for (let k = 0; k < u.length; k++) {
    projected += analytic[k]! * u[k]!;
    magnitude += Math.abs(analytic[k]! * u[k]!);
  }
  const bound = tol * Math.max(Math.abs(numeric), Math.abs(projected)) + 1e-4 * magnitude + 1e-9;
  assert.ok(
    Number.isFinite(projected) && Math.abs(projected - numeric) <= bound,
    `${what}: second-order gradient along a random direction ${projected} vs finite difference ${numeric} (|diff| ${Math.abs(projected - numeric)} > ${bound})`,
  );
}

/** Runs the check of one case: every parameter, two random directions each. */
function checkCase(c: Case, seed: number): void {
  const data = c.init ? c.init(seed) : c.shapes.map((s, i) => seeded(size(s), seed + 7 * i));
  const params = data.map((d, i) => tf.tensor(d, c.shapes[i]!));
  const outShape = tf.tidy(() => c.f(...params).shape);
  const weight = tf.tensor(seeded(size(outShape), seed + 101), outShape);
  const r = tf.tensor(uniform(size(c.shapes[0]!), seed + 103, 0.5, 1.5), c.shapes[0]!);
  const S = penalty(c.f, weight, r);
  try {
    const analytic = secondOrder(c.name, S, params);
    for (let i = 0; i < params.length; i++) {
      const scale = rms(data[i]!);
      for (const dir of [0, 1]) {
        const u = seeded(data[i]!.length, seed + 211 + 13 * i + dir).map((v) => v * scale);
        checkDirection(`${c.name}, d/d(argument ${i}), direction ${dir}`, S, data, c.shapes, i, analytic[i]!, u, c.eps ?? 1e-2, c.tol ?? 2e-3);
      }
    }
  } finally {
    tf.dispose([...params, weight, r]);
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise ops f(x, w) = op(w * x), with float64 closed forms of op, op', op''.

interface Unary {
  name: string;
  op: (z: T) => T;
  /** [F, F', F''] at z in float64. */
  ref: (z: number) => [number, number, number];
  /** x and w data (default: x in +-[0.2, 1), w in [0.5, 1.5): w * x keeps x's sign and margin). */
  init?: (n: number, seed: number) => [Float32Array, Float32Array];
}

const sig = (z: number) => 1 / (1 + Math.exp(-z));
const positive = (n: number, seed: number): [Float32Array, Float32Array] => [uniform(n, seed, 0.5, 1.5), uniform(n, seed + 1, 0.5, 1.5)];

const UNARY: Unary[] = [
  { name: "tanh", op: (z) => tf.tanh(z), ref: (z) => { const t = Math.tanh(z); return [t, 1 - t * t, -2 * t * (1 - t * t)]; } },
  { name: "sigmoid", op: (z) => tf.sigmoid(z), ref: (z) => { const s = sig(z); return [s, s * (1 - s), s * (1 - s) * (1 - 2 * s)]; } },
  { name: "exp", op: (z) => tf.exp(z), ref: (z) => { const e = Math.exp(z); return [e, e, e]; } },
  { name: "log", op: (z) => tf.log(z), ref: (z) => [Math.log(z), 1 / z, -1 / (z * z)], init: positive },
  { name: "log1p", op: (z) => tf.log1p(z), ref: (z) => [Math.log1p(z), 1 / (1 + z), -1 / (1 + z) ** 2], init: positive },
  { name: "softplus (tf.softplus)", op: (z) => tf.softplus(z), ref: (z) => { const s = sig(z); return [Math.log1p(Math.exp(z)), s, s * (1 - s)]; } },
  { name: "softplus (the kit's, losses/common)", op: (z) => kitSoftplus(z), ref: (z) => { const s = sig(z); return [Math.log1p(Math.exp(z)), s, s * (1 - s)]; } },
  { name: "leakyRelu(0.2)", op: (z) => tf.leakyRelu(z, 0.2), ref: (z) => (z > 0 ? [z, 1, 0] : [0.2 * z, 0.2, 0]) },
  { name: "relu", op: (z) => tf.relu(z), ref: (z) => (z > 0 ? [z, 1, 0] : [0, 0, 0]) },
  { name: "abs", op: (z) => tf.abs(z), ref: (z) => [Math.abs(z), Math.sign(z), 0] },
  { name: "elu", op: (z) => tf.elu(z), ref: (z) => (z > 0 ? [z, 1, 0] : [Math.expm1(z), Math.exp(z), Math.exp(z)]) },
  { name: "maximum(z, 0.2 z) (leaky ReLU as a maximum)", op: (z) => tf.maximum(z, tf.mul(z, 0.2)), ref: (z) => (z > 0 ? [z, 1, 0] : [0.2 * z, 0.2, 0]) },
  { name: "square", op: (z) => tf.square(z), ref: (z) => [z * z, 2 * z, 2] },
  { name: "sqrt", op: (z) => tf.sqrt(z), ref: (z) => [Math.sqrt(z), 0.5 / Math.sqrt(z), -0.25 * z ** -1.5], init: positive },
  { name: "rsqrt", op: (z) => tf.rsqrt(z), ref: (z) => [z ** -0.5, -0.5 * z ** -1.5, 0.75 * z ** -2.5], init: positive },
  { name: "reciprocal", op: (z) => tf.reciprocal(z), ref: (z) => [1 / z, -1 / (z * z), 2 / (z * z * z)], init: positive },
  { name: "neg", op: (z) => tf.neg(z), ref: (z) => [-z, -1, 0] },
];

/** dS/dx and dS/dw of f(x, w) = op(w x) in float64 (see the header for L, g, S). */
function unaryReference(u: Unary, x: Float32Array, w: Float32Array, c: Float32Array, r: Float32Array): [Float64Array, Float64Array] {
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const z = w[i]! * x[i]!;
    const [F, F1, F2] = u.ref(z);
    const a = c[i]! + F;
    const g = a * F1 * w[i]!;
    const dgdz = F1 * F1 + a * F2;
    dx[i] = 2 * r[i]! * g * dgdz * w[i]! * w[i]!;
    dw[i] = 2 * r[i]! * g * (dgdz * x[i]! * w[i]! + a * F1);
  }
  return [dx, dw];
}

function checkUnary(u: Unary, seed: number): void {
  const shape = [2, 3, 4];
  const n = size(shape);
  const [x, w] = u.init ? u.init(n, seed) : [awayFromZero(n, seed), uniform(n, seed + 1, 0.5, 1.5)];
  const c = seeded(n, seed + 101);
  const r = uniform(n, seed + 103, 0.5, 1.5);
  const ct = tf.tensor(c, shape);
  const rt = tf.tensor(r, shape);
  const xt = tf.tensor(x, shape);
  const wt = tf.tensor(w, shape);
  const f = (a: T, b: T) => u.op(tf.mul(b, a));
  try {
    const [ax, aw] = secondOrder(u.name, penalty(f, ct, rt), [xt, wt]);
    const [rx, rw] = unaryReference(u, x, w, c, r);
    assertClose(ax!, rx, 2e-4, `${u.name}: dS/dx against float64`);
    assertClose(aw!, rw, 2e-4, `${u.name}: dS/dw against float64`);
  } finally {
    tf.dispose([ct, rt, xt, wt]);
  }
  checkCase({ name: u.name, shapes: [shape, shape], f, init: () => [x, w] }, seed);
}

// ---------------------------------------------------------------------------------------------
// The other ops.

const X4 = [2, 5, 6, 3];

/** x and w with |x - w| >= 0.3 everywhere (w broadcast along x's last axis when shorter). */
function apart(xShape: number[], wShape: number[]): (seed: number) => Float32Array[] {
  return (seed) => {
    const w = seeded(size(wShape), seed + 1);
    const gap = awayFromZero(size(xShape), seed, 0.3);
    const x = gap.map((g, i) => w[i % w.length]! + g);
    return [x, w];
  };
}

const CASES: Case[] = [
  { name: "mul", shapes: [X4, X4], f: (x, w) => tf.mul(x, w) },
  { name: "mul, w broadcast over channels", shapes: [X4, [3]], f: (x, w) => tf.mul(x, w) },
  { name: "add (bias over channels)", shapes: [X4, [3]], f: (x, b) => tf.add(x, b) },
  { name: "add", shapes: [X4, X4], f: (x, w) => tf.mul(tf.add(x, w), x) },
  { name: "sub, both ways", shapes: [X4, [3]], f: (x, w) => tf.mul(tf.sub(x, w), tf.sub(w, tf.square(x))) },
  { name: "div", shapes: [X4, X4], f: (x, w) => tf.div(x, w), init: (s) => [seeded(size(X4), s), awayFromZero(size(X4), s + 1, 0.5)] },
  { name: "div, w broadcast over channels", shapes: [X4, [3]], f: (x, w) => tf.div(x, w), init: (s) => [seeded(size(X4), s), awayFromZero(3, s + 1, 0.5)] },
  { name: "div, x in the denominator", shapes: [X4, X4], f: (x, w) => tf.div(w, x), init: (s) => [awayFromZero(size(X4), s, 0.5), seeded(size(X4), s + 1)] },
  { name: "maximum", shapes: [X4, X4], f: (x, w) => tf.maximum(x, w), init: apart(X4, X4) },
  { name: "maximum, w broadcast over channels", shapes: [X4, [3]], f: (x, w) => tf.maximum(x, w), init: apart(X4, [3]) },
  { name: "minimum", shapes: [X4, X4], f: (x, w) => tf.minimum(x, w), init: apart(X4, X4) },
  { name: "neg", shapes: [X4], f: (x) => tf.neg(x) },
  { name: "mean over the spatial axes (keepDims)", shapes: [X4], f: (x) => tf.mean(x, [1, 2], true) },
  { name: "mean of everything", shapes: [X4], f: (x) => tf.mean(x) },
  { name: "sum over axis 1", shapes: [X4], f: (x) => tf.sum(x, 1) },
  { name: "sum of everything", shapes: [X4], f: (x) => tf.sum(x) },
  { name: "reshape", shapes: [X4], f: (x) => tf.reshape(x, [6, -1]) },
  { name: "transpose", shapes: [X4], f: (x) => tf.transpose(x, [0, 3, 1, 2]) },
  { name: "concat along channels", shapes: [X4, [2, 5, 6, 2]], f: (x, w) => tf.concat([x, w, x], 3) },
  { name: "slice", shapes: [X4], f: (x) => tf.slice(x, [0, 1, 2, 0], [2, 3, 3, 2]) },
  { name: "pad (zeros)", shapes: [X4], f: (x) => tf.pad(x, [[0, 0], [1, 2], [2, 1], [0, 0]]) },
  { name: "mirrorPad reflect", shapes: [X4], f: (x) => tf.mirrorPad(x, [[0, 0], [2, 1], [1, 3], [0, 0]], "reflect") },
  { name: "mirrorPad symmetric", shapes: [X4], f: (x) => tf.mirrorPad(x, [[0, 0], [1, 2], [3, 0], [0, 0]], "symmetric") },
  { name: "avgPool 2 stride 2 valid", shapes: [[2, 6, 6, 3]], f: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, "valid") },
  { name: "avgPool 3 stride 1 same", shapes: [X4], f: (x) => tf.avgPool(x as tf.Tensor4D, 3, 1, "same") },
  { name: "matMul", shapes: [[3, 4], [4, 5]], f: (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D) },
  { name: "matMul, transposes", shapes: [[4, 3], [5, 4]], f: (x, w) => tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D, true, true) },
  { name: "batched matMul", shapes: [[2, 3, 4], [2, 4, 2]], f: (x, w) => tf.matMul(x as tf.Tensor3D, w as tf.Tensor3D) },
  { name: "moments + rsqrt (instance norm)", shapes: [X4], f: (x) => instanceNormalise(x, 2) },
  {
    // The batch members kept >= 0.2 apart: the standard deviation of near-equal values is a kink.
    name: "moments + sqrt (minibatch std)",
    shapes: [[3, 4, 5, 2]],
    f: (x) => tf.sqrt(tf.add(tf.moments(x, 0).variance, 1e-8)),
    init: (s) => [seeded(120, s).map((v, i) => 0.3 * v + 0.8 * (Math.floor(i / 40) - 1))],
  },
];

const conv2dCases: [number[], number[], number, "same" | "valid"][] = [
  [[2, 7, 6, 3], [3, 3, 3, 4], 1, "same"],
  [[2, 7, 6, 3], [3, 3, 3, 4], 2, "same"],
  [[1, 7, 8, 2], [3, 3, 2, 3], 1, "valid"],
  [[2, 8, 8, 3], [4, 4, 3, 2], 2, "valid"],
];
for (const [xs, ws, s, p] of conv2dCases) {
  const co = ws[3]!;
  CASES.push({
    name: `conv2d + bias, x [${xs}] w [${ws}] stride ${s} ${p}`,
    shapes: [xs, ws, [co]],
    f: (x, w, b) => tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, p), b),
  });
  CASES.push({
    name: `conv2d, gradient taken w.r.t. the filter [${ws}] stride ${s} ${p}`,
    shapes: [ws, xs],
    f: (w, x) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, p),
  });
}
CASES.push(
  {
    name: "conv2dTranspose stride 2 valid",
    shapes: [[2, 4, 3, 4], [3, 3, 3, 4]],
    f: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 9, 7, 3], 2, "valid"),
  },
  {
    name: "conv2dTranspose stride 2 same, gradient taken w.r.t. the filter",
    shapes: [[3, 3, 2, 4], [1, 4, 3, 4]],
    f: (w, x) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [1, 8, 6, 2], 2, "same"),
  },
);

// 3D: the kit's conv3d kernels on wasm and its Conv3DBackpropInputV2 gradient.
CASES.push(
  {
    name: "conv3d + bias, stride 1 same",
    shapes: [[1, 4, 5, 4, 2], [3, 3, 3, 2, 3], [3]],
    f: (x, w, b) => tf.add(tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1, "same"), b),
  },
  {
    name: "conv3d + bias, stride 2 valid",
    shapes: [[2, 5, 5, 6, 2], [3, 3, 3, 2, 2], [2]],
    f: (x, w, b) => tf.add(tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 2, "valid"), b),
  },
  {
    name: "conv3d, gradient taken w.r.t. the filter, stride 2 same",
    shapes: [[3, 3, 3, 2, 2], [1, 5, 4, 5, 2]],
    f: (w, x) => tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 2, "same"),
  },
  {
    name: "conv3dTranspose stride 2 valid",
    shapes: [[1, 3, 2, 3, 3], [3, 3, 3, 2, 3]],
    f: (x, w) => tf.conv3dTranspose(x as tf.Tensor5D, w as tf.Tensor5D, [1, 7, 5, 7, 2], 2, "valid"),
  },
);

// ---------------------------------------------------------------------------------------------
// R1 through the kit's layers: d r1 / d weights against finite differences of r1.

/** A discriminator whose leaky-ReLU inputs can be recorded (to rule out steps that cross a kink). */
interface Recorded {
  params: tf.Variable[];
  /** Logits of a batch; pushes each leaky-ReLU input onto `record` when given. */
  apply: (x: T, record?: T[]) => T;
}

/** The signs of every recorded leaky-ReLU input, for the current parameter values. */
function signs(d: Recorded, x: T): Uint8Array {
  const rec: T[] = [];
  tf.tidy(() => {
    d.apply(x, rec);
  });
  const all = rec.map((t) => Array.from(t.dataSync(), (v) => (v > 0 ? 1 : 0)));
  tf.dispose(rec);
  return Uint8Array.from(all.flat());
}

function checkR1(name: string, d: Recorded, x: T, seed: number): void {
  const before = d.params.map((p) => Float32Array.from(p.dataSync()));
  const r1At = () => scalarOf(() => r1Penalty(x, (v) => d.apply(v)));
  let analytic: Float32Array[];
  try {
    const { value, grads } = tf.variableGrads(() => r1Penalty(x, (v) => d.apply(v)), d.params);
    // A parameter r1 does not depend on (the last bias) gets no entry: its gradient is zero.
    analytic = d.params.map((p) => (grads[p.name] ? Float32Array.from(grads[p.name]!.dataSync()) : new Float32Array(p.size)));
    tf.dispose([value, ...Object.values(grads)]);
  } catch (e) {
    throw new Error(`${name}: the second-order gradient threw: ${(e as Error).message}`);
  }
  const r1 = r1At();
  const base = signs(d, x);
  // One random direction per parameter tensor alone, then all of them together.
  const groups = [...d.params.map((_, i) => [i]), d.params.map((_, i) => i)];
  try {
    for (const group of groups) {
      const what = group.length === 1 ? `${name}, parameter ${group[0]} [${d.params[group[0]!]!.shape}]` : `${name}, all parameters`;
      const dirs = before.map((b, i) => (group.includes(i) ? seeded(b.length, seed + 31 * i).map((v) => v * rms(b)) : new Float32Array(b.length)));
      const setAt = (s: number) => d.params.forEach((p, i) => p.assign(tf.tensor(before[i]!.map((v, k) => v + s * dirs[i]![k]!), p.shape)));
      let eps = 2e-3;
      for (let tries = 0; ; tries++) {
        setAt(eps);
        const plus = signs(d, x);
        const vPlus = r1At();
        setAt(-eps);
        const minus = signs(d, x);
        const vMinus = r1At();
        const crossed = base.some((s, k) => s !== plus[k] || s !== minus[k]);
        if (crossed && tries < 6) {
          eps /= 2;
          continue;
        }
        assert.ok(!crossed, `${what}: every step crosses a leaky-ReLU kink`);
        const numeric = (vPlus - vMinus) / (2 * eps);
        let projected = 0;
        let magnitude = 0;
        analytic.forEach((a, i) => a.forEach((v, k) => ((projected += v * dirs[i]![k]!), (magnitude += Math.abs(v * dirs[i]![k]!)))));
        if (group.length > 1) assert.ok(Math.abs(numeric) > 1e-3 * magnitude, `${what}: the check sees a gradient (${numeric})`);
        // float32 rounding of r1 itself, divided by the step, is the floor of what differences resolve.
        const bound = 2e-3 * Math.max(Math.abs(numeric), Math.abs(projected)) + 1e-4 * magnitude + (1e-6 * Math.abs(r1)) / eps;
        assert.ok(
          Math.abs(projected - numeric) <= bound,
          `${what}: d r1 / d weights along a random direction ${projected} vs finite difference ${numeric} (step ${eps}, bound ${bound})`,
        );
        break;
      }
    }
  } finally {
    d.params.forEach((p, i) => p.assign(tf.tensor(before[i]!, p.shape)));
  }
}

const KAIMING = { kind: "kaiming", gain: 1 } as const;

/** The kit's PatchGAN (Conv + InstanceNorm + LeakyReLU), its layers applied in order. */
function smallPatchGan(dims: 2 | 3 = 2): { gan: PatchGan; d: Recorded } {
  const opts = dims === 2 ? { inChannels: 2, ndf: 4, nLayers: 2 } : { inChannels: 1, ndf: 2, nLayers: 1 };
  const gan = new PatchGan({ dims, ...opts, init: KAIMING }, new Rng(`second-order patchgan ${dims}D`));
  const seq = gan["seq"] as Layer[];
  const d: Recorded = {
    params: gan.parameters(),
    apply: (x, record) =>
      tf.tidy(() =>
        seq.reduce((h, l) => {
          if (record && l instanceof Lambda) record.push(tf.keep(h.clone()));
          return l.apply(h);
        }, x),
      ),
  };
  return { gan, d };
}

/**
 * A small SynDiff-style discriminator of (x_t, x_{t+1}, t): sinusoidal time embedding -> Linear ->
 * LeakyReLU -> Linear added per channel; conv 3x3 -> LeakyReLU -> avgPool 2 -> conv stride 2 ->
 * instance norm -> LeakyReLU; minibatch standard deviation as an extra channel; conv; mean over
 * space; Linear -> logits. R1 is taken w.r.t. x_t, as SynDiff does.
 */
function synDiffLike(xNext: T, t: number[]): { modules: { dispose(): void }[]; d: Recorded } {
  const rng = new Rng("second-order syndiff");
  const c1 = new Conv(2, 2, 4, 3, rng, { padding: 1, init: KAIMING });
  const c2 = new Conv(2, 4, 6, 3, rng, { stride: 2, padding: 1, init: KAIMING });
  const c3 = new Conv(2, 7, 4, 3, rng, { padding: 1, init: KAIMING });
  const norm = new InstanceNorm(2, 6, { affine: true, rng });
  const t1 = new Linear(4, 8, rng, { init: KAIMING });
  const t2 = new Linear(8, 4, rng, { init: KAIMING });
  const out = new Linear(4, 1, rng, { init: KAIMING });
  const modules = [c1, c2, c3, norm, t1, t2, out];
  // The reference's sinusoidal embedding of t (constant: no parameters).
  const emb = t.flatMap((v) => [Math.sin(v), Math.cos(v), Math.sin(v / 10), Math.cos(v / 10)]);
  const leaky = (h: T, record?: T[]) => {
    if (record) record.push(tf.keep(h.clone()));
    return tf.leakyRelu(h, 0.2);
  };
  const d: Recorded = {
    params: modules.flatMap((m) => m.parameters()),
    apply: (x, record) =>
      tf.tidy(() => {
        const b = x.shape[0]!;
        const temb = t2.apply(leaky(t1.apply(tf.tensor(emb, [b, 4])), record));
        let h = c1.apply(tf.concat([x, xNext], 3));
        h = leaky(tf.add(h, tf.reshape(temb, [b, 1, 1, 4])), record);
        h = tf.avgPool(h as tf.Tensor4D, 2, 2, "valid");
        h = leaky(norm.apply(c2.apply(h)), record);
        const std = tf.mean(tf.sqrt(tf.add(tf.moments(h, 0).variance, 1e-8)));
        h = tf.concat([h, tf.mul(tf.onesLike(tf.slice(h, [0, 0, 0, 0], [-1, -1, -1, 1])), std)], 3);
        h = tf.mean(c3.apply(h), [1, 2]);
        return out.apply(h);
      }),
  };
  return { modules, d };
}

// ---------------------------------------------------------------------------------------------

for (const backend of ["cpu", suiteBackend()] as const) {
  describe(`second-order gradients on ${backend} match finite differences`, () => {
    before(async () => {
      await tf.setBackend(backend);
    });

    UNARY.forEach((u, i) => {
      test(`${u.name}: elementwise against float64 and by finite differences`, () => checkUnary(u, 10 * i + 1));
    });

    CASES.forEach((c, i) => {
      test(c.name, () => checkCase(c, 1000 + 10 * i));
    });

    test("R1 penalty through the kit's PatchGAN (Conv, InstanceNorm, LeakyReLU) w.r.t. its weights", () => {
      const { gan, d } = smallPatchGan();
      const x = tf.tensor(seeded(2 * 16 * 16 * 2, 77), [2, 16, 16, 2]);
      try {
        // The manual walk over the layers is the network's own forward.
        assertClose(tf.tidy(() => d.apply(x)).dataSync(), tf.tidy(() => gan.apply(x)).dataSync(), 0, "PatchGan layers in order");
        checkR1("PatchGan", d, x, 5);
      } finally {
        gan.dispose();
        x.dispose();
      }
    });

    test("R1 penalty through a small 3D PatchGAN w.r.t. its weights", () => {
      const { gan, d } = smallPatchGan(3);
      const x = tf.tensor(seeded(8 * 8 * 8, 79), [1, 8, 8, 8, 1]);
      try {
        checkR1("PatchGan 3D", d, x, 6);
      } finally {
        gan.dispose();
        x.dispose();
      }
    });

    test("R1 penalty through a SynDiff-like time-conditioned discriminator w.r.t. its weights", () => {
      const xNext = tf.tensor(seeded(2 * 8 * 8, 91), [2, 8, 8, 1]);
      const x = tf.tensor(seeded(2 * 8 * 8, 93), [2, 8, 8, 1]);
      const { modules, d } = synDiffLike(xNext, [1, 3]);
      try {
        checkR1("SynDiff-like discriminator", d, x, 9);
      } finally {
        modules.forEach((m) => m.dispose());
        tf.dispose([x, xNext]);
      }
    });
  });
}

describe("first-order gradients and side effects of the fixes", () => {
  test("first-order gradients of the re-registered ops are bit-identical to tfjs-core's formulas", async () => {
    for (const backend of ["cpu", suiteBackend()] as const) {
      await tf.setBackend(backend);
      const x = tf.tensor(awayFromZero(40, 3), [5, 8]);
      const dy = tf.tensor(seeded(40, 4), [5, 8]);
      const b = tf.tensor(seeded(8, 5), [8]);
      // Each op with the expression tfjs-core 4.22's own gradient evaluates (same ops, same order).
      const ops: [string, (v: T) => T, () => T][] = [
        ["tanh", (v) => tf.tanh(v), () => tf.mul(tf.sub(tf.scalar(1), tf.square(tf.tanh(x))), dy)],
        ["sigmoid", (v) => tf.sigmoid(v), () => tf.mul(dy, tf.mul(tf.sigmoid(x), tf.sub(tf.scalar(1), tf.sigmoid(x))))],
        ["exp", (v) => tf.exp(v), () => tf.mul(dy, tf.exp(x))],
        ["elu", (v) => tf.elu(v), () => tf.engine().runKernel(tf.EluGrad, { dy, y: tf.elu(x) }) as T],
        ["leakyRelu", (v) => tf.leakyRelu(v, 0.2), () => tf.where(tf.greater(x, 0), dy, tf.mul(dy, 0.2))],
        ["maximum", (v) => tf.maximum(v, b), () => tf.mul(dy, tf.cast(tf.greaterEqual(x, b), "float32"))],
        ["minimum", (v) => tf.minimum(v, b), () => tf.mul(dy, tf.cast(tf.lessEqual(x, b), "float32"))],
      ];
      for (const [name, op, expected] of ops) {
        const g = tf.grad((v: T) => op(v))(x, dy);
        const e = tf.tidy(expected);
        assert.deepEqual(Array.from(g.dataSync()), Array.from(e.dataSync()), `${name} on ${backend}`);
        tf.dispose([g, e]);
      }
      tf.dispose([x, dy, b]);
    }
    await tf.setBackend(suiteBackend());
  });

  test("a mask built from x (tf.where on a comparison, maximum with a broadcast operand) is differentiable", async () => {
    for (const backend of ["cpu", suiteBackend()] as const) {
      await tf.setBackend(backend);
      const x = tf.tensor([-1, 2, 3, -0.5], [2, 2]);
      const g = tf.grad((v: T) => tf.sum(tf.where(tf.greater(v, 0), tf.square(v), tf.mul(v, 0.1))))(x);
      assert.deepEqual(Array.from(g.dataSync()), [0.1, 4, 6, 0.1].map(Math.fround), `where on ${backend}`);
      const w = tf.tensor([0, 2.5]);
      const gw = tf.grad((v: T) => tf.sum(tf.maximum(x, v)))(w);
      // max(x, w) per column: w wins at (-1 vs 0), (2 vs 2.5), (-0.5 vs 2.5).
      assert.deepEqual(Array.from(gw.dataSync()), [1, 2], `maximum's broadcast operand on ${backend}`);
      tf.dispose([x, g, w, gw]);
    }
    await tf.setBackend(suiteBackend());
  });

  test("an R1 step through the PatchGAN leaves no tensor behind", () => {
    const { gan, d } = smallPatchGan();
    const x = tf.tensor(seeded(2 * 16 * 16 * 2, 78), [2, 16, 16, 2]);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.add(r1Penalty(x, (v) => d.apply(v)), tf.mul(tf.sum(tf.tanh(d.apply(x))), 0)) as tf.Scalar, d.params);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = liveCounts();
    step();
    assert.deepEqual(liveCounts(), before);
    gan.dispose();
    x.dispose();
  });
});
