// The losses of lib/losses on wasm, each against an independent computation written plainly on
// JS numbers (float64 loops, Math.exp / Math.log) on seeded inputs, plus hand-worked tiny cases,
// gradients (detached PatchNCE keys; finite differences of the float64 references), leaks and
// the errors bad shapes raise.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../lib/engine/index.js";
import { Rng } from "../lib/util/random.js";
import { UnpairedError } from "../lib/util/errors.js";
import {
  cycleLoss,
  detach,
  diceCeLoss,
  discriminatorLoss,
  ganLoss,
  generatorLoss,
  identityLoss,
  l1Loss,
  patchNceLayerLoss,
  patchNceLoss,
  patchNceLosses,
  r1Penalty,
  segmentationCrossEntropy,
  shapeConsistencyLoss,
  softDiceLoss,
  styleConsistencyLoss,
  styleContrastiveLoss,
  type GanMode,
} from "../lib/losses/index.js";
import { assertClose, liveCounts, size, startSuiteEngine } from "./helpers.js";

before(startSuiteEngine);

// ---------- plain helpers ----------

function normals(n: number, seed: number | string, scale = 1): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.normal() * scale);
}

/** Rows of `cols` numbers, each scaled to unit length. */
function unitRows(rows: number, cols: number, seed: number | string): number[] {
  const v = normals(rows * cols, seed);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += v[r * cols + c]! ** 2;
    for (let c = 0; c < cols; c++) v[r * cols + c]! /= Math.sqrt(s);
  }
  return v;
}

function labelsOf(n: number, classes: number, seed: number | string): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.int(classes));
}

const t = (data: number[], shape: number[]) => tf.tensor(data, shape, "float32");
const ti = (data: number[], shape: number[]) => tf.tensor(data, shape, "int32");

/** The scalar value of a loss, disposing it (and its inputs built inside `f`). */
function value(f: () => tf.Tensor): number {
  const out = tf.tidy(f);
  assert.equal(out.rank, 0, "a loss is a scalar");
  const v = out.dataSync()[0]!;
  out.dispose();
  return v;
}

function near(actual: number, expected: number, tol: number, what: string): void {
  assertClose([actual], [expected], tol, what);
}

const dot = (a: number[], ai: number, b: number[], bi: number, k: number) => {
  let s = 0;
  for (let c = 0; c < k; c++) s += a[ai * k + c]! * b[bi * k + c]!;
  return s;
};

/** Cross-entropy with target 0 of one row of logits: log sum exp - first. */
function ceFirst(row: number[]): number {
  const m = Math.max(...row);
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  return m + Math.log(s) - row[0]!;
}

/** Central finite differences of a float64 function, one element at a time. */
function numericGradient(f: (x: number[]) => number, x: number[], eps = 1e-5): number[] {
  return x.map((_, i) => {
    const up = x.slice();
    const down = x.slice();
    up[i]! += eps;
    down[i]! -= eps;
    return (f(up) - f(down)) / (2 * eps);
  });
}

function gradOf(f: (x: tf.Tensor) => tf.Scalar, x: number[], shape: number[]): number[] {
  return tf.tidy(() => Array.from(tf.grad(f)(t(x, shape)).dataSync()));
}

function assertBadOption(f: () => unknown, pattern: RegExp, what: string): void {
  assert.throws(
    f,
    (e: unknown) => e instanceof UnpairedError && e.code === "BAD_OPTION" && pattern.test(e.message),
    what,
  );
}

/** Runs a loss inside tf.tidy, disposes the result and asserts nothing is left behind. */
function assertNoLeak(name: string, f: () => tf.Tensor | { total: tf.Tensor; perLayer: tf.Tensor[] }, inputs: tf.Tensor[]): void {
  const before = liveCounts();
  const out = tf.tidy(f);
  if (out instanceof tf.Tensor) out.dispose();
  else tf.dispose([out.total, ...out.perLayer]);
  assert.deepEqual(liveCounts(), before, `${name} leaves tensors behind`);
  tf.dispose(inputs);
}

// ---------- adversarial ----------

const softplus64 = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function ganRef(x: number[], real: boolean, mode: GanMode): number {
  let s = 0;
  for (const v of x) {
    if (mode === "lsgan") s += (v - (real ? 1 : 0)) ** 2;
    else if (mode === "vanilla") s += real ? -Math.log(sigmoid(v)) : -Math.log(1 - sigmoid(v)); // BCE, written plainly
    else s += softplus64(real ? -v : v);
  }
  return s / x.length;
}

describe("GAN losses", () => {
  const shapes = [
    [2, 4, 4, 1],
    [1, 2, 3, 3, 1],
  ];
  for (const shape of shapes) {
    for (const mode of ["lsgan", "vanilla", "nonsaturating"] as const) {
      test(`${mode} on ${shape.length - 2}D [${shape}] against a plain computation`, () => {
        const x = normals(size(shape), `gan:${mode}:${shape}`, 1.5);
        for (const real of [true, false]) near(value(() => ganLoss(t(x, shape), real, mode)), ganRef(x, real, mode), 1e-5, `${mode} real=${real}`);
        const y = normals(size(shape), `gan2:${mode}:${shape}`, 1.5);
        near(value(() => discriminatorLoss(t(x, shape), t(y, shape), mode)), 0.5 * (ganRef(x, true, mode) + ganRef(y, false, mode)), 1e-5, "D loss");
        near(value(() => discriminatorLoss(t(x, shape), t(y, shape), mode, 1)), ganRef(x, true, mode) + ganRef(y, false, mode), 1e-5, "D loss, scale 1");
        near(value(() => generatorLoss(t(y, shape), mode)), ganRef(y, true, mode), 1e-5, "G loss");
      });
    }
  }

  test("hand-worked values and the default mode (lsgan)", () => {
    near(value(() => ganLoss(t([0, 2, 1, -1], [1, 2, 2, 1]), true)), (1 + 1 + 0 + 4) / 4, 1e-6, "lsgan real");
    near(value(() => ganLoss(t([0, 2, 1, -1], [1, 2, 2, 1]), false)), (0 + 4 + 1 + 1) / 4, 1e-6, "lsgan fake");
    near(value(() => ganLoss(t([0, 0], [1, 2]), true, "vanilla")), Math.LN2, 1e-6, "BCE at 0 is log 2");
  });

  test("vanilla / non-saturating stay finite and exact for large logits", () => {
    // softplus(100) = 100, softplus(-100) = 3.7e-44: a naive log(sigmoid) would give Infinity.
    near(value(() => ganLoss(t([100, -100], [2, 1]), true, "vanilla")), 50, 1e-6, "real");
    near(value(() => ganLoss(t([100, -100], [2, 1]), false, "nonsaturating")), 50, 1e-6, "fake");
    const g = gradOf((x) => ganLoss(x, true, "vanilla"), [100, -100, 0], [3, 1]);
    assertClose(g, [0, -1 / 3, -0.5 / 3], 1e-6, "gradient (sigmoid(x) - 1) / n");
  });

  test("gradients: lsgan 2(x - t)/n, vanilla (sigmoid(x) - t)/n", () => {
    const x = normals(6, "gan-grad");
    for (const real of [true, false]) {
      const tgt = real ? 1 : 0;
      assertClose(gradOf((v) => ganLoss(v, real, "lsgan"), x, [1, 6]), x.map((v) => (2 * (v - tgt)) / 6), 1e-5, "lsgan");
      assertClose(gradOf((v) => ganLoss(v, real, "vanilla"), x, [1, 6]), x.map((v) => (sigmoid(v) - tgt) / 6), 1e-5, "vanilla");
    }
  });

  test("bad mode or dtype is a BAD_OPTION", () => {
    const x = t([1, 2], [1, 2]);
    assertBadOption(() => ganLoss(x, true, "wgan" as GanMode), /GAN mode "wgan"/, "mode");
    assertBadOption(() => ganLoss(ti([1, 2], [1, 2]), true), /float32/, "int prediction");
    x.dispose();
  });
});

describe("R1 penalty", () => {
  test("quadratic discriminator: value and second-order gradient to its weights", () => {
    // D(x)[b, i] = w_i x_{b,i}^2 -> dsumD/dx = 2 w x; r1 = mean_b sum_i 4 w_i^2 x_{b,i}^2;
    // d r1 / d w_i = mean_b 8 w_i x_{b,i}^2.
    const B = 3;
    const shape = [B, 2, 2, 1];
    const n = 4;
    const x = normals(B * n, "r1-x");
    const w = normals(n, "r1-w");
    let r1 = 0;
    const dw = new Array<number>(n).fill(0);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < n; i++) {
        r1 += (4 * w[i]! ** 2 * x[b * n + i]! ** 2) / B;
        dw[i]! += (8 * w[i]! * x[b * n + i]! ** 2) / B;
      }
    }
    const D = (wt: tf.Tensor) => (xx: tf.Tensor) => tf.mul(tf.reshape(wt, [1, 2, 2, 1]), tf.square(xx));
    near(value(() => r1Penalty(t(x, shape), D(t(w, [n])))), r1, 1e-5, "r1");
    assertClose(gradOf((wt) => r1Penalty(t(x, shape), D(wt)), w, [n]), dw, 1e-5, "d r1 / d w");
    // The way an optimiser asks: variableGrads over a variable the discriminator closes over.
    const wv = tf.variable(t(w, [n]), true, "r1-test-w");
    const xs = t(x, shape);
    const { value: v, grads } = tf.variableGrads(() => r1Penalty(xs, D(wv)), [wv]);
    near(v.dataSync()[0]!, r1, 1e-5, "r1 via variableGrads");
    assertClose(grads["r1-test-w"]!.dataSync(), dw, 1e-5, "d r1 / d w via variableGrads");
    tf.dispose([v, grads["r1-test-w"]!, wv, xs]);
  });

  test("conv + softplus + conv discriminator: d r1 / d w matches finite differences", () => {
    // (tfjs 4.22 gets second-order gradients wrong through ops whose gradient reads their saved
    // output, e.g. tanh / sigmoid / exp, and cannot take them through leakyRelu: see the report.)
    const xShape = [2, 5, 5, 2];
    const w1Shape = [3, 3, 2, 3];
    const w2Shape = [3, 3, 3, 1];
    const x = t(normals(size(xShape), "r1c-x"), xShape);
    const w2 = t(normals(size(w2Shape), "r1c-w2", 0.5), w2Shape);
    const w1 = normals(size(w1Shape), "r1c-w1", 0.5);
    const D = (a: tf.Tensor) => (xx: tf.Tensor) =>
      tf.conv2d(tf.softplus(tf.conv2d(xx as tf.Tensor4D, a as tf.Tensor4D, 1, "same")), w2 as tf.Tensor4D, 2, "valid");
    const analytic = gradOf((a) => r1Penalty(x, D(a)), w1, w1Shape);
    // Directional check along a random v: (r1(w + e v) - r1(w - e v)) / 2e = <grad, v>.
    const v = normals(w1.length, "r1c-v");
    const eps = 1e-2;
    const at = (s: number) => value(() => r1Penalty(x, D(t(w1.map((a, i) => a + s * eps * v[i]!), w1Shape))));
    const numeric = (at(1) - at(-1)) / (2 * eps);
    const projected = analytic.reduce((acc, g, i) => acc + g * v[i]!, 0);
    assert.ok(Math.abs(numeric) > 1e-2, `the check sees a gradient (${numeric})`);
    near(projected, numeric, 2e-3, "directional derivative");
    tf.dispose([x, w2]);
  });

  test("bad input", () => {
    const x = t([1, 2], [2]);
    assertBadOption(() => r1Penalty(x, (v) => v), /batch/, "rank 1");
    x.dispose();
  });
});

// ---------- reconstruction ----------

describe("reconstruction losses", () => {
  test("L1, cycle and identity against a plain mean |a - b| (2D and 3D)", () => {
    for (const shape of [
      [2, 3, 4, 1],
      [1, 2, 3, 4, 2],
    ]) {
      const a = normals(size(shape), `l1a:${shape}`);
      const b = normals(size(shape), `l1b:${shape}`);
      const ref = a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
      near(value(() => l1Loss(t(a, shape), t(b, shape))), ref, 1e-5, "l1");
      near(value(() => cycleLoss(t(a, shape), t(b, shape))), ref, 1e-5, "cycle");
      near(value(() => identityLoss(t(a, shape), t(b, shape))), ref, 1e-5, "identity");
      assertClose(gradOf((x) => l1Loss(x, t(b, shape)), a, shape), a.map((v, i) => Math.sign(v - b[i]!) / a.length), 1e-6, "gradient sign/n");
    }
  });

  test("shape mismatch is a BAD_OPTION naming both shapes", () => {
    const a = t([1, 2, 3, 4], [1, 2, 2, 1]);
    const b = t([1, 2, 3, 4], [1, 4, 1, 1]);
    assertBadOption(() => cycleLoss(a, b), /cycleLoss: .*\[1,2,2,1\].*\[1,4,1,1\]/, "mismatch");
    tf.dispose([a, b]);
  });
});

// ---------- PatchNCE ----------

/** PatchNCE of one layer, written plainly: rows image-major, groups of `perGroup` rows. */
function patchNceRef(q: number[], k: number[], rows: number, c: number, batch: number, tau: number, allNeg: boolean): number {
  const groups = allNeg ? 1 : batch;
  const m = rows / groups;
  let total = 0;
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < m; i++) {
      const r = g * m + i;
      const row = [dot(q, r, k, r, c)];
      for (let j = 0; j < m; j++) row.push(j === i ? -10 : dot(q, r, k, g * m + j, c));
      total += ceFirst(row.map((v) => v / tau));
    }
  }
  return total / rows;
}

describe("PatchNCE", () => {
  test("hand-worked: B = 1, P = 2, C = 2 (the 2 x 3 logit matrix)", () => {
    const q = [1, 0, 0.6, 0.8];
    const k = [0.8, 0.6, 0, 1];
    // q0.k0 = 0.8, q0.k1 = 0; q1.k1 = 0.8, q1.k0 = 0.96. Diagonal of the negatives -> -10.
    const logits = [
      [0.8, -10, 0],
      [0.8, 0.96, -10],
    ];
    const tau = 0.07;
    const expected = (ceFirst(logits[0]!.map((v) => v / tau)) + ceFirst(logits[1]!.map((v) => v / tau))) / 2;
    near(value(() => patchNceLayerLoss(t(q, [2, 2]) as tf.Tensor2D, t(k, [2, 2]) as tf.Tensor2D, { batchSize: 1 })), expected, 1e-5, "hand case");
    // The reference number itself, so a wrong helper above could not hide a wrong loss.
    near(expected, (Math.log(Math.exp(0.8 / tau) + Math.exp(-10 / tau) + 1) - 0.8 / tau + Math.log(Math.exp(0.8 / tau) + Math.exp(0.96 / tau) + Math.exp(-10 / tau)) - 0.8 / tau) / 2, 1e-12, "by hand");
  });

  test("hand-worked: B = 2, P = 1 keeps images apart unless all minibatch negatives are asked for", () => {
    const q = [1, 0, 0, 1];
    const k = [1, 0, 1, 0];
    // Same-image groups have one patch: logits [q.k+, -10] per row.
    const own = (ceFirst([1 / 0.07, -10 / 0.07]) + ceFirst([0, -10 / 0.07])) / 2;
    near(value(() => patchNceLayerLoss(t(q, [2, 2]) as tf.Tensor2D, t(k, [2, 2]) as tf.Tensor2D, { batchSize: 2 })), own, 1e-5, "per image");
    // One group of both rows: row 0 [1, -10, 1], row 1 [0, 0, -10].
    const all = (ceFirst([1 / 0.07, -10 / 0.07, 1 / 0.07]) + ceFirst([0, 0, -10 / 0.07])) / 2;
    near(
      value(() => patchNceLayerLoss(t(q, [2, 2]) as tf.Tensor2D, t(k, [2, 2]) as tf.Tensor2D, { batchSize: 2, allNegativesFromMinibatch: true })),
      all,
      1e-5,
      "whole minibatch",
    );
  });

  for (const allNeg of [false, true]) {
    for (const tau of [0.07, 0.2]) {
      test(`random unit features, B = 3, P = 5, C = 8, tau ${tau}, all negatives ${allNeg}`, () => {
        const [B, P, C] = [3, 5, 8];
        const q = unitRows(B * P, C, `nce-q:${tau}`);
        const k = unitRows(B * P, C, `nce-k:${tau}`);
        const got = value(() =>
          patchNceLayerLoss(t(q, [B * P, C]) as tf.Tensor2D, t(k, [B * P, C]) as tf.Tensor2D, { batchSize: B, tau, allNegativesFromMinibatch: allNeg }),
        );
        near(got, patchNceRef(q, k, B * P, C, B, tau, allNeg), 1e-5, "PatchNCE");
      });
    }
  }

  test("several layers (different P): per-layer values and total = sum / number of layers", () => {
    const B = 2;
    const layers = [
      { P: 4, C: 6 },
      { P: 3, C: 5 },
      { P: 6, C: 4 },
    ];
    const data = layers.map(({ P, C }, l) => ({ q: unitRows(B * P, C, `ml-q${l}`), k: unitRows(B * P, C, `ml-k${l}`), P, C }));
    const refs = data.map(({ q, k, P, C }) => patchNceRef(q, k, B * P, C, B, 0.07, false));
    const qs = data.map(({ q, P, C }) => t(q, [B * P, C]) as tf.Tensor2D);
    const ks = data.map(({ k, P, C }) => t(k, [B * P, C]) as tf.Tensor2D);
    const { total, perLayer } = patchNceLosses(qs, ks, { batchSize: B });
    assert.equal(perLayer.length, 3);
    assertClose(perLayer.map((s) => s.dataSync()[0]!), refs, 1e-5, "per layer");
    const mean = refs.reduce((a, b) => a + b, 0) / refs.length;
    near(total.dataSync()[0]!, mean, 1e-5, "total");
    near(value(() => patchNceLoss(qs, ks, { batchSize: B })), mean, 1e-5, "patchNceLoss");
    tf.dispose([total, ...perLayer, ...qs, ...ks]);
  });

  test("keys are detached: zero gradient to the keys, the right non-zero gradient to the queries", () => {
    const [B, P, C] = [2, 3, 4];
    const q = unitRows(B * P, C, "det-q");
    const k = unitRows(B * P, C, "det-k");
    const [gq, gk] = tf.tidy(() => {
      const gs = tf.grads((a: tf.Tensor, b: tf.Tensor) => patchNceLayerLoss(a as tf.Tensor2D, b as tf.Tensor2D, { batchSize: B }))([t(q, [B * P, C]), t(k, [B * P, C])]);
      return gs.map((g) => Array.from(g.dataSync()));
    });
    assert.ok(gk!.every((v) => v === 0), "key gradient is exactly zero");
    assert.ok(gq!.some((v) => Math.abs(v) > 1e-3), "query gradient is non-zero");
    const numeric = numericGradient((qq) => patchNceRef(qq, k, B * P, C, B, 0.07, false), q);
    assertClose(gq!, numeric, 1e-4, "query gradient vs finite differences");
    // The same through several layers; the total's key gradients are zero too.
    const gk2 = tf.tidy(() => {
      const keys = [t(k, [B * P, C]) as tf.Tensor2D];
      return Array.from(tf.grad((b: tf.Tensor) => patchNceLoss([t(q, [B * P, C]) as tf.Tensor2D], [b as tf.Tensor2D], { batchSize: B }))(keys[0]!).dataSync());
    });
    assert.ok(gk2.every((v) => v === 0), "multi-layer key gradient is zero");
  });

  test("detach keeps the values and blocks only its own path", () => {
    const g = tf.tidy(() => {
      const x = t([1, 2, 3], [3]);
      const same = Array.from(detach(x).dataSync());
      assert.deepEqual(same, [1, 2, 3]);
      // d/dx sum(detach(x) * x) = detach(x) = x.
      return Array.from(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(detach(v), v)))(x).dataSync());
    });
    assert.deepEqual(g, [1, 2, 3]);
  });

  test("shape and option errors", () => {
    const q = t(unitRows(6, 4, "e-q"), [6, 4]) as tf.Tensor2D;
    const k = t(unitRows(6, 3, "e-k"), [6, 3]) as tf.Tensor2D;
    const k2 = t(unitRows(6, 4, "e-k2"), [6, 4]) as tf.Tensor2D;
    assertBadOption(() => patchNceLayerLoss(q, k, { batchSize: 2 }), /\[6,4\].*\[6,3\]/, "channel mismatch");
    assertBadOption(() => patchNceLayerLoss(q, k2, { batchSize: 4 }), /6 feature rows.*batchSize 4/, "rows not divisible");
    assertBadOption(() => patchNceLayerLoss(q, k2, { batchSize: 0 }), /batchSize/, "batch 0");
    assertBadOption(() => patchNceLayerLoss(q, k2, { batchSize: 2, tau: 0 }), /tau/, "tau 0");
    assertBadOption(() => patchNceLosses([q, q], [k2], { batchSize: 2 }), /2 query layers but 1 key/, "layer count");
    assertBadOption(() => patchNceLoss([], [], { batchSize: 2 }), /no layers/, "no layers");
    const q3 = t(new Array(24).fill(0.1), [2, 3, 4]);
    assertBadOption(() => patchNceLayerLoss(q3 as unknown as tf.Tensor2D, q3 as unknown as tf.Tensor2D, { batchSize: 2 }), /batch \* patches, channels/, "rank 3");
    tf.dispose([q, k, k2, q3]);
  });
});

// ---------- IntraStyler style losses ----------

/** Style InfoNCE, plain: q [B, K], pos [B, K], neg [B, N, K] (or shared [N, K]). */
function styleRef(q: number[], pos: number[], neg: number[], B: number, N: number, K: number, tau: number, shared: boolean): number {
  let total = 0;
  for (let b = 0; b < B; b++) {
    const row = [dot(q, b, pos, b, K)];
    for (let n = 0; n < N; n++) row.push(dot(q, b, neg, shared ? n : b * N + n, K));
    total += ceFirst(row.map((v) => v / tau));
  }
  return total / B;
}

function consistencyRef(a: number[], s: number[], B: number, K: number): number {
  let total = 0;
  for (let b = 0; b < B; b++) {
    const na = Math.max(Math.sqrt(dot(a, b, a, b, K)), 1e-8);
    const ns = Math.max(Math.sqrt(dot(s, b, s, b, K)), 1e-8);
    total += 1 - dot(a, b, s, b, K) / (na * ns);
  }
  return total / B;
}

describe("IntraStyler style losses", () => {
  test("hand-worked InfoNCE with N = 2", () => {
    const q = [1, 0];
    const pos = [0.6, 0.8];
    const neg = [0, 1, -1, 0];
    // logits [0.6, 0, -1] / tau.
    const tau = 0.5;
    const expected = Math.log(Math.exp(1.2) + Math.exp(0) + Math.exp(-2)) - 1.2;
    near(value(() => styleContrastiveLoss(t(q, [1, 2]), t(pos, [1, 2]), t(neg, [2, 2]), { tau })), expected, 1e-6, "tau 0.5");
    near(value(() => styleContrastiveLoss(t(q, [1, 2]), t(pos, [1, 2]), t(neg, [1, 2, 2]), { tau })), expected, 1e-6, "[B, N, K] negatives");
    // Default tau 0.01: logits [0, 100, 60] when the positive is orthogonal and a negative equals
    // the query; exp(100) overflows float32, the loss (about 100) must not.
    near(
      value(() => styleContrastiveLoss(t([1, 0], [1, 2]), t([0, 1], [1, 2]), t([1, 0, 0.6, 0.8], [2, 2]))),
      100 + Math.log1p(Math.exp(-40) + Math.exp(-100)),
      1e-6,
      "default tau, stable",
    );
  });

  for (const shared of [false, true]) {
    for (const tau of [0.01, 0.1]) {
      test(`InfoNCE against a plain computation: B = 3, N = ${shared ? "12 shared" : "8 per query"}, K = 16, tau ${tau}`, () => {
        const [B, K] = [3, 16];
        const N = shared ? 12 : 8;
        const q = unitRows(B, K, `st-q:${shared}`);
        const pos = unitRows(B, K, `st-p:${shared}`);
        const neg = unitRows(shared ? N : B * N, K, `st-n:${shared}`);
        const negShape = shared ? [N, K] : [B, N, K];
        const got = value(() => styleContrastiveLoss(t(q, [B, K]), t(pos, [B, K]), t(neg, negShape), { tau }));
        // Logits up to 1/tau = 100 in float32: 1e-5 of that scale.
        near(got, styleRef(q, pos, neg, B, N, K, tau, shared), tau < 0.05 ? 1e-4 : 1e-5, "InfoNCE");
      });
    }
  }

  test("InfoNCE gradient w.r.t. the query matches finite differences", () => {
    const [B, N, K] = [2, 4, 6];
    const q = unitRows(B, K, "sg-q");
    const pos = unitRows(B, K, "sg-p");
    const neg = unitRows(B * N, K, "sg-n");
    for (const tau of [0.1, 0.01]) {
      const analytic = gradOf((x) => styleContrastiveLoss(x, t(pos, [B, K]), t(neg, [B, N, K]), { tau }), q, [B, K]);
      const numeric = numericGradient((x) => styleRef(x, pos, neg, B, N, K, tau, false), q);
      assert.ok(numeric.some((v) => Math.abs(v) > 1e-2), "non-trivial gradient");
      assertClose(analytic, numeric, 1e-4, `tau ${tau}`);
    }
  });

  test("style consistency 1 - cos, robust to non-unit and zero vectors", () => {
    const [B, K] = [4, 8];
    const a = normals(B * K, "sc-a", 2);
    const s = unitRows(B, K, "sc-s");
    near(value(() => styleConsistencyLoss(t(a, [B, K]), t(s, [B, K]))), consistencyRef(a, s, B, K), 1e-5, "random");
    near(value(() => styleConsistencyLoss(t(s, [B, K]), t(s, [B, K]))), 0, 1e-6, "identical -> 0");
    near(value(() => styleConsistencyLoss(t([1, 0, 0, 1], [2, 2]), t([-1, 0, 0, 3], [2, 2]))), (2 + 0) / 2, 1e-6, "opposite and parallel");
    // A zero vector: cos 0, loss 1, and a finite gradient.
    near(value(() => styleConsistencyLoss(t([0, 0], [1, 2]), t([1, 0], [1, 2]))), 1, 1e-6, "zero vector");
    const g = gradOf((x) => styleConsistencyLoss(x, t([1, 0], [1, 2])), [0, 0], [1, 2]);
    assert.ok(g.every(Number.isFinite), `finite gradient at zero, got ${g}`);
    const ga = gradOf((x) => styleConsistencyLoss(x, t(s, [B, K])), a, [B, K]);
    assertClose(ga, numericGradient((x) => consistencyRef(x, s, B, K), a), 1e-4, "gradient vs finite differences");
  });

  test("shape errors", () => {
    const q = t(unitRows(2, 4, "se-q"), [2, 4]);
    const p3 = t(unitRows(2, 3, "se-p"), [2, 3]);
    const n = t(unitRows(6, 4, "se-n"), [3, 2, 4]);
    assertBadOption(() => styleContrastiveLoss(q, p3, n), /positive \[2,3\] must match query \[2,4\]/, "positive");
    assertBadOption(() => styleContrastiveLoss(q, q, n), /negatives must be/, "negatives batch");
    assertBadOption(() => styleContrastiveLoss(q, q, p3), /negatives must be/, "negatives K");
    assertBadOption(() => styleContrastiveLoss(q, q, q, { tau: -1 }), /tau/, "tau");
    assertBadOption(() => styleConsistencyLoss(q, p3), /style \[2,3\] must match encodedStyle \[2,4\]/, "consistency");
    tf.dispose([q, p3, n]);
  });
});

// ---------- segmentation ----------

interface SegRef {
  dice: number;
  ce: number;
}

/** Softmax soft Dice (per class over all voxels) and CE, plain. logits [V, C] row-major. */
function segRef(logits: number[], labels: number[], C: number, includeBackground = false, smooth = 1e-5): SegRef {
  const V = labels.length;
  const inter = new Array<number>(C).fill(0);
  const sumP = new Array<number>(C).fill(0);
  const sumG = new Array<number>(C).fill(0);
  let ce = 0;
  for (let v = 0; v < V; v++) {
    const row = logits.slice(v * C, v * C + C);
    const m = Math.max(...row);
    const e = row.map((x) => Math.exp(x - m));
    const z = e.reduce((a, b) => a + b, 0);
    for (let c = 0; c < C; c++) {
      const p = e[c]! / z;
      const g = labels[v] === c ? 1 : 0;
      inter[c]! += p * g;
      sumP[c]! += p;
      sumG[c]! += g;
    }
    ce += -(row[labels[v]!]! - m - Math.log(z));
  }
  let dice = 0;
  const first = includeBackground ? 0 : 1;
  for (let c = first; c < C; c++) dice += (2 * inter[c]! + smooth) / (sumP[c]! + sumG[c]! + smooth);
  return { dice: 1 - dice / (C - first), ce: ce / V };
}

describe("segmentation losses", () => {
  const cases = [
    { shape: [2, 3, 4], C: 3 },
    { shape: [1, 2, 3, 3], C: 4 },
  ];
  for (const { shape, C } of cases) {
    test(`soft Dice, CE, Dice + CE on ${shape.length - 1}D labels [${shape}], ${C} classes`, () => {
      const V = size(shape);
      const logits = normals(V * C, `seg:${shape}`, 2);
      const labels = labelsOf(V, C, `seg-l:${shape}`);
      const ls = [...shape, C];
      const ref = segRef(logits, labels, C);
      near(value(() => softDiceLoss(t(logits, ls), ti(labels, shape))), ref.dice, 1e-5, "dice");
      near(value(() => segmentationCrossEntropy(t(logits, ls), ti(labels, shape))), ref.ce, 1e-5, "ce");
      near(value(() => shapeConsistencyLoss(t(logits, ls), ti(labels, shape))), ref.ce, 1e-5, "shape consistency = ce");
      near(value(() => diceCeLoss(t(logits, ls), ti(labels, shape))), ref.dice + ref.ce, 1e-5, "dice + ce");
      near(value(() => diceCeLoss(t(logits, ls), ti(labels, shape), { diceWeight: 0.3, ceWeight: 2 })), 0.3 * ref.dice + 2 * ref.ce, 1e-5, "weighted");
      const bg = segRef(logits, labels, C, true, 1e-3);
      near(value(() => softDiceLoss(t(logits, ls), ti(labels, shape), { includeBackground: true, smooth: 1e-3 })), bg.dice, 1e-5, "with background");
      near(value(() => softDiceLoss(t(logits, ls), ti(labels, [...shape, 1]))), ref.dice, 1e-5, "labels with a trailing 1");
    });
  }

  test("hand-worked: uniform logits give CE = log C; confident right answers give ~0", () => {
    near(value(() => segmentationCrossEntropy(tf.zeros([1, 2, 2, 3]), ti([0, 1, 2, 1], [1, 2, 2]))), Math.log(3), 1e-6, "log 3");
    // Uniform p = 1/2 over 2 classes, labels [1, 1, 0, 0]: class 1 dice = (2 * 1 + s) / (2 + 2 + s).
    near(value(() => softDiceLoss(tf.zeros([1, 2, 2, 2]), ti([1, 1, 0, 0], [1, 2, 2]))), 1 - (2 + 1e-5) / (4 + 1e-5), 1e-6, "uniform dice");
    const labels = [0, 2, 1, 2];
    const confident = labels.flatMap((l) => [0, 1, 2].map((c) => (c === l ? 20 : -20)));
    near(value(() => diceCeLoss(t(confident, [1, 2, 2, 3]), ti(labels, [1, 2, 2]))), 0, 1e-5, "perfect");
    // A class absent from labels and prediction scores dice (0 + s) / (0 + s) = 1.
    near(value(() => softDiceLoss(t(confident, [1, 2, 2, 3]), ti(labels, [1, 2, 2]))), 0, 1e-5, "perfect dice");
  });

  test("Dice + CE gradient w.r.t. the logits matches finite differences", () => {
    const shape = [2, 3, 3];
    const C = 3;
    const V = size(shape);
    const logits = normals(V * C, "segfd", 1.5);
    const labels = labelsOf(V, C, "segfd-l");
    const analytic = tf.tidy(() => {
      const lab = ti(labels, shape);
      return Array.from(tf.grad((x: tf.Tensor) => diceCeLoss(x, lab, { diceWeight: 1, ceWeight: 1 }))(t(logits, [...shape, C])).dataSync());
    });
    const numeric = numericGradient((x) => {
      const r = segRef(x, labels, C);
      return r.dice + r.ce;
    }, logits);
    assert.ok(numeric.some((v) => Math.abs(v) > 1e-2), "non-trivial gradient");
    assertClose(analytic, numeric, 1e-4, "d(Dice + CE)/d logits");
  });

  test("errors: label dtype, shape mismatch, no foreground class, bad weights", () => {
    const logits = tf.zeros([1, 2, 2, 3]);
    const labelsF = t([0, 1, 2, 1], [1, 2, 2]);
    const labelsBad = ti([0, 1, 2, 1], [1, 4, 1]);
    const labels = ti([0, 1, 2, 1], [1, 2, 2]);
    assertBadOption(() => softDiceLoss(logits, labelsF), /int32/, "float labels");
    assertBadOption(() => segmentationCrossEntropy(logits, labelsBad), /labels \[1,4,1\] must be \[1,2,2\]/, "shape");
    assertBadOption(() => shapeConsistencyLoss(logits, labelsBad), /shapeConsistencyLoss/, "shape, named");
    const one = tf.zeros([1, 2, 2, 1]);
    assertBadOption(() => softDiceLoss(one, labels), /no foreground class/, "one class");
    near(value(() => softDiceLoss(one, ti([0, 0, 0, 0], [1, 2, 2]), { includeBackground: true })), 1 - (2 * 4 + 1e-5) / (8 + 1e-5), 1e-6, "one class with background");
    assertBadOption(() => diceCeLoss(logits, labels, { ceWeight: -1 }), /ceWeight/, "weight");
    assertBadOption(() => softDiceLoss(logits, labels, { smooth: 0 }), /smooth/, "smooth");
    tf.dispose([logits, labelsF, labelsBad, labels, one]);
  });
});

// ---------- leaks ----------

describe("no tensor leaks", () => {
  test("every loss leaves the tensor and buffer counts unchanged", () => {
    const img = t(normals(2 * 3 * 3 * 1, "lk-i"), [2, 3, 3, 1]);
    const img2 = t(normals(2 * 3 * 3 * 1, "lk-j"), [2, 3, 3, 1]);
    const q = t(unitRows(6, 4, "lk-q"), [6, 4]) as tf.Tensor2D;
    const k = t(unitRows(6, 4, "lk-k"), [6, 4]) as tf.Tensor2D;
    const sq = t(unitRows(2, 4, "lk-sq"), [2, 4]);
    const sn = t(unitRows(6, 4, "lk-sn"), [2, 3, 4]);
    const seg = t(normals(2 * 3 * 3 * 3, "lk-s"), [2, 3, 3, 3]);
    const lab = ti(labelsOf(18, 3, "lk-l"), [2, 3, 3]);
    const w = t([0.5], [1]);
    const inputs = [img, img2, q, k, sq, sn, seg, lab, w];
    const cases: [string, () => tf.Tensor | { total: tf.Tensor; perLayer: tf.Tensor[] }][] = [
      ["ganLoss lsgan", () => ganLoss(img, true, "lsgan")],
      ["ganLoss vanilla", () => ganLoss(img, false, "vanilla")],
      ["discriminatorLoss", () => discriminatorLoss(img, img2, "nonsaturating")],
      ["generatorLoss", () => generatorLoss(img)],
      ["r1Penalty", () => r1Penalty(img, (x) => tf.mul(tf.square(x), w))],
      ["l1Loss", () => l1Loss(img, img2)],
      ["cycleLoss", () => cycleLoss(img, img2)],
      ["identityLoss", () => identityLoss(img, img2)],
      ["patchNceLayerLoss", () => patchNceLayerLoss(q, k, { batchSize: 2 })],
      ["patchNceLosses", () => patchNceLosses([q, q], [k, k], { batchSize: 2, allNegativesFromMinibatch: true })],
      ["patchNceLoss", () => patchNceLoss([q], [k], { batchSize: 2 })],
      ["styleContrastiveLoss", () => styleContrastiveLoss(sq, sq, sn)],
      ["styleConsistencyLoss", () => styleConsistencyLoss(sq, sq)],
      ["softDiceLoss", () => softDiceLoss(seg, lab)],
      ["segmentationCrossEntropy", () => segmentationCrossEntropy(seg, lab)],
      ["diceCeLoss", () => diceCeLoss(seg, lab)],
      ["shapeConsistencyLoss", () => shapeConsistencyLoss(seg, lab)],
    ];
    for (const [name, f] of cases) assertNoLeak(name, f, []);
    // Returned without an enclosing tidy: only the result itself stays alive.
    const before = liveCounts().tensors;
    const out = patchNceLosses([q], [k], { batchSize: 2 });
    assert.equal(liveCounts().tensors, before + 2, "patchNceLosses keeps only total and perLayer");
    tf.dispose([out.total, ...out.perLayer]);
    const d = diceCeLoss(seg, lab);
    assert.equal(liveCounts().tensors, before + 1, "diceCeLoss keeps only its result");
    d.dispose();
    // A failing call (thrown inside the loss) leaves nothing either.
    const oneClass = tf.zeros([2, 3, 3, 1]);
    const counts = liveCounts();
    assert.throws(() => softDiceLoss(oneClass, lab), /no foreground class/);
    assert.deepEqual(liveCounts(), counts, "a failing loss leaks nothing");
    tf.dispose([oneClass, ...inputs]);
  });
});
