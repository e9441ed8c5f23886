// fig-budget-sweep: where the segmentation figure's claims start to hold. Trains the NoDiverse
// translator (plain CUT into the whole T2 domain) of fig-segmentation at several step counts and
// measures, at each: the anatomy its translations keep (the Oracle's Dice on translated sources
// against their labels; target 0.6) and the Dice on the real T2 test images of a segmenter trained
// on its translations (target: NoAdapt + 0.1). The point at the profile's own budget is the
// segmentation figure's run (the same spec, so the cache shares it). Costly (the largest budget
// alone trains for longer than the quick figures together), so `npm run figures` runs it only by
// name: `npm run figures -- --only fig-budget-sweep`.
import { type Profile } from "../../methods/config.js";
import { totalSteps, resolveConfig } from "../../methods/registry.js";
import { describe, type Row } from "../../analysis/tables.js";
import { budgetSweepFigure } from "../../viz/budgetSweepFigure.js";
import { targetsReading, targetNumbers, type Target } from "../framework/claims.js";
import { oracleSegmenter } from "../framework/ear.js";
import {
  ANATOMY_TARGET,
  SEGMENTATION_GAIN_TARGET,
  anatomyKept,
  disposeSegmentationArm,
  evaluateSegmentationArm,
  meanAnatomy,
  loadSegmentationTestSet,
  segmentationMeanDicePerCase,
  segmentationPlan,
  trainSegmentationArm,
} from "./segmentation.js";
import type { Experiment, ExperimentConfig, ExperimentResult, KeyNumber } from "../framework/types.js";

export const BUDGET_SWEEP_NAME = "fig-budget-sweep";
const TITLE = "Budget sweep: at how many training steps do the translations keep the anatomy and help the segmenter?";

/** The step counts of a profile's sweep (each half constant, half decaying learning rate). */
export function budgetSweepSteps(profile: Profile): number[] {
  return { smoke: [4, 8], quick: [600, 1200, 2400, 4800], paper: [20_000, 50_000, 100_000, 200_000] }[profile];
}

export interface BudgetPoint {
  steps: number;
  /** Mean Oracle Dice of the checked translations against their source labels. */
  anatomy: number;
  /** Median over test images of the mean Dice of a segmenter trained on the translations. */
  dice3: number;
  trainedNow: boolean;
  seconds: number;
  runDir: string;
}

const median = (xs: readonly number[]): number => describe(xs).median;

/** Runs the sweep: every budget's translator, translations, anatomy check and segmenter (each cached). */
export async function runBudgetSweep(cfg: ExperimentConfig, steps: readonly number[] = budgetSweepSteps(cfg.profile)): Promise<ExperimentResult> {
  const t0 = performance.now();
  const test = await loadSegmentationTestSet(cfg);
  const diceOf = (rows: Parameters<typeof segmentationMeanDicePerCase>[0]) => median(segmentationMeanDicePerCase(rows).map((c) => c.dice));
  const refs: Record<string, number> = {};
  for (const m of ["NoAdapt", "Oracle"] as const) {
    const arm = await trainSegmentationArm(cfg, m);
    try {
      refs[m] = diceOf(evaluateSegmentationArm(arm, test).rows);
    } finally {
      disposeSegmentationArm(arm);
    }
  }
  const oracle = await oracleSegmenter(cfg, segmentationPlan(cfg.profile).segmenter);
  const points: BudgetPoint[] = [];
  try {
    for (const n of steps) {
      if (!(Number.isInteger(n) && n >= 2 && n % 2 === 0)) throw new Error(`${BUDGET_SWEEP_NAME}: steps must be even whole numbers >= 2, got ${n}`);
      const t = performance.now();
      const arm = await trainSegmentationArm(cfg, "NoDiverse", { translatorOverrides: { constantSteps: n / 2, decaySteps: n / 2 } });
      try {
        const anatomy = await anatomyKept(oracle, "NoDiverse", arm.trainingSet.checks ?? []);
        const ev = evaluateSegmentationArm(arm, test);
        points.push({
          steps: n,
          anatomy: meanAnatomy(anatomy),
          dice3: diceOf(ev.rows),
          trainedNow: arm.translator?.trained ?? false,
          seconds: (performance.now() - t) / 1000,
          runDir: arm.translator?.runDir ?? "",
        });
      } finally {
        disposeSegmentationArm(arm);
      }
    }
  } finally {
    oracle.trainer.dispose();
  }
  return budgetSweepResult(cfg, points, refs as { NoAdapt: number; Oracle: number }, (performance.now() - t0) / 1000);
}

/** The first budget of the sweep at which `ok` holds from there on (null: not within the sweep). */
export function budgetWhereItHolds(points: readonly BudgetPoint[], ok: (p: BudgetPoint) => boolean): number | null {
  const sorted = [...points].sort((a, b) => a.steps - b.steps);
  for (let i = 0; i < sorted.length; i++) if (sorted.slice(i).every(ok)) return sorted[i]!.steps;
  return null;
}

export function budgetSweepResult(cfg: ExperimentConfig, points: readonly BudgetPoint[], refs: { NoAdapt: number; Oracle: number }, seconds: number): ExperimentResult {
  const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
  const quick = totalSteps(resolveConfig("nodiverse", cfg.profile, 3, segmentationPlan(cfg.profile).translator));
  const gainTarget = refs.NoAdapt + SEGMENTATION_GAIN_TARGET;
  const figure = budgetSweepFigure(
    [
      { name: "anatomy kept (Oracle Dice of translations vs source labels)", points: points.map((p) => ({ steps: p.steps, value: p.anatomy })), target: { value: ANATOMY_TARGET, label: `anatomy target ${ANATOMY_TARGET}` } },
      { name: "segmenter on the translations (median mean Dice, real T2)", points: points.map((p) => ({ steps: p.steps, value: p.dice3 })), target: { value: gainTarget, label: `NoAdapt + ${SEGMENTATION_GAIN_TARGET} (${gainTarget.toFixed(3)})` } },
    ],
    { title: "NoDiverse (CUT) on the ear phantom: metric against training steps", yTitle: "Dice", marker: { steps: quick, label: `the ${cfg.profile} profile (${quick})` } },
  );
  const anatomyFrom = budgetWhereItHolds(points, (p) => p.anatomy >= ANATOMY_TARGET);
  const gainFrom = budgetWhereItHolds(points, (p) => p.dice3 >= gainTarget);
  const largest = [...points].sort((a, b) => b.steps - a.steps)[0];
  const numbers: Record<string, KeyNumber> = { quickSteps: quick, "dice3.NoAdapt": r4(refs.NoAdapt), "dice3.Oracle": r4(refs.Oracle), anatomyHoldsFrom: anatomyFrom, gainHoldsFrom: gainFrom };
  for (const p of points) {
    numbers[`anatomy.${p.steps}`] = r4(p.anatomy);
    numbers[`dice3.${p.steps}`] = r4(p.dice3);
  }
  const targets: Target[] = largest
    ? [
        { id: "anatomyKeptAtLargestBudget", claim: `CUT's translations keep the anatomy at ${largest.steps} steps`, measure: "Oracle Dice vs the source labels", measured: largest.anatomy, op: ">=", threshold: ANATOMY_TARGET },
        { id: "gainAtLargestBudget", claim: `a segmenter on CUT's translations beats NoAdapt at ${largest.steps} steps`, measure: "gain in median mean Dice", measured: largest.dice3 - refs.NoAdapt, op: ">=", threshold: SEGMENTATION_GAIN_TARGET },
      ]
    : [];
  Object.assign(numbers, targetNumbers(targets));
  const f = (v: number) => v.toFixed(3);
  const sorted = [...points].sort((a, b) => a.steps - b.steps);
  const reading = [
    `NoDiverse (plain CUT into the whole T2 domain) trained at ${sorted.map((p) => p.steps).join(", ")} steps (${cfg.profile} profile networks; the ${cfg.profile} figures use ${quick}).`,
    `Anatomy kept: ${sorted.map((p) => `${p.steps} steps ${f(p.anatomy)}`).join(", ")}; ${anatomyFrom === null ? `below the target ${ANATOMY_TARGET} at every budget of the sweep` : `at or above the target ${ANATOMY_TARGET} from ${anatomyFrom} steps on`}.`,
    `Segmenter trained on the translations, median mean Dice on the real T2 test images: ${sorted.map((p) => `${p.steps} steps ${f(p.dice3)}`).join(", ")}, against NoAdapt ${f(refs.NoAdapt)} and the Oracle ${f(refs.Oracle)}; ${gainFrom === null ? `short of NoAdapt + ${SEGMENTATION_GAIN_TARGET} at every budget` : `at least NoAdapt + ${SEGMENTATION_GAIN_TARGET} from ${gainFrom} steps on`}.`,
    targetsReading(targets, cfg.profile),
    "One seed; each point is a run of its own (half the steps at the base learning rate, half decaying to zero), so neighbouring points differ by training noise as well as by budget.",
  ].join(" ");
  const rows: Row[] = sorted.map((p) => ({ steps: p.steps, anatomy: r4(p.anatomy), dice3: r4(p.dice3), noAdapt: r4(refs.NoAdapt), oracle: r4(refs.Oracle), trainedNow: p.trainedNow, seconds: Math.round(p.seconds), run: p.runDir }));
  return {
    name: BUDGET_SWEEP_NAME,
    title: TITLE,
    profile: cfg.profile,
    seed: cfg.seed,
    figures: [{ name: "", figure, caption: "Anatomy kept and downstream Dice of the NoDiverse (CUT) translator against its training budget; dashed: the targets; dotted: the profile's own budget." }],
    images: [],
    tables: [{ name: "points", rows, caption: "Per budget: anatomy kept, the segmenter's median mean Dice, the references, and the run" }],
    numbers,
    reading,
    runs: points.map((p) => p.runDir),
    seconds,
  };
}

export const budgetSweepExperiment: Experiment = {
  name: BUDGET_SWEEP_NAME,
  title: TITLE,
  summary: "NoDiverse (CUT) at several step counts: anatomy kept and downstream Dice against the budget (run by name only: it is costly).",
  byNameOnly: true,
  run: (cfg) => runBudgetSweep(cfg),
};
