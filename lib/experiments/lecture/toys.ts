// The lecture's toy pairs: a small CycleGAN per toy domain pair (colour and texture, which it
// learns, and circles <-> squares, which it cannot), their evaluation against the same scenes
// drawn in the other domain, the grids and the training curves.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tf } from "../../engine/tf.js";
import { preprocess } from "../../data/loader.js";
import { selectSubjects, type Dataset } from "../../data/manifest.js";
import { toyPhantomConfig, toySample, type ToyKind, type ToyPhantomConfig } from "../../data/phantoms/toy.js";
import { CycleGanTrainer } from "../../methods/cyclegan.js";
import type { Trainer } from "../../methods/trainer.js";
import { openDataset } from "../../data/openDataset.js";
import { readNifti, readNiftiLabels } from "../../volume/niftiRead.js";
import { type Volume } from "../../volume/volume.js";
import type { Row } from "../../analysis/tables.js";
import { imageGridFigure, type ImageGridRow } from "../../viz/imageFigures.js";
import { lossHistoryFromCsv, trainingCurvesFigure, type LossHistoryEntry } from "../../viz/trainingCurvesFigure.js";
import type { Figure } from "../../viz/figure.js";
import { UnpairedError } from "../../util/errors.js";
import { cachedRun, type CachedRun } from "../framework/runCache.js";
import { carry, derivedManifest, writeDerivedManifest } from "../framework/derive.js";
import { TOY_MANIFEST } from "../framework/data.js";
import type { ExperimentConfig } from "../framework/types.js";
import { innerTextureEnergy, intensityDistance, squareness } from "../../analysis/imageMeasures.js";
import { dataRootOf, derivedDir, grey, meanAbs, meanOf, stack, unstack } from "./common.js";
import { lectureBudget } from "./budget.js";

// ---------------------------------------------------------------------------------------------
// 1. Toy pairs

export const TOY_CHANGES: Record<ToyKind, string> = {
  colour: "grey-level mapping (dark objects on light -> light on dark)",
  texture: "texture (smooth blobs -> striped blobs)",
  geometry: "geometry (circles -> squares of the same area)",
};

/** A few training images of each toy's two domains (drawn from the phantom's generator). */
export function toyExamplesFigure(n = 3, toys: readonly ToyKind[] = ["colour", "texture", "geometry"]): Figure {
  const img = (toy: ToyKind, d: "A" | "B", i: number) => grey(toySample(toy, d, i).image, { range: [0, 1] });
  return imageGridFigure({
    title: "The toy domains: A (source) and B (target), unpaired",
    rows: toys.flatMap((toy) => (["A", "B"] as const).map((d) => ({ label: `${toy}-${d}`, images: Array.from({ length: n }, (_, i) => img(toy, d, i)) }))),
    tileSize: 96,
  });
}

export interface ToyPair {
  toy: ToyKind;
  run: CachedRun;
  trainer: CycleGanTrainer;
  /** The toy phantom's options (to draw the paired answers). */
  phantom: ToyPhantomConfig;
}

/** The toy dataset's files as one two-domain dataset, A (source) and B (target); returns the manifest path. */
export async function toyPairManifest(cfg: ExperimentConfig, toy: ToyKind): Promise<{ path: string; base: Dataset }> {
  const base = await openDataset(TOY_MANIFEST, dataRootOf(cfg));
  const pick = (d: "A" | "B") => selectSubjects(base, { domain: `${toy}-${d}` });
  const m = derivedManifest(base, {
    id: `lecture-toy-${toy}`,
    description: `The lecture's ${toy} toy pair: ${TOY_CHANGES[toy]}; ${toy}-A is the source, ${toy}-B the target.`,
    domains: { A: { role: "source", modality: `${toy}-A` }, B: { role: "target", modality: `${toy}-B` } },
    subjects: [...carry(pick("A"), "A"), ...carry(pick("B"), "B")],
  });
  return { path: writeDerivedManifest(join(derivedDir(cfg), `lecture-toy-${toy}.json`), m), base };
}

export function asCycleGan(t: Trainer, what: string): CycleGanTrainer {
  if (!(t instanceof CycleGanTrainer)) throw new UnpairedError("BAD_CONFIG", `${what}: expected a cyclegan run, got ${t.method}`);
  return t;
}

/** Trains (or reuses) the CycleGAN of one toy pair. */
export async function trainToyPair(cfg: ExperimentConfig, toy: ToyKind): Promise<ToyPair> {
  const { path, base } = await toyPairManifest(cfg, toy);
  const run = await cachedRun(cfg, { method: "cyclegan", manifest: path, overrides: lectureBudget(cfg.profile).toy, label: `lecture-toy-${toy}` });
  const g = base.generator;
  const phantom = toyPhantomConfig(g ? { seed: g.seed, ...(g.options as Partial<ToyPhantomConfig>) } : {});
  return { toy, run, trainer: asCycleGan(run.trainer, `toy ${toy}`), phantom };
}

export interface ToyImages {
  id: string;
  source: Volume;
  translation: Volume;
  reconstruction: Volume;
  /** The same scene drawn as domain B: the answer a paired method would be shown (never seen here). */
  paired: Volume;
}

export interface ToyMetrics {
  toy: ToyKind;
  change: string;
  steps: number;
  testImages: number;
  /** Mean |F(G(a)) - a| on the test images (normalised intensities, [-1, 1]). */
  cycleL1: number;
  /** Mean |image - the same scene drawn as B|: for the untranslated source and for G(source). */
  pairedMaeSource: number;
  pairedMaeTranslation: number;
  /** Intensity-histogram distance (W1) to the real B test images: source vs translation. */
  histSource: number;
  histTranslation: number;
  /** Texture toy: texture energy inside the objects (see innerTextureEnergy) of A, G(A) (A's objects) and real B. */
  textureSource: number | null;
  textureTranslation: number | null;
  textureTarget: number | null;
  /** Geometry toy: mean squareness of the objects (disc 0.785, square 1) in A, G(A) and real B. */
  squareSource: number | null;
  squareTranslation: number | null;
  squareTarget: number | null;
}

export interface ToyEvaluation {
  toy: ToyKind;
  metrics: ToyMetrics;
  /** The first test images, for the grid. */
  shown: ToyImages[];
  /** The normalised test images of A and B (for the flip experiment). */
  testA: Volume[];
  testB: Volume[];
}

export async function readNormalised(path: string): Promise<Volume> {
  return preprocess(await readNifti(path), undefined).image;
}

const toyIndex = (id: string): number => {
  const m = /_(\d+)$/.exec(id);
  if (!m) throw new UnpairedError("BAD_MANIFEST", `toy subject ${id}: no image index at the end of its id`);
  return Number(m[1]);
};

/** Translates and reconstructs the test images of a toy pair and measures what changed. */
export async function evaluateToyPair(pair: ToyPair, show = 2): Promise<ToyEvaluation> {
  const d = pair.run.dataset;
  const subjectsA = selectSubjects(d, { domain: "A", split: "test" });
  const subjectsB = selectSubjects(d, { domain: "B", split: "test" });
  const testA = await Promise.all(subjectsA.map((s) => readNormalised(s.image)));
  const testB = await Promise.all(subjectsB.map((s) => readNormalised(s.image)));
  const texture = pair.toy === "texture";
  const masksA = texture ? await Promise.all(subjectsA.map((s) => readNiftiLabels(s.label!))) : [];
  const masksB = texture ? await Promise.all(subjectsB.map((s) => readNiftiLabels(s.label!))) : [];
  const paired = subjectsA.map((s) => preprocess(toySample(pair.toy, "A", toyIndex(s.id), pair.phantom, { renderAs: "B" }).image, undefined).image);
  const x = stack(testA);
  const fake = tf.tidy(() => pair.trainer.G_A.apply(x));
  const rec = tf.tidy(() => pair.trainer.G_B.apply(fake));
  const translations = unstack(fake);
  const reconstructions = unstack(rec);
  tf.dispose([x, fake, rec]);
  const geometry = pair.toy === "geometry";
  const sq = (vs: Volume[]) => (geometry ? meanOf(vs.flatMap((v) => squareness(v))) : null);
  const c = pair.run.config;
  const metrics: ToyMetrics = {
    toy: pair.toy,
    change: TOY_CHANGES[pair.toy],
    steps: c.constantSteps + c.decaySteps,
    testImages: testA.length,
    cycleL1: meanOf(testA.map((a, i) => meanAbs(reconstructions[i]!.data, a.data))),
    pairedMaeSource: meanOf(testA.map((a, i) => meanAbs(a.data, paired[i]!.data))),
    pairedMaeTranslation: meanOf(translations.map((t, i) => meanAbs(t.data, paired[i]!.data))),
    histSource: intensityDistance(testA, testB),
    histTranslation: intensityDistance(translations, testB),
    textureSource: texture ? meanOf(testA.map((v, i) => innerTextureEnergy(v, masksA[i]!)).filter(Number.isFinite)) : null,
    textureTranslation: texture ? meanOf(translations.map((v, i) => innerTextureEnergy(v, masksA[i]!)).filter(Number.isFinite)) : null,
    textureTarget: texture ? meanOf(testB.map((v, i) => innerTextureEnergy(v, masksB[i]!)).filter(Number.isFinite)) : null,
    squareSource: sq(testA),
    squareTranslation: sq(translations),
    squareTarget: sq(testB),
  };
  const shown = testA.slice(0, show).map((source, i) => ({ id: subjectsA[i]!.id, source, translation: translations[i]!, reconstruction: reconstructions[i]!, paired: paired[i]! }));
  return { toy: pair.toy, metrics, shown, testA, testB };
}

/** Source | translation G(a) | reconstruction F(G(a)) | the same scene drawn as B, rows grouped by toy. */
export function toyGridFigure(evals: readonly ToyEvaluation[]): Figure {
  const rows: ImageGridRow[] = evals.flatMap((e) =>
    e.shown.map((s) => ({
      label: `${e.toy} #${toyIndex(s.id)}`,
      images: [grey(s.source), grey(s.translation), grey(s.reconstruction), grey(s.paired)],
    })),
  );
  return imageGridFigure({
    title: "Toy CycleGANs: A, G(A), F(G(A)) and the paired answer",
    rows,
    columnTitles: ["A (test image)", "G(A)", "F(G(A))", "same scene drawn as B"],
    tileSize: 128,
  });
}

export function toyMetricsRows(evals: readonly ToyEvaluation[]): Row[] {
  return evals.map(({ metrics: m }) => ({
    toy: m.toy,
    change: m.change,
    steps: m.steps,
    test_images: m.testImages,
    cycle_l1: m.cycleL1,
    paired_mae_source: m.pairedMaeSource,
    paired_mae_translation: m.pairedMaeTranslation,
    hist_w1_source: m.histSource,
    hist_w1_translation: m.histTranslation,
    texture_source: m.textureSource,
    texture_translation: m.textureTranslation,
    texture_target: m.textureTarget,
    squareness_source: m.squareSource,
    squareness_translation: m.squareTranslation,
    squareness_target: m.squareTarget,
  }));
}

/** A run's losses.csv as a history (empty when the run has none). */
export function lossHistoryOfRun(runDir: string): LossHistoryEntry[] {
  const p = join(runDir, "losses.csv");
  return existsSync(p) ? lossHistoryFromCsv(readFileSync(p, "utf8")) : [];
}

/**
 * Several runs' losses in one history: for each run the weighted cycle loss (cycle_A + cycle_B),
 * the generators' adversarial loss (G_A + G_B) and, where present, the shape loss.
 */
export function mergedCycleGanHistory(runs: readonly { name: string; runDir: string }[]): LossHistoryEntry[] {
  const bySteps = new Map<number, Record<string, number>>();
  for (const r of runs) {
    for (const h of lossHistoryOfRun(r.runDir)) {
      const l = h.losses;
      const e = bySteps.get(h.step) ?? {};
      e[`${r.name}: cycle`] = (l["cycle_A"] ?? NaN) + (l["cycle_B"] ?? NaN);
      e[`${r.name}: adversarial (G)`] = (l["G_A"] ?? NaN) + (l["G_B"] ?? NaN);
      if ("shape" in l) e[`${r.name}: shape`] = l["shape"]!;
      bySteps.set(h.step, e);
    }
  }
  return [...bySteps.entries()].sort((a, b) => a[0] - b[0]).map(([step, losses]) => ({ step, losses }));
}

/** Loss curves of several CycleGAN runs (cycle, adversarial, shape), smoothed for long runs. */
export function cycleGanCurvesFigure(runs: readonly { name: string; runDir: string }[], title: string): Figure {
  const history = mergedCycleGanHistory(runs);
  if (!history.length) throw new UnpairedError("FILE_NOT_FOUND", `${title}: the runs have no losses.csv (${runs.map((r) => r.runDir).join(", ")})`);
  return trainingCurvesFigure({ history, smoothing: history.length >= 100 ? 15 : 1, title, logY: true });
}
