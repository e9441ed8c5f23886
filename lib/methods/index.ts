// The methods: their configs, specs and registry, and the trainers behind one interface.
export * from "./config.js";
export * from "./trainer.js";
export * from "./spec.js";
export * from "./registry.js";
export { CycleGanTrainer, cycleGanSpec } from "./cyclegan.js";
export { CutTrainer, cutSpec, fastCutSpec, noDiverseSpec, cutDefaults } from "./cut.js";
export { IntraStylerTrainer, intraStylerSpec } from "./intrastyler.js";
export { UnifiedTrainer, unifiedSpec } from "./unified.js";
export { MultiNetsTrainer, multiNetsSpec } from "./multinets.js";
export { SegmenterTrainer, segmenterSpec } from "./segmenter.js";
export { SynDiffTrainer, synDiffSpec, emaUpdate } from "./syndiff.js";
export * from "./diffusionSchedule.js";
export { ImagePool, type ImagePoolState, type StoredImages } from "./imagePool.js";
