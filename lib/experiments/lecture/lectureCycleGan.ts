// The CycleGAN lecture as an experiment: small CycleGANs trained on the toy domains (a colour
// change and a texture change it learns, and circles <-> squares, the failure case), the geometric ambiguity
// of the cycle loss measured on a trained pair, then ceT1 -> T2 on the ear phantom, segmenters
// trained on the translations, and shape consistency (Zhang et al. 2018) against anatomy drift.
// The notebook 01-cyclegan-lecture calls the same step functions one by one.
import { targetNumbers, targetsReading, type Target } from "../framework/claims.js";
import type { ToyKind } from "../../data/phantoms/toy.js";
import type { MetricRow } from "../../viz/metricBoxFigures.js";
import type { Figure } from "../../viz/figure.js";
import { UnpairedError } from "../../util/errors.js";
import type { Experiment, ExperimentConfig, ExperimentResult, KeyNumber, NamedFigure, NamedTable } from "../framework/types.js";
import { meanOf } from "./common.js";
import { lectureBudget } from "./budget.js";
import { type ToyEvaluation, cycleGanCurvesFigure, evaluateToyPair, toyGridFigure, toyMetricsRows, trainToyPair } from "./toys.js";
import { type FlipAmbiguity, flipAmbiguityOfPair, flipImagesFigure, flipRows, flipTableFigure } from "./mirror.js";
import { LECTURE_EAR_METHODS, LECTURE_EAR_STRUCTURES, lectureAnatomyCases, lectureDice, lectureDiceBoxFigure, lectureDiceSummary, lectureEarDataset, lectureEarGridFigure, lectureTestSubjects, trainEarCycleGan, trainLectureOracle, trainSegmenterOnTranslations, translateEarSources } from "./ear.js";

export const LECTURE_CYCLEGAN = "lecture-cyclegan";
const TITLE = "The CycleGAN lecture: what cycle consistency can and cannot do";

// ---------------------------------------------------------------------------------------------
// 4. The result

export interface LectureParts {
  cfg: ExperimentConfig;
  toyEvals: ToyEvaluation[];
  toyRuns: { name: string; runDir: string }[];
  flip: { toy: string; result: FlipAmbiguity; images: Figure };
  earRuns: { name: string; runDir: string }[];
  earGrid: Figure;
  /** Dice on the labelled T2 test set of the segmenters trained on translations (and the Oracle). */
  downstream: MetricRow[];
  /** Dice of the Oracle's segmentation of each translation against the source labels. */
  anatomy: MetricRow[];
  runs: string[];
  seconds: number;
}

const r3 = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : Math.round(v * 1000) / 1000);
const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(d));

function meanDice(rows: readonly MetricRow[], method: string, structure?: string): number {
  return meanOf(rows.filter((r) => r.method === method && (structure === undefined || r.structure === structure)).map((r) => r.value ?? NaN));
}

/** The key numbers of a lecture run. */
export function lectureNumbers(p: LectureParts): Record<string, KeyNumber> {
  const n: Record<string, KeyNumber> = {};
  for (const e of p.toyEvals) {
    const m = e.metrics;
    n[`${m.toy}_cycle_l1`] = r3(m.cycleL1);
    n[`${m.toy}_paired_mae_source`] = r3(m.pairedMaeSource);
    n[`${m.toy}_paired_mae_translation`] = r3(m.pairedMaeTranslation);
    n[`${m.toy}_hist_w1_source`] = r3(m.histSource);
    n[`${m.toy}_hist_w1_translation`] = r3(m.histTranslation);
    if (m.textureTranslation !== null) {
      n[`${m.toy}_texture_source`] = r3(m.textureSource);
      n[`${m.toy}_texture_translation`] = r3(m.textureTranslation);
      n[`${m.toy}_texture_target`] = r3(m.textureTarget);
    }
    if (m.squareTranslation !== null) {
      n[`${m.toy}_squareness_source`] = r3(m.squareSource);
      n[`${m.toy}_squareness_translation`] = r3(m.squareTranslation);
      n[`${m.toy}_squareness_target`] = r3(m.squareTarget);
    }
  }
  const f = p.flip.result;
  n["flip_toy"] = p.flip.toy;
  n["flip_cycle_original"] = f.original.cycleX + f.original.cycleY;
  n["flip_cycle_mirrored"] = f.mirrored.cycleX + f.mirrored.cycleY;
  n["flip_cycle_rel_difference"] = f.relDifference;
  n["flip_translation_change"] = r3(f.translationChange);
  for (const [key, name] of Object.entries(LECTURE_EAR_METHODS)) {
    n[`dice_t2_test_${key}`] = r3(meanDice(p.downstream, name));
    if (key !== "oracle") n[`dice_anatomy_${key}`] = r3(meanDice(p.anatomy, name));
  }
  return n;
}

/** A few sentences from the numbers (what held, what did not). */
export function lectureReading(p: LectureParts): string {
  const out: string[] = [];
  const ev = (t: ToyKind) => p.toyEvals.find((e) => e.toy === t)?.metrics;
  const smoke = p.cfg.profile === "smoke";
  if (smoke) out.push(`Smoke profile: a few training steps only, so the numbers below check the wiring and show none of the lecture's effects.`);
  const c = ev("colour");
  if (c) {
    const ratio = c.pairedMaeTranslation / Math.max(1e-9, c.pairedMaeSource);
    out.push(
      `Colour toy: translations are ${fmt(c.pairedMaeTranslation)} (mean absolute difference, intensities in [-1, 1]) from the same scenes drawn in domain B, against ${fmt(c.pairedMaeSource)} for the untranslated images; ` +
        (ratio < 0.25 ? `the grey-level mapping was learnt` : ratio < 0.75 ? `the mapping was only partly learnt` : `the mapping was not learnt`) +
        `, and F brought the images back to within ${fmt(c.cycleL1)}.`,
    );
  }
  const towards = (from: number | null, to: number | null, target: number | null) =>
    from === null || to === null || target === null || Math.abs(target - from) < 1e-9 ? NaN : (to - from) / (target - from);
  const t = ev("texture");
  if (t) {
    const k = towards(t.textureSource, t.textureTranslation, t.textureTarget);
    out.push(
      `Texture toy: the texture energy inside the objects went from ${fmt(t.textureSource)} (smooth source) to ${fmt(t.textureTranslation)} in the translations, against ${fmt(t.textureTarget)} in real striped images ` +
        `(${fmt(100 * k, 0)}% of the way); ` +
        (k >= 0.5 ? `stripes were added inside unchanged outlines` : k >= 0.2 ? `stripes appeared only partly` : `no stripes to speak of appeared at this budget`) +
        `, with a reconstruction error of ${fmt(t.cycleL1)}.`,
    );
  }
  const g = ev("geometry");
  if (g && g.squareTranslation !== null && g.squareSource !== null && g.squareTarget !== null) {
    const k = towards(g.squareSource, g.squareTranslation, g.squareTarget);
    out.push(
      `Geometry toy: objects fill ${fmt(g.squareSource, 2)} of their bounding box in the source (discs), ${fmt(g.squareTarget, 2)} in real B (squares) and ${fmt(g.squareTranslation, 2)} in the translations ` +
        `(${fmt(100 * k, 0)}% of the way to squares): ` +
        (k < 0.15 ? `circles did not become squares` : k < 0.6 ? `circles became at best rounded, blurred squares` : `the translations came close to squares, more than the lecture leads one to expect`) +
        `, while F still brought the images back to within ${fmt(g.cycleL1)} (colour ${fmt(c?.cycleL1)}, texture ${fmt(t?.cycleL1)}): a small cycle error does not mean the translation is right.`,
    );
  }
  const f = p.flip.result;
  out.push(
    `Mirror ambiguity (${p.flip.toy} pair): cycle loss ${f.original.cycleX.toPrecision(7)} + ${f.original.cycleY.toPrecision(7)} for (G, F) and ${f.mirrored.cycleX.toPrecision(7)} + ${f.mirrored.cycleY.toPrecision(7)} for (T∘G, F∘T⁻¹), ` +
      `${f.relDifference === 0 ? "equal to the last bit" : `a relative difference of ${f.relDifference.toExponential(1)}`}, while the two translations differ by ${fmt(f.translationChange)} per pixel on average (their own spread is ${fmt(f.translationSpread)}): ` +
      `cycle consistency alone cannot choose between them.`,
  );
  const dPlain = meanDice(p.downstream, LECTURE_EAR_METHODS.plain);
  const dShape = meanDice(p.downstream, LECTURE_EAR_METHODS.shape);
  const dOracle = meanDice(p.downstream, LECTURE_EAR_METHODS.oracle);
  const aPlain = meanDice(p.anatomy, LECTURE_EAR_METHODS.plain);
  const aShape = meanDice(p.anatomy, LECTURE_EAR_METHODS.shape);
  const cases = new Set(p.downstream.map((r) => r.case)).size;
  const compare = (a: number, b: number) => (Math.abs(a - b) < 0.02 ? "about the same as" : a > b ? "higher than" : "lower than");
  // The structure where shape consistency changed the anatomy Dice most.
  const byStructure = Object.values(LECTURE_EAR_STRUCTURES).map((st) => ({ st, d: meanDice(p.anatomy, LECTURE_EAR_METHODS.shape, st) - meanDice(p.anatomy, LECTURE_EAR_METHODS.plain, st) }));
  const most = byStructure.reduce((a, b) => (Math.abs(b.d) > Math.abs(a.d) ? b : a));
  out.push(
    `Ear phantom: segmenters trained on translated ceT1 with the ceT1 labels reached a mean Dice (three structures, ${cases} labelled real T2 test volumes) of ${fmt(dPlain)} with plain CycleGAN ` +
      `and ${fmt(dShape)} with shape consistency, against ${fmt(dOracle)} for the Oracle trained on real labelled T2` +
      (dPlain < dOracle - 0.05 ? `: translations carried part of the way, not all of it.` : `.`),
  );
  out.push(
    `Whether the translations kept the source anatomy (the Oracle's segmentation of each translation against the ceT1 labels): mean Dice ${fmt(aPlain)} for plain CycleGAN and ${fmt(aShape)} with shape consistency ` +
      `(largest change: ${most.st}, ${most.d >= 0 ? "+" : ""}${fmt(most.d)}). ` +
      (aShape > aPlain + 0.02
        ? `Shape consistency kept more of the anatomy`
        : aShape < aPlain - 0.02
          ? `Shape consistency kept less of the anatomy, so on this phantom, budget and seed it did not fix a distortion`
          : `Shape consistency made no clear difference to the anatomy`) +
      `, and the segmenter trained on its translations scored ${compare(dShape, dPlain)} the one trained on plain CycleGAN's (one seed; see the box plots for the spread).`,
  );
  return out.join(" ");
}

/** The lecture's target: the ear CycleGAN's translations keep the source anatomy (the Oracle finds it at mean Dice >= 0.6). */
export function lectureTargets(p: LectureParts): Target[] {
  const a = meanDice(p.anatomy, LECTURE_EAR_METHODS.plain);
  return [{ id: "anatomyKept.CycleGAN", claim: "CycleGAN's ear translations keep the source anatomy", measure: "Oracle Dice vs the source labels", measured: Number.isFinite(a) ? a : null, op: ">=", threshold: 0.6 }];
}

/** Figures, tables, numbers and reading of a lecture run. */
export function lectureResult(p: LectureParts): ExperimentResult {
  const figures: NamedFigure[] = [
    { name: "", figure: toyGridFigure(p.toyEvals), caption: "Toy domains: source, translation, reconstruction and the paired answer (never seen in training)." },
    { name: "curves", figure: cycleGanCurvesFigure(p.toyRuns, "Toy CycleGANs: cycle and adversarial losses"), caption: "Training losses of the toy pairs." },
    { name: "flip", figure: flipTableFigure(p.flip.result, p.flip.toy), caption: "Cycle losses of a trained pair and of its mirrored twin." },
    { name: "flip-images", figure: p.flip.images, caption: "The mirrored translator reconstructs the same images." },
    { name: "ear", figure: p.earGrid, caption: "ceT1 -> T2 translations with and without shape consistency." },
    { name: "ear-curves", figure: cycleGanCurvesFigure(p.earRuns, "Ear CycleGANs: cycle, adversarial and shape losses"), caption: "Training losses of the ear CycleGANs." },
    { name: "dice", figure: lectureDiceBoxFigure(p.downstream, "Segmenters trained on CycleGAN translations: Dice on real labelled T2 (test)"), caption: "Dice on the T2 test set." },
    { name: "anatomy", figure: lectureDiceBoxFigure(p.anatomy, "Is the anatomy kept? The Oracle's segmentation of each translation vs the source labels"), caption: "Anatomy preservation by translation." },
  ];
  const tables: NamedTable[] = [
    { name: "toys", rows: toyMetricsRows(p.toyEvals), caption: "Toy pairs: cycle error, distance to the paired answer, histogram distance to B, squareness" },
    { name: "flip", rows: flipRows(p.flip.result, p.flip.toy), caption: "Cycle losses of (G, F) and of the mirrored pair (T∘G, F∘T⁻¹)" },
    { name: "dice", rows: [...lectureDiceSummary(p.downstream, "T2 test (segmenter)"), ...lectureDiceSummary(p.anatomy, "anatomy kept (Oracle on translation vs source labels)")], caption: "Mean Dice per structure" },
    { name: "dice-cases", rows: [...p.downstream.map((r) => ({ evaluation: "t2-test", ...r })), ...p.anatomy.map((r) => ({ evaluation: "anatomy", ...r }))], caption: "Dice per case and structure" },
  ];
  return {
    name: LECTURE_CYCLEGAN,
    title: TITLE,
    profile: p.cfg.profile,
    seed: p.cfg.seed,
    figures,
    images: [],
    tables,
    numbers: { ...lectureNumbers(p), ...targetNumbers(lectureTargets(p)) },
    reading: [lectureReading(p), targetsReading(lectureTargets(p), p.cfg.profile)].join(" "),
    runs: p.runs,
    seconds: p.seconds,
  };
}

/** The whole lecture, step by step (the notebook makes the same calls). */
export async function runLecture(cfg: ExperimentConfig): Promise<ExperimentResult> {
  const t0 = performance.now();
  const budget = lectureBudget(cfg.profile);
  const runs: string[] = [];
  const toyEvals: ToyEvaluation[] = [];
  const toyRuns: { name: string; runDir: string }[] = [];
  let flip: LectureParts["flip"] | undefined;
  for (const toy of budget.toys) {
    const pair = await trainToyPair(cfg, toy);
    try {
      runs.push(pair.run.runDir);
      toyRuns.push({ name: toy, runDir: pair.run.runDir });
      const ev = await evaluateToyPair(pair, budget.toyShow);
      toyEvals.push(ev);
      if (toy === "colour") flip = { toy, result: flipAmbiguityOfPair(pair, ev), images: flipImagesFigure(pair, ev) };
    } finally {
      pair.trainer.dispose();
    }
  }
  if (!flip) throw new UnpairedError("BAD_CONFIG", "lecture-cyclegan: the budget has no colour toy for the mirror experiment");
  const plain = await trainEarCycleGan(cfg, 0);
  const shape = await trainEarCycleGan(cfg, budget.lambdaShape);
  runs.push(plain.runDir, shape.runDir);
  const setPlain = await translateEarSources(cfg, plain, "cyclegan");
  const setShape = await translateEarSources(cfg, shape, "cyclegan-shape");
  plain.trainer.dispose();
  shape.trainer.dispose();
  const ear = await lectureEarDataset(cfg);
  const test = lectureTestSubjects(cfg, ear);
  const downstream: MetricRow[] = [];
  for (const [set, name, label] of [
    [setPlain, LECTURE_EAR_METHODS.plain, "lecture-seg-cyclegan"],
    [setShape, LECTURE_EAR_METHODS.shape, "lecture-seg-cyclegan-shape"],
  ] as const) {
    const seg = await trainSegmenterOnTranslations(cfg, set, label);
    runs.push(seg.runDir);
    downstream.push(...(await lectureDice(seg, test, name, cfg.progress)));
    seg.trainer.dispose();
  }
  const oracle = await trainLectureOracle(cfg);
  runs.push(oracle.runDir);
  try {
    downstream.push(...(await lectureDice(oracle, test, LECTURE_EAR_METHODS.oracle, cfg.progress)));
    const anatomy = [
      ...(await lectureDice(oracle, lectureAnatomyCases(cfg, setPlain), LECTURE_EAR_METHODS.plain, cfg.progress)),
      ...(await lectureDice(oracle, lectureAnatomyCases(cfg, setShape), LECTURE_EAR_METHODS.shape, cfg.progress)),
    ];
    const earGrid = await lectureEarGridFigure(cfg, [{ name: LECTURE_EAR_METHODS.plain, set: setPlain }, { name: LECTURE_EAR_METHODS.shape, set: setShape }], oracle);
    return lectureResult({
      cfg,
      toyEvals,
      toyRuns,
      flip,
      earRuns: [
        { name: "plain", runDir: plain.runDir },
        { name: "shape", runDir: shape.runDir },
      ],
      earGrid,
      downstream,
      anatomy,
      runs,
      seconds: (performance.now() - t0) / 1000,
    });
  } finally {
    oracle.trainer.dispose();
  }
}

export const lectureCycleGan: Experiment = {
  name: LECTURE_CYCLEGAN,
  title: TITLE,
  summary: "CycleGAN on toy domains (colour and texture changes; circles -> squares, the failure case), the mirror ambiguity of the cycle loss, ceT1 -> T2 with segmentation and shape consistency",
  run: runLecture,
};
