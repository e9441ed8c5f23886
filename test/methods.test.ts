// Every method on the ear phantom at the smoke profile: trains, saves, resumes and translates;
// a resumed run continues the exact trajectory; a long run keeps its live tensor count; and a
// method/manifest mismatch is a clear error before any work starts.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writePhantom } from "../lib/data/phantoms/write.js";
import { METHODS } from "../lib/methods/config.js";
import { trainRun } from "../lib/train/run.js";
import { translateFile } from "../lib/train/translate.js";
import { readNifti, readNiftiLabels } from "../lib/volume/niftiRead.js";
import { tf } from "../lib/engine/tf.js";
import { UnpairedError } from "../lib/util/errors.js";
import { startWasm } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "unpaired-methods-"));
let ear = "";
let toy = "";

before(async () => {
  await startWasm();
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
      assert.equal(first.result.steps, 4);
      for (const v of Object.values(first.result.lastLosses ?? {})) assert.ok(Number.isFinite(v), `${method}: loss ${v}`);
      first.trainer.dispose();
      assert.ok(existsSync(join(out, "checkpoint", "weights.safetensors")));
      const csv = readFileSync(join(out, "losses.csv"), "utf8").trim().split("\n");
      assert.equal(csv.length, 5, "a header and one line per step");
      // Resuming a finished run does nothing more but loads cleanly.
      const again = await trainRun({ method, manifest: ear, profile: "smoke", out, resume: true });
      assert.equal(again.result.steps, 4);
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

test("a resumed run continues the exact trajectory: 4 straight steps == 2 + resume + 2", async () => {
  const overrides = { ...small, constantSteps: 2, decaySteps: 2 };
  const straight = await trainRun({ method: "intrastyler", manifest: ear, profile: "smoke", out: join(root, "straight"), overrides });
  // Two steps, then stop: an abort after step 2 is simulated by a run whose signal fires then.
  const ctl = new AbortController();
  const partial = await trainRun({
    method: "intrastyler", manifest: ear, profile: "smoke", out: join(root, "partial"), overrides,
    signal: ctl.signal, onStep: (info) => { if (info.step === 2) ctl.abort(); },
  });
  assert.equal(partial.result.stopped, "interrupted");
  assert.equal(partial.result.steps, 2);
  partial.trainer.dispose();
  const resumed = await trainRun({ method: "intrastyler", manifest: ear, profile: "smoke", out: join(root, "partial"), resume: true });
  assert.equal(resumed.result.steps, 4);
  const a = straight.trainer.modules();
  const b = resumed.trainer.modules();
  for (const name of Object.keys(a)) {
    const pa = a[name]!.namedParameters();
    const pb = b[name]!.namedParameters();
    pa.forEach(([n, v], i) => assert.deepEqual(pb[i]![1].dataSync(), v.dataSync(), `${name}.${n}`));
  }
  straight.trainer.dispose();
  resumed.trainer.dispose();
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
      overrides: { ...small, styleConsistency: mode, constantSteps: 6, decaySteps: 0 },
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
