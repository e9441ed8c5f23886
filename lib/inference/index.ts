// Inference, apart from training: a trained run rebuilt from its folder and applied to whole
// volumes (overlapping tiles with Gaussian blending, slice by slice for 2D networks).
export { translateFile, applyToVolume, openRun, translateVolume, segmentVolume, argmaxLabels, asTensorFor, type TranslateFileOptions, type VolumeTranslateOptions } from "./translate.js";
export { slidingWindow, gaussianImportance, tileStarts, type SlidingWindowOptions } from "./slidingWindow.js";
