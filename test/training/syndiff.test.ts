// SynDiff (2D adversarial diffusion): the VP schedule against closed forms computed plainly here
// (Gaussian algebra, Bayes' rule), the sinusoidal time embedding, the diffusive generator's and
// time-conditioned discriminator's shapes, the R1 penalty through the discriminator, and the
// trainer: finite smoke losses, exact resume (N straight == N/2 + save + load + N/2, EMA and
// lazy-R1 counter included), no tensor growth, deterministic translation in both directions,
// training through trainRun on the axon phantom, and a clear error for 3D networks.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tf } from "../../lib/engine/index.js";
import { writePhantom } from "../../lib/data/phantoms/write.js";
import { r1Penalty } from "../../lib/losses/gan.js";
import { type SynDiffConfig } from "../../lib/methods/config.js";
import { resolveConfig } from "../../lib/methods/registry.js";
import { posteriorMean, qSample, qSamplePair, samplePosterior, vpSchedule } from "../../lib/methods/diffusionSchedule.js";
import { SynDiffTrainer } from "../../lib/methods/syndiff.js";
import type { TrainBatch } from "../../lib/methods/trainer.js";
import { DiffusionGenerator, TimeDiscriminator, timestepEmbedding } from "../../lib/models/index.js";
import { loadCheckpoint, saveCheckpoint } from "../../lib/train/checkpoint.js";
import { trainRun } from "../../lib/train/run.js";
import { UnpairedError } from "../../lib/util/errors.js";
import { Rng } from "../../lib/util/random.js";
import { assertClose, liveCounts, seeded, startSuiteEngine } from "../helpers.js";

before(startSuiteEngine);

const root = mkdtempSync(join(tmpdir(), "unpaired-syndiff-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** The SynDiff schedule: T = 4, beta 0.1 .. 20. */
const T = 4;
const BMIN = 0.1;
const BMAX = 20;
const EPS = 1e-3;

/** alpha_bar(s) of the continuous VP SDE, written out: exp(-s^2 (bmax - bmin) / 2 - s bmin). */
const alphaBar = (s: number) => Math.exp(-0.5 * s * s * (BMAX - BMIN) - s * BMIN);
const time = (k: number) => EPS + ((1 - EPS) * k) / T;

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

describe("the variance-preserving schedule", () => {
  const s = vpSchedule({ timesteps: T, betaMin: BMIN, betaMax: BMAX });

  test("times, betas and the cumulative products follow the continuous VP SDE", () => {
    assert.equal(s.times.length, T + 1);
    for (let k = 0; k <= T; k++) close(s.times[k]!, time(k), 1e-15, `s_${k}`);
    close(s.times[T]!, 1, 1e-15, "the last time is 1");
    assert.equal(s.betas[0], 1e-8);
    for (let k = 1; k <= T; k++) {
      // Each step keeps the ratio of consecutive marginal signal powers.
      close(1 - s.betas[k]!, alphaBar(time(k)) / alphaBar(time(k - 1)), 1e-12, `1 - beta_${k}`);
      assert.ok(s.betas[k]! > 0 && s.betas[k]! < 1, `beta_${k} in (0, 1)`);
    }
    // A few large steps: the last beta is close to 1 and x_T is almost pure noise.
    assert.ok(s.betas[T]! > 0.9, `beta_T = ${s.betas[T]}`);
    for (let k = 0; k <= T; k++) {
      // The product of the step signal powers telescopes to alpha_bar(s_k) / alpha_bar(s_0).
      close(s.alphaSqrtCum[k]! ** 2, (1 - 1e-8) * (alphaBar(time(k)) / alphaBar(time(0))), 1e-12, `alphaSqrtCum_${k}^2`);
      close(s.sigmas[k]! ** 2, s.betas[k]!, 1e-12, `sigma_${k}^2`);
      close(s.alphaSqrt[k]! ** 2, 1 - s.betas[k]!, 1e-12, `alphaSqrt_${k}^2`);
    }
    for (let t = 0; t < T; t++) {
      let prod = 1;
      for (let j = 1; j <= t + 1; j++) prod *= 1 - s.betas[j]!;
      close(s.posterior.alphasCumprod[t]!, prod, 1e-12, `alphas_cumprod_${t}`);
      close(s.posterior.alphasCumprod[t]!, alphaBar(time(t + 1)) / alphaBar(time(0)), 1e-12, `alphas_cumprod_${t} from the SDE`);
      close(s.posterior.alphasCumprodPrev[t]!, t === 0 ? 1 : s.posterior.alphasCumprod[t - 1]!, 0, `alphas_cumprod_prev_${t}`);
    }
  });

  test("variance preserving: every marginal of a unit-variance x_0 has variance 1, and two steps compose to one", () => {
    for (let k = 0; k <= T; k++) close(s.alphaSqrtCum[k]! ** 2 * 1 + s.sigmasCum[k]! ** 2, 1, 1e-12, `Var x_${k}`);
    for (let k = 0; k < T; k++) {
      // x_{k+1} = a x_k + sigma e with x_k = A x_0 + S e': mean factor a A, variance a^2 S^2 + sigma^2.
      close(s.alphaSqrt[k + 1]! * s.alphaSqrtCum[k]!, s.alphaSqrtCum[k + 1]!, 1e-12, `mean factor of x_${k + 1} | x_0`);
      close(s.alphaSqrt[k + 1]! ** 2 * s.sigmasCum[k]! ** 2 + s.sigmas[k + 1]! ** 2, s.sigmasCum[k + 1]! ** 2, 1e-12, `noise of x_${k + 1} | x_0`);
    }
  });

  test("the posterior q(x_t | x_0, x_{t+1}) is Bayes' rule on the two Gaussians", () => {
    for (let t = 0; t < T; t++) {
      const beta = s.betas[t + 1]!;
      const alpha = 1 - beta;
      let acPrev = 1;
      for (let j = 1; j <= t; j++) acPrev *= 1 - s.betas[j]!;
      const p = s.posterior;
      if (t === 0) {
        // x_0 is known exactly: the posterior is a point mass at x_0.
        close(p.variance[0]!, 0, 0, "posterior variance at t = 0");
        close(p.meanCoefX0[0]!, 1, 1e-12, "x_0 coefficient at t = 0");
        close(p.meanCoefXNext[0]!, 0, 0, "x_1 coefficient at t = 0");
        close(p.logVarianceClipped[0]!, Math.log(1e-20), 1e-12, "clipped log variance at t = 0");
        continue;
      }
      // Prior x_t | x_0 ~ N(sqrt(acPrev) x_0, 1 - acPrev); likelihood x_{t+1} | x_t ~ N(sqrt(alpha) x_t, beta).
      const precision = 1 / (1 - acPrev) + alpha / beta;
      const variance = 1 / precision;
      close(p.variance[t]!, variance, 1e-12, `posterior variance ${t}`);
      close(p.logVarianceClipped[t]!, Math.log(variance), 1e-12, `log variance ${t}`);
      close(p.meanCoefX0[t]!, (variance * Math.sqrt(acPrev)) / (1 - acPrev), 1e-12, `x_0 coefficient ${t}`);
      close(p.meanCoefXNext[t]!, (variance * Math.sqrt(alpha)) / beta, 1e-12, `x_{t+1} coefficient ${t}`);
    }
  });

  test("the sampling functions apply those coefficients per sample, with the caller's noise", () => {
    const shape = [3, 4, 4, 1];
    const n = 48;
    const x0 = tf.tensor(seeded(n, 1), shape);
    const e1 = tf.tensor(seeded(n, 2), shape);
    const e2 = tf.tensor(seeded(n, 3), shape);
    const e3 = tf.tensor(seeded(n, 4), shape);
    const t = [0, 2, 3];
    const before = liveCounts();
    const xk = qSample(s, x0, [4, 1, 0], e1);
    const { xt, xNext } = qSamplePair(s, x0, t, e1, e2);
    const mean = posteriorMean(s, x0, xNext, t);
    const draw = samplePosterior(s, x0, xNext, t, e3);
    const [X0, E1, E2, E3] = [seeded(n, 1), seeded(n, 2), seeded(n, 3), seeded(n, 4)];
    const exp = { xk: new Float32Array(n), xt: new Float32Array(n), xNext: new Float32Array(n), mean: new Float32Array(n), draw: new Float32Array(n) };
    for (let i = 0; i < n; i++) {
      const b = Math.floor(i / 16);
      const k = [4, 1, 0][b]!;
      // beta_0 = 1e-8 scales every marginal by 1 - 1e-8 (x_0 itself gets noise of scale 1e-4).
      const ak = (1 - 1e-8) * (alphaBar(time(k)) / alphaBar(time(0)));
      exp.xk[i] = Math.sqrt(ak) * X0[i]! + Math.sqrt(1 - ak) * E1[i]!;
      const tb = t[b]!;
      const a = (1 - 1e-8) * (alphaBar(time(tb)) / alphaBar(time(0)));
      exp.xt[i] = Math.sqrt(a) * X0[i]! + Math.sqrt(1 - a) * E1[i]!;
      const beta = s.betas[tb + 1]!;
      exp.xNext[i] = Math.sqrt(1 - beta) * exp.xt[i]! + Math.sqrt(beta) * E2[i]!;
      const p = s.posterior;
      exp.mean[i] = p.meanCoefX0[tb]! * X0[i]! + p.meanCoefXNext[tb]! * exp.xNext[i]!;
      exp.draw[i] = exp.mean[i]! + (tb === 0 ? 0 : Math.sqrt(p.variance[tb]!)) * E3[i]!;
    }
    assertClose(xk.dataSync(), exp.xk, 1e-5, "q(x_k | x_0)");
    assertClose(xt.dataSync(), exp.xt, 1e-5, "x_t of the pair");
    assertClose(xNext.dataSync(), exp.xNext, 1e-5, "x_{t+1} of the pair");
    assertClose(mean.dataSync(), exp.mean, 1e-5, "posterior mean");
    assertClose(draw.dataSync(), exp.draw, 1e-5, "posterior draw (no noise at t = 0)");
    tf.dispose([xk, xt, xNext, mean, draw]);
    assert.deepEqual(liveCounts(), before, "the functions leave only their results");
    assert.throws(() => qSamplePair(s, x0, [0, 4, 1], e1, e2), /time step 4 is not a whole number in 0..3/);
    tf.dispose([x0, e1, e2, e3]);
  });
});

describe("networks", () => {
  test("the time embedding is the plain sinusoid of t", () => {
    const dim = 10;
    const t = [0, 1, 3, 2.5];
    const e = timestepEmbedding(t, dim);
    assert.deepEqual(e.shape, [4, dim]);
    const want = new Float32Array(4 * dim);
    t.forEach((ti, i) => {
      for (let k = 0; k < 5; k++) {
        // frequencies from 1 down to 1 / 10000, geometrically
        const w = 1 / 10000 ** (k / 4);
        want[i * dim + k] = Math.sin(ti * w);
        want[i * dim + 5 + k] = Math.cos(ti * w);
      }
    });
    assertClose(e.dataSync(), want, 1e-6, "sinusoid");
    e.dispose();
  });

  test("generator and discriminator shapes; the generator's x_0 lies in (-1, 1)", () => {
    const rng = new Rng("shapes");
    const g = new DiffusionGenerator({ inChannels: 2, outChannels: 1, channels: 8, channelMult: [1, 2, 2], resBlocks: 1, nz: 6, zEmbDim: 12, mappingLayers: 2, zeroInit: false }, rng);
    const d = new TimeDiscriminator({ imageChannels: 1, ndf: 4, levels: 3, tEmbDim: 8 }, rng);
    const before = liveCounts();
    const x = tf.tensor(seeded(2 * 16 * 16 * 2, 5), [2, 16, 16, 2]);
    const z = tf.tensor(seeded(12, 6), [2, 6]);
    const y = g.apply(x, [0, 3], z);
    assert.deepEqual(y.shape, [2, 16, 16, 1]);
    const v = y.dataSync();
    assert.ok(v.every((u) => u > -1 && u < 1) && new Set(v).size > 10, "a tanh output that depends on the input");
    const xt = tf.slice(x, [0, 0, 0, 0], [2, 16, 16, 1]);
    const logits = d.apply(xt, [1, 2], y);
    assert.deepEqual(logits.shape, [2, 1]);
    assert.ok([...logits.dataSync()].every(Number.isFinite));
    tf.dispose([x, z, y, xt, logits]);
    assert.deepEqual(liveCounts(), before, "no tensors left behind");
    const bad = tf.zeros([1, 14, 14, 2]);
    assert.throws(() => g.apply(bad, [0], tf.zeros([1, 6])), /multiples of 4/);
    bad.dispose();
    g.dispose();
    d.dispose();
  });

  test("the R1 penalty through the time-conditioned discriminator is positive with finite gradients", () => {
    const rng = new Rng("r1");
    const d = new TimeDiscriminator({ imageChannels: 1, ndf: 4, levels: 2, tEmbDim: 8, zeroInit: false }, rng);
    const xt = tf.tensor(seeded(2 * 8 * 8, 7), [2, 8, 8, 1]);
    const xNext = tf.tensor(seeded(2 * 8 * 8, 8), [2, 8, 8, 1]);
    const before = liveCounts();
    const { value, grads } = tf.variableGrads(() => r1Penalty(xt, (x) => d.apply(x, [0, 2], xNext)), d.parameters());
    const r1 = value.dataSync()[0]!;
    assert.ok(r1 > 0 && Number.isFinite(r1), `R1 ${r1}`);
    // Every weight but the last bias (a constant offset of the logit does not change dD/dx).
    const names = Object.keys(grads);
    assert.equal(names.length, d.parameters().length - 1, "every weight but the last bias gets a gradient");
    assert.ok(!names.includes(d.endLinear.bias!.name));
    let nonzero = 0;
    for (const g of Object.values(grads)) {
      const a = g.dataSync();
      assert.ok(a.every(Number.isFinite), "finite gradient");
      if (a.some((u) => u !== 0)) nonzero++;
    }
    // Biases whose only way to the logit is through leaky ReLUs and linear maps (final_conv's, the
    // last block's conv2's) have an exactly zero second-order gradient: dD/dx does not depend on them.
    assert.ok(nonzero >= names.length - 2, `${nonzero} of ${names.length} gradients are non-zero`);
    tf.dispose([value, ...Object.values(grads)]);
    assert.deepEqual(liveCounts(), before);
    tf.dispose([xt, xNext]);
    d.dispose();
  });
});

describe("the trainer", () => {
  const smoke = (over: Record<string, unknown> = {}) => resolveConfig("syndiff", "smoke", 2, { patch: [32, 32], ...over }) as SynDiffConfig;
  /** Seeded unpaired batches of 32x32 images in (-1, 1). */
  const batches = (n: number): TrainBatch[] =>
    Array.from({ length: n }, (_, i) => {
      const img = (seed: number) => ({ images: seeded(32 * 32, seed).map((v) => Math.tanh(2 * v)), shape: [1, 32, 32, 1], subjects: [] });
      return { source: img(100 + i), target: img(200 + i) };
    });
  const weights = (tr: SynDiffTrainer) => {
    const out = new Map<string, Buffer>();
    for (const [m, mod] of Object.entries(tr.modules())) for (const [n, v] of mod.namedParameters(`${m}.`)) out.set(n, Buffer.from(Float32Array.from(v.dataSync() as Float32Array).buffer));
    return out;
  };

  test("smoke steps give finite losses, R1 once the discriminator has moved, and a live EMA", async () => {
    const tr = new SynDiffTrainer(smoke());
    const ema0 = tr.modules()["ema.G_diff_B"]!.namedParameters()[0]![1].dataSync().slice();
    const losses = [];
    for (const b of batches(3)) losses.push(await tr.step(b));
    for (const l of losses) for (const [k, v] of Object.entries(l)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
    assert.deepEqual(Object.keys(losses[0]!).sort(), ["D_diff_A", "D_diff_B", "D_nd_A", "D_nd_B", "G_diff_A", "G_diff_B", "G_nd_AB", "G_nd_BA", "L1_A", "L1_B", "R1_A", "R1_B", "cycle_A", "cycle_B"]);
    // The reference zero-initialises the discriminator's last conv, so R1 is 0 on the first step only.
    assert.ok(losses[2]!["R1_A"]! > 0 && losses[2]!["R1_B"]! > 0, `R1 ${losses[2]!["R1_A"]}, ${losses[2]!["R1_B"]}`);
    const live = tr.G_diff_B.namedParameters()[0]![1].dataSync();
    const ema = tr.modules()["ema.G_diff_B"]!.namedParameters()[0]![1].dataSync();
    // After 3 steps the EMA moved 1 - 0.999^3 of the way from its start towards the live weights (roughly).
    let moved = 0;
    for (let i = 0; i < ema.length; i++) moved += Math.abs(ema[i]! - ema0[i]!);
    assert.ok(moved > 0, "the EMA follows the generator");
    assert.ok([...ema].some((v, i) => v !== live[i]), "the EMA is not the live weights");
    tr.dispose();
  });

  test("a resumed trainer continues bit for bit: 4 straight steps == 2 + save + load + 2", async () => {
    // r1Every 2: the resumed trainer must know it is at step 2 to regularise there.
    const cfg = smoke({ r1Every: 2 });
    const data = batches(4);
    const straight = new SynDiffTrainer(cfg);
    const lossesStraight = [];
    for (const b of data) lossesStraight.push(await straight.step(b));
    const first = new SynDiffTrainer(cfg);
    for (const b of data.slice(0, 2)) await first.step(b);
    const dir = join(root, "resume-ckpt");
    await saveCheckpoint(dir, first, { step: 2 });
    first.dispose();
    const resumed = new SynDiffTrainer(cfg);
    await loadCheckpoint(dir, resumed);
    const lossesResumed = [];
    for (const b of data.slice(2)) lossesResumed.push(await resumed.step(b));
    assert.deepEqual(lossesResumed, lossesStraight.slice(2), "the same losses");
    assert.ok(lossesResumed[0]!["R1_A"]! > 0 && lossesResumed[1]!["R1_A"] === 0, "lazy R1 on step 2, not on step 3");
    const a = weights(straight);
    const b = weights(resumed);
    assert.deepEqual([...a.keys()], [...b.keys()]);
    assert.ok([...a.keys()].some((k) => k.startsWith("ema.")), "the EMA networks are saved");
    for (const [k, v] of a) assert.ok(v.equals(b.get(k)!), `${k} differs`);
    assert.deepEqual(resumed.extraState(), straight.extraState(), "Rng and step count");
    straight.dispose();
    resumed.dispose();
  });

  test("the live tensor count does not grow over steps; translate is deterministic, both ways, and leaves nothing", async () => {
    const tr = new SynDiffTrainer(smoke({ r1Every: 2 }));
    const counts: number[] = [];
    for (const b of batches(6)) {
      await tr.step(b);
      counts.push(tf.memory().numTensors);
    }
    assert.equal(counts[5], counts[1], `tensors: ${counts.join(",")}`);
    const x = tf.tensor(seeded(2 * 32 * 32, 9), [2, 32, 32, 1]);
    const rngBefore = tr.extraState();
    const before = liveCounts();
    const y1 = tr.translate(x);
    const y2 = tr.translate(x);
    const back = tr.translate(x, { reverse: true });
    assert.deepEqual(y1.shape, [2, 32, 32, 1]);
    assert.deepEqual(back.shape, [2, 32, 32, 1]);
    assert.ok(Buffer.from(y1.dataSync().buffer).equals(Buffer.from(y2.dataSync().buffer)), "the same output twice");
    assert.ok([...y1.dataSync()].every((v) => Number.isFinite(v) && v > -1.5 && v < 1.5));
    assert.ok([...back.dataSync()].some((v, i) => v !== y1.dataSync()[i]), "the reverse direction uses the other generator");
    tf.dispose([y1, y2, back]);
    assert.deepEqual(liveCounts(), before, "translate leaves no tensors behind");
    assert.deepEqual(tr.extraState(), rngBefore, "translate does not draw from the training Rng");
    x.dispose();
    tr.dispose();
  });

  test("trains through trainRun on the axon phantom (2D) and rejects 3D networks", async () => {
    const manifest = await writePhantom("axon", join(root, "axon"), { seed: 2, shape: [64, 64], counts: 2 });
    const out = join(root, "run");
    const r = await trainRun({ method: "syndiff", manifest, profile: "smoke", out, display: false });
    assert.equal(r.result.steps, 4);
    for (const v of Object.values(r.result.lastLosses ?? {})) assert.ok(Number.isFinite(v));
    const csv = readFileSync(join(out, "losses.csv"), "utf8").trim().split("\n");
    assert.equal(csv.length, 5);
    assert.ok(!csv.some((l) => l.includes("undefined")), "every step reports every loss");
    r.trainer.dispose();
    assert.throws(
      () => resolveConfig("syndiff", "smoke", 3, { patch: [16, 16, 8] }),
      (e: unknown) => e instanceof UnpairedError && e.code === "BAD_CONFIG" && /syndiff is 2D/.test(e.message),
    );
    assert.deepEqual(resolveConfig("syndiff", "quick", 3).patch, [64, 64], "3D data trains on 2D slices by default");
    assert.throws(() => resolveConfig("syndiff", "smoke", 2, { patch: [34, 34] }), /must be multiples of 4/);
  });
});
