// Writing phantoms: files on disk are the generators' volumes (ear images as scanner integers),
// re-runs are byte-identical, the manifests validate, and the manifests shipped in
// data-manifests/ are exactly what the code lists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadManifest, selectSubjects } from "../lib/data/manifest.js";
import { loadOrGeneratePhantom, phantomPlan, PHANTOM_KINDS, shippedPhantomManifest, writePhantom } from "../lib/data/phantoms/write.js";
import { earSubject } from "../lib/data/phantoms/ear.js";
import { axonSample } from "../lib/data/phantoms/axon.js";
import { readNifti, readNiftiLabels } from "../lib/volume/niftiRead.js";
import { UnpairedError } from "../lib/util/errors.js";

const MANIFESTS = new URL("../data-manifests/", import.meta.url).pathname;
const small = { seed: 9, shape: [32, 32, 12], counts: { source: 3, target: 2, targetTest: 1 } };

test("the ear phantom on disk: what the generator draws, labels exact, images rounded like a scanner's", async () => {
  const dir = mkdtempSync(join(tmpdir(), "unpaired-ph-"));
  const events: number[] = [];
  const path = await writePhantom("crossmoda", dir, { ...small, onProgress: (e) => events.push(e.done) });
  assert.deepEqual(events, [1, 2, 3, 4, 5, 6]);
  const d = await loadManifest(path);
  assert.equal(d.subjects.length, 6);
  assert.deepEqual(selectSubjects(d, { trainingLabels: true }).map((s) => s.domain), ["source", "source", "source"]);
  const heldOut = selectSubjects(d, { role: "target", split: "train" });
  assert.ok(heldOut.every((s) => s.labelUse === "evaluation" && s.trueStyle), "target labels are for evaluation only");
  for (const [k, s] of d.subjects.entries()) {
    const ref = earSubject(k, small);
    assert.equal(s.id, ref.id);
    assert.equal(s.trueStyle, ref.trueStyle);
    const img = await readNifti(s.image);
    const lab = await readNiftiLabels(s.label!);
    assert.equal(img.header.datatype, "int16");
    assert.deepEqual(lab.data, ref.label.data);
    let worst = 0;
    for (let i = 0; i < img.data.length; i++) worst = Math.max(worst, Math.abs(img.data[i]! - ref.image.data[i]!));
    assert.ok(worst <= 0.5, `${s.id}: rounding moved a voxel by ${worst}`);
    assert.deepEqual(img.spacing, [0.41, 0.41, 1].map(Math.fround));
  }
});

test("re-running with the same seed reproduces every file byte for byte; another seed does not", async () => {
  const root = mkdtempSync(join(tmpdir(), "unpaired-ph-"));
  for (const kind of PHANTOM_KINDS) {
    const opts = kind === "crossmoda" ? small : { seed: 4, counts: 2, shape: [40, 36] };
    await writePhantom(kind, join(root, `${kind}-1`), opts);
    await writePhantom(kind, join(root, `${kind}-2`), opts);
    await writePhantom(kind, join(root, `${kind}-3`), { ...opts, seed: 5 });
    const files = readdirSync(join(root, `${kind}-1`)).sort();
    assert.deepEqual(readdirSync(join(root, `${kind}-2`)).sort(), files);
    let differs = 0;
    for (const f of files) {
      const a = readFileSync(join(root, `${kind}-1`, f));
      assert.deepEqual(readFileSync(join(root, `${kind}-2`, f)), a, `${kind}: ${f}`);
      if (f.endsWith(".nii.gz") && !readFileSync(join(root, `${kind}-3`, f)).equals(a)) differs++;
    }
    assert.ok(differs > files.length / 2, `${kind}: another seed changed only ${differs} files`);
    rmSync(join(root, `${kind}-3`), { recursive: true });
  }
});

test("axon and toy files hold the generators' images and labels", async () => {
  const dir = mkdtempSync(join(tmpdir(), "unpaired-ph-"));
  const d = await loadManifest(await writePhantom("axon", dir, { seed: 2, counts: 2, shape: [48, 40] }));
  assert.deepEqual(Object.keys(d.domains), ["tem", "tem-species2", "sem", "brightfield"]);
  const sem = d.subjects.find((s) => s.domain === "sem")!;
  const ref = axonSample("sem", 0, { seed: 2, count: 2, shape: [48, 40] });
  assert.deepEqual((await readNifti(sem.image)).data, ref.image.data);
  assert.deepEqual((await readNiftiLabels(sem.label!)).data, ref.label.data);
  assert.equal(sem.labelUse, "evaluation");
  const toy = await loadManifest(await writePhantom("toy", join(dir, "toy"), { seed: 2, counts: 1 }));
  const labels = await readNiftiLabels(toy.subjects[0]!.label!);
  assert.ok([...labels.data].every((v) => v === 0 || v === 1), "toy masks on disk are object/background");
});

test("the shipped phantom manifests are what the code lists, and a fresh clone generates their files on first use", async () => {
  for (const kind of PHANTOM_KINDS) {
    const m = shippedPhantomManifest(kind);
    const onDisk = JSON.parse(readFileSync(join(MANIFESTS, `${m.id}.json`), "utf8"));
    assert.deepEqual(onDisk, m, `data-manifests/${m.id}.json is stale: run npx tsx scripts/manifests.ts`);
  }
  assert.equal(phantomPlan("crossmoda").manifest.subjects!.length, 144);
  const root = mkdtempSync(join(tmpdir(), "unpaired-ph-"));
  const copy = join(root, "toy.json");
  const m = { ...shippedPhantomManifest("toy"), dataRoot: "./toy-data" };
  m.generator = { ...m.generator!, options: { ...m.generator!.options, count: 1 } };
  m.subjects = m.subjects!.filter((s) => s.id.endsWith("_0000"));
  writeFileSync(copy, JSON.stringify(m));
  let calls = 0;
  // A fresh clone: no UNPAIRED_PHANTOMS (the suite's setup sets one), so the manifest's own dataRoot.
  const shared = process.env["UNPAIRED_PHANTOMS"];
  delete process.env["UNPAIRED_PHANTOMS"];
  try {
    const d = await loadOrGeneratePhantom(copy, { onProgress: () => calls++ });
    assert.equal(d.subjects.length, 6);
    assert.equal(d.root, join(root, "toy-data"));
    assert.equal(calls, 6);
    await loadOrGeneratePhantom(copy, { onProgress: () => calls++ });
    assert.equal(calls, 6, "the second load finds the files");
  } finally {
    if (shared !== undefined) process.env["UNPAIRED_PHANTOMS"] = shared;
  }
});

test("UNPAIRED_PHANTOMS moves generated phantoms out of the project, one folder per generator setting", async () => {
  const root = mkdtempSync(join(tmpdir(), "unpaired-ph-"));
  const shared = join(root, "phantoms");
  const write = (count: number) => {
    const m = { ...shippedPhantomManifest("toy"), dataRoot: "./toy-data" };
    m.generator = { ...m.generator!, options: { ...m.generator!.options, count } };
    m.subjects = m.subjects!.filter((s) => Number(s.id.slice(-4)) < count);
    const path = join(root, `toy-${count}.json`);
    writeFileSync(path, JSON.stringify(m));
    return path;
  };
  const before = process.env["UNPAIRED_PHANTOMS"];
  process.env["UNPAIRED_PHANTOMS"] = shared;
  try {
    const one = await loadOrGeneratePhantom(write(1));
    const two = await loadOrGeneratePhantom(write(2));
    assert.ok(one.root.startsWith(shared + "/toy-phantom-") && two.root.startsWith(shared + "/toy-phantom-"), `${one.root}, ${two.root}`);
    assert.notEqual(one.root, two.root, "other generator options, another folder");
    assert.equal(two.subjects.length, 12);
    assert.ok(!existsSync(join(root, "toy-data")), "the manifest's own dataRoot is left alone");
    // An explicit data root still wins.
    const given = await loadOrGeneratePhantom(write(1), { dataRoot: join(root, "given") });
    assert.equal(given.root, join(root, "given"));
  } finally {
    if (before === undefined) delete process.env["UNPAIRED_PHANTOMS"];
    else process.env["UNPAIRED_PHANTOMS"] = before;
  }
});

test("bad phantom options are clear errors", () => {
  assert.throws(() => phantomPlan("crossmoda", { counts: { sources: 3 } }), (e: unknown) => e instanceof UnpairedError && /unknown count "sources"; its parts are source, target, targetTest/.test(e.message));
  assert.throws(() => phantomPlan("axon", { counts: { tem: 3 } }), /axon phantom: --count is one number/);
  assert.throws(() => phantomPlan("crossmoda", { shape: [64, 64] }), /shape must be three whole numbers/);
});
