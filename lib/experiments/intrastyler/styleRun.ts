// What the three IntraStyler style figures (style space, exemplar grid, SLERP interpolation) share:
// the IntraStyler run and the Oracle segmenter opened once per config, the style vector of a volume
// as these figures define it, translation of a whole volume with any style vector, the style-space
// analysis of the target images (cached in memory and as JSON in the run folder, so the three
// figures reuse one embedding), and the display slices of their image grids.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { embedStyles, type StylePatch } from "../../analysis/embed.js";
import { analyseStyleSpace, clusterAgreement, type StyleSpace } from "../../analysis/styleSpace.js";
import { selectSubjects, type Dataset, type Subject } from "../../data/manifest.js";
import { preprocess } from "../../data/loader.js";
import type { IntraStylerConfig, SegmenterConfig } from "../../methods/config.js";
import { IntraStylerTrainer } from "../../methods/intrastyler.js";
import type { Trainer } from "../../methods/trainer.js";
import { segmentVolume, translateVolume } from "../../inference/translate.js";
import { writeFileAtomicSync } from "../../util/atomicWrite.js";
import { UnpairedError } from "../../util/errors.js";
import { ProgressBar } from "../../util/progress.js";
import { sliceOf, windowLevel, type WindowSpec } from "../../viz/imageGrid.js";
import type { Bitmap } from "../../viz/png.js";
import type { StylePoint } from "../../viz/styleSpaceFigures.js";
import { centerCropOrPad, cropAroundLabel } from "../../volume/crop.js";
import type { LabelVolume, Volume } from "../../volume/volume.js";
import { EAR_INTRASTYLER, loadImage, loadLabels, oracleSegmenter } from "../framework/ear.js";
import { cachedRun, runInfo } from "../framework/runCache.js";
import type { ExperimentConfig } from "../framework/types.js";

// ---------------------------------------------------------------------------------------------
// Runs, opened once per config

/** The trained IntraStyler run of a config (trained on first use, then reused). */
export interface StyleRun {
  trainer: IntraStylerTrainer;
  config: IntraStylerConfig;
  dataset: Dataset;
  runDir: string;
  /** True when this process trained (or resumed) it, false when it was loaded. */
  trained: boolean;
  /** Seconds spent training or loading it. */
  seconds: number;
}

/** The Oracle segmenter of a config (framework/ear.ts), opened once. */
export interface OracleRun {
  trainer: Trainer;
  config: SegmenterConfig;
  runDir: string;
  trained: boolean;
  seconds: number;
}

const styleRuns = new Map<string, Promise<StyleRun>>();
const oracleRuns = new Map<string, Promise<OracleRun>>();
const spaces = new Map<string, Promise<StyleSpaceData>>();

/** What identifies a config's runs in the in-memory caches (the same as the run cache's hash inputs). */
function configKey(cfg: ExperimentConfig): string {
  return JSON.stringify([resolve(cfg.runsDir), cfg.profile, cfg.seed, cfg.dataRoot ?? null, cfg.phantomRoot ?? null]);
}

/** Memoises a promise; a failed one is forgotten so the next call tries again. */
function memo<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = map.get(key);
  if (!p) {
    p = make();
    map.set(key, p);
    p.catch(() => map.delete(key));
  }
  return p;
}

/**
 * The IntraStyler run every style figure uses: cachedRun(cfg, EAR_INTRASTYLER), trained on the
 * first call of a config (with the live training view inside a notebook) and kept open for the
 * other figures of this process.
 */
export function openStyleRun(cfg: ExperimentConfig): Promise<StyleRun> {
  return memo(styleRuns, configKey(cfg), async () => {
    const t0 = performance.now();
    const r = await cachedRun(cfg, EAR_INTRASTYLER);
    if (!(r.trainer instanceof IntraStylerTrainer)) {
      r.trainer.dispose();
      throw new UnpairedError("BAD_CONFIG", `${r.runDir} holds a ${r.config.method} run, not intrastyler; remove the folder and run again`);
    }
    return { trainer: r.trainer, config: r.config as IntraStylerConfig, dataset: r.dataset, runDir: r.runDir, trained: r.trained, seconds: (performance.now() - t0) / 1000 };
  });
}

/** The Oracle segmenter (trained on labelled T2 images), opened once per config: the judge of "same anatomy". */
export function openOracle(cfg: ExperimentConfig): Promise<OracleRun> {
  return memo(oracleRuns, configKey(cfg), async () => {
    const t0 = performance.now();
    const r = await oracleSegmenter(cfg);
    return { trainer: r.trainer, config: r.config as SegmenterConfig, runDir: r.runDir, trained: r.trained, seconds: (performance.now() - t0) / 1000 };
  });
}

/** Disposes every run these figures opened and forgets the analyses (the next call reopens them from disk). */
export async function releaseStyleFigures(): Promise<void> {
  const all = [...styleRuns.values(), ...oracleRuns.values()];
  styleRuns.clear();
  oracleRuns.clear();
  spaces.clear();
  for (const p of all) {
    try {
      (await p).trainer.dispose();
    } catch {
      // a run that failed to open has nothing to dispose
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The style vector of a volume

/**
 * Where the style of a volume is read. A 2D network (the quick profile: 64x64 axial slices) sees
 * `crops` in-plane slices around the middle of the volume, `step` slices apart; a 3D network sees
 * `crops` blocks of its patch depth around the middle, `step` slices apart. Every crop is centred
 * in-plane at the training patch size (the whole slice when the volume is no larger).
 */
export interface StyleInputOptions {
  /** Crops per volume (default 5). */
  crops?: number;
  /** Slices between neighbouring crops (default 2 for a 2D network, half the patch depth for a 3D one). */
  step?: number;
}

/** The encoder inputs of one volume (see StyleInputOptions), in tensor order. `patch` is the training patch [nx, ny(, nz)]. */
export function styleCrops(v: Volume, patch: readonly number[], opts: StyleInputOptions = {}): StylePatch[] {
  const [nx, ny, nz = 1] = v.shape as [number, number, number?];
  const n = opts.crops ?? 5;
  if (!(Number.isInteger(n) && n >= 1)) throw new UnpairedError("BAD_OPTION", `styleCrops: crops must be a whole number >= 1, got ${n}`);
  const is2d = patch.length === 2;
  const px = Math.min(patch[0]!, nx);
  const py = Math.min(patch[1]!, ny);
  const pz = is2d ? 1 : Math.min(patch[2]!, nz);
  const step = opts.step ?? (is2d ? 2 : Math.max(1, Math.floor(pz / 2)));
  if (!(Number.isInteger(step) && step >= 1)) throw new UnpairedError("BAD_OPTION", `styleCrops: step must be a whole number >= 1, got ${step}`);
  const x0 = Math.floor((nx - px) / 2);
  const y0 = Math.floor((ny - py) / 2);
  const middle = Math.floor(nz / 2) - Math.floor(pz / 2);
  const starts = new Set<number>();
  for (let i = 0; i < n; i++) starts.add(Math.min(nz - pz, Math.max(0, middle + Math.round((i - (n - 1) / 2) * step))));
  return [...starts].sort((a, b) => a - b).map((z0) => {
    const data = new Float32Array(px * py * pz);
    for (let z = 0; z < pz; z++) {
      for (let y = 0; y < py; y++) {
        const from = ((z0 + z) * ny + y0 + y) * nx + x0;
        data.set(v.data.subarray(from, from + px), (z * py + y) * px);
      }
    }
    return { data, shape: is2d ? [py, px] : [pz, py, px] };
  });
}

/** The dot product of two unit vectors (their cosine). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? s / Math.sqrt(na * nb) : 0;
}

function unit(v: readonly number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return n > 0 ? v.map((x) => x / n) : v.slice();
}

export interface VolumeStyles {
  /** One unit style vector per volume: the mean of its crops' vectors, re-normalised. */
  vectors: number[][];
  /** Mean cosine of each volume's crop vectors to that mean (1: every crop saw the same style). */
  cropAgreement: number[];
}

/** The style vector of each (normalised) volume: E over its crops (styleCrops), averaged and re-normalised. */
export function embedVolumes(run: Pick<StyleRun, "trainer" | "config">, volumes: readonly Volume[], opts: StyleInputOptions & { onBatch?: (done: number, total: number) => void } = {}): VolumeStyles {
  const perVolume = volumes.map((v) => styleCrops(v, run.config.patch, opts));
  const flat = embedStyles(run.trainer.E, perVolume.flat(), { ...(opts.onBatch ? { onBatch: opts.onBatch } : {}) });
  const vectors: number[][] = [];
  const cropAgreement: number[] = [];
  let at = 0;
  for (const crops of perVolume) {
    const rows = flat.slice(at, at + crops.length);
    at += crops.length;
    const mean = unit(rows[0]!.map((_, d) => rows.reduce((s, r) => s + r[d]!, 0) / rows.length));
    vectors.push(mean);
    cropAgreement.push(rows.reduce((s, r) => s + cosine(r, mean), 0) / rows.length);
  }
  return { vectors, cropAgreement };
}

// ---------------------------------------------------------------------------------------------
// Translation with a style vector

/**
 * Translates a normalised volume into the style `style` (a unit vector [styleDim], e.g. an
 * exemplar's style-space vector or a SLERP of two), tile by tile as every translation is.
 * Returns the raw generator output.
 */
export function translateWithStyle(run: Pick<StyleRun, "trainer" | "config">, v: Volume, style: readonly number[]): Volume {
  return translateVolume(run.trainer, run.config, v, { style });
}

/** Segments a translation with the Oracle, after normalising it as a loaded T2 image would be. */
export function segmentWithOracle(oracle: OracleRun, v: Volume): LabelVolume {
  return segmentVolume(oracle.trainer, oracle.config, preprocess(v, undefined).image);
}

// ---------------------------------------------------------------------------------------------
// The style space of the target images

export interface StyleSpaceRunOptions extends StyleInputOptions {
  /** Numbers of clusters tried (default [2, 12]; the reference searches [5, 20]). */
  kRange?: readonly [number, number];
}

/** One embedded target image. */
export interface StyleSubject {
  id: string;
  site: string;
  trueStyle: string | null;
}

/** The style-space analysis of the target training images under one IntraStyler run. */
export interface StyleSpaceData {
  runDir: string;
  profile: string;
  seed: number;
  options: { crops: number; step: number | null; kRange: [number, number] };
  /** The target training images (IntraStyler's exemplar pool), in manifest order. */
  subjects: StyleSubject[];
  /** Their style vectors [n][styleDim] (unit length). */
  vectors: number[][];
  cropAgreement: number[];
  space: StyleSpace;
  /** Adjusted Rand index of the clusters against the true styles (null without them) and the named sites. */
  ariTrueStyle: number | null;
  ariSite: number;
  /** K-means at k = the number of true styles, for comparison with the silhouette's choice (null without true styles). */
  ariTrueStyleAtTrueK: number | null;
  /** Seconds the embedding and analysis took when computed (not when loaded). */
  seconds: number;
  /** True when read from the run folder's cache file. */
  fromCache: boolean;
}

/** An exemplar: the most typical member of a cluster. */
export interface ExemplarInfo {
  cluster: number;
  /** Index into StyleSpaceData.subjects / vectors. */
  index: number;
  id: string;
  site: string;
  trueStyle: string | null;
  size: number;
  vector: number[];
}

const SPACE_CACHE_VERSION = 1;
export const STYLE_SPACE_FILE = "style-space.json";

/** The target images whose styles are analysed: the training targets (the pool IntraStyler drew exemplars from). */
export function styleTargets(d: Dataset): Subject[] {
  return selectSubjects(d, { role: "target", split: "train" });
}

/**
 * Embeds every target training image with the run's style encoder (embedVolumes), then PCA,
 * K-means with silhouette-chosen k and TypiClust exemplars (analyseStyleSpace), and the clusters'
 * agreement with the true styles and sites. Computed once per run and options: kept in memory and
 * in <runDir>/style-space.json (recomputed when the run or the options change).
 */
export function styleSpaceOf(cfg: ExperimentConfig, opts: StyleSpaceRunOptions = {}): Promise<StyleSpaceData> {
  const options = { crops: opts.crops ?? 5, step: opts.step ?? null, kRange: [...(opts.kRange ?? [2, 12])] as [number, number] };
  return memo(spaces, `${configKey(cfg)}:${JSON.stringify(options)}`, async () => {
    const run = await openStyleRun(cfg);
    const targets = styleTargets(run.dataset);
    const subjects: StyleSubject[] = targets.map((s) => ({ id: s.id, site: s.site, trueStyle: s.trueStyle ?? null }));
    const file = join(run.runDir, STYLE_SPACE_FILE);
    const key = { v: SPACE_CACHE_VERSION, options, run: runInfo(run.runDir)?.["finished"] ?? null, ids: subjects.map((s) => s.id) };
    if (existsSync(file)) {
      try {
        const saved = JSON.parse(readFileSync(file, "utf8")) as { key: unknown; data: StyleSpaceData };
        if (JSON.stringify(saved.key) === JSON.stringify(key)) return { ...saved.data, fromCache: true };
      } catch {
        // unreadable cache: recompute
      }
    }
    const t0 = performance.now();
    const bar = new ProgressBar("embed target styles", targets.length, { quiet: !cfg.progress });
    const volumes: Volume[] = [];
    for (const [i, s] of targets.entries()) {
      volumes.push(await loadImage(s));
      bar.update({ done: i + 1, total: targets.length * 2, info: "loading" });
    }
    const emb = embedVolumes(run, volumes, {
      crops: options.crops,
      ...(options.step === null ? {} : { step: options.step }),
      onBatch: (done, total) => bar.update({ done: targets.length + Math.round((done / total) * targets.length), total: targets.length * 2, info: "embedding" }),
    });
    bar.finish();
    const space = analyseStyleSpace(emb.vectors, { seed: cfg.seed, kRange: options.kRange });
    const hasTrue = subjects.every((s) => s.trueStyle !== null);
    const trueStyles = subjects.map((s) => s.trueStyle ?? "?");
    const nTrue = new Set(trueStyles).size;
    let atTrueK: number | null = null;
    if (hasTrue && nTrue >= 2 && nTrue < subjects.length) {
      const fixed = analyseStyleSpace(emb.vectors, { seed: cfg.seed, kRange: [nTrue, nTrue] });
      atTrueK = clusterAgreement(fixed.labels, trueStyles).ari;
    }
    const data: StyleSpaceData = {
      runDir: run.runDir,
      profile: cfg.profile,
      seed: cfg.seed,
      options,
      subjects,
      vectors: emb.vectors,
      cropAgreement: emb.cropAgreement,
      space,
      ariTrueStyle: hasTrue ? clusterAgreement(space.labels, trueStyles).ari : null,
      ariSite: clusterAgreement(space.labels, subjects.map((s) => s.site)).ari,
      ariTrueStyleAtTrueK: atTrueK,
      seconds: (performance.now() - t0) / 1000,
      fromCache: false,
    };
    writeFileAtomicSync(file, `${JSON.stringify({ key, data })}\n`);
    return data;
  });
}

/** The exemplars of a style space, by cluster label (0..k-1). */
export function exemplarsOf(data: StyleSpaceData): ExemplarInfo[] {
  return data.space.exemplars.map((index, cluster) => ({
    cluster,
    index,
    id: data.subjects[index]!.id,
    site: data.subjects[index]!.site,
    trueStyle: data.subjects[index]!.trueStyle,
    size: data.space.clusterSizes[cluster]!,
    vector: data.vectors[index]!,
  }));
}

/** The target subject (with its files) of an embedded image. */
export function subjectOf(run: StyleRun, id: string): Subject {
  const s = run.dataset.subjects.find((x) => x.id === id);
  if (!s) throw new UnpairedError("BAD_CONFIG", `${id} is not in ${run.dataset.id}; the style-space cache in ${run.runDir} is stale: delete ${STYLE_SPACE_FILE} there`);
  return s;
}

/** The points of the style PCA figures. */
export function stylePoints(data: StyleSpaceData): StylePoint[] {
  return data.subjects.map((s, i) => ({
    x: data.space.coordinates[i]![0]!,
    y: data.space.coordinates[i]![1] ?? 0,
    cluster: data.space.labels[i]!,
    id: s.id,
    namedDomain: s.site,
    ...(s.trueStyle === null ? {} : { trueStyle: s.trueStyle }),
  }));
}

// ---------------------------------------------------------------------------------------------
// Sources and display

/** An image as the grids use it: normalised, optionally cropped to a region around its labels. */
export interface ImageCase {
  subject: Subject;
  image: Volume;
  /** Its labels (sources always have them; a target image may not). */
  labels: LabelVolume | null;
  /** The axial slice shown: through the centroid of the labels (the middle one when unlabelled). */
  slice: number;
}

/** A labelled source (ceT1) image. */
export interface SourceCase extends ImageCase {
  labels: LabelVolume;
}

/**
 * The region the style figures translate and segment: the whole volume, except at the smoke
 * profile with 3D networks, whose sliding window over a whole 64x64x32 volume takes ~40 s per
 * translation on the 2-core machine; there a box of 2 x 2 training patches in-plane and one patch
 * deep, centred on the labels, keeps smoke within its minute. Volume axes [nx, ny, nz]; null: whole.
 */
export function defaultRegion(profile: string, patch: readonly number[]): number[] | null {
  if (profile !== "smoke" || patch.length !== 3) return null;
  return [2 * patch[0]!, 2 * patch[1]!, patch[2]!];
}

/** Loads a subject normalised, with its labels, cropped to `region` around the labels (or the centre) when given. */
export async function loadCase(subject: Subject, region: readonly number[] | null = null): Promise<ImageCase> {
  let image = await loadImage(subject);
  let labels = subject.label ? await loadLabels(subject) : null;
  if (region) {
    const size = region.map((r, a) => Math.min(r, image.shape[a] ?? 1));
    const present = labels ? [...new Set(labels.data)].filter((x) => x !== 0) : [];
    if (labels && present.length) {
      const c = cropAroundLabel(image, labels, present, size, { keepInside: true });
      image = c.image;
      labels = c.labels;
    } else {
      image = centerCropOrPad(image, size);
      labels = labels ? centerCropOrPad(labels, size) : null;
    }
  }
  return { subject, image, labels, slice: labels ? centroidIndex(labels) : Math.floor((image.shape[2] ?? 1) / 2) };
}

/** `n` labelled source training images, taken from the sites in turn (etz, ldn, ukm, etz, ...). */
export async function pickSources(d: Dataset, n: number, region: readonly number[] | null = null): Promise<SourceCase[]> {
  const all = selectSubjects(d, { role: "source", split: "train", trainingLabels: true });
  if (all.length === 0) throw new UnpairedError("BAD_CONFIG", `${d.id} has no labelled source training images`);
  const bySite = new Map<string, Subject[]>();
  for (const s of all) bySite.set(s.site, [...(bySite.get(s.site) ?? []), s]);
  const picked: Subject[] = [];
  for (let round = 0; picked.length < Math.min(n, all.length); round++) {
    for (const list of bySite.values()) if (list[round] && picked.length < n) picked.push(list[round]!);
  }
  const out: SourceCase[] = [];
  for (const subject of picked) out.push((await loadCase(subject, region)) as SourceCase);
  return out;
}

/** The axial slice through the centroid of the non-zero labels (the middle slice when there are none). */
export function centroidIndex(labels: LabelVolume): number {
  const [nx, ny, nz = 1] = labels.shape as [number, number, number?];
  let sum = 0;
  let count = 0;
  for (let i = 0; i < labels.data.length; i++) {
    if (labels.data[i] !== 0) {
      sum += Math.floor(i / (nx * ny));
      count++;
    }
  }
  return count > 0 ? Math.min(nz - 1, Math.round(sum / count)) : Math.floor(nz / 2);
}

/** Display window of every grid image: the networks' intensity range, so a style's contrast and offset show (a per-image window would hide them). */
export const GRID_WINDOW: WindowSpec = { range: [-1, 1] };

/** An axial slice of a (normalised or translated) volume as an 8-bit image, y up. */
export function sliceImage(v: Volume, z: number, window: WindowSpec = GRID_WINDOW): Bitmap {
  return windowLevel(sliceOf(v, { axis: 2, index: Math.min(Math.max(0, z), (v.shape[2] ?? 1) - 1) }), window);
}

/** An exemplar as a grid image case (cropped to `region` like the sources). */
export async function exemplarCase(run: StyleRun, e: ExemplarInfo, region: readonly number[] | null = null): Promise<ImageCase> {
  return loadCase(subjectOf(run, e.id), region);
}

// ---------------------------------------------------------------------------------------------
// Small numeric helpers of the readings

export const meanOf = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** A number rounded for tables and key numbers (null when not finite). */
export function roundTo(v: number | null | undefined, digits = 3): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** "0.123" (or "n/a"). */
export function formatFixed(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "n/a";
  const s = v.toFixed(digits);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}
