// unpaired-lab: unpaired image-to-image translation for medical imaging. The package entry:
// everything a notebook or a user's script imports.
export * from "./engine/index.js";
export { UnpairedError } from "./util/errors.js";
export type { ErrorCode } from "./util/errors.js";
export { Rng, type RngState } from "./util/random.js";
export { ProgressBar, type ProgressEvent, type ProgressListener } from "./util/progress.js";

// Volumes: containers, NIfTI, geometry and intensity operations.
export * from "./volume/volume.js";
export { readNifti, readNiftiSync, readNiftiLabels, readNiftiLabelsSync, readNiftiHeader, parseNiftiHeader } from "./volume/niftiRead.js";
export type { NiftiHeader, NiftiVolume, NiftiLabelVolume, ReadNiftiOptions } from "./volume/niftiRead.js";
export { writeNifti, writeNiftiSync, encodeNifti, type WriteNiftiOptions, type NiftiWriteType } from "./volume/niftiWrite.js";
export { applyAffine, multiplyAffines, translateAffine, isLabelVolume, type AnyVolume, type LabelValues } from "./volume/geometry.js";
export * from "./volume/crop.js";
export * from "./volume/resample.js";
export * from "./volume/orient.js";
export * from "./volume/normalise.js";
export * from "./volume/slices.js";

// Data: manifests, phantoms, augmentation, loaders.
export * from "./data/manifest.js";
export * from "./data/augment.js";
export { gaussianSmooth, gaussianSmoothVolume, gaussianKernel1d, type GaussianOptions, type BorderMode } from "./data/gaussian.js";
export * from "./data/loader.js";
export { writePhantom, phantomPlan, PHANTOM_KINDS, type PhantomKind, type PhantomPlan, type PhantomEntry } from "./data/phantoms/write.js";
export * from "./data/phantoms/index.js";
export * from "./data/brainExample.js";

// Networks, losses, methods and training.
export * as nn from "./nn/index.js";
export * from "./models/index.js";
export * from "./losses/index.js";
export * from "./optim/index.js";
export * from "./methods/index.js";
export * from "./train/index.js";
export { trainRun, type TrainRunOptions, type TrainRunResult } from "./train/run.js";
export { openDataset } from "./data/openDataset.js";
export * from "./inference/index.js";
export { liveTrainingDisplay, lossCurvesSvg, greyBmp, type HtmlDisplay, type SampleImage } from "./train/liveDisplay.js";

// Analysis (metrics, style space, tables) and figures (plotly builders, images, export, display).
export * from "./analysis/index.js";
export * from "./viz/index.js";

// Experiments: one function per figure or lesson (what `npm run figures` and the notebooks run).
export * from "./experiments/index.js";
