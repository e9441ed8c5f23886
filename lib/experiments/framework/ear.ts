// The ear MRI phantom pieces the IntraStyler figures share: the IntraStyler run they all use,
// the Oracle segmenter (trained on labelled target images: the ceiling of the segmentation
// figure, and the judge of "same anatomy" in the exemplar figure), and loading subjects as the
// networks see them (percentile-normalised).
import { join, resolve } from "node:path";
import { preprocess } from "../../data/loader.js";
import { selectSubjects, type Dataset, type Subject } from "../../data/manifest.js";
import { openDataset } from "../../data/openDataset.js";
import { readNifti, readNiftiLabels } from "../../volume/niftiRead.js";
import type { LabelVolume, Volume } from "../../volume/volume.js";
import { carry, derivedManifest, writeDerivedManifest } from "./derive.js";
import { EAR_MANIFEST } from "./data.js";
import { cachedRun, type CachedRun, type RunSpec } from "./runCache.js";
import type { ExperimentConfig } from "./types.js";
import type { Profile } from "../../methods/config.js";

/** CrossMoDA's structures in the phantom's label values. */
export const EAR_STRUCTURES: Readonly<Record<number, string>> = { 1: "intra-meatal VS", 2: "extra-meatal VS", 3: "cochlea" };
/** The foreground label values scored in every figure. */
export const EAR_STRUCTURE_LABELS = [1, 2, 3] as const;

/** The IntraStyler run every IntraStyler figure uses (one training per profile and seed). */
export const EAR_INTRASTYLER: RunSpec = { method: "intrastyler", manifest: EAR_MANIFEST, label: "ear-intrastyler" };

/**
 * The segmenter options every ear figure uses over the profile's defaults (the segmentation
 * figure's arms and the Oracle alike). smoke: 32x32x16 tiles (the profile's 16x16x8 would take
 * 343 tiles per 64x64x32 volume to segment). quick: 800 steps of batch 1 (measured: 600 steps of
 * batch 1 gave the Oracle a higher Dice than 400 steps of batch 2, at half the time; a step costs
 * ~0.04 s on the torch engine).
 */
export function earSegmenterOverrides(profile: Profile): Record<string, unknown> {
  return { smoke: { patch: [32, 32, 16] }, quick: { batchSize: 1, constantSteps: 400, decaySteps: 400 }, paper: {} }[profile];
}

/** The ear phantom as a dataset (its files written on first use). */
export function earDataset(cfg: ExperimentConfig): Promise<Dataset> {
  const root = cfg.dataRoot ?? cfg.phantomRoot;
  return openDataset(EAR_MANIFEST, root);
}

/** A subject's image, percentile-normalised to [-1, 1] as in training. */
export async function loadImage(s: Subject): Promise<Volume> {
  return preprocess(await readNifti(s.image), undefined).image;
}

/** A subject's labels (any use), or an error naming the subject. */
export async function loadLabels(s: Subject): Promise<LabelVolume> {
  if (!s.label) throw new Error(`${s.id} has no label file`);
  const l = await readNiftiLabels(s.label);
  return { data: l.data, shape: l.shape, spacing: l.spacing, affine: l.affine };
}

/**
 * The Oracle's training set: the labelled T2 training images of the ear phantom (labels every
 * other method is denied) as a labelled source domain, its T2 test images as the target. The
 * derived manifest lives in <runs>/datasets/.
 */
export async function oracleManifest(cfg: ExperimentConfig): Promise<{ manifest: string; datasetId: string; volumes: number }> {
  const d = await earDataset(cfg);
  const labelled = selectSubjects(d, { role: "target", split: "train" }).filter((s) => s.label);
  const test = selectSubjects(d, { role: "target", split: "test" }).filter((s) => s.label);
  const m = derivedManifest(d, {
    id: `${d.id}-oracle`,
    description: `Oracle: the labelled T2 training images of ${d.id} as a labelled source domain (labels normally held out), its T2 test images as the target.`,
    domains: { t2: { role: "source", modality: "T2" }, "t2-target": { role: "target", modality: "T2" } },
    // The loader always draws a target side too (the segmenter ignores it): the same images.
    subjects: [
      ...carry(labelled, "t2", { labelUse: "training", split: "train" }),
      ...carry(labelled, "t2-target", { split: "train" }).map((s) => ({ ...s, id: `${s.id}-as-target` })),
      ...carry(test, "t2-target", { labelUse: "evaluation", split: "test" }),
    ],
  });
  const manifest = writeDerivedManifest(join(resolve(cfg.runsDir), "datasets", `${m.id}.json`), m);
  return { manifest, datasetId: m.id, volumes: labelled.length };
}

/**
 * The Oracle segmenter (the ceiling of the segmentation figure, the judge of "same anatomy" in
 * the exemplar figure). Callers that pass the same overrides share one trained run.
 */
export async function oracleSegmenter(cfg: ExperimentConfig, overrides: Record<string, unknown> = earSegmenterOverrides(cfg.profile)): Promise<CachedRun> {
  const { manifest } = await oracleManifest(cfg);
  return cachedRun(cfg, { method: "segmenter", manifest, label: "ear-oracle", overrides });
}
