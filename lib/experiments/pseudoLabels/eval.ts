// Scoring the pseudo-labelling study: Dice of axon and myelin per held-out image for each
// segmenter (one row per target, strategy, translator, fold, image and structure), and the
// translation quality of a translator pair (SSIM, PSNR, L1 per image) of its translations
// against the phantom's paired truth and of its cycle reconstructions against the input.
import { preprocess } from "../../data/loader.js";
import type { Dataset } from "../../data/manifest.js";
import type { AxonDomain } from "../../data/phantoms/axon.js";
import { dice } from "../../analysis/overlap.js";
import { mae, psnr, ssim } from "../../analysis/imageQuality.js";
import type { MethodConfig } from "../../methods/config.js";
import { segmentVolume } from "../../inference/translate.js";
import type { LabelVolume, Volume } from "../../volume/volume.js";
import type { CachedRun } from "../framework/runCache.js";
import { axonTruth, type PseudoCase } from "./data.js";
import { PSEUDO_LABELS, PSEUDO_SOURCE, PSEUDO_STRUCTURES, type PseudoTarget } from "./plan.js";
import { readPseudoTranslation, type PseudoTranslationKind, type PseudoTranslationSet } from "./translate.js";

/** The method column of rows without a translator (NoAdapt, the source-domain check). */
export const PSEUDO_NO_TRANSLATOR = "none";

/** One image's Dice of one structure under one strategy, translator and fold. */
export type PseudoDiceRow = {
  /** The target domain, or "tem" for the source-domain check. */
  target: string;
  /** NoAdapt, Tutorship, Adaptation, or "source CV" (the TEM segmenter on its held-out TEM images). */
  strategy: string;
  /** The translator, or "none". */
  method: string;
  /** 1-based fold. */
  fold: number;
  case: string;
  structure: string;
  dice: number;
  predPixels: number;
  truthPixels: number;
};

/** What a segmenter is scored on: an image as it will be segmented, and the truth. */
export interface PseudoScoredImage {
  id: string;
  image: Volume;
  labels: LabelVolume;
}

/**
 * Segments each image whole (the U-Net is fully convolutional: one pass over the 128x128 field
 * instead of dozens of overlapping training-size tiles) and scores axon and myelin; also returns
 * the predictions.
 */
export function pseudoScoreSegmenter(seg: CachedRun, images: readonly PseudoScoredImage[], tag: Omit<PseudoDiceRow, "case" | "structure" | "dice" | "predPixels" | "truthPixels">): { rows: PseudoDiceRow[]; predictions: Map<string, LabelVolume> } {
  const rows: PseudoDiceRow[] = [];
  const predictions = new Map<string, LabelVolume>();
  for (const c of images) {
    const pred = segmentVolume(seg.trainer, { ...seg.config, patch: [...c.image.shape] } as MethodConfig, c.image);
    predictions.set(c.id, pred);
    const ds = dice(pred, c.labels, [...PSEUDO_LABELS]);
    PSEUDO_LABELS.forEach((l, i) => {
      let p = 0;
      let t = 0;
      for (let k = 0; k < pred.data.length; k++) {
        if (pred.data[k] === l) p++;
        if (c.labels.data[k] === l) t++;
      }
      rows.push({ ...tag, case: c.id, structure: PSEUDO_STRUCTURES[l]!, dice: ds[i]!, predPixels: p, truthPixels: t });
    });
  }
  return { rows, predictions };
}

/** A translated file read back and normalised as the loader normalises a training image (what a segmenter sees). */
export async function pseudoTranslatedForSegmenter(path: string): Promise<Volume> {
  return preprocess(await readPseudoTranslation(path), undefined).image;
}

/** Adaptation's inputs: the target test images translated into TEM, normalised, with the targets' labels. */
export async function pseudoAdaptationImages(set: PseudoTranslationSet, targetTest: readonly PseudoCase[]): Promise<PseudoScoredImage[]> {
  return Promise.all(targetTest.map(async (c) => ({ id: c.id, image: await pseudoTranslatedForSegmenter(set.files.backward.get(c.id)!), labels: c.labels })));
}

/** The two directions and two kinds of quality measurement. */
export const PSEUDO_DIRECTIONS = ["TEM→target", "target→TEM"] as const;
export type PseudoDirection = (typeof PSEUDO_DIRECTIONS)[number];
export const PSEUDO_QUALITY_KINDS = ["translation", "cycle"] as const;
export type PseudoQualityKind = (typeof PSEUDO_QUALITY_KINDS)[number];

/** One image's quality of one translation (vs the paired truth) or cycle reconstruction (vs the input). */
export type PseudoQualityRow = {
  target: PseudoTarget;
  method: string;
  direction: PseudoDirection;
  kind: PseudoQualityKind;
  case: string;
  ssim: number;
  psnr: number;
  l1: number;
};

/** Images normalised to [-1, 1] (percentiles; network outputs by tanh): a range of 2. */
export const PSEUDO_DATA_RANGE = 2;

function quality(a: Volume, b: Volume): { ssim: number; psnr: number; l1: number } {
  return { ssim: ssim(a, b, { dataRange: PSEUDO_DATA_RANGE }), psnr: psnr(a, b, { dataRange: PSEUDO_DATA_RANGE }), l1: mae(a, b) };
}

/**
 * Quality of a pair's translations: for TEM test images, TEM -> target against the same field
 * rendered as the target (the phantom's truth) and the cycle TEM -> target -> TEM against the
 * input; for target test images the same the other way. The truth is normalised like an input;
 * translations are compared as the networks output them. Without a phantom only cycle rows.
 */
export async function pseudoQualityRows(d: Dataset, set: PseudoTranslationSet, sourceTest: readonly PseudoCase[], targetTest: readonly PseudoCase[]): Promise<PseudoQualityRow[]> {
  const rows: PseudoQualityRow[] = [];
  const one = async (c: PseudoCase, direction: PseudoDirection, kinds: [PseudoTranslationKind, PseudoTranslationKind], renderAs: AxonDomain) => {
    const base = { target: set.target, method: set.method, direction, case: c.id };
    const truth = axonTruth(d, c.subject, renderAs);
    if (truth) rows.push({ ...base, kind: "translation", ...quality(truth, await readPseudoTranslation(set.files[kinds[0]].get(c.id)!)) });
    rows.push({ ...base, kind: "cycle", ...quality(c.image, await readPseudoTranslation(set.files[kinds[1]].get(c.id)!)) });
  };
  for (const c of sourceTest) await one(c, "TEM→target", ["forward", "forwardCycle"], set.target);
  for (const c of targetTest) await one(c, "target→TEM", ["backward", "backwardCycle"], PSEUDO_SOURCE);
  return rows;
}
