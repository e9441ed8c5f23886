// The same training on two engines: 20 steps of CUT, CycleGAN and SynDiff at the smoke profile,
// from the same seed and data, on torch and on wasm. The engines sum in other orders (float32
// rounding ~1e-7 relative per op) and GAN training amplifies such differences, so the test
// states what must hold: every loss of every step agrees within TRAJECTORY_TOL relative (with an
// absolute floor of TRAJECTORY_TOL for losses near zero), and the final weights within
// WEIGHT_TOL of their scale. A wrong kernel shows up as a divergence from the first step (the
// tests of kernels show where). Then the checkpoints: a run trained on torch resumes on wasm,
// and one trained on wasm resumes on torch, on the trajectory it would have followed there.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writePhantom } from "../lib/data/phantoms/write.js";
import { initEngine, tf } from "../lib/engine/index.js";
import { trainRun } from "../lib/train/run.js";
import { decodeSafetensors } from "../lib/train/safetensors.js";
import { torchAvailable } from "./helpers.js";

const TRAJECTORY_TOL = 2e-3;
const WEIGHT_TOL = 2e-3;

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

function compareLosses(a: Record<string, number>[], b: Record<string, number>[], what: string): number {
  assert.equal(a.length, b.length, `${what}: steps`);
  let worst = 0;
  a.forEach((la, i) => {
    for (const [k, v] of Object.entries(la)) {
      const w = b[i]![k]!;
      const d = Math.abs(v - w) / Math.max(1, Math.abs(w));
      worst = Math.max(worst, d);
      assert.ok(d <= TRAJECTORY_TOL, `${what}: step ${i + 1} loss ${k}: torch ${v}, wasm ${w}`);
    }
  });
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
      assert.deepEqual([...wt.keys()].sort(), [...ww.keys()].sort());
      for (const [name, a] of wt) {
        const b = ww.get(name)!;
        let scale = 0, diff = 0;
        for (let i = 0; i < a.length; i++) {
          scale = Math.max(scale, Math.abs(b[i]!));
          diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
        }
        assert.ok(diff <= WEIGHT_TOL * Math.max(scale, 1e-3), `${c.method}: weight ${name} differs by ${diff} (scale ${scale})`);
      }
      t.diagnostic(`${c.method}: worst relative loss difference over 20 steps ${worst.toExponential(2)}`);
    });
  }
});

describe("checkpoints do not depend on the engine", () => {
  test("trained 10 steps on torch, resumed on wasm (and the reverse): the same 20 steps as straight through", async (t) => {
    if (skip) return t.skip(skip);
    const c = cases[0]!;
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
      compareLosses(head, straightFirst.slice(0, 10), `${first} head`);
      compareLosses(tail, straightSecond.slice(10), `${first} -> ${second} tail`);
    }
    tf.disposeVariables();
  });
});
