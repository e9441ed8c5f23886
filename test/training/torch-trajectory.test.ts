// The same training on two engines: 20 steps of CUT, CycleGAN and SynDiff at the smoke profile,
// from the same seed, initial weights and batches, on torch and on wasm. The engines sum in other
// orders (float32 rounding ~1e-7 relative per op). The first step's losses therefore agree to
// FIRST_STEP_TOL: every network's forward and every loss. After it the trajectories part: Adam's
// first update moves every weight by about lr times the sign of its gradient, so a gradient
// element near zero whose sign the rounding flips moves a weight by 2 lr on one engine only,
// and GAN training amplifies that (measured: CUT's NCE differs 0.2 % at step 2, up to 20 % at a
// single later step). What must hold over the 20 steps is that they train alike: each loss's
// mean over the run agrees within MEAN_TOL. A wrong kernel shows at step 1 or moves the means
// (test/torch-kernels.test.ts says which kernel). Then the checkpoints: a run trained 10 steps
// on torch resumes on wasm, and one trained on wasm resumes on torch.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writePhantom } from "../../lib/data/phantoms/write.js";
import { initEngine, tf } from "../../lib/engine/index.js";
import { trainRun } from "../../lib/train/run.js";
import { decodeSafetensors } from "../../lib/train/safetensors.js";
import { torchAvailable } from "../helpers.js";

const FIRST_STEP_TOL = 1e-5;
const MEAN_TOL = 0.05;

const root = mkdtempSync(join(tmpdir(), "unpaired-trajectory-"));
let ear = "";
let axon = "";
let skip: string | false = false;

before(async () => {
  const t = await torchAvailable();
  skip = t.ok ? false : t.reason;
  ear = await writePhantom("crossmoda", join(root, "ear"), { seed: 5, shape: [32, 32, 16], counts: { source: 3, target: 4, targetTest: 1 } });
  axon = await writePhantom("axon", join(root, "axon"), { seed: 5, counts: 2, shape: [32, 32] });
});

const cases: { method: "cut" | "cyclegan" | "syndiff"; manifest: () => string; overrides: Record<string, unknown> }[] = [
  { method: "cut", manifest: () => ear, overrides: { patch: [16, 16, 8], ngf: 4, ndf: 4, numPatches: 16 } },
  { method: "cyclegan", manifest: () => ear, overrides: { patch: [16, 16, 8], ngf: 4, ndf: 4 } },
  { method: "syndiff", manifest: () => axon, overrides: { patch: [16, 16], ngf: 4, ndf: 4 } },
];

async function train(backend: "torch" | "wasm", method: string, manifest: string, overrides: Record<string, unknown>, out: string, steps: number, resume = false) {
  await initEngine({ backend, quiet: true });
  const losses: Record<string, number>[] = [];
  const r = await trainRun({
    method, manifest, profile: "smoke", out, resume, checkpointEvery: 10,
    overrides: { ...overrides, constantSteps: steps / 2, decaySteps: steps / 2 },
    onStep: (i) => losses.push({ ...i.losses }),
  });
  r.trainer.dispose();
  return losses;
}

/** Step 1 within FIRST_STEP_TOL (when `first`), each loss's mean over the steps within MEAN_TOL;
 * returns the largest relative difference of a mean. */
function compareLosses(a: Record<string, number>[], b: Record<string, number>[], what: string, first = true): number {
  assert.equal(a.length, b.length, `${what}: steps`);
  const rel = (x: number, y: number) => Math.abs(x - y) / Math.max(1e-3, Math.abs(y));
  if (first) {
    for (const [k, v] of Object.entries(a[0]!)) assert.ok(rel(v, b[0]![k]!) <= FIRST_STEP_TOL, `${what}: step 1 loss ${k}: ${v} vs ${b[0]![k]}`);
  }
  let worst = 0;
  for (const k of Object.keys(a[0]!)) {
    const mean = (l: Record<string, number>[]) => l.reduce((s, x) => s + x[k]!, 0) / l.length;
    const d = rel(mean(a), mean(b));
    worst = Math.max(worst, d);
    assert.ok(d <= MEAN_TOL, `${what}: mean of loss ${k} over ${a.length} steps: ${mean(a)} vs ${mean(b)}`);
  }
  return worst;
}

function weights(dir: string): Map<string, Float32Array> {
  const st = decodeSafetensors(readFileSync(join(dir, "checkpoint", "weights.safetensors")));
  const out = new Map<string, Float32Array>();
  for (const [name, t] of st.tensors) if (t.data instanceof Float32Array) out.set(name, t.data);
  return out;
}

describe("torch and wasm follow the same training trajectory (20 smoke steps)", () => {
  for (const c of cases) {
    test(c.method, async (t) => {
      if (skip) return t.skip(skip);
      const onTorch = await train("torch", c.method, c.manifest(), c.overrides, join(root, `${c.method}-torch`), 20);
      const onWasm = await train("wasm", c.method, c.manifest(), c.overrides, join(root, `${c.method}-wasm`), 20);
      const worst = compareLosses(onTorch, onWasm, c.method);
      const wt = weights(join(root, `${c.method}-torch`));
      const ww = weights(join(root, `${c.method}-wasm`));
      assert.deepEqual([...wt.keys()].sort(), [...ww.keys()].sort(), "the same weights are saved");
      for (const [name, a] of wt) assert.ok(a.every(Number.isFinite) && ww.get(name)!.every(Number.isFinite), `${c.method}: ${name} finite`);
      t.diagnostic(`${c.method}: largest relative difference of a loss's 20-step mean ${worst.toExponential(2)}`);
    });
  }
});

describe("checkpoints do not depend on the engine", () => {
  test("trained 10 steps on torch, resumed on wasm (and the reverse): the same 20 steps as straight through", async (t) => {
    if (skip) return t.skip(skip);
    const c = cases[1]!; // cyclegan: the least chaotic of the three over 10 steps
    for (const [first, second] of [["torch", "wasm"], ["wasm", "torch"]] as const) {
      const dir = join(root, `resume-${first}-${second}`);
      // Steps 1-10 of the 20-step run on the first engine (interrupted there: a shorter schedule
      // would be another run), then the rest on the second.
      await initEngine({ backend: first, quiet: true });
      const head: Record<string, number>[] = [];
      const controller = new AbortController();
      const r1 = await trainRun({
        method: c.method, manifest: c.manifest(), profile: "smoke", out: dir, checkpointEvery: 10, signal: controller.signal,
        overrides: { ...c.overrides, constantSteps: 10, decaySteps: 10 },
        onStep: (i) => {
          head.push({ ...i.losses });
          if (head.length === 10) controller.abort();
        },
      });
      r1.trainer.dispose();
      assert.equal(head.length, 10);
      const tail = await train(second, c.method, c.manifest(), c.overrides, dir, 20, true);
      assert.equal(tail.length, 10, `${first} -> ${second}: the resumed run takes the remaining 10 steps`);
      // The straight run on the second engine is the reference for the tail; on the first for the head.
      const straightFirst = await train(first, c.method, c.manifest(), c.overrides, join(root, `straight-${first}-${second}-a`), 20);
      const straightSecond = await train(second, c.method, c.manifest(), c.overrides, join(root, `straight-${first}-${second}-b`), 20);
      // The head is the same engine, seed and batches as the straight run: identical.
      assert.deepEqual(head, straightFirst.slice(0, 10), `${first}: the first 10 steps`);
      // The tail continues weights from the other engine (see above): it must train alike.
      compareLosses(tail, straightSecond.slice(10), `${first} -> ${second} tail`, false);
    }
    tf.disposeVariables();
  });
});
