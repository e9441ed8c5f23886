// lib/models: output shapes in 2D and 3D, parameter counts against formulas derived here and
// against the PyTorch CycleGAN reference's published totals, the generator's feature taps, the
// DIN condition, unit style vectors, PatchNCE sampling, the U-Net's size rule, and a few steps
// of plain gradient descent on each network that must leave no tensor behind.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../lib/engine/index.js";
import {
  ConditionalResnetGenerator,
  CUT_NCE_LAYERS,
  PatchGan,
  PatchNceHead,
  ResnetBlock,
  ResnetGenerator,
  StyleEncoder,
  UNet,
  randomPositions,
  type ResnetGeneratorOptions,
  type UpsampleKind,
} from "../lib/models/index.js";
import type { Dims, Module, Tensor } from "../lib/nn/index.js";
import type { NormKind } from "../lib/nn/blocks.js";
import { UnpairedError } from "../lib/util/errors.js";
import { Rng } from "../lib/util/random.js";
import { seeded, size, startSuiteEngine } from "./helpers.js";

before(startSuiteEngine);

const input = (shape: number[], seed = 1) => tf.tensor(seeded(size(shape), seed), shape);
const isBadOption = (re: RegExp) => (e: unknown) => e instanceof UnpairedError && e.code === "BAD_OPTION" && re.test(e.message);
const S2 = [32, 32];
const S3 = [8, 16, 16];

// ---------------------------------------------------------------------------------------------
// Parameter counts from the layer layouts (weights k^d * in * out, biases out, affine norms 2C).

const convParams = (d: Dims, k: number, cin: number, cout: number, bias = true) => k ** d * cin * cout + (bias ? cout : 0);
const normParams = (norm: NormKind, c: number) => (norm === "instance-affine" ? 2 * c : 0);

function resnetParams(d: Dims, cin: number, cout: number, ngf: number, blocks: number, norm: NormKind = "instance", bias = true, conditionDim = 0): number {
  const g = ngf;
  let n = convParams(d, 7, cin, g, bias) + normParams(norm, g);
  n += convParams(d, 3, g, 2 * g, bias) + normParams(norm, 2 * g);
  n += convParams(d, 3, 2 * g, 4 * g, bias) + normParams(norm, 4 * g);
  n += blocks * 2 * (convParams(d, 3, 4 * g, 4 * g, bias) + normParams(norm, 4 * g));
  // Every upsampling variant has one 3^d conv (or transposed conv) 4g->2g and 2g->g.
  n += convParams(d, 3, 4 * g, 2 * g, bias) + convParams(d, 3, 2 * g, g, bias);
  // The two decoder norms: DIN (a Linear conditionDim -> 2C) or the chosen norm.
  n += conditionDim ? conditionDim * 4 * g + 4 * g + conditionDim * 2 * g + 2 * g : normParams(norm, 2 * g) + normParams(norm, g);
  return n + convParams(d, 7, g, cout, true);
}

function patchGanParams(d: Dims, cin: number, ndf: number, nLayers: number, norm: NormKind = "instance"): number {
  let n = convParams(d, 4, cin, ndf);
  let mult = 1;
  for (let l = 1; l <= nLayers; l++) {
    const next = Math.min(2 ** l, 8);
    n += convParams(d, 4, ndf * mult, ndf * next) + normParams(norm, ndf * next);
    mult = next;
  }
  return n + convParams(d, 4, ndf * mult, 1);
}

function styleParams(d: Dims, cin: number, base: number, k: number): number {
  return convParams(d, 7, cin, base) + convParams(d, 4, base, 2 * base) + convParams(d, 4, 2 * base, 4 * base) + 4 * base * k + k;
}

function unetParams(d: Dims, cin: number, classes: number, base: number, depth: number, cap: number): number {
  const c = Array.from({ length: depth }, (_, l) => Math.min(base * 2 ** l, cap));
  const block = (a: number, b: number) => convParams(d, 3, a, b) + 2 * b; // conv + affine IN
  let n = 0;
  c.forEach((cl, l) => (n += block(l === 0 ? cin : c[l - 1]!, cl) + block(cl, cl)));
  for (let l = depth - 2; l >= 0; l--) n += convParams(d, 2, c[l + 1]!, c[l]!) + block(2 * c[l]!, c[l]!) + block(c[l]!, c[l]!);
  return n + convParams(d, 1, c[0]!, classes);
}

describe("parameter counts", () => {
  test("ResNet generator, 3 channels, ngf 64, 9 blocks: 11.378 M as the PyTorch CycleGAN reference", () => {
    const g = new ResnetGenerator({ dims: 2, inChannels: 3, outChannels: 3 }, new Rng(1));
    assert.equal(g.parameterCount(), 11_378_179);
    assert.equal((g.parameterCount() / 1e6).toFixed(3), "11.378");
    assert.equal(g.parameterCount(), resnetParams(2, 3, 3, 64, 9));
    g.dispose();
  });

  test("PatchGAN, 3 channels, ndf 64, 3 layers: 2.765 M as the PyTorch CycleGAN reference", () => {
    const d = new PatchGan({ dims: 2, inChannels: 3 }, new Rng(1));
    assert.equal(d.parameterCount(), 2_764_737);
    assert.equal((d.parameterCount() / 1e6).toFixed(3), "2.765");
    assert.equal(d.parameterCount(), patchGanParams(2, 3, 64, 3));
    d.dispose();
  });

  test("every network against its formula (2D and 3D, options varied)", () => {
    const check = (m: Module, expected: number, what: string) => {
      assert.equal(m.parameterCount(), expected, what);
      m.dispose();
    };
    for (const d of [2, 3] as Dims[]) {
      for (const upsample of ["transpose", "blur", "resize-conv"] as UpsampleKind[]) {
        check(new ResnetGenerator({ dims: d, inChannels: 2, outChannels: 1, ngf: 4, blocks: 3, upsample, antialias: upsample === "blur" }, new Rng(1)), resnetParams(d, 2, 1, 4, 3), `${d}D generator ${upsample}`);
      }
      check(new ResnetGenerator({ dims: d, inChannels: 1, outChannels: 2, ngf: 4, blocks: 2, norm: "instance-affine" }, new Rng(1)), resnetParams(d, 1, 2, 4, 2, "instance-affine"), `${d}D generator, affine norms`);
      check(new ResnetGenerator({ dims: d, inChannels: 1, outChannels: 1, ngf: 4, blocks: 2, useBias: false }, new Rng(1)), resnetParams(d, 1, 1, 4, 2, "instance", false), `${d}D generator without biases`);
      check(new ConditionalResnetGenerator({ dims: d, inChannels: 1, outChannels: 1, ngf: 4, blocks: 2, conditionDim: 7 }, new Rng(1)), resnetParams(d, 1, 1, 4, 2, "instance", true, 7), `${d}D conditional generator`);
      check(new PatchGan({ dims: d, inChannels: 2, ndf: 4, nLayers: 2 }, new Rng(1)), patchGanParams(d, 2, 4, 2), `${d}D PatchGAN 2 layers`);
      check(new PatchGan({ dims: d, inChannels: 1, ndf: 2, nLayers: 5, norm: "instance-affine" }, new Rng(1)), patchGanParams(d, 1, 2, 5, "instance-affine"), `${d}D PatchGAN 5 layers (capped at 8 ndf)`);
      check(new StyleEncoder({ dims: d, inChannels: 2, base: 4, styleDim: 16 }, new Rng(1)), styleParams(d, 2, 4, 16), `${d}D style encoder`);
      check(new UNet({ dims: d, inChannels: 2, nClasses: 3, base: 4, depth: 4, maxChannels: 16 }, new Rng(1)), unetParams(d, 2, 3, 4, 4, 16), `${d}D U-Net`);
    }
    check(new PatchNceHead({ channels: [3, 8, 16] , nc: 32 }, new Rng(1)), [3, 8, 16].reduce((n, c) => n + c * 32 + 32 + 32 * 32 + 32, 0), "PatchNCE head");
    check(new StyleEncoder({ dims: 3, inChannels: 1 }, new Rng(1)), styleParams(3, 1, 64, 256), "3D style encoder, defaults");
  });

  test("parameter names follow the PyTorch references' state_dict", () => {
    const g = new ResnetGenerator({ dims: 2, inChannels: 1, outChannels: 1, ngf: 4, blocks: 2, norm: "instance-affine" }, new Rng(1));
    const names = g.namedParameters().map(([n]) => n);
    for (const n of ["model.1.weight", "model.2.weight", "model.4.weight", "model.7.bias", "model.8.bias", "model.10.conv_block.1.weight", "model.10.conv_block.2.weight", "model.11.conv_block.5.bias", "model.11.conv_block.6.bias", "model.12.weight", "model.13.weight", "model.15.weight", "model.19.weight", "model.19.bias"]) {
      assert.ok(names.includes(n), `${n} in [${names}]`);
    }
    g.dispose();
    const c = new ConditionalResnetGenerator({ dims: 2, inChannels: 1, outChannels: 1, ngf: 4, blocks: 2, conditionDim: 3 }, new Rng(1));
    assert.deepEqual(c.namedParameters().map(([n]) => n).filter((n) => n.includes("mapping")), ["model.13.mapping.weight", "model.13.mapping.bias", "model.16.mapping.weight", "model.16.mapping.bias"]);
    c.dispose();
    const p = new PatchNceHead({ channels: [2, 3] }, new Rng(1));
    assert.deepEqual(p.namedParameters().map(([n]) => n), ["mlp_0.0.weight", "mlp_0.0.bias", "mlp_0.2.weight", "mlp_0.2.bias", "mlp_1.0.weight", "mlp_1.0.bias", "mlp_1.2.weight", "mlp_1.2.bias"]);
    p.dispose();
  });
});

// ---------------------------------------------------------------------------------------------

describe("ResNet generator", () => {
  for (const d of [2, 3] as Dims[]) {
    const sp = d === 2 ? S2 : S3;
    for (const [upsample, antialias] of [["transpose", false], ["resize-conv", false], ["blur", true], ["transpose", true]] as [UpsampleKind, boolean][]) {
      test(`${d}D ${antialias ? "anti-aliased" : "strided"} down, ${upsample} up: [2, ${sp}, 2] -> [2, ${sp}, 3] in (-1, 1)`, () => {
        const g = new ResnetGenerator({ dims: d, inChannels: 2, outChannels: 3, ngf: 4, blocks: 2, upsample, antialias }, new Rng(3));
        const x = input([2, ...sp, 2]);
        const y = g.apply(x);
        assert.deepEqual(y.shape, [2, ...sp, 3]);
        const v = y.dataSync();
        assert.ok(v.every((a) => Math.abs(a) < 1 && Number.isFinite(a)), "tanh range");
        assert.ok(tf.tidy(() => tf.moments(y).variance.dataSync()[0]!) > 0, "not constant");
        tf.dispose([x, y]);
        g.dispose();
      });
    }
  }

  test("spatial sizes not a multiple of 4 (or below 8) and wrong channels are clear errors", () => {
    const g = new ResnetGenerator({ dims: 2, inChannels: 1, outChannels: 1, ngf: 2, blocks: 1 }, new Rng(1));
    for (const shape of [[1, 30, 32, 1], [1, 4, 4, 1], [1, 32, 32, 2], [1, 8, 32, 32, 1]]) {
      const x = tf.zeros(shape);
      assert.throws(() => g.apply(x), isBadOption(/multiple of 4|expected \[batch/));
      x.dispose();
    }
    g.dispose();
  });

  test("encode: CUT's layers 0,4,8,12,16 in the anti-aliased layout are the padded input, both downsampling convs, residual blocks 1 and 5", () => {
    const g = new ResnetGenerator({ dims: 2, inChannels: 2, outChannels: 2, ngf: 4, blocks: 6, antialias: true }, new Rng(5));
    assert.deepEqual(g.nceLayers(), [...CUT_NCE_LAYERS]);
    const labels = g.describeLayers().map((l) => l.label);
    assert.match(labels[4]!, /^conv 3 s1/);
    assert.match(labels[8]!, /^conv 3 s1/);
    assert.equal(labels[12], "residual block 1");
    assert.equal(labels[16], "residual block 5");
    assert.deepEqual(g.featureChannels(CUT_NCE_LAYERS), [2, 8, 16, 16, 16]);
    const x = input([2, 16, 24, 2]);
    const feats = g.encode(x, CUT_NCE_LAYERS);
    assert.deepEqual(feats.map((f) => f.shape), [[2, 22, 30, 2], [2, 16, 24, 8], [2, 8, 12, 16], [2, 4, 6, 16], [2, 4, 6, 16]]);
    // Index 0 is the input after reflection padding by 3: the centre is the input, and the
    // border mirrors it without repeating the edge.
    const pad = feats[0]!.arraySync() as number[][][][];
    const xa = x.arraySync() as number[][][][];
    assert.equal(pad[1]![3 + 5]![3 + 7]![1], xa[1]![5]![7]![1]);
    assert.equal(pad[0]![0]![3 + 2]![0], xa[0]![3]![2]![0]);
    assert.equal(pad[0]![3 + 1]![29]![0], xa[0]![1]![24 - 1 - 3]![0]);
    // Taps in any order come back in that order.
    const swapped = g.encode(x, [8, 0]);
    assert.deepEqual(swapped.map((f) => f.shape), [[2, 8, 12, 16], [2, 22, 30, 2]]);
    assert.deepEqual(swapped[0]!.dataSync(), feats[2]!.dataSync());
    tf.dispose([x, ...feats, ...swapped]);
    g.dispose();
  });

  test("encode stops after the deepest layer asked for", () => {
    const g = new ResnetGenerator({ dims: 2, inChannels: 1, outChannels: 1, ngf: 2, blocks: 6, antialias: true }, new Rng(5));
    const x = input([1, 16, 16, 1]);
    const original = ResnetBlock.prototype.apply;
    let calls = 0;
    ResnetBlock.prototype.apply = function (this: ResnetBlock, h: Tensor) {
      calls++;
      return original.call(this, h);
    };
    try {
      tf.dispose(g.encode(x, [0, 4, 8, 12]));
      assert.equal(calls, 1, "only residual block 1 runs for layer 12");
      calls = 0;
      tf.dispose(g.encode(x, [0, 4]));
      assert.equal(calls, 0);
      calls = 0;
      tf.dispose(g.apply(x));
      assert.equal(calls, 6);
    } finally {
      ResnetBlock.prototype.apply = original;
    }
    x.dispose();
    g.dispose();
  });

  test("encode in the CycleGAN layout: the reference's indices, and nceLayers() for the described features", () => {
    const g = new ResnetGenerator({ dims: 3, inChannels: 1, outChannels: 1, ngf: 2, blocks: 7 }, new Rng(5));
    // As the reference with --no_antialias: 4 the first stride-2 conv, 8 the norm after the
    // second, 12 and 16 residual blocks 3 and 7.
    const labels = g.describeLayers().map((l) => l.label);
    assert.deepEqual([labels[4], labels[7], labels[8], labels[12], labels[16]], ["conv 3 s2", "conv 3 s2", "norm (instance)", "residual block 3", "residual block 7"]);
    assert.deepEqual(g.nceLayers(), [0, 4, 7, 10, 14]);
    const x = input([1, 8, 16, 16, 1]);
    const feats = g.encode(x, g.nceLayers());
    assert.deepEqual(feats.map((f) => f.shape), [[1, 14, 22, 22, 1], [1, 4, 8, 8, 4], [1, 2, 4, 4, 8], [1, 2, 4, 4, 8], [1, 2, 4, 4, 8]]);
    // The norm tap (8) is the conv tap (7) instance-normalised.
    const [c7, n8] = g.encode(x, [7, 8]);
    const m = tf.moments(c7!, [1, 2, 3], true);
    const expected = tf.div(tf.sub(c7!, m.mean), tf.sqrt(tf.add(m.variance, 1e-5)));
    assert.ok(tf.max(tf.abs(tf.sub(expected, n8!))).dataSync()[0]! < 1e-4, "tap 8 = IN(tap 7)");
    assert.throws(() => g.encode(x, [17]), isBadOption(/not an encoder entry/));
    assert.throws(() => g.encode(x, []), isBadOption(/at least one/));
    assert.throws(() => g.encode(x, [4, 4]), isBadOption(/repeat/));
    tf.dispose([x, ...feats, c7!, n8!, m.mean, m.variance, expected]);
    g.dispose();
    const small = new ResnetGenerator({ dims: 2, inChannels: 1, outChannels: 1, ngf: 2, blocks: 2, antialias: true }, new Rng(1));
    assert.deepEqual(small.nceLayers(), [0, 4, 8, 12, 13], "residual block min(5, blocks)");
    small.dispose();
  });
});

describe("conditional ResNet generator (DIN in the last two decoder norms)", () => {
  for (const d of [2, 3] as Dims[]) {
    test(`${d}D: the output follows the condition`, () => {
      const sp = d === 2 ? S2 : S3;
      const opts: ResnetGeneratorOptions & { conditionDim: number } = { dims: d, inChannels: 1, outChannels: 1, ngf: 4, blocks: 2, conditionDim: 3, init: { kind: "normal", gain: 0.2 } };
      const g = new ConditionalResnetGenerator(opts, new Rng(7));
      const x = input([2, ...sp, 1]);
      const codeA = tf.tensor([[1, 0, 0], [1, 0, 0]]);
      const codeB = tf.tensor([[0, 0, 1], [0, 0, 1]]);
      const ya = g.apply(x, codeA);
      const yb = g.apply(x, codeB);
      const ya2 = g.apply(x, codeA);
      assert.deepEqual(ya.shape, [2, ...sp, 1]);
      assert.ok(tf.max(tf.abs(tf.sub(ya, yb))).dataSync()[0]! > 1e-3, "a different code changes the output");
      assert.deepEqual(ya2.dataSync(), ya.dataSync(), "the same code gives the same output");
      // Per-sample conditions: each sample as if run alone; a [1, K] condition serves the batch.
      const mixed = g.apply(x, tf.tensor([[1, 0, 0], [0, 0, 1]]));
      const mixedA = tf.slice(mixed, [0], [1]);
      const mixedB = tf.slice(mixed, [1], [1]);
      assert.ok(tf.max(tf.abs(tf.sub(mixedA, tf.slice(ya, [0], [1])))).dataSync()[0]! < 1e-5, "sample 0 with code A");
      assert.ok(tf.max(tf.abs(tf.sub(mixedB, tf.slice(yb, [1], [1])))).dataSync()[0]! < 1e-5, "sample 1 with code B");
      const shared = g.apply(x, tf.tensor([[1, 0, 0]]));
      assert.ok(tf.max(tf.abs(tf.sub(shared, ya))).dataSync()[0]! < 1e-6, "a [1, K] condition serves the batch");
      assert.throws(() => g.apply(x, tf.zeros([2, 4])), isBadOption(/condition/));
      assert.throws(() => g.apply(x, tf.zeros([3, 3])), isBadOption(/condition/));
      // The encoder does not see the condition.
      const f = g.encode(x, [0, 4, 7]);
      assert.deepEqual(f.map((t) => t.shape[t.rank - 1]), [1, 8, 16]);
      tf.dispose([x, codeA, codeB, ya, yb, ya2, mixed, mixedA, mixedB, shared, ...f]);
      g.dispose();
    });
  }

  test("IntraStyler's setting: a 256-long unit style vector from the style encoder drives the generator", () => {
    const e = new StyleEncoder({ dims: 3, inChannels: 1, base: 4 }, new Rng(1));
    const g = new ConditionalResnetGenerator({ dims: 3, inChannels: 1, outChannels: 1, ngf: 4, blocks: 1, conditionDim: 256 }, new Rng(2));
    const exemplar = input([1, ...S3, 1], 4);
    const x = input([1, ...S3, 1], 5);
    const s = e.apply(exemplar);
    assert.deepEqual(s.shape, [1, 256]);
    const y = g.apply(x, s);
    assert.deepEqual(y.shape, [1, ...S3, 1]);
    tf.dispose([exemplar, x, s, y]);
    e.dispose();
    g.dispose();
  });
});

describe("style encoder", () => {
  for (const d of [2, 3] as Dims[]) {
    test(`${d}D: [3, s.., 1] -> unit vectors [3, K]`, () => {
      const sp = d === 2 ? S2 : S3;
      const e = new StyleEncoder({ dims: d, inChannels: 1, base: 4, styleDim: 32 }, new Rng(2));
      const x = tf.tidy(() => tf.mul(input([3, ...sp, 1]), tf.tensor([1, 5, 0.1], [3, ...sp.map(() => 1), 1])));
      const s = e.apply(x);
      assert.deepEqual(s.shape, [3, 32]);
      const norms = tf.tidy(() => tf.norm(s, "euclidean", 1).dataSync());
      for (const n of norms) assert.ok(Math.abs(n - 1) < 1e-5, `norm ${n}`);
      const rows = s.arraySync() as number[][];
      assert.notDeepEqual(rows[0], rows[1], "different images, different styles");
      tf.dispose([x, s]);
      e.dispose();
    });
  }

  test("too small an input is a clear error", () => {
    const e = new StyleEncoder({ dims: 3, inChannels: 1, base: 2, styleDim: 4, downsamples: 3 }, new Rng(2));
    const x = tf.zeros([1, 4, 16, 16, 1]);
    assert.throws(() => e.apply(x), isBadOption(/at least 8/));
    x.dispose();
    e.dispose();
  });
});

describe("PatchGAN", () => {
  test("2D 32x32 with 3 layers: 2x2 patch scores; 3D 16^3 with 2 layers: 2^3", () => {
    const d2 = new PatchGan({ dims: 2, inChannels: 3, ndf: 4 }, new Rng(1));
    const x2 = input([2, 32, 32, 3]);
    const y2 = d2.apply(x2);
    assert.deepEqual(y2.shape, [2, 2, 2, 1]);
    assert.equal(d2.outputSize(256), 30, "30x30 patch map for a 256x256 image, as pix2pix");
    const d3 = new PatchGan({ dims: 3, inChannels: 1, ndf: 4, nLayers: 2 }, new Rng(1));
    const x3 = input([1, 16, 16, 16, 1]);
    const y3 = d3.apply(x3);
    assert.deepEqual(y3.shape, [1, 2, 2, 2, 1]);
    const d1 = new PatchGan({ dims: 3, inChannels: 1, ndf: 4, nLayers: 1 }, new Rng(1));
    const x1 = input([1, ...S3, 1]);
    const y1 = d1.apply(x1);
    assert.deepEqual(y1.shape, [1, 2, 6, 6, 1]);
    tf.dispose([x2, y2, x3, y3, x1, y1]);
    d2.dispose();
    d1.dispose();
    const tooSmall = input([1, ...S3, 1]);
    assert.throws(() => d3.apply(tooSmall), isBadOption(/too small/));
    tooSmall.dispose();
    d3.dispose();
  });
});

describe("PatchNCE head", () => {
  /** A [b, s.., P + b] map whose vector at position p of sample n is one-hot p plus one-hot P + n. */
  function positional(b: number, spatial: number[]): tf.Tensor {
    const p = size(spatial);
    const c = p + b;
    const d = new Float32Array(b * p * c);
    for (let n = 0; n < b; n++)
      for (let q = 0; q < p; q++) {
        d[(n * p + q) * c + q] = 1;
        d[(n * p + q) * c + p + n] = 1;
      }
    return tf.tensor(d, [b, ...spatial, c]);
  }

  test("samples the positions it reports, sample-major, and reuses given ids", () => {
    const b = 2;
    const spatial2 = [4, 5];
    const spatial3 = [2, 3, 2];
    const f2 = positional(b, spatial2);
    const f3 = positional(b, spatial3);
    const head = new PatchNceHead({ channels: [20 + b, 12 + b], mlp: false }, new Rng(1));
    const rng = new Rng(9);
    const first = head.sample([f2, f3], 8, rng);
    assert.deepEqual(first.ids.map((i) => i.length), [8, 8]);
    for (const [layer, p] of [[0, 20], [1, 12]] as const) {
      const ids = first.ids[layer]!;
      assert.equal(new Set(ids).size, ids.length, "distinct positions");
      const rows = first.projected[layer]!.arraySync() as number[][];
      assert.equal(rows.length, b * 8);
      rows.forEach((row, r) => {
        const n = Math.floor(r / 8);
        const k = r % 8;
        const pos = row.slice(0, p).indexOf(Math.max(...row.slice(0, p)));
        assert.equal(pos, ids[k], `layer ${layer} row ${r}: position`);
        assert.ok(row[p + n]! > 0.7 && row[p + 1 - n]! === 0, `layer ${layer} row ${r}: sample ${n}`);
        assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-5, `row ${r}: unit length`);
      });
    }
    // The same ids give the same rows; fresh draws give other positions.
    const again = head.sample([f2, f3], 8, new Rng(1234), first.ids);
    assert.deepEqual(again.ids, first.ids);
    for (let l = 0; l < 2; l++) assert.deepEqual(again.projected[l]!.dataSync(), first.projected[l]!.dataSync());
    const other = head.sample([f2, f3], 8, rng);
    assert.notDeepEqual(other.ids, first.ids);
    // More patches than positions: all of them, once each.
    const all = head.sample([f2, f3], 256, rng);
    assert.deepEqual([...all.ids[0]!].sort((a, c) => a - c), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(all.projected[1]!.shape[0], b * 12);
    assert.throws(() => head.sample([f2], 8, rng), isBadOption(/built for 2/));
    assert.throws(() => head.sample([f2, f3], 8, rng, [[0], [12]]), isBadOption(/positions in 0\.\.11/));
    tf.dispose([f2, f3, ...first.projected, ...again.projected, ...other.projected, ...all.projected]);
    head.dispose();
  });

  test("with the MLP: [batch * n, 256] unit vectors; queries and keys share locations", () => {
    const g = new ResnetGenerator({ dims: 2, inChannels: 1, outChannels: 1, ngf: 4, blocks: 5, antialias: true }, new Rng(2));
    const head = new PatchNceHead({ channels: g.featureChannels(CUT_NCE_LAYERS) }, new Rng(3));
    const x = input([2, 16, 16, 1]);
    const y = g.apply(x);
    const fx = g.encode(x, CUT_NCE_LAYERS);
    const fy = g.encode(y, CUT_NCE_LAYERS);
    const keys = head.sample(fx, 64, new Rng(4));
    const queries = head.sample(fy, 64, new Rng(5), keys.ids);
    assert.deepEqual(queries.ids, keys.ids);
    // Layer 0 is 22x22 (484 positions), the deepest 4x4: all 16.
    assert.deepEqual(keys.ids.map((i) => i.length), [64, 64, 64, 16, 16]);
    // x / (|x| + 1e-7): unit length but for vectors that project near zero (with the
    // references' N(0, 0.02) init the MLP outputs are ~1e-4, so lengths fall short by ~1e-3).
    for (const [t, tol] of [...keys.projected.map((t) => [t, 1e-2] as const), ...queries.projected.map((t) => [t, 1e-2] as const)]) {
      assert.equal(t.shape[1], 256);
      const norms = tf.tidy(() => tf.norm(t, "euclidean", 1).dataSync());
      for (const n of norms) assert.ok(n <= 1 + 1e-6 && n > 1 - tol, `norm ${n}`);
    }
    // Same features and ids -> same projections.
    const keys2 = head.sample(fx, 64, new Rng(99), keys.ids);
    keys2.projected.forEach((t, i) => assert.deepEqual(t.dataSync(), keys.projected[i]!.dataSync()));
    tf.dispose([x, y, ...fx, ...fy, ...keys.projected, ...queries.projected, ...keys2.projected]);
    head.dispose();
    g.dispose();
  });

  test("randomPositions is the head of a uniform random permutation", () => {
    const rng = new Rng(1);
    const counts = new Array(10).fill(0);
    for (let t = 0; t < 2000; t++) for (const p of randomPositions(10, 3, rng)) counts[p]++;
    // Each position is picked with probability 3/10: 600 expected, sd ~ 20.
    for (const c of counts) assert.ok(Math.abs(c - 600) < 100, `counts ${counts}`);
    assert.deepEqual([...randomPositions(5, 9, rng)].sort(), [0, 1, 2, 3, 4]);
  });
});

describe("U-Net", () => {
  test("2D and 3D logits keep the input size; channels double up to the cap", () => {
    const u2 = new UNet({ dims: 2, inChannels: 2, nClasses: 4, base: 4 }, new Rng(1));
    assert.deepEqual(u2.levelChannels, [4, 8, 16, 32]);
    const x2 = input([2, 32, 24, 2]);
    const y2 = u2.apply(x2);
    assert.deepEqual(y2.shape, [2, 32, 24, 4]);
    const u3 = new UNet({ dims: 3, inChannels: 1, nClasses: 3, base: 4, maxChannels: 12 }, new Rng(1));
    assert.deepEqual(u3.levelChannels, [4, 8, 12, 12]);
    const x3 = input([1, ...S3, 1]);
    const y3 = u3.apply(x3);
    assert.deepEqual(y3.shape, [1, ...S3, 3]);
    assert.deepEqual(new UNet({ dims: 2, inChannels: 1, nClasses: 2, depth: 6 }, new Rng(1)).levelChannels, [32, 64, 128, 256, 320, 320]);
    tf.dispose([x2, y2, x3, y3]);
    u2.dispose();
    u3.dispose();
  });

  test("sizes not divisible by 2^(depth-1) are a clear UnpairedError", () => {
    const u = new UNet({ dims: 3, inChannels: 1, nClasses: 2, base: 2, depth: 4 }, new Rng(1));
    const x = tf.zeros([1, 12, 16, 16, 1]);
    assert.throws(() => u.apply(x), isBadOption(/12x16x16 is not divisible by 8/));
    const ok = new UNet({ dims: 2, inChannels: 1, nClasses: 2, base: 2, depth: 1 }, new Rng(1));
    const odd = tf.zeros([1, 7, 5, 1]);
    const y = ok.apply(odd);
    assert.deepEqual(y.shape, [1, 7, 5, 2], "one level: any size");
    tf.dispose([x, odd, y]);
    u.dispose();
    ok.dispose();
  });
});

// ---------------------------------------------------------------------------------------------

/** Three steps of plain gradient descent; the live tensor count must not move across a step,
 * and the loss must go down (the gradients are real). */
function descend(what: string, params: tf.Variable[], loss: () => tf.Scalar, lr: number): void {
  const losses: number[] = [];
  for (let step = 0; step < 3; step++) {
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(loss, params);
    losses.push(value.dataSync()[0]!);
    tf.tidy(() => {
      for (const p of params) {
        const g = grads[p.name];
        if (g) p.assign(tf.sub(p, tf.mul(g, lr)));
      }
    });
    tf.dispose([value, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, before, `${what}: step ${step} leaves ${tf.memory().numTensors - before} tensors`);
  }
  const last = tf.tidy(() => loss().dataSync()[0]!);
  assert.ok(last < losses[0]!, `${what}: loss ${losses[0]} -> ${last}`);
}

describe("gradient descent leaves no tensor behind", () => {
  const sq = (y: tf.Tensor, target = 0.5) => tf.mean(tf.square(tf.sub(y, target))) as tf.Scalar;

  for (const d of [2, 3] as Dims[]) {
    const sp = d === 2 ? S2 : S3;
    test(`${d}D ResNet generator (plain, anti-aliased) and conditional generator`, () => {
      const x = input([1, ...sp, 1]);
      for (const antialias of [false, true]) {
        const g = new ResnetGenerator({ dims: d, inChannels: 1, outChannels: 1, ngf: 4, blocks: 2, antialias }, new Rng(1));
        descend(`${d}D generator${antialias ? " (anti-aliased)" : ""}`, g.parameters(), () => sq(g.apply(x)), 0.05);
        g.dispose();
      }
      const c = new ConditionalResnetGenerator({ dims: d, inChannels: 1, outChannels: 1, ngf: 4, blocks: 1, conditionDim: 4, upsample: "resize-conv" }, new Rng(1));
      const s = tf.variable(tf.tensor([[0.5, -0.5, 0.5, 0.5]]));
      descend(`${d}D conditional generator`, [...c.parameters(), s], () => sq(c.apply(x, s)), 0.05);
      tf.dispose([x, s]);
      c.dispose();
    });

    test(`${d}D PatchGAN, style encoder and U-Net`, () => {
      const x = input([1, ...sp, 1]);
      const pd = new PatchGan({ dims: d, inChannels: 1, ndf: 4, nLayers: d === 2 ? 3 : 1 }, new Rng(1));
      descend(`${d}D PatchGAN`, pd.parameters(), () => sq(pd.apply(x), 1), 0.002);
      const e = new StyleEncoder({ dims: d, inChannels: 1, base: 4, styleDim: 8 }, new Rng(1));
      const target = tf.tensor([[1, 0, 0, 0, 0, 0, 0, 0]]);
      descend(`${d}D style encoder`, e.parameters(), () => tf.sub(1, tf.sum(tf.mul(e.apply(x), target))) as tf.Scalar, 0.05);
      const u = new UNet({ dims: d, inChannels: 1, nClasses: 2, base: 4, depth: 3 }, new Rng(1));
      descend(`${d}D U-Net`, u.parameters(), () => sq(u.apply(x)), 0.01);
      tf.dispose([x, target]);
      pd.dispose();
      e.dispose();
      u.dispose();
    });
  }

  test("building, running and disposing every network leaves the tensor count where it was", () => {
    const start = tf.memory().numTensors;
    const x = input([1, ...S3, 1]);
    const s = tf.tensor([[1, 0]]);
    const g = new ConditionalResnetGenerator({ dims: 3, inChannels: 1, outChannels: 1, ngf: 2, blocks: 1, conditionDim: 2, antialias: true }, new Rng(1));
    const head = new PatchNceHead({ channels: g.featureChannels([0, 4]) }, new Rng(1));
    const r = new ResnetGenerator({ dims: 3, inChannels: 1, outChannels: 1, ngf: 2, blocks: 1, upsample: "resize-conv" }, new Rng(1));
    const pd = new PatchGan({ dims: 3, inChannels: 1, ndf: 2, nLayers: 1 }, new Rng(1));
    const e = new StyleEncoder({ dims: 3, inChannels: 1, base: 2, styleDim: 4 }, new Rng(1));
    const u = new UNet({ dims: 3, inChannels: 1, nClasses: 2, base: 2, depth: 3 }, new Rng(1));
    const feats = g.encode(x, [0, 4]);
    tf.dispose([g.apply(x, s), ...feats, ...head.sample(feats, 8, new Rng(1)).projected, r.apply(x), pd.apply(x), e.apply(x), u.apply(x)]);
    for (const net of [g, head, r, pd, e, u]) net.dispose();
    tf.dispose([x, s]);
    assert.equal(tf.memory().numTensors, start, "tensors left behind");
  });

  test("PatchNCE head through the generator's encoder", () => {
    const g = new ResnetGenerator({ dims: 2, inChannels: 1, outChannels: 1, ngf: 4, blocks: 5, antialias: true }, new Rng(1));
    const head = new PatchNceHead({ channels: g.featureChannels(CUT_NCE_LAYERS), nc: 16 }, new Rng(2));
    const x = input([1, 16, 16, 1]);
    const ids = tf.tidy(() => {
      const f = g.encode(x, CUT_NCE_LAYERS);
      const r = head.sample(f, 16, new Rng(3));
      return r.ids;
    });
    const direction = tf.tensor(seeded(16, 5), [1, 16]);
    const loss = () =>
      tf.tidy(() => {
        const { projected } = head.sample(g.encode(x, CUT_NCE_LAYERS), 16, new Rng(0), ids);
        return tf.neg(tf.addN(projected.map((p) => tf.mean(tf.matMul(p, direction, false, true))))) as tf.Scalar;
      });
    descend("PatchNCE head + encoder", [...g.parameters(), ...head.parameters()], loss, 0.5);
    tf.dispose([x, direction]);
    g.dispose();
    head.dispose();
  });
});
