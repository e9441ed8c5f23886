// The pseudo-labelling study's vocabulary and budgets (SynDiff; Boschet et al. 2024): the target
// domains, translators and strategies it compares, how much each profile trains, and the
// k-fold split of the labelled TEM training images that every segmenter of the study shares.
import { Rng } from "../../util/random.js";
import { UnpairedError } from "../../util/errors.js";
import type { Profile } from "../../methods/config.js";
import { translatesBothWays } from "../../methods/registry.js";

/** The axon phantom's targets, in order of increasing dissimilarity from the TEM source. */
export const PSEUDO_TARGETS = ["tem-species2", "sem", "brightfield"] as const;
export type PseudoTarget = (typeof PSEUDO_TARGETS)[number];

/** The labelled source domain. */
export const PSEUDO_SOURCE = "tem";

/** Translators the study can compare. SynDiff and CycleGAN translate both ways; CUT and FastCUT one way. */
export const PSEUDO_TRANSLATOR_METHODS = ["syndiff", "cyclegan", "cut", "fastcut"] as const;
export type PseudoTranslator = (typeof PSEUDO_TRANSLATOR_METHODS)[number];

/** The default comparison: the paper's translator first. */
export const PSEUDO_TRANSLATORS: readonly PseudoTranslator[] = ["syndiff", "cyclegan", "cut"];

/**
 * One-way translators: their target -> TEM direction (which Adaptation and every cycle
 * reconstruction need) is a second run of the same method on the swapped pair (the target as
 * source, TEM as target). Doubling their training is the price of comparing all three
 * strategies with every translator, rather than leaving Adaptation "n/a" for CUT.
 */
export function isOneWayTranslator(method: PseudoTranslator): boolean {
  return !translatesBothWays(method);
}

/**
 * NoAdapt: the TEM segmenter on raw target images (the floor). Tutorship: a proxy segmenter
 * trained on TEM images translated into the target. Adaptation: target images translated into
 * TEM, segmented by the TEM segmenter.
 */
export const PSEUDO_STRATEGIES = ["NoAdapt", "Tutorship", "Adaptation"] as const;
export type PseudoStrategy = (typeof PSEUDO_STRATEGIES)[number];

/** The structures scored (the phantom's label values). */
export const PSEUDO_STRUCTURES: Readonly<Record<number, string>> = Object.freeze({ 1: "axon", 2: "myelin" });
export const PSEUDO_LABELS = [1, 2] as const;

/** How much of everything a profile trains and scores (translator and segmenter options go into the run cache's hash). */
export interface PseudoLabelsPlan {
  /** Overrides of each translator over the profile's defaults. */
  translators: Readonly<Record<PseudoTranslator, Record<string, unknown>>>;
  /** Overrides of every segmenter of the study (the TEM ones and the proxies alike). */
  segmenter: Record<string, unknown>;
  /** Cross-validation folds over the segmenters' training images. */
  folds: number;
  /** Labelled TEM training images used: split into folds, and translated for Tutorship ("all" or the first n). */
  sourceImages: number | "all";
  /** Held-out images per domain: the target test images (Dice, target -> TEM quality) and the TEM test images (TEM -> target quality). */
  testImages: number | "all";
}

// The quick profile's networks: small (the profile's defaults, ngf 16 and 6 blocks, SynDiff's
// 3-level diffusive U-Net, cost 0.8-3 s a step at 64x64 here, which twelve runs cannot afford),
// on 32x32 patches. SynDiff's EMA decays at 0.95 instead of 0.999: its translations use the EMA
// weights, and over a few hundred steps 0.999 leaves them ~80% at their initial values (whose
// zero-initialised output layer makes a flat grey image). CycleGAN learns at 3x the reference rate
// (measured on TEM -> SEM at 250 steps: SSIM against the paired truth 0.24 / 0.31 in the two
// directions, against 0.17 / 0.23 at 2e-4); SynDiff at 2x did worse, so it keeps its rates.
const QUICK_GAN = { patch: [32, 32], ngf: 8, ndf: 16 };
const QUICK_SYNDIFF = { ...QUICK_GAN, constantSteps: 150, decaySteps: 150, emaDecay: 0.95, blocks: 3, diffChannels: 8, diffChannelMult: [1, 2], diffNdf: 8, diffDiscriminatorLevels: 2, nz: 16, zEmbDim: 32, tEmbDim: 32 };
const QUICK_CYCLEGAN = { ...QUICK_GAN, constantSteps: 150, decaySteps: 150, blocks: 3, lr: 6e-4 };
const QUICK_CUT = { ...QUICK_GAN, constantSteps: 75, decaySteps: 75, numPatches: 64 };

/**
 * Every segmenter of the study: three classes (background, axon, myelin). The kit's default of
 * four leaves a class no label ever shows, and short trainings then still paint it here and there
 * (seen at 80 steps), which only costs Dice.
 */
const SEGMENTER = { nClasses: 3 };

/**
 * The plan of a profile.
 *
 * quick: the whole study (12 translator runs: SynDiff, CycleGAN and two CUTs per target; 5 TEM
 * segmenters and 45 Tutorship segmenters; every translation and score). Steps at the 32x32 quick
 * patch with these networks on the torch engine (one thread per figures job, two jobs on the
 * 2-core build machine): SynDiff ~0.3-0.47 s (3 ResNet blocks, diffusive U-Net 8 channels x
 * [1, 2]), CycleGAN ~0.13 s (ngf 8, 3 blocks), CUT ~0.12 s (ngf 8, 5 blocks, the least PatchNCE
 * needs, 64 patches), segmenter ~0.02 s (batch 2, base 8, depth 3); on wasm they cost 0.45-0.75,
 * 0.13-0.30, 0.28-0.42 and 0.03-0.05 s, and the profile trained 240, 240, 100 and 100 steps. Such
 * small networks gain least from the faster engine (each kernel call costs about the same), so
 * the translators get 300 steps (CUT 150 per direction) and the segmenters keep 100. SynDiff is
 * the slow one: at 120 steps it still drew near-constant images (SSIM 0.01 against the truth), at
 * 250 steps 0.13.
 * smoke: wiring only (4 steps, tiny networks, 4 TEM images in 2 folds, 2 test images per domain;
 * SynDiff's EMA at 0.5 so that even 4 steps move its translating weights).
 * paper: the profile defaults, all images, 5 folds.
 */
export function pseudoLabelsPlan(profile: Profile): PseudoLabelsPlan {
  switch (profile) {
    case "smoke":
      return { translators: { syndiff: { emaDecay: 0.5 }, cyclegan: {}, cut: {}, fastcut: {} }, segmenter: { ...SEGMENTER, patch: [32, 32] }, folds: 2, sourceImages: 4, testImages: 2 };
    case "quick":
      return {
        translators: { syndiff: QUICK_SYNDIFF, cyclegan: QUICK_CYCLEGAN, cut: QUICK_CUT, fastcut: QUICK_CUT },
        segmenter: { ...SEGMENTER, patch: [32, 32], base: 8, depth: 3, constantSteps: 50, decaySteps: 50 },
        folds: 5,
        sourceImages: "all",
        testImages: "all",
      };
    case "paper":
      return { translators: { syndiff: {}, cyclegan: {}, cut: {}, fastcut: {} }, segmenter: { ...SEGMENTER }, folds: 5, sourceImages: "all", testImages: "all" };
  }
}

/** One fold of a k-fold split: the images its segmenter trains on and the ones it leaves out. */
export interface PseudoFold {
  /** 0-based. */
  index: number;
  /** Training ids, in the input's order. */
  train: string[];
  /** Held-out ids, in the input's order. */
  heldOut: string[];
}

/**
 * k-fold split of `ids`: a seeded shuffle dealt round-robin into k held-out groups (sizes differ
 * by at most one), each fold training on the rest. Every id is held out by exactly one fold.
 */
export function pseudoFolds(ids: readonly string[], k: number, seed: number): PseudoFold[] {
  if (!Number.isInteger(k) || k < 2) throw new UnpairedError("BAD_CONFIG", `pseudo-labels: folds must be a whole number >= 2, got ${k}`);
  if (new Set(ids).size !== ids.length) throw new UnpairedError("BAD_CONFIG", "pseudo-labels: the images to split into folds have repeated ids");
  if (ids.length < k) throw new UnpairedError("BAD_CONFIG", `pseudo-labels: ${ids.length} training images cannot make ${k} folds; use fewer folds or more images`);
  const order = new Rng(`pseudo-labels-folds:${seed}`).shuffled(ids);
  const foldOf = new Map(order.map((id, j) => [id, j % k]));
  return Array.from({ length: k }, (_, i) => ({
    index: i,
    train: ids.filter((id) => foldOf.get(id) !== i),
    heldOut: ids.filter((id) => foldOf.get(id) === i),
  }));
}

/** A fold's segmenter seed: each fold its own, all derived from the experiment's seed. */
export function pseudoFoldSeed(seed: number, fold: number): number {
  return seed * 1000 + fold;
}
