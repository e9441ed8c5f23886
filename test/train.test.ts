// lib/train and lib/optim: Adam against PyTorch's update written out plainly, the linear-decay schedule, the
// image pool, safetensors byte layout and validation, checkpoints, and the training loop (exact
// resume, divergence, interruption, no leaks), with a tiny fake trainer on wasm.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { tf } from "../lib/engine/index.js";
import type { StepLosses, TrainBatch, TrainingFace, Translator } from "../lib/methods/trainer.js";
import { initWeight, Module } from "../lib/nn/module.js";
import { Adam, constantSchedule, linearDecayFactor, linearDecaySchedule } from "../lib/optim/index.js";
import { ImagePool } from "../lib/methods/imagePool.js";
import {
  checkCheckpointDir,
  decodeSafetensors,
  encodeSafetensors,
  findCheckpoint,
  loadCheckpoint,
  readCheckpointState,
  readSafetensors,
  saveCheckpoint,
  train,
  writeSafetensors,
  type LoaderStateHooks,
} from "../lib/train/index.js";
import { UnpairedError } from "../lib/util/errors.js";
import { ProgressBar } from "../lib/util/progress.js";
import { Rng, type RngState } from "../lib/util/random.js";
import { assertClose, liveCounts, seeded, startSuiteEngine } from "./helpers.js";

let root = "";
before(async () => {
  await startSuiteEngine();
  root = await mkdtemp(join(tmpdir(), "unpaired-train-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirCount = 0;
const freshDir = () => join(root, `ckpt-${++dirCount}`);

function rejectsWith(code: string, pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof UnpairedError, `expected an UnpairedError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

// ---------------------------------------------------------------------------------------------
// A tiny fake trainer: two Linear modules fitted by Adam to a target, with an image pool and an
// Rng that adds input noise, so weights, optimiser, pool and both Rngs all shape the trajectory.

class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(rng: Rng, inF: number, outF: number) {
    super();
    this.weight = this.param("weight", initWeight(rng, [inF, outF], inF, outF, { kind: "normal", gain: 0.5 }));
    this.bias = this.param("bias", tf.zeros([outF]));
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.add(tf.matMul(x as tf.Tensor2D, this.weight as tf.Tensor2D), this.bias);
  }
}

interface FakeOptions {
  seed: number;
  hidden?: number;
  poolSize?: number;
  /** The fit loss becomes NaN at this call of step() (counting from 1). */
  nanAt?: number;
  method?: string;
  failExtraTensors?: boolean;
}

class FakeTrainer implements TrainingFace, Translator {
  readonly role = "translator";
  readonly method: string;
  readonly config: Record<string, unknown>;
  readonly rng: Rng;
  readonly net: Linear;
  readonly head: Linear;
  readonly opt: Adam;
  readonly pool: ImagePool;
  calls = 0;
  constructor(readonly o: FakeOptions) {
    const hidden = o.hidden ?? 3;
    this.method = o.method ?? "fake";
    this.config = { hidden, poolSize: o.poolSize ?? 3 };
    this.rng = new Rng(`fake:${o.seed}`);
    this.net = new Linear(this.rng, 4, hidden);
    this.head = new Linear(this.rng, hidden, 4);
    this.opt = new Adam([...this.net.namedParameters("net."), ...this.head.namedParameters("head.")], { lr: 0.01 });
    this.pool = new ImagePool(o.poolSize ?? 3, this.rng);
  }
  async step(batch: TrainBatch): Promise<StepLosses> {
    this.calls++;
    const b = batch.source.shape[0]!;
    const noise = new Float32Array(b * 4);
    for (let i = 0; i < noise.length; i++) noise[i] = 0.1 * this.rng.normal();
    const x = tf.tidy(() => tf.add(tf.tensor(batch.source.images, [b, 4]), tf.tensor(noise, [b, 4])));
    const y = tf.tensor(batch.target.images, [b, 4]);
    const fake = tf.tidy(() => this.net.apply(x));
    const pooled = this.pool.query(fake);
    const scale = this.calls === this.o.nanAt ? NaN : 1;
    let fit: tf.Tensor | undefined;
    let viaPool: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      fit = tf.keep(tf.mean(tf.squaredDifference(this.head.apply(this.net.apply(x)), tf.mul(y, scale))));
      viaPool = tf.keep(tf.mean(tf.squaredDifference(this.head.apply(pooled), y)));
      return tf.add(fit, tf.mul(viaPool, 0.5)) as tf.Scalar;
    }, [...this.net.parameters(), ...this.head.parameters()]);
    this.opt.applyGradients(grads);
    const losses = { fit: (await fit!.data())[0]!, pool: (await viaPool!.data())[0]! };
    tf.dispose([value, ...Object.values(grads), x, y, fake, pooled, fit!, viaPool!]);
    return losses;
  }
  translate(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.head.apply(this.net.apply(x)));
  }
  modules(): Record<string, Module> {
    return { net: this.net, head: this.head };
  }
  optimizers() {
    return { adam: this.opt };
  }
  extraState() {
    return { rng: this.rng.getState(), calls: this.calls, pool: this.pool.state() };
  }
  loadExtraState(s: { rng: RngState; [key: string]: unknown }): void {
    this.rng.setState(s.rng);
    this.calls = s.calls as number;
  }
  extraTensors() {
    if (this.o.failExtraTensors) throw new Error("disk full (simulated)");
    return this.pool.tensors("pool");
  }
  loadExtraTensors(t: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void {
    this.pool.importState(t, "pool");
  }
  setLearningRateFactor(f: number): void {
    this.opt.setLearningRateFactor(f);
  }
  dispose(): void {
    this.net.dispose();
    this.head.dispose();
    this.opt.dispose();
    this.pool.dispose();
  }
  weights(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [mod, m] of Object.entries(this.modules())) for (const [n, v] of m.namedParameters(`${mod}.`)) out.set(n, Float32Array.from(v.dataSync() as Float32Array));
    return out;
  }
}

/** Batches of 2 random 4-vectors and their fixed linear image, from the loader's own Rng. */
function fakeLoader(seed: number): { nextBatch: () => Promise<TrainBatch>; hooks: LoaderStateHooks } {
  const rng = new Rng(`loader:${seed}`);
  const nextBatch = async (): Promise<TrainBatch> => {
    const src = new Float32Array(8);
    for (let i = 0; i < 8; i++) src[i] = rng.range(-1, 1);
    const tgt = src.map((v, i) => 0.5 * v - 0.25 * src[(i + 1) % 8]! + 0.1);
    return { source: { images: src, shape: [2, 4], subjects: [] }, target: { images: tgt, shape: [2, 4], subjects: [] } };
  };
  return { nextBatch, hooks: { get: () => rng.getState(), set: (s) => rng.setState(s as RngState) } };
}

/** A variable holding `data` (the initial tensor is freed: the variable keeps the values). */
function mkVar(data: Float32Array, shape: number[]): tf.Variable {
  const t = tf.tensor(data, shape);
  const v = tf.variable(t);
  t.dispose();
  return v;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function assertSameWeights(a: Map<string, Float32Array>, b: Map<string, Float32Array>, what: string): void {
  assert.deepEqual([...a.keys()], [...b.keys()], `${what}: names`);
  for (const [k, v] of a) assert.ok(sameBits(v, b.get(k)!), `${what}: ${k} differs (${v.slice(0, 3)} vs ${b.get(k)!.slice(0, 3)})`);
}

// ---------------------------------------------------------------------------------------------
// Adam.

/** torch.optim.Adam's single-tensor update in float64, per parameter with its own step count. */
class PlainAdam {
  m = new Map<string, Float64Array>();
  v = new Map<string, Float64Array>();
  t = new Map<string, number>();
  constructor(
    readonly p: Map<string, Float64Array>,
    readonly lr: number,
    readonly b1: number,
    readonly b2: number,
    readonly eps: number,
  ) {
    for (const [k, x] of p) {
      this.m.set(k, new Float64Array(x.length));
      this.v.set(k, new Float64Array(x.length));
      this.t.set(k, 0);
    }
  }
  step(grads: Record<string, Float32Array>): void {
    for (const [k, g] of Object.entries(grads)) {
      const p = this.p.get(k)!;
      const m = this.m.get(k)!;
      const v = this.v.get(k)!;
      const t = this.t.get(k)! + 1;
      this.t.set(k, t);
      const bc1 = 1 - this.b1 ** t;
      const bc2 = 1 - this.b2 ** t;
      for (let i = 0; i < p.length; i++) {
        m[i] = this.b1 * m[i]! + (1 - this.b1) * g[i]!;
        v[i] = this.b2 * v[i]! + (1 - this.b2) * g[i]! * g[i]!;
        p[i] = p[i]! - (this.lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + this.eps));
      }
    }
  }
}

test("Adam follows torch.optim.Adam over 5 steps (bias corrections, per-parameter steps, lr factor) and leaks nothing", () => {
  for (const [lr, b1, b2, factor] of [
    [2e-4, 0.5, 0.999, 1],
    [0.05, 0.9, 0.99, 0.5],
  ] as const) {
    const shapes: Record<string, number[]> = { "net.a": [3, 4], "net.b": [5] };
    const init = new Map(Object.entries(shapes).map(([k, s], i) => [k, seeded(s.reduce((x, y) => x * y, 1), 10 + i)]));
    const vars = [...init].map(([k, x]) => [k, mkVar(x, shapes[k]!)] as [string, tf.Variable]);
    const plain = new PlainAdam(new Map([...init].map(([k, x]) => [k, Float64Array.from(x)])), lr * factor, b1, b2, 1e-8);
    const adam = new Adam(vars, { lr, betas: [b1, b2] });
    adam.setLearningRateFactor(factor);
    const before = liveCounts();
    for (let step = 1; step <= 5; step++) {
      const g: Record<string, Float32Array> = {};
      for (const [k, x] of init) if (!(k === "net.b" && step === 3)) g[k] = seeded(x.length, 100 * step + x.length).map((u) => u * (k === "net.a" ? 3 : 0.01));
      const tensors = Object.fromEntries(Object.entries(g).map(([k, d]) => [k, tf.tensor(d, shapes[k])]));
      adam.apply(tensors); // step 3 has no gradient for net.b: it is skipped, its own t stays
      tf.dispose(Object.values(tensors));
      plain.step(g);
    }
    assert.deepEqual(liveCounts(), before, "Adam.apply leaves no tensors behind");
    for (const [k, v] of vars) {
      const got = v.dataSync() as Float32Array;
      const exp = plain.p.get(k)!;
      // Compare the change from the start, so a wrong correction could not hide under the values.
      const delta = Float64Array.from(got, (x, i) => x - init.get(k)![i]!);
      const expDelta = Float64Array.from(exp, (x, i) => x - init.get(k)![i]!);
      assertClose(delta, expDelta, 1e-3 * lr * factor + 1e-6, `lr ${lr}: ${k}`);
    }
    const st = adam.getState();
    assert.equal(st.step, 5);
    assert.deepEqual(st.slots.get("net.a.step")!.data, Float32Array.of(5));
    assert.deepEqual(st.slots.get("net.b.step")!.data, Float32Array.of(4));
    assertClose(st.slots.get("net.a.exp_avg")!.data, plain.m.get("net.a")!, 1e-6, "exp_avg");
    assertClose(st.slots.get("net.b.exp_avg_sq")!.data, plain.v.get("net.b")!, 1e-6, "exp_avg_sq");
    assert.deepEqual(st.hyper.betas, [b1, b2]);
    adam.dispose();
    for (const [, v] of vars) v.dispose();
  }
});

test("Adam: applyGradients maps tf.variableGrads names back, state round trip is exact, bad input is refused", () => {
  const mk = () => [mkVar(seeded(6, 1), [2, 3]), mkVar(seeded(3, 2), [3])] as const;
  const [a1, b1] = mk();
  const [a2, b2] = mk();
  const other = mkVar(seeded(3, 3), [3]);
  const opt1 = new Adam([["a", a1], ["b", b1]]);
  const opt2 = new Adam([["a", a2], ["b", b2]]);
  const c = tf.tensor(seeded(6, 4), [2, 3]);
  for (let i = 0; i < 3; i++) {
    // The loss reaches `other` too: its gradient is not opt1's and is ignored.
    const { value, grads } = tf.variableGrads(() => tf.add(tf.sum(tf.mul(tf.mul(a1, a1), c)), tf.sum(tf.mul(b1, other))) as tf.Scalar);
    assert.ok(other.name in grads);
    opt1.applyGradients(grads);
    const byName = { a: tf.mul(tf.mul(a2, c), 2), b: tf.clone(other) };
    opt2.apply(byName);
    tf.dispose([value, ...Object.values(grads), ...Object.values(byName)]);
  }
  assertClose(a1.dataSync(), a2.dataSync(), 1e-6, "a via variableGrads");
  assertClose(b1.dataSync(), b2.dataSync(), 1e-6, "b via variableGrads");

  // setState on a fresh optimiser over copies of the weights: the next steps agree bit for bit.
  const a3 = mkVar(a1.dataSync() as Float32Array, [2, 3]);
  const b3 = mkVar(b1.dataSync() as Float32Array, [3]);
  const opt3 = new Adam([["a", a3], ["b", b3]]);
  opt3.setState(opt1.getState());
  for (let i = 0; i < 2; i++) {
    const g = { a: tf.tensor(seeded(6, 50 + i), [2, 3]), b: tf.tensor(seeded(3, 60 + i), [3]) };
    opt1.apply(g);
    opt3.apply(g);
    tf.dispose(Object.values(g));
  }
  assert.ok(sameBits(a1.dataSync() as Float32Array, a3.dataSync() as Float32Array));
  assert.ok(sameBits(b1.dataSync() as Float32Array, b3.dataSync() as Float32Array));

  const g = tf.zeros([3]);
  assert.throws(() => opt1.apply({ c: g }), rejectsWith("BAD_OPTION", /"c", which is not one/));
  assert.throws(() => opt1.apply({ a: g }), rejectsWith("BAD_OPTION", /shape \[3\], the parameter \[2,3\]/));
  assert.throws(() => new Adam([["x", a1], ["y", a1]]), rejectsWith("BAD_OPTION", /same variable/));
  const bad = opt1.getState();
  bad.slots.delete("a.exp_avg");
  bad.slots.set("b.exp_avg", { shape: [4], data: new Float32Array(4) });
  assert.throws(() => opt3.setState(bad), rejectsWith("BAD_CHECKPOINT", /missing a\.exp_avg.*b\.exp_avg: shape \[4\]/));
  g.dispose();
  for (const t of [opt1, opt2, opt3, a1, b1, a2, b2, a3, b3, other, c]) t.dispose();
});

// ---------------------------------------------------------------------------------------------
// Schedule.

test("linear decay: the reference's epoch rule and the step form at hand-picked points", () => {
  assert.equal(linearDecayFactor(1, 100, 100), 1);
  assert.equal(linearDecayFactor(100, 100, 100), 1);
  assert.equal(linearDecayFactor(101, 100, 100), 1 - 1 / 101);
  assert.equal(linearDecayFactor(150, 100, 100), 1 - 50 / 101);
  assert.ok(Math.abs(linearDecayFactor(200, 100, 100) - 1 / 101) < 1e-15);
  const f = linearDecaySchedule({ constantSteps: 3, decaySteps: 4 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(f), [1, 1, 1, 0.8, 0.6, 0.4, 0.2].map((x, i) => (i < 3 ? 1 : 1 - (i - 2) / 5)));
  assert.ok(Math.abs(f(6) - 0.2) < 1e-15 && f(6) > 0, "the last step keeps a small positive factor");
  assert.equal(f(7), 0);
  assert.equal(f(50), 0, "past the end: clamped at 0");
  for (let s = 0; s < 7; s++) assert.equal(f(s), linearDecayFactor(s + 1, 3, 4), `step form = epoch form at step ${s}`);
  assert.equal(constantSchedule(12345), 1);
  assert.throws(() => linearDecaySchedule({ constantSteps: -1, decaySteps: 4 }), rejectsWith("BAD_OPTION", /constantSteps/));
});

// ---------------------------------------------------------------------------------------------
// Image pool.

/** A batch [n, 2, 2, 1] whose image i is filled with values[i]. */
const imgs = (...values: number[]) => tf.tensor(values.flatMap((v) => [v, v, v, v]), [values.length, 2, 2, 1]);
const firstPixels = (t: tf.Tensor) => {
  const d = t.dataSync();
  return Array.from({ length: t.shape[0]! }, (_, i) => d[i * 4]!);
};

test("image pool: fills first, then returns a stored image half the time (matching a plain simulation), owns its tensors", () => {
  const rng = new Rng(5);
  const twin = new Rng(5);
  const start = liveCounts().tensors;
  const pool = new ImagePool(3, rng);
  const sim: number[] = [];
  let next = 1;
  let fromPool = 0;
  let afterFull = 0;
  for (let q = 0; q < 200; q++) {
    const vals = [next++, next++];
    const batch = imgs(...vals);
    const out = pool.query(batch);
    batch.dispose(); // the pool keeps copies, not the caller's tensor
    const expected = vals.map((v) => {
      if (sim.length < 3) {
        sim.push(v);
        return v;
      }
      afterFull++;
      if (twin.chance(0.5)) {
        const id = twin.int(3);
        const old = sim[id]!;
        sim[id] = v;
        fromPool++;
        return old;
      }
      return v;
    });
    assert.deepEqual(firstPixels(out), expected, `query ${q}`);
    if (q === 0) assert.deepEqual(expected, [1, 2], "not full yet: the new images come back");
    out.dispose();
    assert.equal(liveCounts().tensors - start, Math.min(3, 2 * (q + 1)), "the pool holds exactly its images");
  }
  assert.ok(fromPool / afterFull > 0.4 && fromPool / afterFull < 0.6, `stored image returned ${fromPool} of ${afterFull} times`);
  assert.deepEqual(
    [...pool.tensors("p").values()].map((t) => t.data[0]),
    sim,
  );

  // State round trip: a new pool from the saved images behaves identically from here on.
  const saved = pool.exportState("fakeB");
  assert.deepEqual(saved.json, { size: 3, count: 3 });
  assert.deepEqual([...saved.tensors.keys()], ["fakeB.0", "fakeB.1", "fakeB.2"]);
  const rngB = new Rng(0);
  rngB.setState(rng.getState());
  const copy = new ImagePool(3, rngB);
  copy.importState(saved.tensors, "fakeB", saved.json);
  for (let q = 0; q < 10; q++) {
    const batch = imgs(1000 + q, 2000 + q);
    const a = pool.query(batch);
    const b = copy.query(batch);
    assert.deepEqual(firstPixels(a), firstPixels(b));
    tf.dispose([a, b, batch]);
  }
  assert.throws(() => new ImagePool(2, rng).importState(saved.tensors, "fakeB"), rejectsWith("BAD_CHECKPOINT", /3 stored images for a pool of 2/));
  const wrongShape = new Map([["fakeB.0", { shape: [1, 3], data: new Float32Array(3) }], ["fakeB.2", { shape: [1, 3], data: new Float32Array(3) }]]);
  assert.throws(() => copy.importState(wrongShape, "fakeB"), rejectsWith("BAD_CHECKPOINT", /fakeB\.1 is missing/));
  const odd = tf.zeros([1, 4]);
  assert.throws(() => pool.query(odd), rejectsWith("BAD_OPTION", /cannot join a pool/));
  pool.dispose();
  copy.dispose();
  odd.dispose();
  assert.equal(liveCounts().tensors, start, "dispose() frees every stored image");
});

test("image pool of size 0 passes batches through, as new tensors, without drawing random numbers", () => {
  const rng = new Rng(9);
  const state = JSON.stringify(rng.getState());
  const pool = new ImagePool(0, rng);
  const batch = imgs(1, 2, 3);
  const out = pool.query(batch);
  assert.notEqual(out, batch);
  assert.deepEqual(firstPixels(out), [1, 2, 3]);
  assert.equal(pool.count, 0);
  assert.equal(JSON.stringify(rng.getState()), state);
  tf.dispose([out, batch]);
  assert.throws(() => new ImagePool(-1, rng), rejectsWith("BAD_OPTION", /size/));
});

// ---------------------------------------------------------------------------------------------
// Safetensors.

test("safetensors: header layout byte by byte (length prefix, padded JSON, offsets, little-endian data)", () => {
  const bytes = encodeSafetensors(
    new Map<string, { shape: number[]; data: Float32Array | Int32Array }>([
      ["b", { shape: [2], data: Float32Array.of(1.5, -2) }],
      ["a", { shape: [1, 3], data: Int32Array.of(1, 2, -1) }],
    ]),
    { format: "pt" },
  );
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  assert.equal(n % 8, 0, "the data starts 8-byte aligned");
  assert.deepEqual([...bytes.subarray(4, 8)], [0, 0, 0, 0], "upper half of the u64 length");
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.match(text, /^\{.*\} *$/);
  assert.deepEqual(JSON.parse(text), {
    __metadata__: { format: "pt" },
    a: { dtype: "I32", shape: [1, 3], data_offsets: [0, 12] },
    b: { dtype: "F32", shape: [2], data_offsets: [12, 20] },
  });
  assert.equal(bytes.length, 8 + n + 20);
  assert.deepEqual([...bytes.subarray(8 + n)], [1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]);
  const back = decodeSafetensors(bytes);
  assert.deepEqual(back.metadata, { format: "pt" });
  assert.deepEqual(back.tensors.get("a"), { dtype: "I32", shape: [1, 3], data: Int32Array.of(1, 2, -1) });
  assert.deepEqual(back.tensors.get("b"), { dtype: "F32", shape: [2], data: Float32Array.of(1.5, -2) });
});

test("safetensors: a hand-made file with metadata reads back; files round-trip every dtype", async () => {
  const header = '{"__metadata__":{"note":"by hand"},"s":{"dtype":"U8","shape":[],"data_offsets":[16,17]},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}';
  const h = new TextEncoder().encode(header);
  const file = new Uint8Array(8 + h.length + 17);
  new DataView(file.buffer).setUint32(0, h.length, true);
  file.set(h, 8);
  new DataView(file.buffer).setFloat32(8 + h.length, 0.25, true);
  new DataView(file.buffer).setFloat32(8 + h.length + 12, -3, true);
  file[8 + h.length + 16] = 7;
  const path = join(root, "hand.safetensors");
  await writeFile(path, file);
  const got = await readSafetensors(path);
  assert.deepEqual(got.metadata, { note: "by hand" });
  assert.deepEqual(got.tensors.get("w"), { dtype: "F32", shape: [2, 2], data: Float32Array.of(0.25, 0, 0, -3) });
  assert.deepEqual(got.tensors.get("s"), { dtype: "U8", shape: [], data: Uint8Array.of(7) });

  const all = {
    f64: { shape: [2], data: Float64Array.of(Math.PI, -1e300) },
    i64: { shape: [2], data: BigInt64Array.of(-(2n ** 60n), 5n) },
    i16: { shape: [3], data: Int16Array.of(-300, 0, 300) },
    u8: { shape: [2, 1], data: Uint8Array.of(0, 255) },
    bool: { dtype: "BOOL" as const, shape: [2], data: Uint8Array.of(1, 0) },
    empty: { shape: [0, 4], data: new Float32Array(0) },
  };
  const p2 = join(root, "sub", "all.safetensors");
  await writeSafetensors(p2, all);
  const back = await readSafetensors(p2);
  for (const [k, v] of Object.entries(all)) {
    const t = back.tensors.get(k)!;
    assert.deepEqual(t.shape, v.shape, k);
    assert.deepEqual(t.data, v.data, k);
  }
  assert.equal(back.tensors.get("bool")!.dtype, "BOOL");
  assert.deepEqual((await readdir(join(root, "sub"))).sort(), ["all.safetensors"], "no temporary file left");
});

test("safetensors: truncated and corrupt files are rejected with BAD_CHECKPOINT naming the file and the reason", async () => {
  const good = encodeSafetensors({ x: { shape: [4], data: Float32Array.of(1, 2, 3, 4) }, y: { shape: [1], data: Float32Array.of(5) } });
  const n = Number(new DataView(good.buffer).getBigUint64(0, true));
  const header = new TextDecoder().decode(good.subarray(8, 8 + n));
  const withHeader = (text: string, data = good.subarray(8 + n)) => {
    const h = new TextEncoder().encode(text);
    const out = new Uint8Array(8 + h.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    out.set(data, 8 + h.length);
    return out;
  };
  const lengthTooBig = good.slice();
  new DataView(lengthTooBig.buffer).setBigUint64(0, BigInt(n + 1000), true);
  const huge = good.slice();
  new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
  const cases: [string, Uint8Array, RegExp][] = [
    ["short", good.subarray(0, 5), /truncated: 5 bytes/],
    ["cut-data", good.subarray(0, good.length - 1), /truncated: tensor "y" ends at byte 20/],
    ["cut-header", lengthTooBig, /truncated: the header needs/],
    ["huge-header", huge, /exceeds/],
    ["not-json", withHeader(header.replace('"x"', "#x#")), /not valid JSON/],
    ["not-object", withHeader("[1,2]"), /does not start with '\{'/],
    ["bad-dtype", withHeader(header.replace('"F32"', '"Q7"')), /unsupported or missing dtype "Q7"/],
    ["bad-span", withHeader(header.replace("[0,16]", "[0,12]")), /span 12 bytes, a F32 \[4\] tensor needs 16/],
    ["overlap", withHeader(header.replace("[16,20]", "[12,16]")), /tensor "y" overlaps/],
    ["trailing", withHeader(header, Uint8Array.from([...good.subarray(8 + n), 0, 0, 0, 0])), /4 bytes after the last tensor/],
    ["bad-metadata", withHeader(header.replace("{", '{"__metadata__":{"k":1},')), /"__metadata__\.k" is not a string/],
  ];
  for (const [name, bytes, reason] of cases) {
    const path = join(root, `corrupt-${name}.safetensors`);
    await writeFile(path, bytes);
    await assert.rejects(readSafetensors(path), (err: unknown) => {
      assert.ok(err instanceof UnpairedError && err.code === "BAD_CHECKPOINT", `${name}: ${String(err)}`);
      assert.ok(err.message.includes(path), `${name}: the message names the file: ${err.message}`);
      assert.match(err.message, reason, name);
      return true;
    });
  }
  await assert.rejects(readSafetensors(join(root, "nope.safetensors")), rejectsWith("FILE_NOT_FOUND", /nope\.safetensors/));
});

// ---------------------------------------------------------------------------------------------
// Checkpoints.

test("checkpoint round trip: weights, Adam slots, pool images, Rng and loader state; layout on disk", async () => {
  const dir = freshDir();
  const a = new FakeTrainer({ seed: 1, poolSize: 3 });
  const loader = fakeLoader(2);
  const r = await train(a, { steps: 5, nextBatch: loader.nextBatch, checkpointDir: dir, loaderState: loader.hooks, config: { run: "round-trip" } });
  assert.equal(r.checkpointStep, 5);
  assert.deepEqual((await readdir(dir)).sort(), ["extra.safetensors", "optimizer.safetensors", "state.json", "weights.safetensors"]);
  assert.deepEqual((await readdir(root)).filter((e) => e.startsWith(`ckpt-${dirCount}.`)), [], "no .tmp-/.old- folders left");
  const w = await readSafetensors(join(dir, "weights.safetensors"));
  assert.deepEqual([...w.tensors.keys()].sort(), ["head.bias", "head.weight", "net.bias", "net.weight"]);
  assert.deepEqual(w.tensors.get("net.weight")!.shape, [4, 3]);
  const o = await readSafetensors(join(dir, "optimizer.safetensors"));
  assert.ok(o.tensors.has("adam.net.weight.exp_avg") && o.tensors.has("adam.head.bias.exp_avg_sq") && o.tensors.has("adam.head.bias.step"));
  const e = await readSafetensors(join(dir, "extra.safetensors"));
  assert.deepEqual([...e.tensors.keys()].sort(), ["pool.0", "pool.1", "pool.2"]);
  const state = JSON.parse(await readFile(join(dir, "state.json"), "utf8"));
  assert.equal(state.format, "unpaired-lab/checkpoint");
  assert.equal(state.formatVersion, 1);
  assert.equal(state.kitVersion, JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")).version);
  assert.equal(state.method, "fake");
  assert.equal(state.step, 5);
  assert.deepEqual(state.config, { run: "round-trip" });
  assert.deepEqual(state.trainerConfig, { hidden: 3, poolSize: 3 });
  assert.equal(state.optimizers.adam.step, 5);
  assert.deepEqual(state.optimizers.adam.hyper.betas, [0.5, 0.999]);
  assert.deepEqual(state.extraState.rng, a.rng.getState());
  assert.deepEqual(state.loader, loader.hooks.get());

  const b = new FakeTrainer({ seed: 77, poolSize: 3 });
  const loaded = await loadCheckpoint(dir, b);
  assert.equal(loaded.step, 5);
  assertSameWeights(a.weights(), b.weights(), "loaded weights");
  const sa = a.opt.getState();
  const sb = b.opt.getState();
  assert.equal(sb.step, sa.step);
  for (const [k, v] of sa.slots) assert.ok(sameBits(v.data, sb.slots.get(k)!.data), `slot ${k}`);
  for (const [k, v] of a.pool.tensors("pool")) assert.ok(sameBits(v.data, b.pool.tensors("pool").get(k)!.data), `pool ${k}`);
  assert.deepEqual(b.rng.getState(), a.rng.getState());
  assert.equal(b.calls, 5);
  a.dispose();
  b.dispose();
});

test("checkpoint loading reports every mismatch at once and changes nothing; incomplete and missing checkpoints are refused", async () => {
  const dir = freshDir();
  const a = new FakeTrainer({ seed: 1 });
  await saveCheckpoint(dir, a, { step: 0 });
  const wide = new FakeTrainer({ seed: 2, hidden: 5 });
  const before = wide.weights();
  await assert.rejects(loadCheckpoint(dir, wide), (err: unknown) => {
    assert.ok(err instanceof UnpairedError && err.code === "BAD_CHECKPOINT", String(err));
    for (const part of [
      /net\.weight has shape \[4,3\] in the checkpoint, \[4,5\] in the trainer/,
      /net\.bias has shape \[3\] in the checkpoint, \[5\]/,
      /head\.weight has shape \[3,4\] in the checkpoint, \[5,4\]/,
      /net\.weight\.exp_avg: shape \[4,3\] in the checkpoint, \[4,5\] here/,
      /9 problems/,
    ])
      assert.match(err.message, part);
    return true;
  });
  assertSameWeights(before, wide.weights(), "a failed load leaves the trainer alone");
  await assert.rejects(loadCheckpoint(dir, new FakeTrainer({ seed: 3, method: "cyclegan" })), rejectsWith("BAD_CHECKPOINT", /"fake" checkpoint; it cannot load into a "cyclegan" trainer/));
  await assert.rejects(loadCheckpoint(join(root, "never-saved"), a), rejectsWith("BAD_CHECKPOINT", /there is no checkpoint at/));
  await unlink(join(dir, "state.json"));
  await assert.rejects(loadCheckpoint(dir, a), rejectsWith("BAD_CHECKPOINT", /incomplete checkpoint: it has no state\.json/));
  a.dispose();
  wide.dispose();
});

test("a save that fails keeps the previous checkpoint; a save interrupted mid-swap is still found", async () => {
  const dir = freshDir();
  const a = new FakeTrainer({ seed: 1 });
  await saveCheckpoint(dir, a, { step: 3 });
  const failing = new FakeTrainer({ seed: 1, failExtraTensors: true });
  await assert.rejects(saveCheckpoint(dir, failing, { step: 4 }), rejectsWith("WRITE_FAILED", /disk full/));
  assert.equal((await readCheckpointState(dir)).step, 3, "the old checkpoint is intact");
  assert.deepEqual((await readdir(root)).filter((e) => e.startsWith(`ckpt-${dirCount}.`)), [], "the failed save's folder is gone");

  // A crash between "rename dir to dir.old-<pid>" and "rename dir.tmp-<pid> to dir".
  await rename(dir, `${dir}.old-4242`);
  await writeFile(join(root, `ckpt-${dirCount}.tmp-4343`), ""); // not a folder with state.json: ignored
  assert.equal(await findCheckpoint(dir), `${dir}.old-4242`);
  const b = new FakeTrainer({ seed: 9 });
  assert.equal((await loadCheckpoint(dir, b)).step, 3);
  assertSameWeights(a.weights(), b.weights(), "recovered checkpoint");
  await saveCheckpoint(dir, b, { step: 5 });
  assert.deepEqual((await readdir(root)).filter((e) => e.startsWith(`ckpt-${dirCount}`)), [`ckpt-${dirCount}`], "the next save tidies up");

  // A checkpoint folder is replaced whole, so one holding other files is refused.
  await writeFile(join(dir, "notes.txt"), "mine");
  await assert.rejects(checkCheckpointDir(dir), rejectsWith("BAD_OPTION", /holds other files \(notes\.txt\)/));
  await assert.rejects(saveCheckpoint(dir, b, { step: 6 }), rejectsWith("BAD_OPTION", /notes\.txt/));
  assert.ok(existsSync(join(dir, "notes.txt")));
  for (const t of [a, failing, b]) t.dispose();
});

// ---------------------------------------------------------------------------------------------
// The loop.

test("resume is exact: 12 steps straight = 6 steps, checkpoint, a fresh trainer and loader, 6 more (bit for bit)", async () => {
  const schedule = linearDecaySchedule({ constantSteps: 4, decaySteps: 8 });
  const straight = new FakeTrainer({ seed: 7, poolSize: 3 });
  const l1 = fakeLoader(8);
  const factors: number[] = [];
  const r1 = await train(straight, { steps: 12, nextBatch: l1.nextBatch, schedule, onStep: (i) => factors.push(i.lrFactor) });
  assert.equal(r1.steps, 12);
  assert.equal(r1.history.length, 12);
  assert.deepEqual(factors, Array.from({ length: 12 }, (_, s) => schedule(s)));
  assert.ok(r1.history[11]!.fit < r1.history[0]!.fit, "the fake trainer learns");

  const dir = freshDir();
  const first = new FakeTrainer({ seed: 7, poolSize: 3 });
  const l2 = fakeLoader(8);
  const r2 = await train(first, { steps: 6, nextBatch: l2.nextBatch, schedule, checkpointDir: dir, loaderState: l2.hooks });
  assert.equal(r2.checkpointStep, 6);
  first.dispose();

  // The same resume without the loader's state: the batches differ, so must the trajectory.
  const copy = freshDir();
  await cp(dir, copy, { recursive: true });
  const blind = new FakeTrainer({ seed: 1234, poolSize: 3 });
  const rBlind = await train(blind, { steps: 12, nextBatch: fakeLoader(999).nextBatch, schedule, checkpointDir: copy, resume: true });
  assert.equal(rBlind.startStep, 6);
  assert.notDeepEqual(rBlind.history, r1.history.slice(6));
  blind.dispose();

  const resumed = new FakeTrainer({ seed: 1234, poolSize: 3 });
  const l3 = fakeLoader(999);
  const r3 = await train(resumed, { steps: 12, nextBatch: l3.nextBatch, schedule, checkpointDir: dir, resume: true, loaderState: l3.hooks });
  assert.equal(r3.startStep, 6);
  assert.equal(r3.steps, 12);
  assert.deepEqual(r3.history, r1.history.slice(6));
  assertSameWeights(straight.weights(), resumed.weights(), "resumed vs straight");
  const so = straight.opt.getState();
  for (const [k, v] of resumed.opt.getState().slots) assert.ok(sameBits(v.data, so.slots.get(k)!.data), `slot ${k}`);

  // Resuming with steps already reached does nothing.
  const again = await train(resumed, { steps: 12, nextBatch: l1.nextBatch, checkpointDir: dir, resume: true });
  assert.equal(again.history.length, 0);
  assert.equal(again.steps, 12);
  straight.dispose();
  resumed.dispose();
});

test("resume: true needs a checkpoint; 'if-present' starts afresh without one", async () => {
  const t = new FakeTrainer({ seed: 1 });
  const l = fakeLoader(1);
  await assert.rejects(train(t, { steps: 2, nextBatch: l.nextBatch, checkpointDir: freshDir(), resume: true }), rejectsWith("BAD_CHECKPOINT", /no checkpoint/));
  const dir = freshDir();
  const r = await train(t, { steps: 2, nextBatch: l.nextBatch, checkpointDir: dir, resume: "if-present" });
  assert.equal(r.startStep, 0);
  assert.equal((await readCheckpointState(dir)).step, 2);
  await assert.rejects(train(t, { steps: 2, nextBatch: l.nextBatch, resume: true }), rejectsWith("BAD_OPTION", /needs a checkpointDir/));
  t.dispose();
});

test("a NaN loss stops training with TRAINING_DIVERGED naming the step and loss; the last good checkpoint stays", async () => {
  const dir = freshDir();
  const t = new FakeTrainer({ seed: 3, nanAt: 5 });
  const l = fakeLoader(4);
  let atStep4: Map<string, Float32Array> | undefined;
  await assert.rejects(
    train(t, {
      steps: 10,
      nextBatch: l.nextBatch,
      checkpointDir: dir,
      checkpointEvery: 2,
      onStep: (i) => {
        if (i.step === 4) atStep4 = t.weights();
      },
    }),
    rejectsWith("TRAINING_DIVERGED", /diverged at step 5: the loss "fit" is NaN.*last good checkpoint \(step 4\) stays in/),
  );
  assert.ok([...t.weights().values()].some((w) => w.some((x) => Number.isNaN(x))), "the trainer itself did diverge");
  assert.equal((await readCheckpointState(dir)).step, 4);
  const fresh = new FakeTrainer({ seed: 11 });
  await loadCheckpoint(dir, fresh);
  assertSameWeights(atStep4!, fresh.weights(), "the checkpoint on disk is step 4's");
  t.dispose();
  fresh.dispose();
});

test("an AbortSignal or Ctrl-C stops after the current step, saves, and returns 'interrupted'", async () => {
  const dir = freshDir();
  const t = new FakeTrainer({ seed: 3 });
  const l = fakeLoader(4);
  const ac = new AbortController();
  const r = await train(t, {
    steps: 10,
    nextBatch: l.nextBatch,
    checkpointDir: dir,
    checkpointEvery: 5,
    signal: ac.signal,
    onStep: (i) => {
      if (i.step === 3) ac.abort();
    },
  });
  assert.equal(r.stopped, "interrupted");
  assert.equal(r.steps, 3);
  assert.equal(r.history.length, 3);
  assert.equal(r.checkpointStep, 3);
  assert.equal((await readCheckpointState(dir)).step, 3);

  // SIGINT: call only the listener train() adds (a real signal would reach the test runner too).
  const listenersBefore = process.listeners("SIGINT");
  const r2 = await train(t, {
    steps: 10,
    nextBatch: l.nextBatch,
    checkpointDir: dir,
    resume: true,
    handleSigint: true,
    onStep: (i) => {
      if (i.step === 5) for (const f of process.listeners("SIGINT")) if (!listenersBefore.includes(f)) (f as () => void)();
    },
  });
  assert.equal(r2.stopped, "interrupted");
  assert.equal(r2.startStep, 3);
  assert.equal(r2.steps, 5);
  assert.equal((await readCheckpointState(dir)).step, 5);
  assert.deepEqual(process.listeners("SIGINT"), listenersBefore, "the SIGINT listener is removed");
  t.dispose();
});

test("the loop leaks no tensors over 50 steps and reports step, losses, steps/s and ETA to the progress bar", async () => {
  const t = new FakeTrainer({ seed: 5, poolSize: 2 });
  const l = fakeLoader(6);
  const counts: { tensors: number; buffers: number }[] = [];
  let out = "";
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  const bar = new ProgressBar("fake", 52, { stream });
  const r = await train(t, { steps: 52, nextBatch: l.nextBatch, progress: bar, onStep: () => counts.push(liveCounts()) });
  assert.equal(r.history.length, 52);
  for (let i = 2; i < 52; i++) assert.deepEqual(counts[i], counts[1], `live tensors after step ${i + 1} vs step 2`);
  assert.match(out, /step 52\/52 +fit [\d.e-]+ pool [\d.e-]+ +[\d.]+ steps\/s +eta \d+:\d\d/);
  assert.match(out, /step 6\/52 .* eta \d+:\d\d/);
  t.dispose();
});
