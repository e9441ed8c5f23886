// fig-real-mri: the translation recipe on real brain MRI. CUT learns T1 -> T2 from unpaired,
// skull-stripped volumes of different sizes and intensity ranges (the Colin27 example of
// data/brainExample.ts, built from Debian's mricron-data), exactly as a user's own manifest would
// be trained; each test T1 is then translated and scored against its co-registered T2 by SSIM
// within the brain mask, next to the classical baseline: the inverted T1, histogram-matched to
// the training T2 volumes. Target: the translation beats the baseline. Runs by name only (it
// needs the mricron-data package): `npm run figures -- --only fig-real-mri`.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { preprocess } from "../../data/loader.js";
import { selectSubjects } from "../../data/manifest.js";
import {
  BRAIN_EXAMPLE_DEFAULTS,
  brainExampleId,
  brainExamplePairs,
  writeBrainExample,
  type BrainExampleOptions,
  type BrainExamplePair,
} from "../../data/brainExample.js";
import { histogramMatch } from "../../analysis/histogramMatch.js";
import { nonZeroMask, scoreTranslation } from "../../analysis/translationScore.js";
import { describe, type Row } from "../../analysis/tables.js";
import type { Profile } from "../../methods/config.js";
import { translateVolume } from "../../inference/translate.js";
import { withFileLock } from "../../util/fileLock.js";
import { readNifti, readNiftiLabels } from "../../volume/niftiRead.js";
import { makeVolume, type Volume } from "../../volume/volume.js";
import { sliceOf, windowLevel } from "../../viz/imageGrid.js";
import { imageGridFigure } from "../../viz/imageFigures.js";
import { qualityBarsFigure, type QualityRow } from "../../viz/qualityBarsFigure.js";
import { budgetSweepFigure } from "../../viz/budgetSweepFigure.js";
import type { Bitmap } from "../../viz/png.js";
import { targetNumbers, targetsReading, type Target } from "../framework/claims.js";
import { cachedRun } from "../framework/runCache.js";
import type { Experiment, ExperimentConfig, ExperimentResult, KeyNumber } from "../framework/types.js";

export const REAL_MRI_NAME = "fig-real-mri";
const TITLE = "Real brain MRI: does CUT's T1 -> T2 translation beat histogram matching of the inverted T1?";

/** What each profile builds and trains. */
export interface RealMriPlan {
  data: Omit<BrainExampleOptions, "templates" | "onProgress">;
  /** CUT's training steps, one run each (half at the base learning rate, half decaying); the first is the profile's own. */
  budgets: number[];
}

export function realMriPlan(profile: Profile, seed: number): RealMriPlan {
  return {
    smoke: { data: { seed, spacing: 4, counts: { t1: 2, t2: 2, test: 1 } }, budgets: [4] },
    // 2 mm volumes (about 75 x 90 x 75 after cropping) and the quick profile's CUT (64 x 64 axial
    // slices, 1200 steps), then four times the budget to see where the claim goes.
    quick: { data: { seed, spacing: 2, counts: { ...BRAIN_EXAMPLE_DEFAULTS.counts } }, budgets: [1200, 4800] },
    paper: { data: { seed, spacing: 1, counts: { t1: 24, t2: 24, test: 8 } }, budgets: [40_000] },
  }[profile];
}

/** The example's folder under `root` (named by its id), written on first use (one writer at a time). */
export async function brainExampleData(root: string, plan: RealMriPlan["data"], templates?: string): Promise<{ manifest: string; pairs: BrainExamplePair[] }> {
  const dir = resolve(root, brainExampleId(plan));
  const manifest = resolve(dir, "manifest.json");
  if (!existsSync(manifest)) {
    await withFileLock(`${dir}.lock`, async () => {
      if (!existsSync(manifest)) await writeBrainExample(dir, { ...plan, ...(templates ? { templates } : {}) });
    });
  }
  return { manifest, pairs: brainExamplePairs(dir, plan.counts?.test ?? BRAIN_EXAMPLE_DEFAULTS.counts.test) };
}

/** -1 (the normalised background) outside the brain, for the pictures. */
function outsideBrain(v: Volume, mask: ArrayLike<number>): Volume {
  const out = Float32Array.from(v.data);
  for (let i = 0; i < out.length; i++) if (!mask[i]) out[i] = -1;
  return makeVolume(out, v.shape, v.spacing, v.affine);
}

/**
 * The histogram-matching baseline's reference: the brain (non-zero) voxels of skull-stripped
 * volumes, each normalised as training sees it, pooled.
 */
export async function brainIntensities(files: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (const f of files) {
    const raw = await readNifti(f);
    const n = preprocess(raw, undefined).image;
    const m = nonZeroMask(raw);
    for (let i = 0; i < m.length; i++) if (m[i]) out.push(n.data[i]!);
  }
  return out;
}

export interface RealMriCase {
  id: string;
  /** CUT's training steps. */
  steps: number;
  ssim: { histogram: number; cut: number };
  mae: { histogram: number; cut: number };
}

const HISTOGRAM = "histogram matching (inverted T1)";
const cutName = (steps: number) => `CUT, ${steps} steps`;

export async function runRealMri(cfg: ExperimentConfig): Promise<ExperimentResult> {
  const t0 = performance.now();
  const plan = realMriPlan(cfg.profile, cfg.seed);
  // Written like the phantoms: under UNPAIRED_PHANTOMS when set, else the project's data/.
  const { manifest, pairs } = await brainExampleData(process.env["UNPAIRED_PHANTOMS"] ?? "data", plan.data);
  // The example's manifest names its own folder: a --data-root for the phantoms must not move it.
  const { dataRoot: _dataRoot, phantomRoot: _phantomRoot, ...runCfg } = cfg;
  const cases: RealMriCase[] = [];
  const tiles: Bitmap[][] = pairs.slice(0, 4).map(() => []);
  const truths: Bitmap[] = [];
  const runs: string[] = [];
  let reference: number[] | undefined;
  const histograms = new Map<string, { ssim: number; mae: number }>();
  // Each test pair read once, for every budget.
  const volumes = await Promise.all(
    pairs.map(async (p) => ({ t1: preprocess(await readNifti(p.t1), undefined).image, truthRaw: await readNifti(p.t2), mask: (await readNiftiLabels(p.mask)).data })),
  );
  for (const steps of plan.budgets) {
    const run = await cachedRun(runCfg, { method: "cut", manifest, overrides: { constantSteps: steps / 2, decaySteps: steps / 2 }, label: "brain-cut" });
    runs.push(run.runDir);
    try {
      reference ??= await brainIntensities(selectSubjects(run.dataset, { role: "target", split: "train" }).map((s) => s.image));
      for (const [k, p] of pairs.entries()) {
        const { t1, truthRaw, mask } = volumes[k]!;
        const cut = outsideBrain(translateVolume(run.trainer, run.config, t1), mask);
        // An axial slice a little above the middle: the ventricles and the deep nuclei.
        const index = Math.min(t1.shape[2]! - 1, Math.round(t1.shape[2]! * 0.55));
        const tile = (v: Volume) => windowLevel(sliceOf(v, { index }), { range: [-1, 1] });
        let h = histograms.get(p.id);
        if (!h) {
          const hist = makeVolume(histogramMatch(t1.data, reference, { mask, invert: true, background: -1 }), t1.shape, t1.spacing, t1.affine);
          h = scoreTranslation(hist, truthRaw, mask);
          histograms.set(p.id, h);
          if (k < tiles.length) {
            tiles[k]!.push(tile(t1), tile(hist));
            truths.push(tile(preprocess(truthRaw, undefined).image));
          }
        }
        const c = scoreTranslation(cut, truthRaw, mask);
        cases.push({ id: p.id, steps, ssim: { histogram: h.ssim, cut: c.ssim }, mae: { histogram: h.mae, cut: c.mae } });
        if (k < tiles.length) tiles[k]!.push(tile(cut));
      }
    } finally {
      run.trainer.dispose();
    }
  }
  tiles.forEach((row, k) => row.push(truths[k]!));
  return realMriResult(cfg, cases, tiles, runs, (performance.now() - t0) / 1000);
}

/** The mean of a metric over the cases of one budget. */
function budgetMean(cases: readonly RealMriCase[], steps: number, pick: (c: RealMriCase) => number): number {
  return describe(cases.filter((c) => c.steps === steps).map(pick)).mean;
}

export function realMriResult(cfg: ExperimentConfig, cases: readonly RealMriCase[], tiles: readonly Bitmap[][], runDirs: readonly string[], seconds: number): ExperimentResult {
  const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
  const budgets = [...new Set(cases.map((c) => c.steps))].sort((a, b) => a - b);
  const own = realMriPlan(cfg.profile, cfg.seed).budgets[0]!;
  const largest = budgets[budgets.length - 1];
  const ids = [...new Set(cases.map((c) => c.id))];
  const first = (id: string) => cases.find((c) => c.id === id)!;
  const ssimH = describe(ids.map((id) => first(id).ssim.histogram)).mean;
  const maeH = describe(ids.map((id) => first(id).mae.histogram)).mean;
  const per = budgets.map((steps) => ({
    steps,
    ssim: budgetMean(cases, steps, (c) => c.ssim.cut),
    mae: budgetMean(cases, steps, (c) => c.mae.cut),
    wins: cases.filter((c) => c.steps === steps && c.ssim.cut > c.ssim.histogram).length,
  }));
  const top = per[per.length - 1];
  const targets: Target[] = [
    {
      id: "cutBeatsHistogramMatching",
      claim: `CUT's translation${largest === undefined ? "" : ` (${largest} steps)`} beats histogram matching of the inverted T1`,
      measure: "mean masked SSIM of CUT minus that of the baseline",
      measured: top ? top.ssim - ssimH : null,
      op: ">=",
      threshold: 0,
    },
  ];
  const holdsFrom = per.find((p, i) => per.slice(i).every((q) => q.ssim >= ssimH))?.steps ?? null;
  const numbers: Record<string, KeyNumber> = { cases: ids.length, ownSteps: own, "ssim.histogram": r4(ssimH), "mae.histogram": r4(maeH), holdsFrom };
  for (const p of per) {
    numbers[`ssim.cut.${p.steps}`] = r4(p.ssim);
    numbers[`mae.cut.${p.steps}`] = r4(p.mae);
    numbers[`cutWins.${p.steps}`] = p.wins;
  }
  Object.assign(numbers, targetNumbers(targets));
  const quality: QualityRow[] = [
    ...ids.flatMap((id) => [
      { domain: "T2w", translator: HISTOGRAM, metric: "masked SSIM", value: first(id).ssim.histogram },
      { domain: "T2w", translator: HISTOGRAM, metric: "masked MAE", value: first(id).mae.histogram },
    ]),
    ...cases.flatMap((c) => [
      { domain: "T2w", translator: cutName(c.steps), metric: "masked SSIM", value: c.ssim.cut },
      { domain: "T2w", translator: cutName(c.steps), metric: "masked MAE", value: c.mae.cut },
    ]),
  ];
  const bars = qualityBarsFigure({ rows: quality, metrics: ["masked SSIM", "masked MAE"], translators: [HISTOGRAM, ...budgets.map(cutName)], units: {} });
  bars.layout.title = { text: "T1 -> T2 on the Colin27 brain: scores within the brain mask against the co-registered T2" };
  const figures: ExperimentResult["figures"] = [
    { name: "", figure: bars, caption: "Masked SSIM and MAE of histogram matching and of CUT at each budget against the co-registered T2 (mean and sd over the test subjects)." },
  ];
  if (tiles.length) {
    figures.push({
      name: "examples",
      caption: "An axial slice of each test subject: the input, the baseline, CUT at each budget and the truth, each normalised as training saw it ([-1, 1]).",
      figure: imageGridFigure({
        title: "Test subjects (axial slice): T1 input, the baseline, CUT, the co-registered T2",
        rows: tiles.map((images, i) => ({ label: ids[i] ?? `case ${i + 1}`, images })),
        columnTitles: ["T1 (input)", "histogram matching", ...budgets.map(cutName), "T2 (truth)"],
      }),
    });
  }
  if (budgets.length > 1) {
    figures.push({
      name: "budget",
      caption: "CUT's mean masked SSIM against its training steps; dashed: histogram matching's, the value to beat.",
      figure: budgetSweepFigure(
        [{ name: "CUT, mean masked SSIM", points: per.map((p) => ({ steps: p.steps, value: p.ssim })), target: { value: ssimH, label: `histogram matching (${ssimH.toFixed(3)})` } }],
        { title: "CUT on the Colin27 brain: masked SSIM against training steps", yTitle: "masked SSIM", marker: { steps: own, label: `the ${cfg.profile} profile (${own})` } },
      ),
    });
  }
  const f = (v: number) => v.toFixed(3);
  const reading = [
    `CUT trained at ${budgets.join(" and ")} steps (${cfg.profile}-profile networks) on unpaired skull-stripped T1 and T2 volumes (Colin27 anatomy from mricron-data, each subject deformed, cropped and scanned with its own gain, bias field and noise; the T2 rendered by the spin-echo equation with iron-darkened deep nuclei), then scored on ${ids.length} held-out T1 volumes against their co-registered T2 within the brain mask.`,
    `Masked SSIM: histogram matching of the inverted T1 ${f(ssimH)}; CUT ${per.map((p) => `${f(p.ssim)} at ${p.steps} steps (higher in ${p.wins} of ${ids.length})`).join(", ")}. Masked MAE on the [-1, 1] scale: baseline ${f(maeH)}; CUT ${per.map((p) => `${f(p.mae)} at ${p.steps}`).join(", ")}.`,
    holdsFrom !== null
      ? `CUT reaches the baseline from ${holdsFrom} steps on.`
      : per.some((p) => p.ssim >= ssimH)
        ? `CUT reaches the baseline at ${per.filter((p) => p.ssim >= ssimH).map((p) => p.steps).join(", ")} steps but not at ${top!.steps}: not a budget it holds from.`
        : `CUT stays below the baseline at every budget tried${per.length > 1 ? `, though it ${top!.ssim > per[0]!.ssim ? "gains" : "does not gain"} with steps (${f(per[0]!.ssim)} to ${f(top!.ssim)})` : ""}.`,
    "Histogram matching can only remap intensities monotonically, so it renders the pallidum and putamen (bright or grey on T1, dark on T2) wrongly and keeps the T1's own bias field; elsewhere the T2 contrast is close to an inverted T1, which makes it a strong baseline on SSIM. A translation can learn the rest from the images, but until it has trained enough it adds artefacts of its own.",
    targetsReading(targets, cfg.profile),
  ].join(" ");
  const rows: Row[] = cases.map((c) => ({ case: c.id, steps: c.steps, ssimHistogram: r4(c.ssim.histogram), ssimCut: r4(c.ssim.cut), maeHistogram: r4(c.mae.histogram), maeCut: r4(c.mae.cut) }));
  return {
    name: REAL_MRI_NAME,
    title: TITLE,
    profile: cfg.profile,
    seed: cfg.seed,
    figures,
    images: [],
    tables: [{ name: "cases", rows, caption: "Per test subject and CUT budget: masked SSIM and MAE of each method" }],
    numbers,
    reading,
    runs: [...runDirs],
    seconds,
  };
}

export const realMriExperiment: Experiment = {
  name: REAL_MRI_NAME,
  title: TITLE,
  summary: "CUT T1 -> T2 on real skull-stripped brain MRI (Colin27 of Debian's mricron-data) against histogram matching, masked SSIM (run by name; needs mricron-data).",
  byNameOnly: true,
  run: (cfg) => runRealMri(cfg),
};
