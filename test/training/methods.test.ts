// Every method on the ear phantom at the smoke profile: trains, saves, resumes and translates;
// a resumed run continues the exact trajectory; a long run keeps its live tensor count; and a
// method/manifest mismatch is a clear error before any work starts.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writePhantom } from "../../lib/data/phantoms/write.js";
import { METHODS } from "../../lib/methods/config.js";
import { trainRun } from "../../lib/train/run.js";
import { translateFile } from "../../lib/inference/translate.js";
import { readNifti, readNiftiLabels } from "../../lib/volume/niftiRead.js";
import { tf } from "../../lib/engine/tf.js";
import { UnpairedError } from "../../lib/util/errors.js";
import { startSuiteEngine } from "../helpers.js";

const root = mkdtempSync(join(tmpdir(), "unpaired-methods-"));
let ear = "";
let toy = "";

before(async () => {
  await startSuiteEngine();
  ear = await writePhantom("crossmoda", join(root, "ear"), { seed: 3, shape: [32, 32, 16], counts: { source: 3, target: 6, targetTest: 1 } });
  toy = await writePhantom("toy", join(root, "toy"), { seed: 3, counts: 2, shape: [32, 32] });
});

const small = { patch: [16, 16, 8], ngf: 4, ndf: 4, numPatches: 16 };

describe("every method trains, saves, resumes and translates (smoke profile, ear phantom)", () => {
  for (const method of METHODS) {
    test(method, async () => {
      const out = join(root, "runs", method);
      const overrides: Record<string, unknown> =
        method === "segmenter" ? { patch: [16, 16, 8], base: 4 } : method === "cyclegan" ? { patch: [16, 16, 8], ngf: 4, ndf: 4 } : method === "syndiff" ? { patch: [16, 16], ngf: 4, ndf: 4 } : small;
      const first = await trainRun({ method, manifest: ear, profile: "smoke", out, overrides, checkpointEvery: 1 });
      // smoke: 2 + 2 steps, and IntraStyler's 2 encoder warm-up steps before them.
      const steps = method === "intrastyler" ? 6 : 4;
      assert.equal(first.result.steps, steps);
      for (const v of Object.values(first.result.lastLosses ?? {})) assert.ok(Number.isFinite(v), `${method}: loss ${v}`);
      first.trainer.dispose();
      assert.ok(existsSync(join(out, "checkpoint", "weights.safetensors")));
      const csv = readFileSync(join(out, "losses.csv"), "utf8").trim().split("\n");
      assert.equal(csv.length, steps + 1, "a header and one line per step");
      // Resuming a finished run does nothing more but loads cleanly.
      const again = await trainRun({ method, manifest: ear, profile: "smoke", out, resume: true });
      assert.equal(again.result.steps, steps);
      again.trainer.dispose();
      const input = join(root, "ear", "crossmoda-phantom_etz_0000_ceT1.nii.gz");
      const output = join(out, "translated.nii.gz");
      const site = method === "unified" || method === "multinets" ? { site: "ukm" } : {};
      const exemplar = method === "intrastyler" ? { exemplar: join(root, "ear", "crossmoda-phantom_ldn_0001_T2.nii.gz") } : {};
      const before = tf.memory().numTensors;
      await translateFile({ run: out, input, output, ...site, ...exemplar });
      assert.equal(tf.memory().numTensors, before, `${method}: translation leaves no tensors behind`);
      const src = await readNifti(input);
      if (method === "segmenter") {
        const seg = await readNiftiLabels(output);
        assert.deepEqual(seg.shape, src.shape);
        assert.ok([...seg.data].every((v) => v >= 0 && v <= 3));
      } else {
        const res = await readNifti(output);
        assert.deepEqual(res.shape, src.shape);
        assert.deepEqual(res.affine, src.affine);
        assert.ok([...res.data].every((v) => v >= -1 && v <= 1), "a tanh output");
      }
    });
  }
});

test("a resumed run continues the exact trajectory: 6 straight steps == k + resume + (6 - k), in and after the encoder warm-up", async () => {
  // 2 encoder-only warm-up steps, then 2 + 2 joint steps.
  const overrides = { ...small, styleWarmupSteps: 2, constantSteps: 2, decaySteps: 2 };
  const straight = await trainRun({ method: "intrastyler", manifest: ear, profile: "smoke", out: join(root, "straight"), overrides });
  assert.equal(straight.result.steps, 6);
  for (const stopAt of [1, 4]) {
    // An interruption after step k is simulated by a run whose signal fires then.
    const ctl = new AbortController();
    const out = join(root, `partial-${stopAt}`);
    const partial = await trainRun({
      method: "intrastyler", manifest: ear, profile: "smoke", out, overrides,
      signal: ctl.signal, onStep: (info) => { if (info.step === stopAt) ctl.abort(); },
    });
    assert.equal(partial.result.stopped, "interrupted");
    assert.equal(partial.result.steps, stopAt);
    partial.trainer.dispose();
    const resumed = await trainRun({ method: "intrastyler", manifest: ear, profile: "smoke", out, resume: true });
    assert.equal(resumed.result.steps, 6);
    const a = straight.trainer.modules();
    const b = resumed.trainer.modules();
    for (const name of Object.keys(a)) {
      const pa = a[name]!.namedParameters();
      const pb = b[name]!.namedParameters();
      pa.forEach(([n, v], i) => assert.deepEqual(pb[i]![1].dataSync(), v.dataSync(), `stopped at ${stopAt}: ${name}.${n}`));
    }
    resumed.trainer.dispose();
  }
  straight.trainer.dispose();
});

test("intrastyler's encoder warm-up trains the style encoder alone, then everything; losses.csv widens to the later losses", async () => {
  const overrides = { ...small, styleWarmupSteps: 3, constantSteps: 0, decaySteps: 0 };
  const seen: string[][] = [];
  const warm = await trainRun({ method: "intrastyler", manifest: ear, profile: "smoke", out: join(root, "warmup-only"), overrides, onStep: (i) => seen.push(Object.keys(i.losses)) });
  assert.deepEqual(seen, [["style_contrastive"], ["style_contrastive"], ["style_contrastive"]]);
  // A run of 0 steps holds the initial weights (the same seed builds the same networks).
  const fresh = await trainRun({ method: "intrastyler", manifest: ear, profile: "smoke", out: join(root, "warmup-none"), overrides: { ...overrides, styleWarmupSteps: 0 } });
  assert.equal(fresh.result.steps, 0);
  const a = warm.trainer.modules();
  const b = fresh.trainer.modules();
  const same = (name: string) => a[name]!.namedParameters().every(([, v], i) => tf.max(tf.abs(tf.sub(v, b[name]!.namedParameters()[i]![1]))).dataSync()[0] === 0);
  assert.ok(!same("E"), "the encoder learnt during the warm-up");
  for (const name of Object.keys(a).filter((n) => n !== "E")) assert.ok(same(name), `${name} waited for the warm-up to end`);
  warm.trainer.dispose();
  fresh.trainer.dispose();

  const out = join(root, "warmup-csv");
  const r = await trainRun({ method: "intrastyler", manifest: ear, profile: "smoke", out, overrides: { ...overrides, styleWarmupSteps: 2, constantSteps: 2 } });
  r.trainer.dispose();
  const rows = readFileSync(join(out, "losses.csv"), "utf8").trim().split("\n").map((l) => l.split(","));
  const header = rows[0]!;
  assert.deepEqual(header.slice(0, 4), ["step", "lr_factor", "seconds", "style_contrastive"]);
  assert.ok(header.includes("G_GAN") || header.some((h) => /gan/i.test(h)), `generator losses joined the header: ${header.join(",")}`);
  assert.equal(rows.length, 5);
  for (const row of rows.slice(1)) assert.equal(row.length, header.length, `row ${row.join(",")}`);
  // Warm-up rows: the contrastive loss, empty generator columns; joint rows: every column.
  for (const row of rows.slice(1, 3)) assert.ok(Number.isFinite(Number(row[3])) && row.slice(4).every((c) => c === ""), `warm-up row ${row.join(",")}`);
  for (const row of rows.slice(3)) assert.ok(row.slice(3).every((c) => c !== "" && Number.isFinite(Number(c))), `joint row ${row.join(",")}`);
  await assert.rejects(
    trainRun({ method: "intrastyler", manifest: ear, profile: "smoke", out: join(root, "warmup-bad"), overrides: { ...small, styleWarmupSteps: -1 } }),
    (e: Error) => e instanceof UnpairedError && /styleWarmupSteps/.test(e.message),
  );
});

test("the live tensor count does not grow over 50 training steps", async () => {
  const counts: number[] = [];
  const r = await trainRun({
    method: "cut", manifest: toy, profile: "smoke", out: join(root, "leak"),
    overrides: { patch: [16, 16], ngf: 4, ndf: 4, numPatches: 8, constantSteps: 50, decaySteps: 0 },
    onStep: () => counts.push(tf.memory().numTensors),
  });
  r.trainer.dispose();
  assert.equal(counts.length, 50);
  assert.equal(counts[49], counts[4], `tensors: ${counts.slice(0, 8).join(",")} ... ${counts.slice(-3).join(",")}`);
});

test("intrastyler's contrastive style consistency trains, differs from the cosine term and keeps the tensor count", async () => {
  const run = async (mode: string) => {
    const counts: number[] = [];
    const terms: number[] = [];
    const r = await trainRun({
      method: "intrastyler", manifest: ear, profile: "smoke", out: join(root, `consistency-${mode}`),
      overrides: { ...small, styleConsistency: mode, styleWarmupSteps: 0, styleTau: 0.01, lambdaConsistency: 5, constantSteps: 6, decaySteps: 0 },
      onStep: (i) => (counts.push(tf.memory().numTensors), terms.push(i.losses["style_consistency"]!)),
    });
    r.trainer.dispose();
    assert.equal(counts[5], counts[2], `${mode}: tensors ${counts.join(",")}`);
    assert.ok(terms.every((v) => Number.isFinite(v) && v >= 0), `${mode}: ${terms.join(",")}`);
    return terms[0]!;
  };
  const cosine = await run("cosine");
  const contrastive = await run("contrastive");
  assert.ok(cosine >= 0 && cosine <= 10, `cosine term in [0, 2 * lambda]: ${cosine}`);
  // At the first step the untrained encoder's vectors all lie close together: 1 - cos is near 0,
  // while InfoNCE at tau 0.01 over 1 + (2 + N) candidates turns the small differences into
  // logits of order 1 and more, so the term is far from 0.
  assert.ok(contrastive > 1, `contrastive term ${contrastive}`);
  assert.ok(cosine < contrastive, `cosine ${cosine} vs contrastive ${contrastive}`);
  await assert.rejects(
    trainRun({ method: "intrastyler", manifest: ear, profile: "smoke", out: join(root, "consistency-bad"), overrides: { ...small, styleConsistency: 3 } }),
    (e: Error) => e instanceof UnpairedError && /styleConsistency/.test(e.message),
  );
});

test("a method that needs what the dataset lacks fails before any work starts", async () => {
  // A dataset whose targets all come from one site: Unified has nothing to condition on.
  const m = JSON.parse(readFileSync(ear, "utf8")) as { subjects: { domain: string; site: string }[]; dataRoot: string };
  m.subjects = m.subjects.filter((s) => s.domain === "source" || s.site === "etz");
  m.dataRoot = join(root, "ear");
  const oneSite = join(root, "one-site.json");
  writeFileSync(oneSite, JSON.stringify(m));
  await assert.rejects(trainRun({ method: "unified", manifest: oneSite, profile: "smoke", out: join(root, "bad-unified") }), (e: unknown) => e instanceof UnpairedError && /unified needs named target sub-domains, and crossmoda-phantom has 1 \(etz\)/.test(e.message));
  assert.ok(!existsSync(join(root, "bad-unified")), "nothing was written");
  await assert.rejects(trainRun({ method: "cut", manifest: ear, profile: "smoke", out: join(root, "bad-opt"), overrides: { lambdaNce: 2 } }), /unknown option "lambdaNce" for cut/);
  await assert.rejects(trainRun({ method: "cutt", manifest: ear, profile: "smoke", out: join(root, "bad-m") }), /unknown method "cutt"/);
});
