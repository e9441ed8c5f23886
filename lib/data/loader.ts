// Loaders: turn a dataset's subjects into training batches. A VolumeStore reads and preprocesses
// each volume once and keeps it within a memory budget; a PatchSampler draws random 2D slices or
// 3D patches (with labels when allowed); the UnpairedLoader pairs independent source and target
// draws; styleContrastiveSample builds the IntraStyler query / positive / perturbed-negatives set.
// Everything random comes from one seeded Rng, so the same seed gives the same batches.
import { totalmem } from "node:os";
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";
import { Rng, type RngState } from "../util/random.js";
import { readNifti, readNiftiLabels } from "../volume/niftiRead.js";
import { percentileNormalise, nonZeroNormalise } from "../volume/normalise.js";
import { reorientToCanonical } from "../volume/orient.js";
import { resampleToSpacing } from "../volume/resample.js";
import { randomPatch, type RandomPatchOptions } from "../volume/slices.js";
import type { LabelVolume, Volume } from "../volume/volume.js";
import { styleNegatives, type StylePerturbationOptions, type StylePerturbationRecord, type Transform, type Sample } from "./augment.js";
import { selectSubjects, type Dataset, type Subject, type SubjectFilter } from "./manifest.js";

// ---------------------------------------------------------------------------------------------
// Reading and preprocessing, once per volume.

export interface PreprocessConfig {
  /**
   * Intensity normalisation: "percentile" (default; percentiles [0, 99.9] clipped and mapped to
   * [-1, 1], as the IntraStyler reference does), "zscore-nonzero", "mean-nonzero" or "none".
   */
  normalise?: "percentile" | "zscore-nonzero" | "mean-nonzero" | "none";
  percentiles?: readonly [number, number];
  /** Reorient to RAS first (default false: keep the file's voxel order). */
  canonical?: boolean;
  /** Resample to this spacing in mm (linear for images, nearest for labels); default: keep. */
  spacing?: readonly number[];
}

export interface LoadedSubject {
  subject: Subject;
  image: Volume;
  label?: LabelVolume;
}

/** How a store obtains a subject's volumes; the default reads the NIfTI files. */
export type SubjectReader = (subject: Subject, withLabel: boolean) => Promise<{ image: Volume; label?: LabelVolume }>;

const readFiles: SubjectReader = async (subject, withLabel) => {
  const image = await readNifti(subject.image);
  if (!withLabel || subject.label === undefined) return { image };
  return { image, label: await readNiftiLabels(subject.label) };
};

/** Applies the configured preprocessing to one image (and its label, geometrically alike). */
export function preprocess(image: Volume, label: LabelVolume | undefined, cfg: PreprocessConfig = {}): { image: Volume; label?: LabelVolume } {
  let img = image;
  let lab = label;
  if (cfg.canonical) {
    img = reorientToCanonical(img);
    if (lab) lab = reorientToCanonical(lab);
  }
  if (cfg.spacing) {
    img = resampleToSpacing(img, cfg.spacing, { mode: "linear" });
    if (lab) lab = resampleToSpacing(lab, cfg.spacing, { mode: "nearest" });
  }
  const how = cfg.normalise ?? "percentile";
  if (how === "percentile") {
    const [lower, upper] = cfg.percentiles ?? [0, 99.9];
    img = percentileNormalise(img, { lower, upper });
  } else if (how === "zscore-nonzero") img = nonZeroNormalise(img, { mode: "zscore" });
  else if (how === "mean-nonzero") img = nonZeroNormalise(img, { mode: "mean" });
  // Strip the NIfTI header objects the reader attaches: the store keeps plain volumes.
  const plainImage: Volume = { data: img.data, shape: img.shape, spacing: img.spacing, affine: img.affine };
  if (!lab) return { image: plainImage };
  return { image: plainImage, label: { data: lab.data, shape: lab.shape, spacing: lab.spacing, affine: lab.affine } };
}

export interface VolumeStoreOptions {
  preprocess?: PreprocessConfig;
  /** Memory budget in bytes for cached volumes (default: a quarter of RAM, at most 4 GiB). */
  maxBytes?: number;
  read?: SubjectReader;
}

/** Reads each subject once, preprocesses it, and keeps the result (least recently used leaves first). */
export class VolumeStore {
  private readonly cache = new Map<string, { entry: LoadedSubject; bytes: number }>();
  private readonly pending = new Map<string, Promise<LoadedSubject>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  readonly maxBytes: number;
  private readonly cfg: PreprocessConfig;
  private readonly read: SubjectReader;

  constructor(opts: VolumeStoreOptions = {}) {
    this.maxBytes = opts.maxBytes ?? Math.min(4 * 2 ** 30, totalmem() / 4);
    this.cfg = opts.preprocess ?? {};
    this.read = opts.read ?? readFiles;
  }

  /** The subject's preprocessed image, with its label when `withLabel` and the subject has one. */
  async get(subject: Subject, withLabel = false): Promise<LoadedSubject> {
    const key = `${subject.id}|${withLabel && subject.label !== undefined ? "L" : "-"}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.hits++;
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit.entry;
    }
    const waiting = this.pending.get(key);
    if (waiting) return waiting;
    this.misses++;
    const job = (async () => {
      const raw = await this.read(subject, withLabel);
      if (withLabel && subject.label !== undefined && raw.label === undefined) {
        throw new UnpairedError("BAD_VOLUME", `subject ${subject.id}: its label could not be read`);
      }
      const p = preprocess(raw.image, raw.label, this.cfg);
      const entry: LoadedSubject = { subject, image: p.image, ...(p.label ? { label: p.label } : {}) };
      const bytes = p.image.data.byteLength + (p.label?.data.byteLength ?? 0);
      this.cache.set(key, { entry, bytes });
      this.bytes += bytes;
      for (const [k, v] of this.cache) {
        if (this.bytes <= this.maxBytes || k === key) break;
        this.cache.delete(k);
        this.bytes -= v.bytes;
      }
      return entry;
    })();
    this.pending.set(key, job);
    try {
      return await job;
    } finally {
      this.pending.delete(key);
    }
  }

  stats(): { entries: number; bytes: number; hits: number; misses: number } {
    return { entries: this.cache.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }
}

// ---------------------------------------------------------------------------------------------
// Patches and batches.

export interface PatchSamplerConfig {
  subjects: readonly Subject[];
  /**
   * Patch size in volume axes: [nx, ny, nz] for 3D patches, or [nx, ny] for 2D (a slice across
   * `sliceAxis` of a 3D volume, or a crop of a 2D image).
   */
  patch: readonly number[];
  /**
   * Which labels come with the patches: "none" (default), "training" (only labels methods may
   * train on; a subject without one is an error) or "evaluation" (any label, for scoring).
   */
  labels?: "none" | "training" | "evaluation";
  /** nnU-Net-style foreground oversampling (needs labels), e.g. 0.33 with foregroundLabels [1, 2, 3]. */
  foregroundProbability?: number;
  foregroundLabels?: RandomPatchOptions["foregroundLabels"];
  sliceAxis?: number;
  /** Applied to every patch (e.g. trainingAugmentation()). */
  augment?: Transform<Sample>;
}

export interface SampledPatch {
  subject: Subject;
  image: Volume;
  label?: LabelVolume;
  start: number[];
}

/** Draws random patches from a list of subjects. */
export class PatchSampler {
  constructor(
    readonly store: VolumeStore,
    readonly cfg: PatchSamplerConfig,
  ) {
    if (cfg.subjects.length === 0) throw new UnpairedError("BAD_OPTION", "PatchSampler: no subjects to sample from (check the domain, site and split filters)");
    if ((cfg.labels ?? "none") === "training") {
      const missing = cfg.subjects.filter((s) => s.label === undefined || s.labelUse !== "training");
      if (missing.length) {
        throw new UnpairedError(
          "BAD_OPTION",
          `PatchSampler: ${missing.length} subject(s) have no training label (e.g. ${missing[0]!.id}); a method may only train on labels marked for training`,
        );
      }
    }
  }

  /** One patch: a subject drawn uniformly, then a position (see randomPatch). */
  async sample(rng: Rng): Promise<SampledPatch> {
    const subject = this.cfg.subjects[rng.int(this.cfg.subjects.length)]!;
    const withLabel = (this.cfg.labels ?? "none") !== "none";
    const loaded = await this.store.get(subject, withLabel);
    const labels = withLabel && loaded.label ? [loaded.label] : [];
    const p = randomPatch(rng, loaded.image, labels, this.cfg.patch, {
      ...(this.cfg.sliceAxis === undefined ? {} : { sliceAxis: this.cfg.sliceAxis }),
      ...(labels.length && this.cfg.foregroundProbability
        ? { foregroundProbability: this.cfg.foregroundProbability, foregroundLabels: this.cfg.foregroundLabels ?? [1] }
        : {}),
    });
    let sample: Sample = p.labels[0] ? { image: p.image, label: p.labels[0] } : { image: p.image };
    if (this.cfg.augment) sample = this.cfg.augment(sample, rng);
    return { subject, image: sample.image, ...(sample.label ? { label: sample.label } : {}), start: p.start };
  }
}

/** A batch as flat arrays in tensor layout [batch, (depth,) height, width, 1]. */
export interface Batch {
  images: Float32Array;
  /** Integer labels [batch, (depth,) height, width] when the sampler gives labels. */
  labels?: Int32Array;
  /** [batch, (depth,) height, width, 1] */
  shape: number[];
  subjects: Subject[];
}

/** Stacks patches (all the same shape) into a Batch; a volume [nx, ny(, nz)] is [(nz,) ny, nx] in tensor order. */
export function stackPatches(patches: readonly SampledPatch[]): Batch {
  const first = patches[0];
  if (!first) throw new UnpairedError("BAD_OPTION", "stackPatches: no patches");
  const n = first.image.data.length;
  const images = new Float32Array(n * patches.length);
  const withLabels = patches.every((p) => p.label);
  const labels = withLabels ? new Int32Array(n * patches.length) : undefined;
  patches.forEach((p, i) => {
    if (p.image.data.length !== n) throw new UnpairedError("BAD_OPTION", "stackPatches: patches differ in size");
    images.set(p.image.data, i * n);
    if (labels) labels.set(p.label!.data, i * n);
  });
  const shape = [patches.length, ...[...first.image.shape].reverse(), 1];
  return { images, ...(labels ? { labels } : {}), shape, subjects: patches.map((p) => p.subject) };
}

/** The batch as tensors: x [b, (d,) h, w, 1] float32 and y [b, (d,) h, w] int32. The caller disposes them. */
export function batchTensors(b: Batch): { x: tf.Tensor; y?: tf.Tensor } {
  const x = tf.tensor(b.images, b.shape, "float32");
  if (!b.labels) return { x };
  return { x, y: tf.tensor(b.labels, b.shape.slice(0, -1), "int32") };
}

export interface UnpairedLoaderConfig {
  source: Omit<PatchSamplerConfig, "patch">;
  target: Omit<PatchSamplerConfig, "patch">;
  patch: readonly number[];
  batchSize?: number;
  seed: number;
}

/** Independent random draws from a source and a target pool: the unpaired batches of CycleGAN/CUT. */
export class UnpairedLoader {
  private readonly rng: Rng;
  private readonly source: PatchSampler;
  private readonly target: PatchSampler;
  readonly batchSize: number;

  constructor(store: VolumeStore, cfg: UnpairedLoaderConfig) {
    this.rng = new Rng(`loader:${cfg.seed}`);
    this.source = new PatchSampler(store, { ...cfg.source, patch: cfg.patch });
    this.target = new PatchSampler(store, { ...cfg.target, patch: cfg.patch });
    this.batchSize = cfg.batchSize ?? 1;
    if (!(Number.isInteger(this.batchSize) && this.batchSize >= 1)) throw new UnpairedError("BAD_OPTION", `batchSize must be a whole number >= 1, got ${cfg.batchSize}`);
  }

  /** The next pair of batches. Draws happen in a fixed order, so batches depend only on the seed. */
  async next(): Promise<{ source: Batch; target: Batch }> {
    const src: SampledPatch[] = [];
    const tgt: SampledPatch[] = [];
    for (let i = 0; i < this.batchSize; i++) src.push(await this.source.sample(this.rng));
    for (let i = 0; i < this.batchSize; i++) tgt.push(await this.target.sample(this.rng));
    return { source: stackPatches(src), target: stackPatches(tgt) };
  }

  /** For checkpoints: resuming from a saved state continues the same sequence of batches. */
  getState(): RngState {
    return this.rng.getState();
  }

  setState(s: RngState): void {
    this.rng.setState(s);
  }
}

// ---------------------------------------------------------------------------------------------
// The style-contrastive sample (IntraStyler).

export interface StyleContrastiveConfig {
  /** Crop size in volume axes (as `patch` above). */
  crop: readonly number[];
  /** Number of perturbed negatives (reference code 12; paper text 8). */
  negatives?: number;
  perturbation?: StylePerturbationOptions;
  /** Tries to place the positive at a start different from the query's (default 20). */
  tries?: number;
}

export interface StyleContrastiveSample {
  query: Volume;
  positive: Volume;
  negatives: Volume[];
  /** What perturbed each negative. */
  records: StylePerturbationRecord[];
  queryStart: number[];
  positiveStart: number[];
}

/**
 * From one exemplar image: a query crop at a random place, a positive crop of the same image at
 * another place (same style, other content), and N negatives: copies of the positive, each with
 * at least one random intensity perturbation (same content, other style). An encoder that ranks
 * the positive first has learnt style rather than content. When the image is no larger than the
 * crop, query and positive coincide.
 */
export function styleContrastiveSample(image: Volume, rng: Rng, cfg: StyleContrastiveConfig): StyleContrastiveSample {
  const q = randomPatch(rng, image, [], cfg.crop);
  let p = randomPatch(rng, image, [], cfg.crop);
  for (let t = 0; t < (cfg.tries ?? 20) && p.start.every((s, a) => s === q.start[a]); t++) p = randomPatch(rng, image, [], cfg.crop);
  const negs = styleNegatives(p.image.data, p.image.shape, rng, cfg.negatives ?? 12, cfg.perturbation ?? {});
  return {
    query: q.image,
    positive: p.image,
    negatives: negs.map((n) => ({ ...p.image, data: n.data })),
    records: negs.map((n) => n.record),
    queryStart: q.start,
    positiveStart: p.start,
  };
}

/** The sample as one array [2 + N, (d,) h, w, 1]: query, positive, then the negatives. */
export function styleContrastiveBatch(s: StyleContrastiveSample): { data: Float32Array; shape: number[] } {
  const all = [s.query, s.positive, ...s.negatives];
  const n = s.query.data.length;
  const data = new Float32Array(n * all.length);
  all.forEach((v, i) => data.set(v.data, i * n));
  return { data, shape: [all.length, ...[...s.query.shape].reverse(), 1] };
}

export interface DatasetLoaderConfig {
  /** Which subjects feed the source side (default: role source, split train, with training labels when `sourceLabels`). */
  source?: SubjectFilter;
  /** Which subjects feed the target side (default: role target, split train); e.g. { site: "ukm" } for one sub-domain. */
  target?: SubjectFilter;
  /** Give source patches their labels (segmentation-aware methods). */
  sourceLabels?: boolean;
  /**
   * With `sourceLabels`: nnU-Net's foreground oversampling, the probability that a source patch is
   * placed on a voxel of a foreground label (every non-zero label of the dataset); default 0.
   */
  foregroundProbability?: number;
  patch: readonly number[];
  batchSize?: number;
  seed: number;
  augment?: Transform<Sample>;
  sliceAxis?: number;
}

/** An UnpairedLoader over a dataset's subjects, chosen by filters (domain, site / sub-domain, split). */
export function unpairedLoader(store: VolumeStore, dataset: Dataset, cfg: DatasetLoaderConfig): UnpairedLoader {
  const pick = (f: SubjectFilter, side: string) => {
    const subjects = selectSubjects(dataset, f);
    if (subjects.length === 0) {
      throw new UnpairedError("BAD_OPTION", `${dataset.id}: no ${side} subjects match ${JSON.stringify(f)}`);
    }
    return subjects;
  };
  const common = {
    ...(cfg.augment ? { augment: cfg.augment } : {}),
    ...(cfg.sliceAxis === undefined ? {} : { sliceAxis: cfg.sliceAxis }),
  };
  return new UnpairedLoader(store, {
    source: {
      subjects: pick({ role: "source", split: "train", ...(cfg.sourceLabels ? { trainingLabels: true } : {}), ...cfg.source }, "source"),
      labels: cfg.sourceLabels ? "training" : "none",
      ...(cfg.sourceLabels && cfg.foregroundProbability
        ? { foregroundProbability: cfg.foregroundProbability, foregroundLabels: Object.keys(dataset.labels).map(Number).filter((v) => v > 0) }
        : {}),
      ...common,
    },
    target: { subjects: pick({ role: "target", split: "train", ...cfg.target }, "target"), ...common },
    patch: cfg.patch,
    ...(cfg.batchSize === undefined ? {} : { batchSize: cfg.batchSize }),
    seed: cfg.seed,
  });
}
