// What a method is, in one record: its name and inference role, its defaults per profile, the
// checks of a resolved config, what it needs from a dataset (sites, source labels, the number of
// classes), its loader options and the extras its batches carry beyond the two images, how the
// live display previews it, and its trainer's constructor. Each methods/<name>.ts exports its
// spec; methods/registry.ts lists them, and nothing outside the specs asks which method a config is.
import type { DatasetLoaderConfig, VolumeStore } from "../data/loader.js";
import type { Dataset } from "../data/manifest.js";
import type { tf } from "../engine/tf.js";
import type { Rng } from "../util/random.js";
import type { CommonConfig, MethodName, Profile } from "./config.js";
import type { TrainBatch, Trainer, TranslateOptions } from "./trainer.js";

/** What a method's batch extras may draw on: the dataset, its volume store and a seeded Rng (saved with checkpoints). */
export interface BatchExtrasContext {
  dataset: Dataset;
  store: VolumeStore;
  rng: Rng;
}

/** What the dataset offers a method before its config resolves. */
export interface DatasetFacts {
  dataset: Dataset;
  /** The target sub-domains (sites) that have training subjects. */
  targetSites: string[];
}

export interface MethodSpec<C extends CommonConfig = CommonConfig> {
  readonly name: MethodName;
  /** Its trainer's inference face: a translator's `translate` or the segmenter's `segment`. */
  readonly role: "translator" | "segmenter";
  /** Whether a translator also translates target -> source (`translate(x, { reverse: true })`). */
  readonly bothWays?: boolean;
  /** One line for listings and errors. */
  readonly summary: string;
  /** Every option with its default for a profile and data dimensionality. */
  defaults(profile: Profile, dims: 2 | 3): C;
  /** What keeps a resolved config from training, as sentences naming the option (none: fine). */
  problems?(c: C): string[];
  /** Options the dataset supplies (e.g. the sites); throws BAD_CONFIG when the dataset lacks what the method needs. */
  fromDataset?(facts: DatasetFacts, overrides: Readonly<Record<string, unknown>>): Record<string, unknown>;
  /** Fits a resolved config to the dataset (e.g. the segmenter's classes to its labels). */
  fitDataset?(c: C, d: Dataset): void;
  /** Whether its steps train on source labels. */
  needsSourceLabels?(c: C): boolean;
  /** Steps before the learning-rate schedule's own constant phase (they add to constantSteps + decaySteps). */
  warmupSteps?(c: C): number;
  /** Loader options beyond patch, batch and seed. */
  loaderOptions?(c: C): Pick<DatasetLoaderConfig, "foregroundProbability">;
  /** Adds the method's extras to each batch as drawn (e.g. IntraStyler's style-contrastive stack). */
  batchExtras?(c: C, ctx: BatchExtrasContext): (batch: TrainBatch) => Promise<TrainBatch>;
  /** How the live display translates its sample (translators; default: no options). */
  preview?(c: C, sample: tf.Tensor): TranslateOptions;
  /** Builds the method's trainer. */
  create(c: C): Trainer;
}
