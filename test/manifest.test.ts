// Manifests: schema problems and file problems are all reported together and name what is
// wrong; discovery finds a CrossMoDA-style download by file-name patterns; the shipped
// manifests and JSON Schema are valid and in sync with the code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadManifest, manifestJsonSchema, parseManifest, resolveManifest, selectSubjects, writeManifest, type Manifest } from "../lib/data/manifest.js";
import { writeNiftiSync } from "../lib/volume/niftiWrite.js";
import { makeLabelVolume, makeVolume } from "../lib/volume/volume.js";
import { UnpairedError } from "../lib/util/errors.js";

const MANIFESTS = new URL("../data-manifests/", import.meta.url).pathname;

function problems(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof UnpairedError, String(err));
    assert.equal(err.code, "BAD_MANIFEST");
    return err.message;
  }
  assert.fail("expected a BAD_MANIFEST error");
}

async function problemsAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof UnpairedError, String(err));
    assert.equal(err.code, "BAD_MANIFEST", err.message);
    return err.message;
  }
  assert.fail("expected a BAD_MANIFEST error");
}

const base = (): Manifest => ({
  id: "tiny",
  dimensions: 3,
  labels: { "0": "background", "1": "thing" },
  domains: {
    src: { role: "source", modality: "ceT1", sites: ["a", "b"] },
    tgt: { role: "target", modality: "T2", sites: ["c"] },
  },
  subjects: [
    { id: "s1", domain: "src", site: "a", image: "s1.nii.gz", label: "s1_seg.nii.gz", split: "train" },
    { id: "t1", domain: "tgt", site: "c", image: "t1.nii.gz", split: "train", trueStyle: "c-1" },
  ],
});

test("schema problems are listed together, each with its place", () => {
  const m = base() as unknown as Record<string, unknown>;
  m["dimensions"] = 4;
  (m["subjects"] as Record<string, unknown>[])[0]!["split"] = "training";
  (m["subjects"] as Record<string, unknown>[])[1]!["image"] = 7;
  m["extra"] = true;
  const msg = problems(() => parseManifest(m, "bad.json"));
  assert.match(msg, /^bad\.json: 4 problem\(s\):/);
  assert.match(msg, /- dimensions: /);
  assert.match(msg, /- subjects\.0\.split: /);
  assert.match(msg, /- subjects\.1\.image: /);
  assert.match(msg, /Unrecognized key.*extra/);
});

test("consistency problems: duplicate ids, unknown domain, unknown site, no background", () => {
  const m = base();
  m.subjects!.push({ id: "s1", domain: "src", site: "z", image: "x.nii", split: "test" });
  m.subjects!.push({ id: "s9", domain: "nowhere", site: "a", image: "y.nii", split: "test" });
  m.labels = { "1": "thing" };
  const msg = problems(() => parseManifest(m, "m.json"));
  assert.match(msg, /4 problem/);
  assert.match(msg, /subjects\.2 \(s1\): duplicate id, also subjects\.0/);
  assert.match(msg, /subjects\.2 \(s1\): unknown site "z" for domain src \(its sites: a, b\)/);
  assert.match(msg, /subjects\.3 \(s9\): unknown domain "nowhere"/);
  assert.match(msg, /labels: needs an entry for 0/);
});

function tinyFiles(dir: string, opts: { labelShape?: number[]; labelShift?: number } = {}): void {
  const affine = [[0.5, 0, 0, 1], [0, 0.5, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]];
  writeNiftiSync(join(dir, "s1.nii.gz"), makeVolume(new Float32Array(24), [4, 3, 2], [0.5, 0.5, 1], affine));
  const ls = opts.labelShape ?? [4, 3, 2];
  const la = affine.map((r, i) => (i === 0 ? [r[0]!, r[1]!, r[2]!, r[3]! + (opts.labelShift ?? 0)] : r));
  writeNiftiSync(join(dir, "s1_seg.nii.gz"), makeLabelVolume(new Uint8Array(ls.reduce((a, b) => a * b)), ls, [0.5, 0.5, 1], la));
  writeNiftiSync(join(dir, "t1.nii.gz"), makeVolume(new Float32Array(24), [4, 3, 2], [0.5, 0.5, 1], affine));
}

test("resolving: paths, label roles and filters", async () => {
  const dir = mkdtempSync(join(tmpdir(), "unpaired-man-"));
  tinyFiles(dir);
  const m = base();
  m.dataRoot = ".";
  const path = join(dir, "tiny.json");
  await writeManifest(path, m);
  const d = await loadManifest(path);
  assert.equal(d.root, dir);
  assert.equal(d.subjects[0]!.image, join(dir, "s1.nii.gz"));
  assert.equal(d.subjects[0]!.labelUse, "training", "a source label trains by default");
  assert.equal(d.subjects[1]!.role, "target");
  assert.deepEqual(selectSubjects(d, { role: "source", trainingLabels: true }).map((s) => s.id), ["s1"]);
  assert.deepEqual(selectSubjects(d, { site: ["c"], split: "train" }).map((s) => s.id), ["t1"]);
  assert.deepEqual(selectSubjects(d, { labelled: true, domain: "tgt" }), []);
  assert.equal(d.labels[1], "thing");
});

test("file problems are all reported before any work: missing files, shape and affine mismatch", async () => {
  const dir = mkdtempSync(join(tmpdir(), "unpaired-man-"));
  tinyFiles(dir, { labelShape: [4, 3, 3] });
  const m = base();
  m.subjects!.push({ id: "gone", domain: "tgt", site: "c", image: "gone.nii.gz", label: "gone_seg.nii.gz", split: "test" });
  let msg = await problemsAsync(resolveManifest(m, { dataRoot: dir }));
  assert.match(msg, /subject gone: image .*gone\.nii\.gz is missing/);
  assert.match(msg, /subject gone: label .*gone_seg\.nii\.gz is missing/);
  m.subjects!.pop();
  msg = await problemsAsync(resolveManifest(m, { dataRoot: dir }));
  assert.match(msg, /subject s1: image shape \[4,3,2\] and label shape \[4,3,3\] differ/);
  const dir2 = mkdtempSync(join(tmpdir(), "unpaired-man-"));
  tinyFiles(dir2, { labelShift: 2 });
  msg = await problemsAsync(resolveManifest(base(), { dataRoot: dir2 }));
  assert.match(msg, /subject s1: image and label affines differ by up to 2\.0000 mm/);
  writeFileSync(join(dir2, "t1.nii.gz"), "not an image at all, but long enough to look like a file.".repeat(10));
  msg = await problemsAsync(resolveManifest(base(), { dataRoot: dir2 }));
  assert.match(msg, /2 problem/);
  assert.match(msg, /t1\.nii\.gz: not a NIfTI file/);
  msg = await problemsAsync(resolveManifest(base(), { dataRoot: join(dir2, "nope") }));
  assert.match(msg, /the data root .*nope is not a folder/);
  msg = await problemsAsync(resolveManifest(base()));
  assert.match(msg, /no data root; pass --data-root DIR/);
});

test("crossmoda2023.json finds a download by file names, at any folder depth", async () => {
  const root = mkdtempSync(join(tmpdir(), "unpaired-cm-"));
  const vol = makeVolume(new Float32Array(8), [2, 2, 2], [0.41, 0.41, 1]);
  const lab = makeLabelVolume(new Uint8Array(8), [2, 2, 2], [0.41, 0.41, 1]);
  const files: [string, "img" | "lab"][] = [
    ["training/source/crossmoda2023_etz_1_ceT1.nii.gz", "img"],
    ["training/source/crossmoda2023_etz_1_Label.nii.gz", "lab"],
    ["training/source/crossmoda2023_ukm_12_ceT1.nii.gz", "img"],
    ["training/source/crossmoda2023_ukm_12_Label.nii.gz", "lab"],
    ["training/target/crossmoda2023_ldn_7_T2.nii.gz", "img"],
    ["training/target/crossmoda2023_etz_300_T2.nii.gz", "img"],
    ["training/target/notes.txt", "img"],
  ];
  for (const [f, kind] of files) {
    if (f.endsWith(".txt")) {
      writeFileSync(join(root, f), "hello");
      continue;
    }
    writeNiftiSync(join(root, f), kind === "img" ? vol : lab);
  }
  const d = await loadManifest(join(MANIFESTS, "crossmoda2023.json"), { dataRoot: root });
  assert.deepEqual(d.subjects.map((s) => `${s.id} ${s.domain} ${s.site} ${s.label ? "labelled" : "-"}`).sort(), [
    "crossmoda2023_etz_1_ceT1 source etz labelled",
    "crossmoda2023_etz_300_T2 target etz -",
    "crossmoda2023_ldn_7_T2 target ldn -",
    "crossmoda2023_ukm_12_ceT1 source ukm labelled",
  ]);
  assert.deepEqual(d.labels, { 0: "background", 1: "intra-meatal VS", 2: "extra-meatal VS", 3: "cochlea" });
  // A source scan whose label is missing, and an empty root, are both reported.
  writeNiftiSync(join(root, "training/source/crossmoda2023_ldn_3_ceT1.nii.gz"), vol);
  const msg = await problemsAsync(loadManifest(join(MANIFESTS, "crossmoda2023.json"), { dataRoot: root }));
  assert.match(msg, /subject crossmoda2023_ldn_3_ceT1: label .*crossmoda2023_ldn_3_Label\.nii\.gz is missing/);
  const empty = mkdtempSync(join(tmpdir(), "unpaired-cm-"));
  const none = await problemsAsync(loadManifest(join(MANIFESTS, "crossmoda2023.json"), { dataRoot: empty }));
  assert.match(none, /2 problem/);
  assert.match(none, /no file under .* matches crossmoda2023_\{site\}_\{n\}_ceT1\.nii\.gz\. Is --data-root the folder you downloaded crossmoda2023 into\?/);
});

test("every shipped manifest passes the schema, and manifest.schema.json matches the code", () => {
  const shipped = readdirSync(MANIFESTS).filter((f) => f.endsWith(".json") && f !== "manifest.schema.json");
  assert.ok(shipped.includes("crossmoda2023.json"));
  for (const f of shipped) parseManifest(JSON.parse(readFileSync(join(MANIFESTS, f), "utf8")), f);
  const onDisk = JSON.parse(readFileSync(join(MANIFESTS, "manifest.schema.json"), "utf8"));
  assert.deepEqual(onDisk, manifestJsonSchema(), "run: npx tsx scripts/manifests.ts to regenerate data-manifests/");
});
