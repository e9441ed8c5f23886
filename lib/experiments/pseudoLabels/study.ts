// fig-pseudo-labels: the SynDiff pseudo-labelling study (Boschet et al., MICCAI 2024 DGM4MICCAI)
// on the axon histology phantom. Labelled TEM is the source; three unlabelled targets of
// increasing dissimilarity (TEM of another species, SEM, bright-field). For each target and
// translator (SynDiff, CycleGAN, CUT by default): translation quality against the phantom's
// paired truth and of cycle reconstructions, and the Dice of axon and myelin under k-fold
// cross-validation for NoAdapt (the TEM segmenter on raw target images), Tutorship (a proxy
// segmenter trained on TEM images translated into the target) and Adaptation (target images
// translated into TEM, segmented by the TEM segmenter). Every training, translation and derived
// manifest is cached under the runs folder, so a rerun only scores.
//
// The pieces run in turn (the notebook calls them one by one): startPseudoLabels (data, folds,
// the TEM segmenters), runPseudoLabelsTarget per target, pseudoLabelsResult, closePseudoLabels.
import { targetNumbers, targetsReading } from "../framework/claims.js";
import { basename } from "node:path";
import type { Dataset, Subject } from "../../data/manifest.js";
import type { AxonDomain } from "../../data/phantoms/axon.js";
import type { Row } from "../../analysis/tables.js";
import { type SegmenterConfig } from "../../methods/config.js";
import { resolveConfig, totalSteps } from "../../methods/registry.js";
import type { LabelVolume } from "../../volume/volume.js";
import { UnpairedError } from "../../util/errors.js";
import { cachedRun, type CachedRun } from "../framework/runCache.js";
import { axonDataset, axonTruth, pseudoFoldManifest, loadPseudoCases, pseudoSourceImages, pseudoTestImages, type PseudoCase } from "./data.js";
import { pseudoAdaptationImages, PSEUDO_NO_TRANSLATOR, pseudoQualityRows, pseudoScoreSegmenter, type PseudoDiceRow, type PseudoQualityRow } from "./eval.js";
import {
  isOneWayTranslator,
  PSEUDO_SOURCE,
  PSEUDO_TARGETS,
  PSEUDO_TRANSLATORS,
  PSEUDO_TRANSLATOR_METHODS,
  pseudoFolds,
  pseudoFoldSeed,
  pseudoLabelsPlan,
  type PseudoFold,
  type PseudoLabelsPlan,
  type PseudoTarget,
  type PseudoTranslator,
} from "./plan.js";
import {
  pseudoArmName,
  pseudoDiceByFold,
  pseudoDiceSummary,
  orderedPseudoTargets,
  pseudoLabelsFigures,
  pseudoLabelsNumbers,
  pseudoLabelsReading,
  pseudoLabelsTargets,
  pseudoQualitySummary,
  type PseudoExampleRow,
  type PseudoSegmentationExample,
} from "./report.js";
import { disposePseudoTranslatorPair, pseudoTranslationSet, readPseudoTranslation, trainPseudoTranslatorPair, type PseudoTranslationSet } from "./translate.js";
import type { Experiment, ExperimentConfig, ExperimentResult, NamedTable } from "../framework/types.js";

export * from "./plan.js";
export * from "./data.js";
export * from "./translate.js";
export * from "./eval.js";
export * from "./report.js";

export const PSEUDO_LABELS_EXPERIMENT = "fig-pseudo-labels";
const TITLE = "Pseudo labelling with SynDiff: Tutorship vs Adaptation on the axon phantom";

/** What to compare (default: every target, SynDiff, CycleGAN and CUT). */
export interface PseudoLabelsOptions {
  targets?: readonly PseudoTarget[];
  translators?: readonly PseudoTranslator[];
}

/** One unit of work: what it was, which run, whether it was reused, and how long it took now. */
export type PseudoStageRow = {
  target: string;
  method: string;
  stage: "translator" | "translations" | "segmenter" | "scoring";
  fold: number | null;
  run: string;
  reused: boolean;
  seconds: number;
};

/** The study in progress: data, folds, the TEM segmenters (one per fold) and what has been measured. */
export interface PseudoLabelsStudy {
  cfg: ExperimentConfig;
  plan: PseudoLabelsPlan;
  dataset: Dataset;
  targets: PseudoTarget[];
  translators: PseudoTranslator[];
  /** The labelled TEM training images the folds split. */
  sources: Subject[];
  folds: PseudoFold[];
  /** TEM test images (TEM -> target quality, translation examples). */
  sourceTest: PseudoCase[];
  /** The TEM segmenter of each fold (NoAdapt and Adaptation); freed by closePseudoLabels. */
  sourceSegmenters: CachedRun[];
  /** Each TEM segmenter on its held-out TEM images. */
  sourceCv: PseudoDiceRow[];
  stages: PseudoStageRow[];
  runs: string[];
  started: number;
}

/** What one target contributed. */
export interface PseudoTargetResult {
  target: PseudoTarget;
  dice: PseudoDiceRow[];
  quality: PseudoQualityRow[];
  translationExamples: PseudoExampleRow[];
  segmentationExample: PseudoSegmentationExample;
  stages: PseudoStageRow[];
  runs: string[];
}

const clock = () => performance.now() / 1000;

function checkOptions(o: PseudoLabelsOptions): { targets: PseudoTarget[]; translators: PseudoTranslator[] } {
  const targets = [...(o.targets ?? PSEUDO_TARGETS)];
  const translators = [...(o.translators ?? PSEUDO_TRANSLATORS)];
  const badT = targets.filter((t) => !(PSEUDO_TARGETS as readonly string[]).includes(t));
  const badM = translators.filter((m) => !(PSEUDO_TRANSLATOR_METHODS as readonly string[]).includes(m));
  if (badT.length) throw new UnpairedError("BAD_OPTION", `pseudo-labels: unknown target(s) ${badT.join(", ")}; choose from ${PSEUDO_TARGETS.join(", ")}`);
  if (badM.length) throw new UnpairedError("BAD_OPTION", `pseudo-labels: unknown translator(s) ${badM.join(", ")}; choose from ${PSEUDO_TRANSLATOR_METHODS.join(", ")}`);
  if (!targets.length || !translators.length) throw new UnpairedError("BAD_OPTION", "pseudo-labels: give at least one target and one translator");
  return { targets: orderedPseudoTargets([...new Set(targets)]) as PseudoTarget[], translators: [...new Set(translators)] };
}

/** The segmenter of one fold on a fold manifest (its own seed; the same options for every segmenter of the study). */
function foldSegmenter(study: Pick<PseudoLabelsStudy, "cfg" | "plan">, manifest: string, label: string, fold: PseudoFold): Promise<CachedRun> {
  return cachedRun(study.cfg, { method: "segmenter", manifest, label, overrides: { ...study.plan.segmenter, seed: pseudoFoldSeed(study.cfg.seed, fold.index) } });
}

/**
 * Opens the phantom, splits the TEM training images into folds, loads the TEM test images and
 * trains (or reuses) the TEM segmenter of each fold, scoring each on its held-out TEM images.
 */
export async function startPseudoLabels(cfg: ExperimentConfig, opts: PseudoLabelsOptions = {}): Promise<PseudoLabelsStudy> {
  const started = clock();
  const { targets, translators } = checkOptions(opts);
  const plan = pseudoLabelsPlan(cfg.profile);
  const dataset = await axonDataset(cfg);
  const sources = pseudoSourceImages(dataset, plan.sourceImages);
  const folds = pseudoFolds(sources.map((s) => s.id), plan.folds, cfg.seed);
  const sourceTest = await loadPseudoCases(pseudoTestImages(dataset, PSEUDO_SOURCE, plan.testImages));
  const images = sources.map((s) => ({ id: s.id, image: s.image, label: s.label! }));
  const byId = new Map(sources.map((s) => [s.id, s]));
  const study: PseudoLabelsStudy = { cfg, plan, dataset, targets, translators, sources, folds, sourceTest, sourceSegmenters: [], sourceCv: [], stages: [], runs: [], started };
  try {
    for (const fold of folds) {
      const t0 = clock();
      const m = await pseudoFoldManifest(cfg, dataset, { stem: `${dataset.id}-tem`, domain: PSEUDO_SOURCE, modality: "tem", images, fold, folds: folds.length, description: `The labelled TEM training images of ${dataset.id}.` });
      const seg = await foldSegmenter(study, m.manifest, `axon-seg-tem-f${fold.index + 1}`, fold);
      study.sourceSegmenters.push(seg);
      study.runs.push(seg.runDir);
      study.stages.push({ target: PSEUDO_SOURCE, method: PSEUDO_NO_TRANSLATOR, stage: "segmenter", fold: fold.index + 1, run: basename(seg.runDir), reused: !seg.trained, seconds: clock() - t0 });
      const held = await loadPseudoCases(fold.heldOut.map((id) => byId.get(id)!));
      study.sourceCv.push(...pseudoScoreSegmenter(seg, held, { target: PSEUDO_SOURCE, strategy: "source CV", method: PSEUDO_NO_TRANSLATOR, fold: fold.index + 1 }).rows);
    }
  } catch (err) {
    closePseudoLabels(study);
    throw err;
  }
  return study;
}

/** Frees the TEM segmenters. */
export function closePseudoLabels(study: PseudoLabelsStudy): void {
  for (const s of study.sourceSegmenters) s.trainer.dispose();
  study.sourceSegmenters.length = 0;
}

/**
 * Everything of one target: NoAdapt with each TEM segmenter; per translator the pair (trained or
 * reused), its translations (written once), their quality, Adaptation with each TEM segmenter,
 * and Tutorship with one proxy segmenter per fold.
 */
export async function runPseudoLabelsTarget(study: PseudoLabelsStudy, target: PseudoTarget): Promise<PseudoTargetResult> {
  if (study.sourceSegmenters.length !== study.folds.length) throw new UnpairedError("BAD_OPTION", "pseudo-labels: the study is closed (its TEM segmenters were freed); start it again");
  const { cfg, dataset: d, plan } = study;
  const targetTestSubjects = pseudoTestImages(d, target, plan.testImages);
  const targetTest = await loadPseudoCases(targetTestSubjects);
  const targetTrain = d.subjects.filter((s) => s.domain === target && s.split === "train");
  const dice: PseudoDiceRow[] = [];
  const quality: PseudoQualityRow[] = [];
  const stages: PseudoStageRow[] = [];
  const runs: string[] = [];
  const exampleCase = targetTest[0]!;
  const predictions: Record<string, LabelVolume> = {};
  const keep = (arm: string, fold: number, p: Map<string, LabelVolume>) => {
    if (fold === 1 && p.has(exampleCase.id)) predictions[arm] = p.get(exampleCase.id)!;
  };

  // NoAdapt: the TEM segmenters on raw target images.
  study.sourceSegmenters.forEach((seg, i) => {
    const t0 = clock();
    const r = pseudoScoreSegmenter(seg, targetTest, { target, strategy: "NoAdapt", method: PSEUDO_NO_TRANSLATOR, fold: i + 1 });
    dice.push(...r.rows);
    keep("NoAdapt", i + 1, r.predictions);
    stages.push({ target, method: PSEUDO_NO_TRANSLATOR, stage: "scoring", fold: i + 1, run: basename(seg.runDir), reused: false, seconds: clock() - t0 });
  });

  const exampleSource = study.sourceTest[0]!;
  const forwardRow: PseudoExampleRow = { label: `TEM → ${target}`, input: exampleSource.image, translations: {}, cycles: {} };
  const backwardRow: PseudoExampleRow = { label: `${target} → TEM`, input: exampleCase.image, translations: {}, cycles: {} };
  const tf = axonTruth(d, exampleSource.subject, target as AxonDomain);
  const tb = axonTruth(d, exampleCase.subject, PSEUDO_SOURCE);
  if (tf) forwardRow.truth = tf;
  if (tb) backwardRow.truth = tb;

  for (const method of study.translators) {
    // The translator pair and its translations.
    const pair = await trainPseudoTranslatorPair(cfg, d, target, method);
    let set: PseudoTranslationSet;
    try {
      stages.push({ target, method, stage: "translator", fold: null, run: pair.runs.map((r) => basename(r)).join(" + "), reused: !pair.trained, seconds: pair.seconds });
      runs.push(...pair.runs);
      set = await pseudoTranslationSet(cfg, d, pair, { sources: study.sources, sourceTest: study.sourceTest.map((c) => c.subject), targetTest: targetTestSubjects });
      stages.push({ target, method, stage: "translations", fold: null, run: set.id, reused: set.reused, seconds: set.seconds });
    } finally {
      disposePseudoTranslatorPair(pair);
    }
    quality.push(...(await pseudoQualityRows(d, set, study.sourceTest, targetTest)));
    forwardRow.translations[method] = await readPseudoTranslation(set.files.forward.get(exampleSource.id)!);
    forwardRow.cycles[method] = await readPseudoTranslation(set.files.forwardCycle.get(exampleSource.id)!);
    backwardRow.translations[method] = await readPseudoTranslation(set.files.backward.get(exampleCase.id)!);
    backwardRow.cycles[method] = await readPseudoTranslation(set.files.backwardCycle.get(exampleCase.id)!);

    // Adaptation: target images in TEM, segmented by the TEM segmenters.
    const adapted = await pseudoAdaptationImages(set, targetTest);
    study.sourceSegmenters.forEach((seg, i) => {
      const t0 = clock();
      const r = pseudoScoreSegmenter(seg, adapted, { target, strategy: "Adaptation", method, fold: i + 1 });
      dice.push(...r.rows);
      keep(pseudoArmName("Adaptation", method), i + 1, r.predictions);
      stages.push({ target, method, stage: "scoring", fold: i + 1, run: basename(seg.runDir), reused: false, seconds: clock() - t0 });
    });

    // Tutorship: a proxy segmenter per fold on the translated TEM images, scored on raw target images.
    const tutorImages = study.sources.map((s) => ({ id: s.id, image: set.files.tutor.get(s.id)!, label: s.label! }));
    for (const fold of study.folds) {
      const t0 = clock();
      const m = await pseudoFoldManifest(cfg, d, {
        stem: set.id,
        domain: `${target}-synthetic`,
        modality: `${target} (translated from TEM by ${method})`,
        images: tutorImages,
        fold,
        folds: study.folds.length,
        description: `Tutorship: the labelled TEM training images of ${d.id} translated into ${target} by ${method} (set ${set.id}), with the TEM labels; the real ${target} training images as the unused target side.`,
        companions: targetTrain,
      });
      const seg = await foldSegmenter(study, m.manifest, `axon-seg-tutor-${method}-${target}-f${fold.index + 1}`, fold);
      try {
        runs.push(seg.runDir);
        stages.push({ target, method, stage: "segmenter", fold: fold.index + 1, run: basename(seg.runDir), reused: !seg.trained, seconds: clock() - t0 });
        const t1 = clock();
        const r = pseudoScoreSegmenter(seg, targetTest, { target, strategy: "Tutorship", method, fold: fold.index + 1 });
        dice.push(...r.rows);
        keep(pseudoArmName("Tutorship", method), fold.index + 1, r.predictions);
        stages.push({ target, method, stage: "scoring", fold: fold.index + 1, run: basename(seg.runDir), reused: false, seconds: clock() - t1 });
      } finally {
        seg.trainer.dispose();
      }
    }
  }
  study.runs.push(...runs);
  study.stages.push(...stages);
  return {
    target,
    dice,
    quality,
    translationExamples: [forwardRow, backwardRow],
    segmentationExample: { target, case: exampleCase.id, image: exampleCase.image, labels: exampleCase.labels, predictions },
    stages,
    runs,
  };
}

/** What the plan trains, in a sentence for the reading. */
export function pseudoLabelsPlanNote(cfg: Pick<ExperimentConfig, "profile">, translators: readonly PseudoTranslator[] = PSEUDO_TRANSLATORS): string {
  const plan = pseudoLabelsPlan(cfg.profile);
  const t = translators.map((m) => {
    const c = resolveConfig(m, cfg.profile, 2, plan.translators[m]);
    return `${m} ${totalSteps(c)} steps on ${c.patch.join("x")} patches${isOneWayTranslator(m) ? " per direction (two runs: TEM -> target and target -> TEM)" : ""}`;
  });
  const s = resolveConfig("segmenter", cfg.profile, 2, plan.segmenter) as SegmenterConfig;
  return (
    `Setup: translators ${t.join(", ")}; every segmenter (TEM and proxy alike) ${totalSteps(s)} steps of batch ${s.batchSize} on ${s.patch.join("x")} patches (U-Net base ${s.base}, depth ${s.depth}), ` +
    `${plan.folds}-fold cross-validation over ${plan.sourceImages === "all" ? "all" : plan.sourceImages} labelled TEM training images (each fold its own seed); ` +
    `translations of whole 128x128 fields; ${plan.testImages === "all" ? "all" : plan.testImages} held-out test images per domain scored.`
  );
}

/** Assembles the experiment's result from what each target contributed. */
export function pseudoLabelsResult(study: PseudoLabelsStudy, results: readonly PseudoTargetResult[]): ExperimentResult {
  const cfg = study.cfg;
  const dice = results.flatMap((r) => r.dice);
  const quality = results.flatMap((r) => r.quality);
  const targets = orderedPseudoTargets(results.map((r) => r.target));
  const methods = study.translators;
  const { figures, images } = pseudoLabelsFigures({
    dice,
    quality,
    methods,
    targets,
    folds: study.folds.length,
    translationExamples: results.flatMap((r) => r.translationExamples),
    segmentationExamples: results.map((r) => r.segmentationExample),
    profile: cfg.profile,
  });
  const numbers = pseudoLabelsNumbers({ dice, quality, sourceCv: study.sourceCv, methods, targets });
  const trained = study.stages.filter((s) => (s.stage === "translator" || s.stage === "segmenter" || s.stage === "translations") && !s.reused).length;
  numbers["unitsTrainedOrTranslatedNow"] = trained;
  numbers["seconds"] = Math.round(clock() - study.started);
  const round = (rows: readonly Row[]) => rows.map((r) => ({ ...r, ...(typeof r["seconds"] === "number" ? { seconds: Math.round((r["seconds"] as number) * 10) / 10 } : {}) }));
  const tables: NamedTable[] = [
    { name: "dice-summary", rows: pseudoDiceSummary(dice), caption: "Dice per target, strategy, translator and structure: mean and sd over folds of each fold's mean over the test images" },
    { name: "dice-folds", rows: pseudoDiceByFold(dice), caption: "Dice per fold: mean over the target's test images" },
    { name: "dice", rows: dice as Row[], caption: "Dice per target, strategy, translator, fold, test image and structure" },
    { name: "quality-summary", rows: pseudoQualitySummary(quality), caption: "Translation quality (SSIM, PSNR in dB, L1; images in [-1, 1]): mean and sd over test images per target, translator, direction and kind (translation vs the paired truth; cycle reconstruction vs the input)" },
    { name: "quality", rows: quality as Row[], caption: "Translation quality per test image" },
    { name: "source-cv", rows: pseudoDiceSummary(study.sourceCv), caption: "The TEM segmenters on their held-out TEM fold (source-domain check)" },
    { name: "stages", rows: round(study.stages as Row[]), caption: "What was trained, translated or reused, and the seconds each took in this call" },
  ];
  const goals = pseudoLabelsTargets(numbers, { methods, targets });
  Object.assign(numbers, targetNumbers(goals));
  const reading = pseudoLabelsReading(numbers, { profile: cfg.profile, methods, targets, notes: [targetsReading(goals, cfg.profile), pseudoLabelsPlanNote(cfg, methods)].filter(Boolean) });
  return {
    name: PSEUDO_LABELS_EXPERIMENT,
    title: TITLE,
    profile: cfg.profile,
    seed: cfg.seed,
    figures,
    images,
    tables,
    numbers,
    reading,
    runs: [...new Set(study.runs)],
    seconds: clock() - study.started,
  };
}

/** Runs the whole study: every target in turn, then the result. */
export async function runPseudoLabels(cfg: ExperimentConfig, opts: PseudoLabelsOptions = {}): Promise<ExperimentResult> {
  const study = await startPseudoLabels(cfg, opts);
  try {
    const results: PseudoTargetResult[] = [];
    for (const t of study.targets) results.push(await runPseudoLabelsTarget(study, t));
    return pseudoLabelsResult(study, results);
  } finally {
    closePseudoLabels(study);
  }
}

export const pseudoLabelsExperiment: Experiment = {
  name: PSEUDO_LABELS_EXPERIMENT,
  title: TITLE,
  summary: "SynDiff, CycleGAN and CUT translating TEM <-> three targets of increasing dissimilarity: translation quality (SSIM, PSNR, L1) and Dice of axon and myelin under k-fold cross-validation for NoAdapt, Tutorship and Adaptation.",
  run: (cfg) => runPseudoLabels(cfg),
};
