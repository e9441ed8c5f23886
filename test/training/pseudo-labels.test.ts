// fig-pseudo-labels end to end at the smoke profile in a fresh runs folder (every target, SynDiff,
// CycleGAN and CUT, 2 folds): figures, tables, Dice in [0, 1] for every arm, fold and test image,
// translation quality in range, and a second call that trains and translates nothing and scores
// the same. Then checks of the study's own pieces against plain recomputation: the fold split
// partitions the images exactly, the phantom's paired truth re-renders the very files on disk,
// and the fold summary is the mean of the per-fold means.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { experimentConfig } from "../../lib/experiments/framework/types.js";
import {
  axonDataset,
  axonTruth,
  pseudoDiceSummary,
  pseudoFolds,
  pseudoLabelsExperiment,
  PSEUDO_TARGETS,
  PSEUDO_TRANSLATORS,
  type PseudoDiceRow,
  type PseudoQualityRow,
} from "../../lib/experiments/pseudoLabels/study.js";
import { preprocess } from "../../lib/data/loader.js";
import { selectSubjects } from "../../lib/data/manifest.js";
import { readNifti, readNiftiLabels } from "../../lib/volume/niftiRead.js";
import { axonPhantomOf, axonIndexOf } from "../../lib/experiments/pseudoLabels/data.js";
import { axonSample } from "../../lib/data/phantoms/axon.js";

const FIGURES = ["", "quality-tutorship", "quality-adaptation", "quality-cycle", "translations", "segmentations"];

test("fig-pseudo-labels (smoke): every arm scored per fold and image, quality in range, a rerun reuses everything", async () => {
  const runsDir = mkdtempSync(join(tmpdir(), "unpaired-pseudo-"));
  const cfg = experimentConfig({ profile: "smoke", runsDir, progress: false, liveDisplay: false });
  const r = await pseudoLabelsExperiment.run(cfg);
  assert.equal(r.name, "fig-pseudo-labels");
  assert.equal(pseudoLabelsExperiment.name, "fig-pseudo-labels");
  assert.deepEqual(r.figures.map((f) => f.name), FIGURES);
  assert.deepEqual(r.images.map((i) => i.name), ["translation-grid", "segmentation-grid"]);

  const dice = r.tables.find((t) => t.name === "dice")!.rows as unknown as PseudoDiceRow[];
  const arms = [["NoAdapt", "none"], ...PSEUDO_TRANSLATORS.flatMap((m) => [["Tutorship", m], ["Adaptation", m]])];
  for (const t of PSEUDO_TARGETS) {
    const cases = new Set(dice.filter((d) => d.target === t).map((d) => d.case));
    assert.equal(cases.size, 2, `${t}: smoke scores 2 test images`);
    for (const [strategy, method] of arms) {
      for (const fold of [1, 2]) {
        for (const s of ["axon", "myelin"]) {
          const sel = dice.filter((d) => d.target === t && d.strategy === strategy && d.method === method && d.fold === fold && d.structure === s);
          assert.equal(sel.length, cases.size, `${t} / ${strategy} (${method}) / fold ${fold} / ${s}: one row per test image`);
        }
      }
    }
  }
  for (const d of dice) {
    assert.ok(d.dice >= 0 && d.dice <= 1, `dice ${d.dice}`);
    assert.ok(d.truthPixels > 0, `${d.case} has ${d.structure}`);
  }
  const summary = r.tables.find((t) => t.name === "dice-summary")!.rows;
  assert.ok(summary.every((s) => s["folds"] === 2), "every summary row averages 2 folds");
  const cv = r.tables.find((t) => t.name === "source-cv")!.rows;
  assert.equal(cv.length, 3, "source CV: axon, myelin and both");

  const quality = r.tables.find((t) => t.name === "quality")!.rows as unknown as PseudoQualityRow[];
  for (const t of PSEUDO_TARGETS) {
    for (const m of PSEUDO_TRANSLATORS) {
      for (const direction of ["TEM→target", "target→TEM"]) {
        for (const kind of ["translation", "cycle"]) {
          assert.equal(quality.filter((q) => q.target === t && q.method === m && q.direction === direction && q.kind === kind).length, 2, `${t} ${m} ${direction} ${kind}`);
        }
      }
    }
  }
  for (const q of quality) {
    assert.ok(q.ssim >= -1 && q.ssim <= 1, `ssim ${q.ssim}`);
    assert.ok(Number.isFinite(q.psnr) && q.psnr > 0, `psnr ${q.psnr}`);
    assert.ok(q.l1 >= 0 && q.l1 <= 2, `l1 ${q.l1}`);
  }

  for (const t of PSEUDO_TARGETS) {
    for (const m of PSEUDO_TRANSLATORS) {
      for (const k of [`dice2.${t}.Tutorship.${m}`, `dice2.${t}.Adaptation.${m}`, `dice.${t}.Adaptation.${m}.myelin`, `ssim.${t}.${m}.cycle`]) assert.equal(typeof r.numbers[k], "number", k);
      assert.ok(["Adaptation", "Tutorship", "tie"].includes(String(r.numbers[`winner.${t}.${m}`])));
    }
    assert.equal(typeof r.numbers[`dice2.${t}.NoAdapt`], "number");
  }
  assert.equal(typeof r.numbers["claim.adaptationWinsSmallShift.syndiff"], "boolean");
  assert.equal(r.numbers["folds"], 2);
  assert.ok(r.reading.includes("Adaptation vs Tutorship with syndiff"));
  assert.ok(/did not hold|held in full/.test(r.reading), "the reading states the verdict on the paper's pattern");
  // Per target: SynDiff, CycleGAN, two CUTs and 2 x 3 proxy segmenters; plus 2 TEM segmenters.
  assert.equal(r.runs.length, 3 * (4 + 6) + 2);
  for (const run of r.runs) assert.ok(existsSync(join(run, "complete.json")), `${run} complete`);
  assert.ok((r.numbers["unitsTrainedOrTranslatedNow"] as number) > 0);

  const again = await pseudoLabelsExperiment.run(cfg);
  const stages = again.tables.find((t) => t.name === "stages")!.rows;
  for (const s of stages) if (s["stage"] !== "scoring") assert.equal(s["reused"], true, `${s["stage"]} ${s["method"]} ${s["target"]} fold ${s["fold"]}: reused`);
  assert.equal(again.numbers["unitsTrainedOrTranslatedNow"], 0, "the rerun trains and translates nothing");
  assert.deepEqual(again.runs, r.runs);
  const strip = (n: Record<string, unknown>) => Object.fromEntries(Object.entries(n).filter(([k]) => k !== "seconds" && k !== "unitsTrainedOrTranslatedNow"));
  assert.deepEqual(strip(again.numbers), strip(r.numbers), "a reused study scores the same");
});

test("the fold split partitions the images exactly, sizes within one, the same for a seed", () => {
  for (const [n, k] of [[30, 5], [7, 2], [10, 3], [5, 5]] as const) {
    const ids = Array.from({ length: n }, (_, i) => `img${i}`);
    const folds = pseudoFolds(ids, k, 0);
    assert.equal(folds.length, k);
    const held = folds.flatMap((f) => f.heldOut);
    assert.deepEqual([...held].sort(), [...ids].sort(), `${n}/${k}: every image held out exactly once`);
    const sizes = folds.map((f) => f.heldOut.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${n}/${k}: sizes ${sizes}`);
    for (const f of folds) {
      assert.deepEqual([...f.train, ...f.heldOut].sort(), [...ids].sort(), "train and held-out make the whole");
      assert.ok(f.train.every((id) => !f.heldOut.includes(id)), "disjoint");
      assert.deepEqual(f.train, ids.filter((id) => f.train.includes(id)), "input order kept");
    }
    assert.deepEqual(pseudoFolds(ids, k, 0), folds, "same seed, same folds");
  }
  const ids = Array.from({ length: 30 }, (_, i) => `img${i}`);
  assert.notDeepEqual(pseudoFolds(ids, 5, 1).map((f) => f.heldOut), pseudoFolds(ids, 5, 0).map((f) => f.heldOut), "another seed splits differently");
  assert.throws(() => pseudoFolds(ids, 1, 0), /folds must be/);
  assert.throws(() => pseudoFolds(ids.slice(0, 3), 5, 0), /cannot make 5 folds/);
  assert.throws(() => pseudoFolds(["a", "a", "b"], 2, 0), /repeated/);
});

test("the paired truth re-renders the phantom's files: same image in its own domain, same labels in another", async () => {
  const d = await axonDataset(experimentConfig({ profile: "smoke", progress: false }));
  const pc = axonPhantomOf(d)!;
  assert.ok(pc, "the axon manifest records its generator");
  for (const domain of ["sem", "tem", "brightfield"]) {
    const s = selectSubjects(d, { domain, split: "test" })[1]!;
    const onDisk = preprocess(await readNifti(s.image), undefined).image;
    const truth = axonTruth(d, s, domain as "sem")!;
    assert.deepEqual(truth.shape, onDisk.shape);
    let worst = 0;
    for (let i = 0; i < truth.data.length; i++) worst = Math.max(worst, Math.abs(truth.data[i]! - onDisk.data[i]!));
    assert.ok(worst < 1e-6, `${s.id}: rendered in its own domain it is the file (max diff ${worst})`);
    // Rendered as another domain: other intensities, the very same geometry (labels).
    const other = domain === "sem" ? "brightfield" : "sem";
    const cross = axonTruth(d, s, other)!;
    let diff = 0;
    for (let i = 0; i < cross.data.length; i++) diff += Math.abs(cross.data[i]! - onDisk.data[i]!);
    assert.ok(diff / cross.data.length > 0.05, `${s.id} as ${other} looks different`);
    const { index } = axonIndexOf(s);
    const labels = await readNiftiLabels(s.label!);
    assert.deepEqual(Array.from(axonSample(s.domain as "sem", index, pc, { renderAs: other }).label.data), Array.from(labels.data), `${s.id}: same field`);
  }
});

test("the Dice summary is the mean and sd over folds of each fold's mean over images", () => {
  const rows: PseudoDiceRow[] = [];
  const values = [[0.2, 0.4], [0.6, 0.8], [0.5, 0.5]];
  values.forEach((v, f) => v.forEach((dice, i) => rows.push({ target: "sem", strategy: "Tutorship", method: "cyclegan", fold: f + 1, case: `c${i}`, structure: "axon", dice, predPixels: 1, truthPixels: 1 })));
  const s = pseudoDiceSummary(rows).find((r) => r["structure"] === "axon")!;
  const means = [0.3, 0.7, 0.5];
  const mean = means.reduce((a, b) => a + b) / 3;
  const sd = Math.sqrt(means.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
  assert.equal(s["folds"], 3);
  assert.ok(Math.abs((s["mean"] as number) - mean) < 1e-4);
  assert.ok(Math.abs((s["sd"] as number) - sd) < 1e-4);
});
