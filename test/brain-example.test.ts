// The real-MRI example's pieces on a small synthetic template written to a temp folder (the
// real one, Debian's mricron-data, is exercised by test/e2e/real-mri.test.ts): the spin-echo
// tissue model, the T2 rendering, the writer's unpaired / co-registered subjects and its
// errors, and the fig-real-mri reading's verdict.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEEP_NUCLEI,
  T2W_SPIN_ECHO,
  TISSUE_RELAXATION,
  brainExampleId,
  renderT2,
  spinEchoSignal,
  tissueFractions,
  writeBrainExample,
} from "../lib/data/brainExample.js";
import { loadManifest, selectSubjects } from "../lib/data/manifest.js";
import { realMriResult } from "../lib/experiments/realMri/realMri.js";
import { experimentConfig } from "../lib/experiments/framework/types.js";
import { readNifti, readNiftiLabels } from "../lib/volume/niftiRead.js";
import { writeNifti } from "../lib/volume/niftiWrite.js";
import { makeLabelVolume, makeVolume, spacingAffine } from "../lib/volume/volume.js";

test("spinEchoSignal: the signal equation's limits and the T2-weighted order of the tissues", () => {
  const t = { pd: 0.8, t1: 900, t2: 70 };
  assert.ok(Math.abs(spinEchoSignal(t, { tr: 1e9, te: 0 }) - 0.8) < 1e-12);
  assert.ok(Math.abs(spinEchoSignal(t, { tr: 900, te: 70 }) - 0.8 * (1 - Math.exp(-1)) * Math.exp(-1)) < 1e-12);
  const s = (r: { pd: number; t1: number; t2: number }) => spinEchoSignal(r, T2W_SPIN_ECHO);
  const pallidum = DEEP_NUCLEI.find((n) => n.name === "pallidum")!.tissue;
  // On T2w: CSF bright, grey above white, the iron-rich pallidum darker than white matter.
  assert.ok(s(TISSUE_RELAXATION.csf) > s(TISSUE_RELAXATION.grey) && s(TISSUE_RELAXATION.grey) > s(TISSUE_RELAXATION.white) && s(TISSUE_RELAXATION.white) > s(pallidum));
});

test("tissueFractions: pure tissues at their means, linear mixes between, sums of one", () => {
  const m = [30, 80, 110] as const;
  assert.deepEqual(tissueFractions(10, m), [1, 0, 0]);
  assert.deepEqual(tissueFractions(80, m), [0, 1, 0]);
  assert.deepEqual(tissueFractions(200, m), [0, 0, 1]);
  assert.deepEqual(tissueFractions(55, m), [0.5, 0.5, 0]);
  const f = tissueFractions(100, m);
  assert.ok(Math.abs(f[1] - 1 / 3) < 1e-12 && Math.abs(f[2] - 2 / 3) < 1e-12);
  for (let v = 0; v < 150; v += 7) assert.ok(Math.abs(tissueFractions(v, m).reduce((a, b) => a + b, 0) - 1) < 1e-12);
});

test("renderT2: CSF, grey, white and a deep nucleus get their signals; nothing outside the mask", () => {
  const shape = [5, 1, 1];
  const t1 = makeVolume(Float32Array.from([30, 80, 110, 110, 80]), shape, [1, 1, 1]);
  const aal = makeLabelVolume(Uint8Array.from([0, 0, 0, 75, 0]), shape, [1, 1, 1]);
  const mask = Uint8Array.from([1, 1, 1, 1, 0]);
  const out = renderT2(t1, aal, mask, [30, 80, 110]);
  const s = (r: { pd: number; t1: number; t2: number }) => spinEchoSignal(r);
  const expected = [s(TISSUE_RELAXATION.csf), s(TISSUE_RELAXATION.grey), s(TISSUE_RELAXATION.white), s(DEEP_NUCLEI.find((n) => n.name === "pallidum")!.tissue), 0];
  expected.forEach((e, i) => assert.ok(Math.abs(out.data[i]! - e) < 1e-6, `voxel ${i}: ${out.data[i]} vs ${e}`));
});

/** A 1 mm synthetic "template": an ellipsoid brain (white core, grey rim, CSF ventricle) with a pallidum label. */
async function syntheticTemplates(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "unpaired-brain-tpl-"));
  const [nx, ny, nz] = [40, 48, 40];
  const t1 = new Float32Array(nx * ny * nz);
  const aal = new Uint8Array(nx * ny * nz);
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const r = Math.hypot((x - 20) / 16, (y - 24) / 20, (z - 20) / 16);
        if (r > 1) continue;
        const ventricle = Math.hypot((x - 20) / 3, (y - 24) / 6, (z - 20) / 3) < 1;
        t1[i] = ventricle ? 35 : r > 0.75 ? 80 : 110;
        if (Math.hypot(x - 27, y - 24, z - 20) < 3) aal[i] = 75;
      }
    }
  }
  await writeNifti(join(dir, "ch2bet.nii.gz"), makeVolume(t1, [nx, ny, nz], [1, 1, 1], spacingAffine([1, 1, 1])), { datatype: "uint8" });
  await writeNifti(join(dir, "aal.nii.gz"), makeLabelVolume(aal, [nx, ny, nz], [1, 1, 1], spacingAffine([1, 1, 1])), { datatype: "uint8" });
  return dir;
}

test("writeBrainExample: unpaired training subjects of different sizes and ranges, co-registered test pairs, same seed same files", async () => {
  const templates = await syntheticTemplates();
  const out = mkdtempSync(join(tmpdir(), "unpaired-brain-"));
  const opts = { templates, seed: 3, spacing: 2, counts: { t1: 3, t2: 3, test: 2 } };
  const ex = await writeBrainExample(out, opts);
  const d = await loadManifest(ex.manifestPath);
  assert.equal(d.id, brainExampleId(opts));
  assert.equal(selectSubjects(d, { role: "source", split: "train" }).length, 3);
  assert.equal(selectSubjects(d, { role: "target", split: "train" }).length, 3);
  assert.equal(selectSubjects(d, { split: "test" }).length, 4);
  assert.ok(selectSubjects(d, { split: "train" }).every((s) => s.label === undefined), "training subjects carry no labels");
  const train = await Promise.all(selectSubjects(d, { split: "train" }).map((s) => readNifti(s.image)));
  assert.ok(new Set(train.map((v) => v.shape.join("x"))).size > 1, "the subjects differ in size");
  const maxima = train.map((v) => v.data.reduce((a, b) => Math.max(a, b), 0));
  assert.ok(Math.max(...maxima) / Math.min(...maxima) > 2, `intensity ranges differ: ${maxima}`);
  for (const p of ex.pairs) {
    const [t1, t2, mask] = [await readNifti(p.t1), await readNifti(p.t2), await readNiftiLabels(p.mask)];
    assert.deepEqual(t1.shape, t2.shape);
    assert.deepEqual(t1.affine, t2.affine);
    assert.deepEqual(mask.shape, t1.shape);
    let inside = 0;
    for (let i = 0; i < mask.data.length; i++) {
      if (mask.data[i]) inside++;
      else assert.ok(t1.data[i] === 0 && t2.data[i] === 0, "skull-stripped: zero outside the brain");
    }
    assert.ok(inside > 100);
    // Anti-correlated contrast inside the brain (white matter bright on T1, dark on T2).
    let sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
    for (let i = 0; i < mask.data.length; i++) {
      if (!mask.data[i]) continue;
      const a = t1.data[i]!, b = t2.data[i]!;
      sa += a; sb += b; sab += a * b; saa += a * a; sbb += b * b;
    }
    const corr = (sab / inside - (sa / inside) * (sb / inside)) / Math.sqrt((saa / inside - (sa / inside) ** 2) * (sbb / inside - (sb / inside) ** 2));
    assert.ok(corr < -0.5, `T1/T2 correlation ${corr}`);
  }
  const again = mkdtempSync(join(tmpdir(), "unpaired-brain-"));
  await writeBrainExample(again, opts);
  for (const f of ["t1-train-1.nii.gz", "t2-test-1.nii.gz", "manifest.json"]) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(again, f))), f);
});

test("writeBrainExample: a missing template names the Debian package; bad options are refused", async () => {
  const out = mkdtempSync(join(tmpdir(), "unpaired-brain-"));
  await assert.rejects(writeBrainExample(out, { templates: join(out, "none") }), /mricron-data/);
  const templates = await syntheticTemplates();
  await assert.rejects(writeBrainExample(out, { templates, spacing: 0.2 }), /spacing/);
  await assert.rejects(writeBrainExample(out, { templates, counts: { t1: 0 } }), /count t1=0/);
});

test("realMriResult: the best translator is judged, holdsFrom names the CUT budget it holds from, the reading names the contrast each kept", () => {
  const cfg = experimentConfig({ profile: "smoke" });
  const at = (method: "cut" | "cyclegan", steps: number, t: [number, number], corr = { truth: 0.6, input: -0.5 }) => [
    { id: "test-0", arm: { method, steps }, ssim: { histogram: 0.8, translation: t[0] }, mae: { histogram: 0.1, translation: 0.08 }, correlation: corr },
    { id: "test-1", arm: { method, steps }, ssim: { histogram: 0.82, translation: t[1] }, mae: { histogram: 0.1, translation: 0.12 }, correlation: corr },
  ];
  const r = realMriResult(cfg, [...at("cut", 4, [0.3, 0.4]), ...at("cut", 8, [0.85, 0.8]), ...at("cyclegan", 4, [0.5, 0.5])], [], ["runs/a", "runs/b", "runs/c"], 1);
  assert.equal(r.numbers["target.translationBeatsHistogramMatching"], true);
  assert.equal(r.numbers["holdsFrom"], 8);
  assert.equal(r.numbers["wins.cut.8"], 1);
  assert.equal(r.numbers["wins.cut.4"], 0);
  assert.equal(r.numbers["ssim.cut.8"], 0.825);
  assert.equal(r.numbers["ssim.cyclegan.4"], 0.5);
  assert.equal(r.numbers["corrTruth.cyclegan.4"], 0.6);
  assert.equal(r.numbers["ssim.histogram"], 0.81);
  assert.deepEqual(r.figures.map((f) => f.name), ["", "budget"]);
  assert.match(r.reading, /CUT, 8 steps 0\.825 \(higher in 1 of 2\)/);
  assert.match(r.reading, /the best: CUT, 8 steps/);
  assert.match(r.reading, /reaches the baseline from 8 steps on/);
  assert.match(r.reading, /contrast inversion was learnt/);
  // The best arm need not be CUT's largest budget; CUT falling back after its peak is no "holds from".
  const worse = realMriResult(cfg, [...at("cut", 4, [0.85, 0.9]), ...at("cut", 8, [0.5, 0.5])], [], ["runs/a", "runs/b"], 1);
  assert.equal(worse.numbers["target.translationBeatsHistogramMatching"], true);
  assert.equal(worse.numbers["holdsFrom"], null);
  assert.match(worse.reading, /reaches the baseline at 4 steps but not at 8/);
  const kept = { truth: -0.4, input: 0.5 };
  const never = realMriResult(cfg, [...at("cut", 4, [0.3, 0.4], kept), ...at("cut", 8, [0.5, 0.5], kept), ...at("cyclegan", 8, [0.1, 0.2], kept)], [], ["runs/a", "runs/b"], 1);
  assert.equal(never.numbers["target.translationBeatsHistogramMatching"], false);
  assert.match(never.reading, /below the baseline at every budget tried, and it gains with steps \(0\.350 to 0\.500\)/);
  assert.match(never.reading, /Every translation kept the T1's contrast/);
  assert.match(never.reading, /CycleGAN, 8 steps -0\.40 \(\+0\.50\)/);
  assert.match(never.reading, /fails/);
  // An arm on the inverted T1 is reported as given the inversion, and is no point of CUT's budget sweep.
  const inverted = (steps: number, v: number) =>
    at("cut", steps, [v, v]).map((c) => ({ ...c, arm: { ...c.arm, inverted: true, overrides: { lambdaNCE: 10 } }, correlation: { truth: 0.7, input: -0.8 } }));
  const turned = realMriResult(cfg, [...at("cut", 4, [0.3, 0.4], kept), ...at("cut", 8, [0.5, 0.5], kept), ...inverted(4, 0.9)], [], ["runs/a", "runs/b", "runs/c"], 1);
  assert.equal(turned.numbers["ssim.cut-inverted.4"], 0.9);
  assert.equal(turned.numbers["holdsFrom"], null, "the inverted arm does not make CUT's sweep hold");
  assert.equal(turned.numbers["target.translationBeatsHistogramMatching"], true);
  assert.match(turned.reading, /the best: CUT on the inverted T1 \(lambdaNCE 10\), 4 steps/);
  assert.match(turned.reading, /CUT, 4 steps, CUT, 8 steps kept the T1's contrast .*; CUT on the inverted T1 \(lambdaNCE 10\), 4 steps was given the inversion \(the T1 turned round first\) and correlates with the T2 at \+0\.70\./);
  assert.match(turned.reading, /CUT stays below the baseline at every budget tried/);
});

test("CLI: brain-example, histmatch and compare run the recipe; their mistakes are one-line errors", async () => {
  const { spawnSync } = await import("node:child_process");
  const cliPath = new URL("../lib/cli.ts", import.meta.url).pathname;
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, ["--import", "tsx", cliPath, ...args], { encoding: "utf8" });
    return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
  };
  const templates = await syntheticTemplates();
  const dir = mkdtempSync(join(tmpdir(), "unpaired-brain-cli-"));
  const made = run("brain-example", "--out", join(dir, "b"), "--templates", templates, "--count", "t1=1,t2=2,test=1", "--quiet");
  assert.equal(made.code, 0, made.err);
  assert.equal(made.out, join(dir, "b", "manifest.json"));
  const hist = join(dir, "hist.nii.gz");
  assert.equal(run("histmatch", "--input", join(dir, "b", "t1-test-0.nii.gz"), "--reference", made.out, "--invert", "--out", hist).code, 0);
  const v = await readNifti(hist);
  const t1 = await readNifti(join(dir, "b", "t1-test-0.nii.gz"));
  assert.deepEqual(v.shape, t1.shape);
  for (let i = 0; i < v.data.length; i++) if (t1.data[i] === 0) assert.equal(v.data[i], -1);
  const scored = run("compare", "--prediction", hist, "--truth", join(dir, "b", "t2-test-0.nii.gz"), "--json");
  assert.equal(scored.code, 0, scored.err);
  const s = JSON.parse(scored.out) as { ssim: number; mae: number; voxels: number };
  assert.ok(s.ssim > 0.5 && s.ssim <= 1 && s.voxels > 0, scored.out);
  const fails: [string[], RegExp][] = [
    [["brain-example", "--templates", templates], /--out DIR is required/],
    [["brain-example", "--out", join(dir, "c"), "--count", "t1=2,flair=3"], /unknown count "flair"/],
    [["brain-example", "--out", join(dir, "c"), "--templates", join(dir, "nowhere")], /apt-get install mricron-data/],
    [["histmatch", "--input", hist, "--out", join(dir, "x.nii.gz")], /--reference is required/],
    [["compare", "--prediction", join(dir, "b", "t1-train-0.nii.gz"), "--truth", join(dir, "b", "t2-test-0.nii.gz")], /same grid|co-registered/],
  ];
  for (const [args, message] of fails) {
    const r = run(...args);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.err, message);
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
  }
});
