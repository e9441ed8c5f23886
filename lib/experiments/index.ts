// lib/experiments: one module per figure or lesson, each a function from a config to results;
// the registry below is what `npm run figures` runs, in this order.
import type { Experiment } from "./types.js";
import { lectureCycleGan } from "./lectureCycleGan.js";
import { styleSpaceExperiment } from "./styleSpace.js";
import { exemplarsExperiment } from "./exemplars.js";
import { interpolationExperiment } from "./interpolation.js";
import { segmentationFigure } from "./segmentation.js";
import { pseudoLabelsExperiment } from "./pseudoLabels.js";
import { budgetSweepExperiment } from "./budgetSweep.js";
import { realMriExperiment } from "./realMri.js";

export * from "./types.js";
export * from "./runCache.js";
export * from "./figures.js";
export * from "./data.js";
export * from "./derive.js";
export * from "./ear.js";
export * from "./lectureCycleGan.js";
export * from "./styleFigures.js";
export * from "./styleSpace.js";
export * from "./exemplars.js";
export * from "./interpolation.js";
export * from "./segmentation.js";
export * from "./pseudoLabels.js";
export * from "./claims.js";
export * from "./budgetSweep.js";
export * from "./realMri.js";

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
