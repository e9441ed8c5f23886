// lib/nn against independent computations written here on plain Float32Arrays: convolutions
// (nested loops, zero and reflection padding), transposed convolutions (scatter-add, PyTorch's
// size rule), instance norm and DIN (statistics by hand), nearest and anti-aliased resampling,
// the module system (names, checkpoints, disposal) and finite-difference gradients, all on the
// wasm backend.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../lib/engine/index.js";
import {
  BlurDownsample,
  BlurUpsample,
  Conv,
  ConvTranspose,
  DynamicInstanceNorm,
  InstanceNorm,
  Lambda,
  Linear,
  Module,
  Sequential,
  relu,
  upsampleNearest,
  type Dims,
} from "../lib/nn/index.js";
import { UnpairedError } from "../lib/util/errors.js";
import { Rng } from "../lib/util/random.js";
import { assertClose, liveCounts, seeded, size, startSuiteEngine } from "./helpers.js";

before(startSuiteEngine);

// ---------------------------------------------------------------------------------------------
// Reference computations. A 2D case is a 3D case of depth 1 (kernel depth 1, no depth padding).

interface Grid {
  b: number;
  sp: [number, number, number];
  c: number;
}

/** [batch, (depth,) height, width, channels] -> batch, 3 spatial sizes, channels. */
function grid(dims: Dims, shape: readonly number[]): Grid {
  return dims === 2
    ? { b: shape[0]!, sp: [1, shape[1]!, shape[2]!], c: shape[3]! }
    : { b: shape[0]!, sp: [shape[1]!, shape[2]!, shape[3]!], c: shape[4]! };
}

const at5 = (g: Grid, n: number, z: number, y: number, x: number, ch: number) => (((n * g.sp[0] + z) * g.sp[1] + y) * g.sp[2] + x) * g.c + ch;

function reflectIndex(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

/** Convolution by nested loops; w is [k.., in, out] (the kit's layout). */
function refConv(
  dims: Dims,
  x: Float32Array,
  xShape: number[],
  w: Float32Array,
  bias: Float32Array | null,
  kernel: number,
  cout: number,
  stride: number,
  pad: number,
  mode: "zeros" | "reflect",
): { data: Float32Array; shape: number[] } {
  const g = grid(dims, xShape);
  const k: [number, number, number] = dims === 2 ? [1, kernel, kernel] : [kernel, kernel, kernel];
  const s: [number, number, number] = dims === 2 ? [1, stride, stride] : [stride, stride, stride];
  const p: [number, number, number] = dims === 2 ? [0, pad, pad] : [pad, pad, pad];
  const o = [0, 1, 2].map((a) => Math.floor((g.sp[a]! + 2 * p[a]! - k[a]!) / s[a]!) + 1) as [number, number, number];
  const og: Grid = { b: g.b, sp: o, c: cout };
  const out = new Float32Array(g.b * o[0] * o[1] * o[2] * cout);
  for (let n = 0; n < g.b; n++)
    for (let oz = 0; oz < o[0]; oz++)
      for (let oy = 0; oy < o[1]; oy++)
        for (let ox = 0; ox < o[2]; ox++)
          for (let co = 0; co < cout; co++) {
            let acc = bias ? bias[co]! : 0;
            for (let tz = 0; tz < k[0]; tz++)
              for (let ty = 0; ty < k[1]; ty++)
                for (let tx = 0; tx < k[2]; tx++) {
                  let iz = oz * s[0] + tz - p[0];
                  let iy = oy * s[1] + ty - p[1];
                  let ix = ox * s[2] + tx - p[2];
                  if (mode === "reflect") {
                    iz = reflectIndex(iz, g.sp[0]);
                    iy = reflectIndex(iy, g.sp[1]);
                    ix = reflectIndex(ix, g.sp[2]);
                  } else if (iz < 0 || iy < 0 || ix < 0 || iz >= g.sp[0] || iy >= g.sp[1] || ix >= g.sp[2]) continue;
                  for (let ci = 0; ci < g.c; ci++) {
                    const wi = ((((tz * k[1] + ty) * k[2] + tx) * g.c + ci) * cout) + co;
                    acc += x[at5(g, n, iz, iy, ix, ci)]! * w[wi]!;
                  }
                }
            out[at5(og, n, oz, oy, ox, co)] = acc;
          }
  return { data: out, shape: dims === 2 ? [g.b, o[1], o[2], cout] : [g.b, ...o, cout] };
}

/** PyTorch's ConvTranspose by scatter-add; w is [k.., out, in] (the kit's layout). */
function refConvTranspose(
  dims: Dims,
  x: Float32Array,
  xShape: number[],
  w: Float32Array,
  bias: Float32Array | null,
  kernel: number,
  cout: number,
  stride: number,
  pad: number,
  outPad: number,
): { data: Float32Array; shape: number[] } {
  const g = grid(dims, xShape);
  const k: [number, number, number] = dims === 2 ? [1, kernel, kernel] : [kernel, kernel, kernel];
  const s: [number, number, number] = dims === 2 ? [1, stride, stride] : [stride, stride, stride];
  const p: [number, number, number] = dims === 2 ? [0, pad, pad] : [pad, pad, pad];
  const op: [number, number, number] = dims === 2 ? [0, outPad, outPad] : [outPad, outPad, outPad];
  // PyTorch's size rule, written out independently of the layer.
  const o = [0, 1, 2].map((a) => (g.sp[a]! - 1) * s[a]! - 2 * p[a]! + k[a]! + op[a]!) as [number, number, number];
  const og: Grid = { b: g.b, sp: o, c: cout };
  const out = new Float32Array(g.b * o[0] * o[1] * o[2] * cout);
  for (let n = 0; n < g.b; n++)
    for (let iz = 0; iz < g.sp[0]; iz++)
      for (let iy = 0; iy < g.sp[1]; iy++)
        for (let ix = 0; ix < g.sp[2]; ix++)
          for (let tz = 0; tz < k[0]; tz++)
            for (let ty = 0; ty < k[1]; ty++)
              for (let tx = 0; tx < k[2]; tx++) {
                const oz = iz * s[0] + tz - p[0];
                const oy = iy * s[1] + ty - p[1];
                const ox = ix * s[2] + tx - p[2];
                if (oz < 0 || oy < 0 || ox < 0 || oz >= o[0] || oy >= o[1] || ox >= o[2]) continue;
                for (let co = 0; co < cout; co++)
                  for (let ci = 0; ci < g.c; ci++) {
                    const wi = (((tz * k[1] + ty) * k[2] + tx) * cout + co) * g.c + ci;
                    out[at5(og, n, oz, oy, ox, co)] += x[at5(g, n, iz, iy, ix, ci)]! * w[wi]!;
                  }
              }
  if (bias) for (let i = 0; i < out.length; i++) out[i] += bias[i % cout]!;
  return { data: out, shape: dims === 2 ? [g.b, o[1], o[2], cout] : [g.b, ...o, cout] };
}

const data = (t: tf.Tensor) => t.dataSync() as Float32Array;

/** Random non-zero bias so the tests see it. */
function randomBias(v: tf.Variable | undefined, seed: number): void {
  if (v) tf.tidy(() => v.assign(tf.tensor(seeded(v.size, seed), v.shape)));
}

/** A variable holding seeded values (the temporary tensor freed). */
function seededVariable(shape: number[], seed: number): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(seeded(size(shape), seed), shape)));
}

// ---------------------------------------------------------------------------------------------

describe("Conv matches a nested-loop convolution", () => {
  // [dims, input shape, out channels, kernel, stride, padding, mode]
  const cases: [Dims, number[], number, number, number, number, "zeros" | "reflect"][] = [
    [2, [2, 9, 8, 3], 4, 3, 1, 1, "zeros"],
    [2, [1, 9, 8, 3], 4, 3, 2, 1, "zeros"],
    [2, [1, 10, 9, 2], 3, 3, 1, 1, "reflect"],
    [2, [2, 9, 11, 2], 3, 4, 2, 1, "zeros"],
    [2, [1, 8, 9, 2], 5, 4, 2, 1, "reflect"],
    [2, [1, 11, 10, 2], 2, 7, 1, 3, "reflect"],
    [2, [1, 11, 10, 1], 2, 7, 1, 0, "zeros"],
    [2, [1, 13, 12, 2], 2, 7, 2, 3, "zeros"],
    [3, [1, 5, 6, 7, 2], 3, 3, 1, 1, "zeros"],
    [3, [2, 6, 7, 5, 2], 3, 3, 1, 1, "reflect"],
    [3, [1, 7, 6, 9, 2], 3, 3, 2, 1, "zeros"],
    [3, [1, 8, 6, 7, 2], 2, 4, 2, 1, "reflect"],
    [3, [1, 9, 8, 8, 1], 2, 4, 2, 1, "zeros"],
    [3, [1, 8, 9, 7, 1], 2, 7, 1, 3, "reflect"],
  ];
  for (const [dims, xs, cout, k, s, p, mode] of cases) {
    test(`${dims}D x ${xs.join("x")} -> ${cout}, kernel ${k}, stride ${s}, padding ${p} ${mode}`, () => {
      const rng = new Rng(`conv:${xs}:${k}:${s}`);
      const conv = new Conv(dims, xs[xs.length - 1]!, cout, k, rng, { stride: s, padding: p, padMode: mode, init: { kind: "normal", gain: 0.3 } });
      randomBias(conv.bias, 7);
      const xd = seeded(size(xs), 11);
      const x = tf.tensor(xd, xs);
      const y = conv.apply(x);
      const ref = refConv(dims, xd, xs, data(conv.weight), data(conv.bias!), k, cout, s, p, mode);
      assert.deepEqual(y.shape, ref.shape);
      assertClose(data(y), ref.data, 1e-5, "conv");
      tf.dispose([x, y]);
      conv.dispose();
    });
  }

  test("without bias there is no bias parameter and no offset", () => {
    const conv = new Conv(2, 2, 3, 3, new Rng(1), { bias: false, padding: 1 });
    assert.deepEqual(conv.namedParameters().map(([n]) => n), ["weight"]);
    const x = tf.zeros([1, 5, 5, 2]);
    const y = conv.apply(x);
    assert.equal(tf.max(tf.abs(y)).dataSync()[0], 0);
    tf.dispose([x, y]);
    conv.dispose();
  });

  test("a wrong rank is a clear UnpairedError", () => {
    const conv = new Conv(3, 1, 1, 3, new Rng(1));
    const x = tf.zeros([1, 5, 5, 1]);
    assert.throws(() => conv.apply(x), (e: unknown) => e instanceof UnpairedError && /3D batch/.test(e.message));
    x.dispose();
    conv.dispose();
  });
});

describe("ConvTranspose matches a scatter-add transposed convolution", () => {
  // [dims, input shape, out channels, kernel, stride, padding, output padding]
  const cases: [Dims, number[], number, number, number, number, number][] = [
    [2, [2, 5, 4, 3], 2, 3, 2, 1, 1],
    [2, [1, 4, 7, 2], 3, 4, 2, 1, 0],
    [2, [1, 3, 5, 2], 2, 3, 2, 0, 1], // output padding beyond padding: a zero (bias) border
    [2, [1, 4, 3, 2], 2, 2, 2, 0, 0], // the U-Net's k2 s2
    [3, [1, 3, 4, 5, 2], 2, 3, 2, 1, 1],
    [3, [2, 4, 3, 3, 2], 3, 4, 2, 1, 0],
  ];
  for (const [dims, xs, cout, k, s, p, op] of cases) {
    test(`${dims}D x ${xs.join("x")} -> ${cout}, k${k} s${s} p${p} op${op}`, () => {
      const rng = new Rng(`convT:${xs}:${k}`);
      const layer = new ConvTranspose(dims, xs[xs.length - 1]!, cout, k, rng, { stride: s, padding: p, outputPadding: op, init: { kind: "normal", gain: 0.3 } });
      randomBias(layer.bias, 5);
      const xd = seeded(size(xs), 3);
      const x = tf.tensor(xd, xs);
      const y = layer.apply(x);
      const ref = refConvTranspose(dims, xd, xs, data(layer.weight), data(layer.bias!), k, cout, s, p, op);
      assert.deepEqual(y.shape, ref.shape, "PyTorch's size rule");
      for (let a = 0; a < dims; a++) assert.equal(layer.outputSize(xs[a + 1]!), (xs[a + 1]! - 1) * s - 2 * p + k + op);
      assertClose(data(y), ref.data, 1e-5, "transposed conv");
      tf.dispose([x, y]);
      layer.dispose();
    });
  }

  test("k3 s2 p1 op1 and k4 s2 p1 op0 both double the size", () => {
    const a = new ConvTranspose(2, 1, 1, 3, new Rng(1), { stride: 2, padding: 1, outputPadding: 1 });
    const b = new ConvTranspose(2, 1, 1, 4, new Rng(1), { stride: 2, padding: 1, outputPadding: 0 });
    for (const n of [1, 4, 7]) {
      assert.equal(a.outputSize(n), 2 * n);
      assert.equal(b.outputSize(n), 2 * n);
    }
    a.dispose();
    b.dispose();
  });
});

describe("instance normalisation", () => {
  test("per sample and channel: mean 0, variance 1 (2D and 3D)", () => {
    for (const [dims, xs] of [[2, [3, 6, 5, 4]], [3, [2, 4, 5, 3, 3]]] as [Dims, number[]][]) {
      // Channels with very different offsets and scales per sample.
      const raw = seeded(size(xs), 21);
      const c = xs[xs.length - 1]!;
      const per = raw.length / xs[0]!;
      const xd = raw.map((v, i) => v * (1 + (i % c) * 3 + Math.floor(i / per)) + 10 * (i % c) - 5 * Math.floor(i / per));
      const norm = new InstanceNorm(dims, c);
      assert.equal(norm.namedParameters().length, 0, "no affine parameters by default");
      const x = tf.tensor(xd, xs);
      const y = data(norm.apply(x));
      const b = xs[0]!;
      const m = per / c;
      for (let n = 0; n < b; n++)
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          let s2 = 0;
          for (let i = 0; i < m; i++) {
            const v = y[n * per + i * c + ch]!;
            s += v;
            s2 += v * v;
          }
          const mean = s / m;
          const variance = s2 / m - mean * mean;
          assert.ok(Math.abs(mean) < 1e-5, `${dims}D sample ${n} channel ${ch}: mean ${mean}`);
          // eps 1e-5 in the denominator: var = v / (v + 1e-5), within 1e-4 of 1 here.
          assert.ok(Math.abs(variance - 1) < 2e-4, `${dims}D sample ${n} channel ${ch}: variance ${variance}`);
        }
      x.dispose();
    }
  });

  test("the affine variant scales and shifts each channel", () => {
    const xs = [2, 5, 4, 3];
    const rng = new Rng(3);
    const norm = new InstanceNorm(2, 3, { affine: true, rng });
    assert.deepEqual(norm.namedParameters().map(([n]) => n), ["weight", "bias"]);
    randomBias(norm.bias, 9);
    const xd = seeded(size(xs), 4);
    const x = tf.tensor(xd, xs);
    const y = data(norm.apply(x));
    const w = data(norm.weight!);
    const bb = data(norm.bias!);
    const expected = new Float32Array(xd.length);
    const per = 5 * 4 * 3;
    for (let n = 0; n < 2; n++)
      for (let ch = 0; ch < 3; ch++) {
        const idx = Array.from({ length: 20 }, (_, i) => n * per + i * 3 + ch);
        const mean = idx.reduce((s, i) => s + xd[i]!, 0) / 20;
        const variance = idx.reduce((s, i) => s + (xd[i]! - mean) ** 2, 0) / 20;
        for (const i of idx) expected[i] = ((xd[i]! - mean) / Math.sqrt(variance + 1e-5)) * w[ch]! + bb[ch]!;
      }
    assertClose(y, expected, 1e-5, "affine instance norm");
    x.dispose();
    norm.dispose();
  });
});

/** DIN by hand: gamma, beta = s W + b; out = gamma * IN(x) + beta. */
function refDin(xd: Float32Array, xs: number[], sd: Float32Array, w: Float32Array, bias: Float32Array, cond: number): Float32Array {
  const b = xs[0]!;
  const c = xs[xs.length - 1]!;
  const per = xd.length / b;
  const m = per / c;
  const out = new Float32Array(xd.length);
  for (let n = 0; n < b; n++) {
    const sn = n < sd.length / cond ? n : 0;
    for (let ch = 0; ch < c; ch++) {
      let gamma = bias[ch]!;
      let beta = bias[c + ch]!;
      for (let k = 0; k < cond; k++) {
        gamma += sd[sn * cond + k]! * w[k * 2 * c + ch]!;
        beta += sd[sn * cond + k]! * w[k * 2 * c + c + ch]!;
      }
      let mean = 0;
      for (let i = 0; i < m; i++) mean += xd[n * per + i * c + ch]!;
      mean /= m;
      let variance = 0;
      for (let i = 0; i < m; i++) variance += (xd[n * per + i * c + ch]! - mean) ** 2;
      variance /= m;
      for (let i = 0; i < m; i++) {
        const j = n * per + i * c + ch;
        out[j] = gamma * ((xd[j]! - mean) / Math.sqrt(variance + 1e-5)) + beta;
      }
    }
  }
  return out;
}

describe("DynamicInstanceNorm", () => {
  for (const [dims, xs, cond] of [[2, [3, 5, 6, 4], 5], [3, [2, 3, 4, 5, 3], 2]] as [Dims, number[], number][]) {
    test(`${dims}D: gamma and beta from the mapping weights, per sample`, () => {
      const din = new DynamicInstanceNorm(dims, xs[xs.length - 1]!, cond, new Rng(8), { init: { kind: "normal", gain: 0.5 } });
      assert.deepEqual(din.namedParameters().map(([n, v]) => `${n}:${v.shape}`), [`mapping.weight:${cond},${2 * xs[xs.length - 1]!}`, `mapping.bias:${2 * xs[xs.length - 1]!}`]);
      randomBias(din.mapping.bias, 12);
      const xd = seeded(size(xs), 13);
      const sd = seeded(xs[0]! * cond, 14);
      const x = tf.tensor(xd, xs);
      const s = tf.tensor(sd, [xs[0]!, cond]);
      const y = din.apply(x, s);
      assertClose(data(y), refDin(xd, xs, sd, data(din.mapping.weight), data(din.mapping.bias!), cond), 1e-5, "DIN");
      // One condition row is shared by the whole batch.
      const s1 = tf.tensor(sd.slice(0, cond), [1, cond]);
      const y1 = din.apply(x, s1);
      assertClose(data(y1), refDin(xd, xs, sd.slice(0, cond), data(din.mapping.weight), data(din.mapping.bias!), cond), 1e-5, "DIN, shared condition");
      const bad = tf.zeros([xs[0]!, cond + 1]);
      assert.throws(() => din.apply(x, bad), (e: unknown) => e instanceof UnpairedError && /condition/.test(e.message));
      tf.dispose([x, s, y, s1, y1, bad]);
      din.dispose();
    });
  }
});

describe("resampling", () => {
  test("upsampleNearest repeats each voxel (2D x2 and x3, 3D x2)", () => {
    const x2 = tf.tensor(seeded(2 * 3 * 4 * 2, 1), [2, 3, 4, 2]);
    for (const f of [2, 3]) {
      const y = upsampleNearest(x2, 2, f);
      assert.deepEqual(y.shape, [2, 3 * f, 4 * f, 2]);
      const xa = x2.arraySync() as number[][][][];
      const ya = y.arraySync() as number[][][][];
      for (let n = 0; n < 2; n++)
        for (let i = 0; i < 3 * f; i++)
          for (let j = 0; j < 4 * f; j++) for (let c = 0; c < 2; c++) assert.equal(ya[n]![i]![j]![c], xa[n]![Math.floor(i / f)]![Math.floor(j / f)]![c]);
      y.dispose();
    }
    const x3 = tf.tensor(seeded(2 * 3 * 2 * 1, 2), [1, 2, 3, 2, 1]);
    const y3 = upsampleNearest(x3, 3, 2);
    assert.deepEqual(y3.shape, [1, 4, 6, 4, 1]);
    const xa = x3.arraySync() as number[][][][][];
    const ya = y3.arraySync() as number[][][][][];
    for (let z = 0; z < 4; z++)
      for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) assert.equal(ya[0]![z]![i]![j]![0], xa[0]![z >> 1]![i >> 1]![j >> 1]![0]);
    tf.dispose([x2, x3, y3]);
  });

  test("BlurDownsample keeps a constant constant and halves the size (2D and 3D)", () => {
    for (const [dims, xs] of [[2, [2, 8, 6, 3]], [3, [1, 4, 6, 8, 2]]] as [Dims, number[]][]) {
      const x = tf.fill(xs, 2.5);
      const y = new BlurDownsample(dims).apply(x);
      assert.deepEqual(y.shape, [xs[0]!, ...xs.slice(1, -1).map((n) => n / 2), xs[xs.length - 1]!]);
      assertClose(data(y), new Float32Array(y.size).fill(2.5), 1e-6, `${dims}D constant`);
      tf.dispose([x, y]);
    }
  });

  test("BlurDownsample on an impulse: reflection padding and the [1,2,1]^2/16 filter by hand", () => {
    // x is 4x4 with a 1 at (1,1). Reflection padding by 1 puts copies of it at padded rows and
    // columns {0, 2}; the stride-2 3x3 windows start at padded 0 and 2. Output (0,0) sees all
    // four copies at its corners (4 x 1/16), (0,1) and (1,0) see two, (1,1) sees one.
    const xd = new Float32Array(16);
    xd[1 * 4 + 1] = 1;
    const x = tf.tensor(xd, [1, 4, 4, 1]);
    const y = new BlurDownsample(2).apply(x);
    assert.deepEqual(y.shape, [1, 2, 2, 1]);
    assertClose(data(y), [0.25, 0.125, 0.125, 0.0625], 1e-7, "impulse");
    // A 1D-like case: one row of [0, 4, 8, 12] repeated; columns: padded [4 | 0 4 8 12 | 8];
    // windows at padded columns 0..2 and 2..4: (4 + 2*0 + 4)/4 = 2 and (4 + 2*8 + 12)/4 = 8.
    const ramp = tf.tensor([0, 4, 8, 12, 0, 4, 8, 12], [1, 2, 4, 1]);
    const r = new BlurDownsample(2).apply(ramp);
    assertClose(data(r), [2, 8], 1e-6, "row ramp");
    tf.dispose([x, y, ramp, r]);
  });

  test("BlurUpsample linearly interpolates a linear ramp (2D and 3D)", () => {
    // x[i][j] = 2 i + 3 j + 1 -> out[o][p] = 2 (o/2) + 3 (p/2) + 1, except the last row/column,
    // which repeats the last voxel (the kit's border rule).
    const h = 4;
    const w = 5;
    const xd = new Float32Array(h * w);
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) xd[i * w + j] = 2 * i + 3 * j + 1;
    const x = tf.tensor(xd, [1, h, w, 1]);
    const y = new BlurUpsample(2).apply(x);
    assert.deepEqual(y.shape, [1, 2 * h, 2 * w, 1]);
    const ya = data(y);
    const pos = (o: number, n: number) => Math.min(o / 2, n - 1);
    for (let o = 0; o < 2 * h; o++)
      for (let p = 0; p < 2 * w; p++) {
        const expect = 2 * pos(o, h) + 3 * pos(p, w) + 1;
        assert.ok(Math.abs(ya[o * 2 * w + p]! - expect) < 1e-5, `(${o},${p}): ${ya[o * 2 * w + p]} vs ${expect}`);
      }
    // 3D, two channels with different ramps.
    const s = [3, 2, 4];
    const x3d = new Float32Array(3 * 2 * 4 * 2);
    for (let z = 0; z < 3; z++)
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 4; j++) {
          x3d[((z * 2 + i) * 4 + j) * 2] = z - i + 0.5 * j;
          x3d[((z * 2 + i) * 4 + j) * 2 + 1] = 4 * z + i;
        }
    const x3 = tf.tensor(x3d, [1, ...s, 2]);
    const y3 = new BlurUpsample(3).apply(x3);
    assert.deepEqual(y3.shape, [1, 6, 4, 8, 2]);
    const y3a = data(y3);
    for (let z = 0; z < 6; z++)
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 8; j++) {
          const [pz, pi, pj] = [pos(z, 3), pos(i, 2), pos(j, 4)];
          const at = ((z * 4 + i) * 8 + j) * 2;
          assert.ok(Math.abs(y3a[at]! - (pz - pi + 0.5 * pj)) < 1e-5, `3D channel 0 at ${z},${i},${j}`);
          assert.ok(Math.abs(y3a[at + 1]! - (4 * pz + pi)) < 1e-5, `3D channel 1 at ${z},${i},${j}`);
        }
    tf.dispose([x, y, x3, y3]);
  });
});

// ---------------------------------------------------------------------------------------------

class TinyNet extends Module {
  readonly body: Sequential;
  readonly head: Linear;
  readonly scale: tf.Variable;
  constructor(rng: Rng) {
    super();
    this.scale = this.param("scale", tf.ones([1]));
    this.body = this.child(
      "body",
      new Sequential([new Conv(2, 2, 3, 3, rng, { padding: 1 }), new InstanceNorm(2, 3, { affine: true, rng }), new Lambda("relu", relu)]),
    );
    this.head = this.child("head", new Linear(3, 2, rng));
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(this.head.apply(this.body.apply(x)), this.scale));
  }
}

function stateOf(m: Module): Map<string, { shape: number[]; data: Float32Array }> {
  return new Map(m.namedParameters().map(([n, v]) => [n, { shape: v.shape, data: Float32Array.from(v.dataSync() as Float32Array) }]));
}

describe("Module", () => {
  test("namedParameters lists own parameters, then children's, under dotted names", () => {
    const net = new TinyNet(new Rng(1));
    assert.deepEqual(
      net.namedParameters().map(([n, v]) => `${n}:[${v.shape}]`),
      ["scale:[1]", "body.0.weight:[3,3,2,3]", "body.0.bias:[3]", "body.1.weight:[3]", "body.1.bias:[3]", "head.weight:[3,2]", "head.bias:[2]"],
    );
    assert.equal(net.parameterCount(), 1 + 54 + 3 + 3 + 3 + 6 + 2);
    assert.equal(net.parameters().length, 7);
    net.dispose();
  });

  test("loadState round trip: another seed's network computes the same after loading", () => {
    const a = new TinyNet(new Rng(1));
    const b = new TinyNet(new Rng(2));
    randomBias(a.body.layers[0]!.namedParameters()[1]![1], 3);
    const x = tf.tensor(seeded(2 * 5 * 4 * 2, 6), [2, 5, 4, 2]);
    const ya = a.apply(x);
    const yb0 = b.apply(x);
    assert.ok(tf.max(tf.abs(tf.sub(ya, yb0))).dataSync()[0]! > 1e-6, "different seeds differ before loading");
    b.loadState(stateOf(a));
    const yb = b.apply(x);
    assertClose(data(yb), data(ya), 0, "after loadState");
    for (const [[n, va], [, vb]] of a.namedParameters().map((p, i) => [p, b.namedParameters()[i]!] as const)) assert.deepEqual(data(vb), data(va), n);
    tf.dispose([x, ya, yb0, yb]);
    a.dispose();
    b.dispose();
  });

  test("loadState refuses a missing, an extra or a misshapen parameter and changes nothing", () => {
    const net = new TinyNet(new Rng(1));
    const before = stateOf(net);
    const other = stateOf(new TinyNet(new Rng(9)));
    const missing = new Map(other);
    missing.delete("body.1.bias");
    const extra = new Map(other);
    extra.set("body.3.weight", { shape: [1], data: new Float32Array(1) });
    const misshapen = new Map(other);
    misshapen.set("head.weight", { shape: [2, 3], data: new Float32Array(6) });
    const cases: [Map<string, { shape: number[]; data: Float32Array }>, RegExp][] = [
      [missing, /missing body\.1\.bias/],
      [extra, /unexpected body\.3\.weight/],
      [misshapen, /head\.weight: shape \[2,3\] in the checkpoint, \[3,2\] in the network/],
    ];
    for (const [state, re] of cases) {
      assert.throws(
        () => net.loadState(state),
        (e: unknown) => e instanceof UnpairedError && e.code === "BAD_CHECKPOINT" && re.test(e.message),
      );
      for (const [n, v] of net.namedParameters()) assert.deepEqual(data(v), before.get(n)!.data, `${n} unchanged after a refused load`);
    }
    net.dispose();
  });

  test("dispose frees every tensor the module made", () => {
    const start = liveCounts();
    const net = new TinyNet(new Rng(4));
    assert.ok(tf.memory().numTensors > start.tensors, "the module holds tensors");
    const x = tf.tensor(seeded(40, 1), [1, 5, 4, 2]);
    tf.dispose(net.apply(x));
    x.dispose();
    net.dispose();
    assert.deepEqual(liveCounts(), start);
  });

  test("setTraining reaches every child", () => {
    const net = new TinyNet(new Rng(4));
    net.setTraining(false);
    assert.equal(net.training, false);
    assert.ok(net.body.layers.every((l) => !l.training), "children in evaluation mode");
    net.dispose();
  });
});

// ---------------------------------------------------------------------------------------------

/** Checks the gradient of `loss` with respect to each variable along one random direction. */
function checkGradients(what: string, loss: () => tf.Scalar, vars: tf.Variable[], eps: number, tol: number): void {
  const { value, grads } = tf.variableGrads(loss, vars);
  value.dispose();
  vars.forEach((v, i) => {
    const g = grads[v.name];
    assert.ok(g, `${what}: no gradient for variable ${i}`);
    const dir = tf.tensor(seeded(v.size, 300 + i), v.shape);
    const analytic = tf.tidy(() => tf.sum(tf.mul(g, dir)).dataSync()[0]!);
    const orig = tf.clone(v);
    const lossAt = (sign: number) => {
      tf.tidy(() => v.assign(tf.add(orig, tf.mul(dir, sign * eps))));
      return tf.tidy(() => loss().dataSync()[0]!);
    };
    const numeric = (lossAt(1) - lossAt(-1)) / (2 * eps);
    v.assign(orig);
    const scale = Math.max(1, Math.abs(numeric));
    assert.ok(Math.abs(analytic - numeric) <= tol * scale, `${what}, variable ${i} ${v.shape}: analytic ${analytic} vs finite difference ${numeric}`);
    assert.ok(Math.abs(analytic) > 1e-3, `${what}, variable ${i}: the directional derivative is not trivially zero`);
    tf.dispose([dir, orig]);
  });
  tf.dispose(Object.values(grads));
}

/** A fixed random weighting of the output so the loss sees every element. */
const weighted = (y: tf.Tensor, seed: number): tf.Scalar => tf.tidy(() => tf.sum(tf.mul(y, tf.tensor(seeded(y.size, seed), y.shape))));

describe("gradients agree with finite differences", () => {
  for (const [dims, xs, k, op] of [
    [2, [2, 4, 5, 3], 3, 1],
    [2, [1, 4, 4, 2], 4, 0],
    [3, [1, 3, 4, 3, 2], 3, 1],
  ] as [Dims, number[], number, number][]) {
    test(`ConvTranspose ${dims}D k${k} s2 p1 op${op}: input, weight and bias`, () => {
      const start = liveCounts();
      const layer = new ConvTranspose(dims, xs[xs.length - 1]!, 3, k, new Rng(5), { stride: 2, padding: 1, outputPadding: op, init: { kind: "normal", gain: 0.3 } });
      const x = seededVariable(xs, 8);
      // Linear in each argument: the difference quotient is exact up to float32 rounding.
      checkGradients("ConvTranspose", () => weighted(layer.apply(x), 40), [x, ...layer.parameters()], 0.5, 1e-3);
      x.dispose();
      layer.dispose();
      assert.deepEqual(liveCounts(), start);
    });
  }

  for (const [dims, xs] of [[2, [2, 4, 5, 3]], [3, [2, 3, 3, 4, 2]]] as [Dims, number[]][]) {
    test(`DynamicInstanceNorm ${dims}D: input, condition and mapping weights`, () => {
      const start = liveCounts();
      const cond = 4;
      const din = new DynamicInstanceNorm(dims, xs[xs.length - 1]!, cond, new Rng(6), { init: { kind: "normal", gain: 0.5 } });
      randomBias(din.mapping.bias, 2);
      const x = seededVariable(xs, 9);
      const s = seededVariable([xs[0]!, cond], 10);
      const loss = () => weighted(din.apply(x, s), 41);
      // Linear in the condition and the mapping: exact difference quotient.
      checkGradients("DIN (linear arguments)", loss, [s, ...din.parameters()], 0.5, 1e-3);
      // Normalisation is not linear in x: a small step (central differences, O(eps^2) error).
      checkGradients("DIN (input)", loss, [x], 1e-2, 5e-3);
      tf.dispose([x, s]);
      din.dispose();
      assert.deepEqual(liveCounts(), start);
    });
  }
});
