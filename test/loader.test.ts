// Loaders: batches in tensor layout, seeded and resumable; labels only where allowed; volumes read
// once and kept within the memory budget; the style-contrastive sample has the promised parts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { batchTensors, unpairedLoader, PatchSampler, stackPatches, styleContrastiveBatch, styleContrastiveSample, UnpairedLoader, VolumeStore, type SubjectReader } from "../lib/data/loader.js";
import type { Dataset, Subject } from "../lib/data/manifest.js";
import { trainingAugmentation } from "../lib/data/augment.js";
import { Rng } from "../lib/util/random.js";
import { makeLabelVolume, makeVolume } from "../lib/volume/volume.js";
import { writeNiftiSync } from "../lib/volume/niftiWrite.js";
import { tf } from "../lib/engine/tf.js";
import { UnpairedError } from "../lib/util/errors.js";

const SHAPE = [6, 5, 4];
const ramp = (offset: number) => Float32Array.from({ length: 120 }, (_, i) => offset + (i % 6) + 10 * (Math.floor(i / 6) % 5) + 100 * Math.floor(i / 30));

function subject(id: string, role: "source" | "target", label: "training" | "evaluation" | undefined): Subject {
  return {
    id, domain: role, role, modality: role === "source" ? "ceT1" : "T2", site: "a", split: "train", image: `${id}.nii.gz`,
    ...(label ? { label: `${id}_seg.nii.gz`, labelUse: label } : {}),
  };
}

function memoryReader(): { read: SubjectReader; reads: string[] } {
  const reads: string[] = [];
  const read: SubjectReader = async (s, withLabel) => {
    reads.push(`${s.id}${withLabel ? "+L" : ""}`);
    const offset = Number(s.id.replace(/\D/g, "")) * 1000;
    const image = makeVolume(ramp(offset), SHAPE);
    if (!withLabel) return { image };
    return { image, label: makeLabelVolume(Uint8Array.from({ length: 120 }, (_, i) => (i % 6 === 2 ? 1 : 0)), SHAPE) };
  };
  return { read, reads };
}

const sources = [subject("s1", "source", "training"), subject("s2", "source", "training")];
const targets = [subject("t1", "target", "evaluation"), subject("t2", "target", undefined), subject("t3", "target", undefined)];

test("unpaired batches: tensor layout [b, d, h, w, 1], voxel (x, y, z) at [z, y, x], labels beside", async () => {
  const { read } = memoryReader();
  const store = new VolumeStore({ read, preprocess: { normalise: "none" } });
  const loader = new UnpairedLoader(store, { source: { subjects: sources, labels: "training" }, target: { subjects: targets }, patch: [3, 2, 4], batchSize: 2, seed: 5 });
  const { source, target } = await loader.next();
  assert.deepEqual(source.shape, [2, 4, 2, 3, 1]);
  assert.deepEqual(target.shape, [2, 4, 2, 3, 1]);
  assert.equal(source.labels!.length, 2 * 24);
  assert.equal(target.labels, undefined);
  // Within each patch, one step in x adds 1, in y 10, in z 100 (the ramp), in tensor order.
  for (const b of [source, target]) {
    for (let k = 0; k < 2; k++) {
      const at = (z: number, y: number, x: number) => b.images[k * 24 + z * 6 + y * 3 + x]!;
      assert.equal(at(0, 0, 1) - at(0, 0, 0), 1);
      assert.equal(at(0, 1, 0) - at(0, 0, 0), 10);
      assert.equal(at(1, 0, 0) - at(0, 0, 0), 100);
    }
  }
  // Labels travel with their voxels: label 1 exactly where the ramp's x is 2.
  for (let i = 0; i < 48; i++) assert.equal(source.labels![i], source.images[i]! % 10 === 2 ? 1 : 0);
  const { x, y } = batchTensors(source);
  assert.deepEqual(x.shape, [2, 4, 2, 3, 1]);
  assert.deepEqual(y!.shape, [2, 4, 2, 3]);
  assert.equal(y!.dtype, "int32");
  tf.dispose([x, y!]);
});

test("2D slices from 3D volumes; the same seed gives the same batches, and a saved state resumes them", async () => {
  const { read } = memoryReader();
  const store = new VolumeStore({ read });
  const make = (seed: number) => new UnpairedLoader(store, { source: { subjects: sources }, target: { subjects: targets }, patch: [4, 4], batchSize: 3, seed });
  const a = make(1);
  const b = make(1);
  const c = make(2);
  const first = await a.next();
  assert.deepEqual(first.source.shape, [3, 4, 4, 1]);
  assert.deepEqual(first.source.images, (await b.next()).source.images);
  assert.notDeepEqual(first.source.images, (await c.next()).source.images);
  // Percentile normalisation (the default) maps each volume onto [-1, 1].
  for (const v of first.source.images) assert.ok(v >= -1 && v <= 1);
  const state = a.getState();
  const expected = await a.next();
  const resumed = make(99);
  resumed.setState(state);
  const got = await resumed.next();
  assert.deepEqual(got.source.images, expected.source.images);
  assert.deepEqual(got.target.subjects.map((s) => s.id), expected.target.subjects.map((s) => s.id));
});

test("labels only where a method may train on them", () => {
  const store = new VolumeStore({ read: memoryReader().read });
  assert.throws(
    () => new PatchSampler(store, { subjects: targets, patch: [2, 2], labels: "training" }),
    (e: unknown) => e instanceof UnpairedError && /3 subject\(s\) have no training label \(e\.g\. t1\)/.test(e.message),
  );
  assert.throws(() => new PatchSampler(store, { subjects: [], patch: [2, 2] }), /no subjects to sample from/);
});

test("the store reads each volume once, shares concurrent reads, and evicts beyond its budget", async () => {
  const { read, reads } = memoryReader();
  const store = new VolumeStore({ read, maxBytes: 2 * 120 * 4 });
  await Promise.all([store.get(sources[0]!), store.get(sources[0]!), store.get(sources[0]!)]);
  assert.deepEqual(reads, ["s1"]);
  await store.get(sources[0]!);
  await store.get(targets[1]!);
  assert.equal(store.stats().entries, 2);
  await store.get(targets[2]!); // over budget: s1 (least recently used) leaves
  assert.equal(store.stats().entries, 2);
  assert.ok(store.stats().bytes <= 2 * 120 * 4);
  await store.get(sources[0]!);
  assert.deepEqual(reads, ["s1", "t2", "t3", "s1"]);
  await store.get(sources[0]!, true);
  assert.deepEqual(reads.at(-1), "s1+L", "with a label is a separate entry");
});

test("the default reader loads NIfTI files; augmentation applies to image and label together", async () => {
  const dir = mkdtempSync(join(tmpdir(), "unpaired-loader-"));
  const s: Subject = { ...subject("f1", "source", "training"), image: join(dir, "f1.nii.gz"), label: join(dir, "f1_seg.nii.gz") };
  writeNiftiSync(s.image, makeVolume(ramp(0), SHAPE));
  writeNiftiSync(s.label!, makeLabelVolume(Uint8Array.from({ length: 120 }, (_, i) => (i % 6 === 2 ? 1 : 0)), SHAPE));
  const store = new VolumeStore({ preprocess: { normalise: "none" } });
  const sampler = new PatchSampler(store, { subjects: [s], patch: [6, 5, 4], labels: "training", augment: trainingAugmentation({ flipAxes: [0], flipP: 1, scale: 0, shift: 0 }) });
  const p = await sampler.sample(new Rng(3));
  // Flipped along x (x' = 5 - x): the image's first voxel is the old x = 5 and the label moved to
  // x' = 3, still on the voxels whose ramp value says x = 2.
  const batch = stackPatches([p]);
  assert.equal(batch.images[0], 5);
  assert.equal(batch.labels![3], 1);
  assert.equal(batch.labels![2], 0);
  for (let i = 0; i < 120; i++) assert.equal(batch.labels![i], batch.images[i]! % 10 === 2 ? 1 : 0);
});

test("style-contrastive sample: query and positive from different places, N perturbed copies of the positive", () => {
  const image = makeVolume(Float32Array.from({ length: 16 * 16 * 8 }, (_, i) => Math.sin(i / 7)), [16, 16, 8]);
  const s = styleContrastiveSample(image, new Rng(11), { crop: [8, 8, 4], negatives: 12 });
  assert.notDeepEqual(s.queryStart, s.positiveStart);
  assert.equal(s.negatives.length, 12);
  // The positive is the image at positiveStart.
  const [px, py, pz] = s.positiveStart as [number, number, number];
  for (const [x, y, z] of [[0, 0, 0], [7, 3, 2], [5, 7, 3]] as const) {
    assert.equal(s.positive.data[x + 8 * (y + 8 * z)], image.data[px + x + 16 * (py + y + 16 * (pz + z))]);
  }
  s.negatives.forEach((n, i) => {
    assert.ok(s.records[i]!.fired.length >= 1, "every negative is perturbed");
    assert.notDeepEqual(n.data, s.positive.data);
    assert.deepEqual(n.shape, s.positive.shape);
  });
  const b = styleContrastiveBatch(s);
  assert.deepEqual(b.shape, [14, 4, 8, 8, 1]);
  assert.deepEqual(b.data.subarray(256, 512), s.positive.data);
  const again = styleContrastiveSample(image, new Rng(11), { crop: [8, 8, 4], negatives: 12 });
  assert.deepEqual(again.negatives.map((n) => n.data), s.negatives.map((n) => n.data));
});

test("a loader over a dataset: sub-domain filters pick the subjects, held-out labels never reach it", async () => {
  const { read } = memoryReader();
  const store = new VolumeStore({ read });
  const site = (s: Subject, name: string): Subject => ({ ...s, site: name });
  const dataset: Dataset = {
    id: "tiny", root: "/", dimensions: 3, labels: { 0: "bg", 1: "x" },
    domains: { source: { role: "source", modality: "ceT1", sites: ["a"] }, target: { role: "target", modality: "T2", sites: ["a", "b"] } },
    subjects: [...sources, site(targets[0]!, "b"), site(targets[1]!, "b"), targets[2]!],
  };
  const loader = unpairedLoader(store, dataset, { target: { site: "b" }, sourceLabels: true, patch: [2, 2, 2], batchSize: 4, seed: 1 });
  const { source, target } = await loader.next();
  assert.ok(target.subjects.every((s) => s.site === "b"));
  assert.ok(source.labels, "source labels when asked");
  assert.equal(target.labels, undefined);
  assert.throws(() => unpairedLoader(store, dataset, { target: { site: "z" }, patch: [2, 2], seed: 1 }), /tiny: no target subjects match \{"role":"target","split":"train","site":"z"\}/);
});
