// The faces every method's trainer shows: one training face (step, networks, optimisers, state)
// that the loop and checkpoints use alike for all methods, and one inference face: a Translator
// (translate; a StyleTranslator also embeds exemplars) or a Segmenter (segment).
import type { tf } from "../engine/tf.js";
import type { Batch } from "../data/loader.js";
import type { Module } from "../nn/module.js";
import type { Optimizer } from "../optim/optimizer.js";
import type { RngState } from "../util/random.js";

/** What one training step consumes: unpaired source and target batches (labels where allowed). */
export interface TrainBatch {
  source: Batch;
  target: Batch;
  /** Method-specific extras, e.g. IntraStyler's style-contrastive stack or one-hot site codes. */
  extra?: Record<string, { data: Float32Array; shape: number[] }>;
}

/** How to steer a translation: an exemplar image, a style vector, or a named sub-domain. */
export interface TranslateOptions {
  /** [1, (d,) h, w, 1] target image whose style to copy (intrastyler). */
  exemplar?: tf.Tensor;
  /** [1, styleDim] unit style vector (intrastyler), e.g. a SLERP of two exemplars' vectors. */
  style?: tf.Tensor;
  /** Named target sub-domain (unified, multinets). */
  site?: string;
  /** Translate target -> source instead (methods with both directions, e.g. cyclegan). */
  reverse?: boolean;
}

/** Scalar losses of one step, by name (e.g. { G_GAN: 0.9, NCE: 3.1, D: 0.4 }). */
export type StepLosses = Record<string, number>;

/**
 * The training face of every method: what the loop, the schedule and checkpoints use. A trainer
 * also has one inference face: a Translator or a Segmenter (see `Trainer`).
 */
export interface TrainingFace {
  /** e.g. "cyclegan". */
  readonly method: string;
  /** The resolved, JSON-serialisable configuration (saved with checkpoints). */
  readonly config: Record<string, unknown>;
  /** One optimisation step; the returned numbers are already read back from the device. */
  step(batch: TrainBatch): Promise<StepLosses>;
  /** The networks, by name, whose weights make up a checkpoint. */
  modules(): Record<string, Module>;
  /** The optimisers, by name, whose state makes up a checkpoint. */
  optimizers(): Record<string, Optimizer>;
  /** Method state beyond weights (image pools, the method's Rng), as JSON. */
  extraState(): { rng: RngState; [key: string]: unknown };
  loadExtraState(s: { rng: RngState; [key: string]: unknown }): void;
  /** Method tensors beyond weights (e.g. the image pool's stored fakes), saved beside the weights. */
  extraTensors?(): Map<string, { shape: number[]; data: Float32Array }>;
  loadExtraTensors?(t: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void;
  /** Scales every optimiser's learning rate (the schedule calls this). */
  setLearningRateFactor(f: number): void;
  dispose(): void;
}

/** The inference face of the translators (cyclegan, cut, ..., syndiff). */
export interface Translator {
  readonly role: "translator";
  /** Translates x [b, (d,) h, w, 1] (a patch the size the networks accept); the caller disposes the result. */
  translate(x: tf.Tensor, opts?: TranslateOptions): tf.Tensor;
}

/** A translator steered by style vectors (intrastyler): exemplar images or any unit vector. */
export interface StyleTranslator extends Translator {
  /** Components of a style vector. */
  readonly styleDim: number;
  /** The unit style vectors of images x [b, ...] -> [b, styleDim]. */
  embed(x: tf.Tensor): tf.Tensor;
}

/** The inference face of the segmenter. */
export interface Segmenter {
  readonly role: "segmenter";
  /** Class probabilities [b, (d,) h, w, nClasses] of images x [b, (d,) h, w, 1]; the caller disposes the result. */
  segment(x: tf.Tensor): tf.Tensor;
}

/** A method's trainer: its training face and one inference face. */
export type Trainer = (TrainingFace & Translator) | (TrainingFace & Segmenter);

/** Whether a trainer translates by style vectors (exemplars, SLERPs of them). */
export function isStyleTranslator(t: Trainer): t is TrainingFace & StyleTranslator {
  return t.role === "translator" && typeof (t as Partial<StyleTranslator>).embed === "function" && typeof (t as Partial<StyleTranslator>).styleDim === "number";
}
