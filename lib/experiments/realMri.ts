// fig-real-mri: the translation recipe on real brain MRI. CUT learns T1 -> T2 from unpaired,
// skull-stripped volumes of different sizes and intensity ranges (the Colin27 example of
// data/brainExample.ts, built from Debian's mricron-data), exactly as a user's own manifest would
// be trained; each test T1 is then translated and scored against its co-registered T2 by SSIM
// within the brain mask, next to the classical baseline: the inverted T1, histogram-matched to
// the training T2 volumes. Target: the translation beats the baseline. Runs by name only (it
// needs the mricron-data package): `npm run figures -- --only fig-real-mri`.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { preprocess } from "../data/loader.js";
import { selectSubjects } from "../data/manifest.js";
import {
  BRAIN_EXAMPLE_DEFAULTS,
  brainExampleId,
  brainExamplePairs,
  writeBrainExample,
  type BrainExampleOptions,
  type BrainExamplePair,
} from "../data/brainExample.js";
import { histogramMatch } from "../analysis/histogramMatch.js";
import { nonZeroMask, scoreTranslation } from "../analysis/translationScore.js";
import { describe, type Row } from "../analysis/tables.js";
import type { Profile } from "../methods/config.js";
import { translateVolume } from "../train/translate.js";
import { withFileLock } from "../util/fileLock.js";
import { readNifti, readNiftiLabels } from "../volume/niftiRead.js";
import { makeVolume, type Volume } from "../volume/volume.js";
import { sliceOf, windowLevel } from "../viz/imageGrid.js";
import { imageGridFigure } from "../viz/imageFigures.js";
import { qualityBarsFigure, type QualityRow } from "../viz/qualityBarsFigure.js";
import type { Bitmap } from "../viz/png.js";
import { targetNumbers, targetsReading, type Target } from "./claims.js";
import { cachedRun } from "./runCache.js";
import type { Experiment, ExperimentConfig, ExperimentResult, KeyNumber } from "./types.js";

export const REAL_MRI_NAME = "fig-real-mri";
const TITLE = "Real brain MRI: does CUT's T1 -> T2 translation beat histogram matching of the inverted T1?";

/** What each profile builds and trains. */
export interface RealMriPlan {
  data: Omit<BrainExampleOptions, "templates" | "onProgress">;
  /** CUT options over the profile's defaults. */
  translator: Record<string, unknown>;
}

export function realMriPlan(profile: Profile, seed: number): RealMriPlan {
  return {
    smoke: { data: { seed, spacing: 4, counts: { t1: 2, t2: 2, test: 1 } }, translator: { constantSteps: 2, decaySteps: 2 } },
    // 2 mm volumes (about 75 x 90 x 75 after cropping) and the quick profile's CUT (64 x 64 axial
    // slices, 1200 steps).
    quick: { data: { seed, spacing: 2, counts: { ...BRAIN_EXAMPLE_DEFAULTS.counts } }, translator: {} },
    paper: { data: { seed, spacing: 1, counts: { t1: 24, t2: 24, test: 8 } }, translator: {} },
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

export interface RealMriCase {
  id: string;
  ssim: { histogram: number; cut: number };
  mae: { histogram: number; cut: number };
}

const METHODS = { histogram: "histogram matching (inverted T1)", cut: "CUT" } as const;

export async function runRealMri(cfg: ExperimentConfig): Promise<ExperimentResult> {
  const t0 = performance.now();
  const plan = realMriPlan(cfg.profile, cfg.seed);
  const { manifest, pairs } = await brainExampleData("data", plan.data);
  // The example's manifest names its own folder: a --data-root for the phantoms must not move it.
  const { dataRoot: _dataRoot, phantomRoot: _phantomRoot, ...runCfg } = cfg;
  const run = await cachedRun(runCfg, { method: "cut", manifest, overrides: plan.translator, label: "brain-cut" });
  const cases: RealMriCase[] = [];
  const tiles: Bitmap[][] = [];
  try {
    // The baseline's reference histogram: the brain voxels of every training T2, normalised as training saw them.
    const reference: number[] = [];
    for (const s of selectSubjects(run.dataset, { role: "target", split: "train" })) {
      const raw = await readNifti(s.image);
      const n = preprocess(raw, undefined).image;
      const m = nonZeroMask(raw);
      for (let i = 0; i < m.length; i++) if (m[i]) reference.push(n.data[i]!);
    }
    for (const p of pairs) {
      const t1Raw = await readNifti(p.t1);
      const t1 = preprocess(t1Raw, undefined).image;
      const truthRaw = await readNifti(p.t2);
      const truth = preprocess(truthRaw, undefined).image;
      const mask = (await readNiftiLabels(p.mask)).data;
      const cut = outsideBrain(translateVolume(run.trainer, run.config, t1), mask);
      const hist = makeVolume(histogramMatch(t1.data, reference, { mask, invert: true, background: -1 }), t1.shape, t1.spacing, t1.affine);
      const score = (v: Volume) => scoreTranslation(v, truthRaw, mask);
      const h = score(hist);
      const c = score(cut);
      cases.push({ id: p.id, ssim: { histogram: h.ssim, cut: c.ssim }, mae: { histogram: h.mae, cut: c.mae } });
      if (tiles.length < 4) {
        // An axial slice a little above the middle: the ventricles and the deep nuclei.
        const index = Math.min(t1.shape[2]! - 1, Math.round(t1.shape[2]! * 0.55));
        tiles.push([t1, hist, cut, truth].map((v) => windowLevel(sliceOf(v, { index }), { range: [-1, 1] })));
      }
    }
  } finally {
    run.trainer.dispose();
  }
  return realMriResult(cfg, cases, tiles, run.runDir, (performance.now() - t0) / 1000);
}

export function realMriResult(cfg: ExperimentConfig, cases: readonly RealMriCase[], tiles: readonly Bitmap[][], runDir: string, seconds: number): ExperimentResult {
  const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
  const mean = (xs: number[]) => describe(xs).mean;
  const ssimH = mean(cases.map((c) => c.ssim.histogram));
  const ssimC = mean(cases.map((c) => c.ssim.cut));
  const wins = cases.filter((c) => c.ssim.cut > c.ssim.histogram).length;
  const targets: Target[] = [
    {
      id: "cutBeatsHistogramMatching",
      claim: "CUT's translation beats histogram matching of the inverted T1",
      measure: "mean masked SSIM of CUT minus that of the baseline",
      measured: cases.length ? ssimC - ssimH : null,
      op: ">=",
      threshold: 0,
    },
  ];
  const numbers: Record<string, KeyNumber> = {
    cases: cases.length,
    "ssim.histogram": r4(ssimH),
    "ssim.cut": r4(ssimC),
    "mae.histogram": r4(mean(cases.map((c) => c.mae.histogram))),
    "mae.cut": r4(mean(cases.map((c) => c.mae.cut))),
    cutWins: wins,
    ...targetNumbers(targets),
  };
  const quality: QualityRow[] = cases.flatMap((c) => [
    { domain: "T2w", translator: METHODS.histogram, metric: "masked SSIM", value: c.ssim.histogram },
    { domain: "T2w", translator: METHODS.cut, metric: "masked SSIM", value: c.ssim.cut },
    { domain: "T2w", translator: METHODS.histogram, metric: "masked MAE", value: c.mae.histogram },
    { domain: "T2w", translator: METHODS.cut, metric: "masked MAE", value: c.mae.cut },
  ]);
  const bars = qualityBarsFigure({ rows: quality, metrics: ["masked SSIM", "masked MAE"], translators: [METHODS.histogram, METHODS.cut], units: {} });
  bars.layout.title = { text: "T1 -> T2 on the Colin27 brain: scores within the brain mask against the co-registered T2" };
  const grid = tiles.length === 0 ? undefined : imageGridFigure({
    title: "Test subjects (axial slice): T1 input, the baseline, CUT, the co-registered T2",
    rows: tiles.map((images, i) => ({ label: cases[i]?.id ?? `case ${i + 1}`, images })),
    columnTitles: ["T1 (input)", "inverted T1, histogram-matched", "CUT", "T2 (truth)"],
  });
  const f = (v: number) => v.toFixed(3);
  const reading = [
    `CUT trained on ${cfg.profile}-profile budgets from unpaired skull-stripped T1 and T2 volumes (Colin27 anatomy from mricron-data, each subject deformed, cropped and scanned with its own gain, bias field and noise; the T2 rendered by the spin-echo equation with iron-darkened deep nuclei), then scored on ${cases.length} held-out T1 volumes against their co-registered T2 within the brain mask.`,
    `Masked SSIM: CUT ${f(ssimC)}, histogram matching of the inverted T1 ${f(ssimH)} (CUT higher in ${wins} of ${cases.length}); masked MAE (intensities in [-1, 1]): CUT ${f(numbers["mae.cut"] as number)}, baseline ${f(numbers["mae.histogram"] as number)}.`,
    "Histogram matching can only remap intensities monotonically, so it renders the pallidum and putamen (bright or grey on T1, dark on T2) wrongly and keeps the T1's own bias field; a translation can learn both from the images, but at a small budget it adds artefacts of its own.",
    targetsReading(targets, cfg.profile),
  ].join(" ");
  const rows: Row[] = cases.map((c) => ({ case: c.id, ssimHistogram: r4(c.ssim.histogram), ssimCut: r4(c.ssim.cut), maeHistogram: r4(c.mae.histogram), maeCut: r4(c.mae.cut) }));
  return {
    name: REAL_MRI_NAME,
    title: TITLE,
    profile: cfg.profile,
    seed: cfg.seed,
    figures: [
      { name: "", figure: bars, caption: "Masked SSIM and MAE of the two T1 -> T2 methods against the co-registered T2 (mean and sd over the test subjects)." },
      ...(grid ? [{ name: "examples", figure: grid, caption: "An axial slice of each test subject: the input, the baseline, CUT and the truth, each normalised as training saw it ([-1, 1])." }] : []),
    ],
    images: [],
    tables: [{ name: "cases", rows, caption: "Per test subject: masked SSIM and MAE of each method" }],
    numbers,
    reading,
    runs: [runDir],
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
