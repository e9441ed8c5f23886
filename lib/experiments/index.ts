// lib/experiments: one module per figure or lesson, each a function from a config to results,
// grouped by what they reproduce: framework/ (the experiment type, the run cache, the figures
// runner, targets, derived datasets, the ear phantom's shared runs), lecture/ (the CycleGAN
// lecture), intrastyler/ (the IntraStyler paper's figures and the budget sweep), pseudoLabels/
// (the SynDiff pseudo-labelling study) and realMri/ (the real-MRI recipe). The registry below,
// above all of them, is what `npm run figures` runs, in this order.
import type { Experiment } from "./framework/types.js";
import { lectureCycleGan } from "./lecture/lectureCycleGan.js";
import { styleSpaceExperiment } from "./intrastyler/styleSpace.js";
import { exemplarsExperiment } from "./intrastyler/exemplars.js";
import { interpolationExperiment } from "./intrastyler/interpolation.js";
import { segmentationFigure } from "./intrastyler/segmentation.js";
import { pseudoLabelsExperiment } from "./pseudoLabels/study.js";
import { budgetSweepExperiment } from "./intrastyler/budgetSweep.js";
import { realMriExperiment } from "./realMri/realMri.js";

export * from "./framework/types.js";
export * from "./framework/runCache.js";
export * from "./framework/figures.js";
export * from "./framework/data.js";
export * from "./framework/derive.js";
export * from "./framework/ear.js";
export * from "./lecture/index.js";
export * from "./intrastyler/styleRun.js";
export * from "./intrastyler/styleSpace.js";
export * from "./intrastyler/exemplars.js";
export * from "./intrastyler/interpolation.js";
export * from "./intrastyler/segmentation.js";
export * from "./pseudoLabels/study.js";
export * from "./framework/claims.js";
export * from "./intrastyler/budgetSweep.js";
export * from "./realMri/realMri.js";

/** Every experiment `npm run figures` knows, in the order it runs them (those run by name only last). */
export const EXPERIMENTS: readonly Experiment[] = [
  lectureCycleGan,
  styleSpaceExperiment,
  exemplarsExperiment,
  interpolationExperiment,
  segmentationFigure,
  pseudoLabelsExperiment,
  budgetSweepExperiment,
  realMriExperiment,
];
