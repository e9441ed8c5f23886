// Scoring a translation against a co-registered truth within a mask (a skull-stripped brain):
// the two images come from different pipelines and intensity ranges, so each is first put on
// one scale by the percentiles of its own masked voxels (0.5 and 99.5 to -1 and 1, clipped;
// -1 outside the mask), then SSIM (the masked mean of the SSIM map, data range 2) and the mean
// absolute error are taken over the mask. The CLI's `compare` and fig-real-mri both score this way.
import { UnpairedError } from "../util/errors.js";
import { percentiles } from "../volume/normalise.js";
import { maskedMae, maskedSsim, type ImageInput } from "./imageQuality.js";

export const SCORE_PERCENTILES = [0.5, 99.5] as const;

/** The image on the scoring scale: its masked percentiles to [-1, 1], clipped; -1 outside the mask. */
export function maskedPercentileScale(v: ImageInput, mask: ArrayLike<number>, [lower, upper]: readonly [number, number] = SCORE_PERCENTILES): Float32Array {
  if (mask.length !== v.data.length) throw new UnpairedError("BAD_VOLUME", `maskedPercentileScale: the mask has ${mask.length} voxels, the image ${v.data.length}`);
  const inside: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) inside.push(v.data[i]!);
  if (!inside.length) throw new UnpairedError("BAD_VOLUME", "maskedPercentileScale: the mask selects no voxel");
  const [lo, hi] = percentiles(inside, [lower, upper]) as [number, number];
  const out = new Float32Array(v.data.length).fill(-1);
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const x = v.data[i]!;
    out[i] = hi > lo ? -1 + (2 * (Math.min(hi, Math.max(lo, x)) - lo)) / (hi - lo) : 0;
  }
  return out;
}

/** Voxels above zero: the mask of a skull-stripped volume. */
export function nonZeroMask(v: ImageInput): Uint8Array {
  const m = new Uint8Array(v.data.length);
  for (let i = 0; i < m.length; i++) m[i] = v.data[i]! > 0 ? 1 : 0;
  return m;
}

export interface TranslationScore {
  /** Mean of the SSIM map over the mask. */
  ssim: number;
  /** Mean absolute error over the mask, on the [-1, 1] scoring scale. */
  mae: number;
  voxels: number;
}

/** Masked SSIM and MAE of a prediction against the truth, each on its own masked percentile scale. */
export function scoreTranslation(prediction: ImageInput, truth: ImageInput, mask: ArrayLike<number>): TranslationScore {
  checkSameGrid(prediction, truth);
  return scoreScaled({ data: maskedPercentileScale(prediction, mask), shape: prediction.shape }, { data: maskedPercentileScale(truth, mask), shape: truth.shape }, mask);
}

/**
 * scoreTranslation of images already on the scoring scale (maskedPercentileScale): for scoring
 * several predictions against one truth without rescaling the truth each time.
 */
export function scoreScaled(prediction: ImageInput, truth: ImageInput, mask: ArrayLike<number>): TranslationScore {
  checkSameGrid(prediction, truth);
  let voxels = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) voxels++;
  return { ssim: maskedSsim(prediction, truth, mask, { dataRange: 2 }), mae: maskedMae(prediction, truth, mask), voxels };
}

function checkSameGrid(prediction: ImageInput, truth: ImageInput): void {
  if (prediction.shape.length !== truth.shape.length || prediction.shape.some((n, a) => n !== truth.shape[a])) {
    throw new UnpairedError("BAD_VOLUME", `scoreTranslation: the prediction [${prediction.shape}] and the truth [${truth.shape}] are on different grids; the truth must be co-registered with the input`);
  }
}
