// trainRun's optional training hooks. transformBatch (online augmentation): called once per step,
// in order, on the loader's batches; an identity transform trains exactly as no transform; a
// transform that changes the images changes the losses; a resumed run keeps calling it.
// foregroundProbability: a segmenter's patches are placed on labels with its config's probability.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writePhantom } from "../../lib/data/phantoms/write.js";
import { trainRun } from "../../lib/train/run.js";
import type { TrainBatch } from "../../lib/methods/trainer.js";
import { startSuiteEngine } from "../helpers.js";

const root = mkdtempSync(join(tmpdir(), "unpaired-transform-"));
let ear = "";
const overrides = { patch: [16, 16, 8], base: 4 };
const losses = (dir: string) => readFileSync(join(dir, "losses.csv"), "utf8").split("\n").slice(1).map((l) => l.split(",").filter((_, i) => i !== 2).join(","));

before(async () => {
  await startSuiteEngine();
  ear = await writePhantom("crossmoda", join(root, "ear"), { seed: 5, shape: [32, 32, 16], counts: { source: 3, target: 3, targetTest: 1 } });
});

test("transformBatch: once per step on labelled batches; identity trains exactly as none; other images other losses", async () => {
  const plain = await trainRun({ method: "segmenter", manifest: ear, profile: "smoke", out: join(root, "plain"), overrides, display: false });
  plain.trainer.dispose();
  const seen: TrainBatch[] = [];
  const ident = await trainRun({ method: "segmenter", manifest: ear, profile: "smoke", out: join(root, "identity"), overrides, display: false, transformBatch: (b) => (seen.push(b), b) });
  ident.trainer.dispose();
  assert.equal(seen.length, 4, "one call per step");
  for (const b of seen) {
    assert.ok(b.source.labels, "segmenter batches carry their labels");
    assert.equal(b.source.shape.length, 5);
  }
  assert.deepEqual(losses(join(root, "identity")), losses(join(root, "plain")), "identity transform = default behaviour");
  const neg = await trainRun({
    method: "segmenter",
    manifest: ear,
    profile: "smoke",
    out: join(root, "negated"),
    overrides,
    display: false,
    transformBatch: async (b) => ({ ...b, source: { ...b.source, images: b.source.images.map((v) => -v) } }),
  });
  neg.trainer.dispose();
  assert.notDeepEqual(losses(join(root, "negated")), losses(join(root, "plain")), "the step trains on the transformed images");
});

test("transformBatch: a resumed run calls it for the remaining steps and ends where a straight run ends", async () => {
  const t = (b: TrainBatch) => ({ ...b, source: { ...b.source, images: b.source.images.map((v) => 0.5 * v) } });
  const straight = await trainRun({ method: "segmenter", manifest: ear, profile: "smoke", out: join(root, "straight"), overrides, display: false, transformBatch: t });
  straight.trainer.dispose();
  const stop = new AbortController();
  let calls = 0;
  const first = await trainRun({
    method: "segmenter",
    manifest: ear,
    profile: "smoke",
    out: join(root, "resumed"),
    overrides,
    display: false,
    checkpointEvery: 1,
    signal: stop.signal,
    onStep: (i) => i.step === 2 && stop.abort(),
    transformBatch: (b) => (calls++, t(b)),
  });
  first.trainer.dispose();
  assert.equal(first.result.stopped, "interrupted");
  assert.equal(calls, 2);
  const rest = await trainRun({ method: "segmenter", manifest: ear, profile: "smoke", out: join(root, "resumed"), resume: true, display: false, transformBatch: (b) => (calls++, t(b)) });
  rest.trainer.dispose();
  assert.equal(calls, 4);
  assert.deepEqual(losses(join(root, "resumed")), losses(join(root, "straight")));
});

test("foregroundProbability: a segmenter's patches are placed on labels with its config's probability", async () => {
  const hasForeground = (b: TrainBatch) => b.source.labels!.some((v) => v > 0);
  const draw = async (p: number, name: string) => {
    const seen: TrainBatch[] = [];
    const r = await trainRun({
      method: "segmenter",
      manifest: ear,
      profile: "smoke",
      out: join(root, name),
      overrides: { ...overrides, patch: [8, 8, 4], constantSteps: 16, decaySteps: 0, foregroundProbability: p },
      display: false,
      transformBatch: (b) => (seen.push(b), b),
    });
    r.trainer.dispose();
    return seen;
  };
  const always = await draw(1, "fg-1");
  assert.equal(always.length, 16);
  assert.ok(always.every(hasForeground), "probability 1: every patch holds a labelled voxel");
  const never = await draw(0, "fg-0");
  assert.ok(never.filter(hasForeground).length < 16, "probability 0: uniform placement misses the small structures");
});
