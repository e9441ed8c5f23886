// How much does the lecture's ear CycleGAN (ceT1 -> T2) depend on its training budget? Trains
// the quick profile's network for --steps steps (half constant, half decaying learning rate),
// translates the ceT1 training volumes, and reports the two numbers the lecture reports at 600
// steps: the anatomy kept (the lecture Oracle's segmentation of each translation against the
// source labels, mean Dice) and the Dice on real labelled T2 of a segmenter trained on the
// translations. Runs are cached like the figures' (same --runs folder: the Oracle is reused).
//   npx tsx scripts/ear-cyclegan-budget.ts --steps 3000 [--shape] [--runs runs] [--seed 0] [--phantom-root DIR]
// --shape adds the lecture's shape-consistency loss (lambdaShape 1, segmentors on both sides).
import { parseArgs } from "node:util";
import { initEngine } from "../lib/engine/index.js";
import { experimentConfig } from "../lib/experiments/index.js";
import { cachedRun } from "../lib/experiments/framework/runCache.js";
import {
  lectureAnatomyCases,
  lectureBudget,
  lectureDice,
  lectureEarDataset,
  lectureEarSlab,
  lectureTestSubjects,
  trainLectureOracle,
  trainSegmenterOnTranslations,
  translateEarSources,
} from "../lib/experiments/lecture/index.js";
import type { MetricRow } from "../lib/viz/metricBoxFigures.js";

const args = parseArgs({ options: { steps: { type: "string" }, shape: { type: "boolean" }, runs: { type: "string" }, seed: { type: "string" }, "phantom-root": { type: "string" } } }).values;
const steps = Number(args.steps ?? 3000);
const seed = Number(args.seed ?? 0);
const refuse = (why: string) => {
  console.error(`ear-cyclegan-budget: ${why}`);
  process.exit(2);
};
if (!Number.isInteger(steps) || steps < 2 || steps % 2) refuse(`--steps must be an even whole number >= 2 (got "${args.steps}")`);
if (!Number.isInteger(seed)) refuse(`--seed must be a whole number (got "${args.seed}")`);
await initEngine({ quiet: true });
const cfg = experimentConfig({ profile: "quick", seed, runsDir: args.runs ?? "runs", phantomRoot: args["phantom-root"], progress: true });
const { manifest } = await lectureEarSlab(cfg);
const lambdaShape = args.shape ? 1 : 0;
const name = `cyclegan${args.shape ? "-shape" : ""}-${steps}`;
const t0 = performance.now();
const run = await cachedRun(cfg, { method: "cyclegan", manifest, overrides: { ...lectureBudget("quick").ear, lambdaShape, constantSteps: steps / 2, decaySteps: steps / 2 }, label: `ear-${name}-steps` });
const trainSeconds = (performance.now() - t0) / 1000;
const set = await translateEarSources(cfg, run, name);
run.trainer.dispose();
const mean = (rows: readonly MetricRow[]) => rows.reduce((a, r) => a + (r.value ?? NaN), 0) / rows.length;
const oracle = await trainLectureOracle(cfg);
const anatomy = await lectureDice(oracle, lectureAnatomyCases(cfg, set), "anatomy", true);
oracle.trainer.dispose();
const seg = await trainSegmenterOnTranslations(cfg, set, `lecture-seg-${name}-steps`);
const downstream = await lectureDice(seg, lectureTestSubjects(cfg, await lectureEarDataset(cfg)), "downstream", true);
seg.trainer.dispose();
const perStructure = [...new Set(anatomy.map((r) => r.structure))].map((s) => `${s} ${mean(anatomy.filter((r) => r.structure === s)).toFixed(3)}`);
console.log(`ear CycleGAN${args.shape ? " + shape consistency" : ""}, ${steps} steps, seed ${seed}${run.trained ? ` (trained in ${trainSeconds.toFixed(0)} s)` : " (cached run)"}: ${run.runDir}`);
console.log(`anatomy kept (Oracle Dice of translations vs source labels): mean ${mean(anatomy).toFixed(3)} (${perStructure.join(", ")})`);
console.log(`segmenter trained on the translations, Dice on ${new Set(downstream.map((r) => r.case)).size} real T2 test volumes: mean ${mean(downstream).toFixed(3)}`);
