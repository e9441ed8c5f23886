// The CycleGAN lecture as an experiment: small CycleGANs trained on the toy domains (a colour
// change and a texture change it learns, and circles <-> squares, the failure case), the geometric ambiguity
// of the cycle loss measured on a trained pair, then ceT1 -> T2 on the ear phantom, segmenters
// trained on the translations, and shape consistency (Zhang et al. 2018) against anatomy drift.
// The notebook 01-cyclegan-lecture calls the same step functions one by one.
import { targetNumbers, targetsReading, type Target } from "./claims.js";
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { tf } from "../engine/tf.js";
import { preprocess } from "../data/loader.js";
import { selectSubjects, type Dataset, type Subject } from "../data/manifest.js";
import { toyPhantomConfig, toySample, type ToyKind, type ToyPhantomConfig } from "../data/phantoms/toy.js";
import { CycleGanTrainer } from "../methods/cyclegan.js";
import type { MethodConfig, Profile } from "../methods/config.js";
import type { Trainer } from "../methods/trainer.js";
import { openDataset } from "../train/run.js";
import { applyToVolume, segmentVolume } from "../train/translate.js";
import { readNifti, readNiftiLabels } from "../volume/niftiRead.js";
import { centerCropOrPad } from "../volume/crop.js";
import { writeNifti } from "../volume/niftiWrite.js";
import { makeVolume, type LabelVolume, type Volume } from "../volume/volume.js";
import { dice } from "../analysis/overlap.js";
import type { Row } from "../analysis/tables.js";
import { imageGridFigure, type ImageGridRow } from "../viz/imageFigures.js";
import { centroidSlice, overlayContours, sliceOf, windowLevel, type WindowSpec } from "../viz/imageGrid.js";
import { lossHistoryFromCsv, trainingCurvesFigure, type LossHistoryEntry } from "../viz/trainingCurvesFigure.js";
import { metricBoxFigure, type MetricRow } from "../viz/metricBoxFigures.js";
import type { Figure } from "../viz/figure.js";
import type { Bitmap } from "../viz/png.js";
import { ProgressBar } from "../util/progress.js";
import { writeFileAtomicSync } from "../util/atomicWrite.js";
import { UnpairedError } from "../util/errors.js";
import { cachedRun, type CachedRun } from "./runCache.js";
import { carry, derivedManifest, writeDerivedManifest, type DerivedSubject } from "./derive.js";
import { EAR_MANIFEST, TOY_MANIFEST } from "./data.js";
import type { Experiment, ExperimentConfig, ExperimentResult, KeyNumber, NamedFigure, NamedTable } from "./types.js";

export const LECTURE_CYCLEGAN = "lecture-cyclegan";
const TITLE = "The CycleGAN lecture: what cycle consistency can and cannot do";

// ---------------------------------------------------------------------------------------------
// Budgets per profile

/** What each profile trains: method overrides per stage, and how many subjects are used. */
export interface LectureBudget {
  /** CycleGAN options for each toy pair (over the profile's defaults). */
  toy: Record<string, unknown>;
  /** The toy pairs, in lecture order. */
  toys: readonly ToyKind[];
  /** Test images per toy shown in the grid. */
  toyShow: number;
  /** CycleGAN options for both ear runs (lambdaShape is set per run). */
  ear: Record<string, unknown>;
  /** Shape-consistency weight of the second ear run. */
  lambdaShape: number;
  /** Segmenter options (the segmenters on translations and the Oracle alike). */
  segmenter: Record<string, unknown>;
  /** Source training volumes translated (null: all). */
  sourceSubjects: number | null;
  /** Translated volumes whose anatomy the Oracle checks, per translator (null: all translated). */
  anatomySubjects: number | null;
  /** Labelled T2 test volumes scored (null: all). */
  testSubjects: number | null;
  /** Source subjects in the ear grid. */
  earShow: number;
}

/**
 * The budgets. Every profile trains 2D networks on 64x64 images (the toy images whole, the ear
 * volumes slice by slice), so the ear volumes are translated and segmented one slice per tile.
 * quick, measured on the 2-core build machine: with the torch engine (one thread per figures
 * job) ~0.12 s per ear CycleGAN step (ngf 8, 3 blocks) and ~0.04 s per segmenter step, so the ear
 * CycleGANs train 800 steps and the segmenters 800 (wasm took ~0.18 s and ~0.13 s, which held the
 * earlier quick profile to 600 each). Shorter runs failed on the ear phantom: with 250 CycleGAN
 * steps the Oracle found almost none of the source anatomy in the translations (mean Dice 0.03,
 * 0.22 at 600 steps), and a segmenter trained 400 steps reached mean Dice 0.58 on real T2 (0.77 at
 * 600). Longer is better but slower: 3000 CycleGAN steps keep anatomy at Dice 0.43 (see
 * scripts/ear-cyclegan-budget.ts).
 */
export function lectureBudget(profile: Profile): LectureBudget {
  const toys = ["colour", "texture", "geometry"] as const;
  const slices = { patch: [64, 64] };
  switch (profile) {
    case "smoke":
      return {
        toy: {},
        toys,
        toyShow: 1,
        ear: { ...slices },
        lambdaShape: 1,
        segmenter: { ...slices },
        sourceSubjects: 6,
        anatomySubjects: null,
        testSubjects: 4,
        earShow: 2,
      };
    case "quick":
      return {
        toy: { ngf: 8, ndf: 16, blocks: 3, constantSteps: 120, decaySteps: 120 },
        toys,
        toyShow: 2,
        ear: { ...slices, ngf: 8, ndf: 16, blocks: 3, constantSteps: 400, decaySteps: 400 },
        lambdaShape: 1,
        // The quick segmenter's own size (base 16, depth 4), 600 steps (see above).
        segmenter: { ...slices, constantSteps: 400, decaySteps: 400 },
        sourceSubjects: null,
        anatomySubjects: 30,
        testSubjects: null,
        earShow: 3,
      };
    case "paper":
      return {
        toy: { ...slices },
        toys,
        toyShow: 3,
        ear: { ...slices },
        lambdaShape: 1,
        segmenter: { ...slices },
        sourceSubjects: null,
        anatomySubjects: null,
        testSubjects: null,
        earShow: 4,
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** The data root cachedRun opens manifests with (the user's --data-root, else a phantom override). */
function dataRootOf(cfg: ExperimentConfig): string | undefined {
  return cfg.dataRoot ?? cfg.phantomRoot;
}

const derivedDir = (cfg: ExperimentConfig) => resolve(cfg.runsDir, "derived");

/** Normalised 2D images [nx, ny] (as training sees them) stacked as a [n, ny, nx, 1] tensor. */
function stack(images: readonly Volume[]): tf.Tensor4D {
  const [nx, ny] = images[0]!.shape as [number, number];
  const data = new Float32Array(images.length * nx * ny);
  images.forEach((v, i) => data.set(v.data, i * nx * ny));
  return tf.tensor4d(data, [images.length, ny, nx, 1]);
}

/** The images of a [n, ny, nx, 1] tensor as 2D volumes. */
function unstack(t: tf.Tensor): Volume[] {
  const [n, ny, nx] = t.shape as [number, number, number, number];
  const data = t.dataSync() as Float32Array;
  return Array.from({ length: n }, (_, i) => makeVolume(data.slice(i * nx * ny, (i + 1) * nx * ny), [nx, ny]));
}

const meanOf = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

function meanAbs(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/** 1-Wasserstein distance between the pooled values of two image sets (quantile matching on 512 levels). */
export function intensityDistance(a: readonly Volume[], b: readonly Volume[]): number {
  const pooled = (vs: readonly Volume[]) => {
    const all = new Float32Array(vs.reduce((n, v) => n + v.data.length, 0));
    let o = 0;
    for (const v of vs) {
      all.set(v.data, o);
      o += v.data.length;
    }
    return all.sort();
  };
  const pa = pooled(a);
  const pb = pooled(b);
  const q = 512;
  let s = 0;
  for (let k = 0; k < q; k++) {
    const p = (k + 0.5) / q;
    s += Math.abs(pa[Math.min(pa.length - 1, Math.floor(p * pa.length))]! - pb[Math.min(pb.length - 1, Math.floor(p * pb.length))]!);
  }
  return s / q;
}

/**
 * Squareness of the bright objects of a normalised image: each 4-connected component of pixels
 * above `threshold` (at least `minArea` pixels) fills this fraction of its bounding box; the mean
 * over components. A disc fills pi/4 = 0.785 of its box, an axis-aligned square 1.
 */
export function squareness(v: Volume, threshold = 0, minArea = 12): number[] {
  const [nx, ny] = v.shape as [number, number];
  const seen = new Uint8Array(nx * ny);
  const out: number[] = [];
  for (let start = 0; start < nx * ny; start++) {
    if (seen[start] || !(v.data[start]! > threshold)) continue;
    let area = 0;
    let x0 = nx, x1 = -1, y0 = ny, y1 = -1;
    const queue = [start];
    seen[start] = 1;
    while (queue.length) {
      const p = queue.pop()!;
      const x = p % nx;
      const y = (p - x) / nx;
      area++;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      const next = [x > 0 ? p - 1 : -1, x < nx - 1 ? p + 1 : -1, y > 0 ? p - nx : -1, y < ny - 1 ? p + nx : -1];
      for (const q of next) {
        if (q >= 0 && !seen[q] && v.data[q]! > threshold) {
          seen[q] = 1;
          queue.push(q);
        }
      }
    }
    if (area >= minArea) out.push(area / ((x1 - x0 + 1) * (y1 - y0 + 1)));
  }
  return out;
}

/**
 * Texture inside objects: the mean absolute difference between horizontally and vertically
 * neighbouring pixels, over object pixels at least `erode` pixels (Chebyshev) from any
 * background pixel, so outlines do not count. Stripes score high, smooth shading low.
 */
export function innerTextureEnergy(v: Volume, mask: LabelVolume, erode = 2): number {
  const [nx, ny] = v.shape as [number, number];
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < nx && y < ny && mask.data[y * nx + x]! > 0;
  let sum = 0;
  let n = 0;
  for (let y = 0; y < ny - 1; y++) {
    for (let x = 0; x < nx - 1; x++) {
      let inner = true;
      for (let dy = -erode; dy <= erode + 1 && inner; dy++) for (let dx = -erode; dx <= erode + 1 && inner; dx++) inner = inside(x + dx, y + dy);
      if (!inner) continue;
      const p = y * nx + x;
      sum += Math.abs(v.data[p + 1]! - v.data[p]!) + Math.abs(v.data[p + nx]! - v.data[p]!);
      n++;
    }
  }
  return n ? sum / (2 * n) : NaN;
}

const grey = (v: Volume | LabelVolume, spec: WindowSpec = { range: [-1, 1] }): Bitmap => windowLevel(sliceOf(v), spec);

// ---------------------------------------------------------------------------------------------
// 1. Toy pairs

export const TOY_CHANGES: Record<ToyKind, string> = {
  colour: "grey-level mapping (dark objects on light -> light on dark)",
  texture: "texture (smooth blobs -> striped blobs)",
  geometry: "geometry (circles -> squares of the same area)",
};

/** A few training images of each toy's two domains (drawn from the phantom's generator). */
export function toyExamplesFigure(n = 3, toys: readonly ToyKind[] = ["colour", "texture", "geometry"]): Figure {
  const img = (toy: ToyKind, d: "A" | "B", i: number) => grey(toySample(toy, d, i).image, { range: [0, 1] });
  return imageGridFigure({
    title: "The toy domains: A (source) and B (target), unpaired",
    rows: toys.flatMap((toy) => (["A", "B"] as const).map((d) => ({ label: `${toy}-${d}`, images: Array.from({ length: n }, (_, i) => img(toy, d, i)) }))),
    tileSize: 96,
  });
}

export interface ToyPair {
  toy: ToyKind;
  run: CachedRun;
  trainer: CycleGanTrainer;
  /** The toy phantom's options (to draw the paired answers). */
  phantom: ToyPhantomConfig;
}

/** The toy dataset's files as one two-domain dataset, A (source) and B (target); returns the manifest path. */
export async function toyPairManifest(cfg: ExperimentConfig, toy: ToyKind): Promise<{ path: string; base: Dataset }> {
  const base = await openDataset(TOY_MANIFEST, dataRootOf(cfg));
  const pick = (d: "A" | "B") => selectSubjects(base, { domain: `${toy}-${d}` });
  const m = derivedManifest(base, {
    id: `lecture-toy-${toy}`,
    description: `The lecture's ${toy} toy pair: ${TOY_CHANGES[toy]}; ${toy}-A is the source, ${toy}-B the target.`,
    domains: { A: { role: "source", modality: `${toy}-A` }, B: { role: "target", modality: `${toy}-B` } },
    subjects: [...carry(pick("A"), "A"), ...carry(pick("B"), "B")],
  });
  return { path: writeDerivedManifest(join(derivedDir(cfg), `lecture-toy-${toy}.json`), m), base };
}

function asCycleGan(t: Trainer, what: string): CycleGanTrainer {
  if (!(t instanceof CycleGanTrainer)) throw new UnpairedError("BAD_CONFIG", `${what}: expected a cyclegan run, got ${t.method}`);
  return t;
}

/** Trains (or reuses) the CycleGAN of one toy pair. */
export async function trainToyPair(cfg: ExperimentConfig, toy: ToyKind): Promise<ToyPair> {
  const { path, base } = await toyPairManifest(cfg, toy);
  const run = await cachedRun(cfg, { method: "cyclegan", manifest: path, overrides: lectureBudget(cfg.profile).toy, label: `lecture-toy-${toy}` });
  const g = base.generator;
  const phantom = toyPhantomConfig(g ? { seed: g.seed, ...(g.options as Partial<ToyPhantomConfig>) } : {});
  return { toy, run, trainer: asCycleGan(run.trainer, `toy ${toy}`), phantom };
}

export interface ToyImages {
  id: string;
  source: Volume;
  translation: Volume;
  reconstruction: Volume;
  /** The same scene drawn as domain B: the answer a paired method would be shown (never seen here). */
  paired: Volume;
}

export interface ToyMetrics {
  toy: ToyKind;
  change: string;
  steps: number;
  testImages: number;
  /** Mean |F(G(a)) - a| on the test images (normalised intensities, [-1, 1]). */
  cycleL1: number;
  /** Mean |image - the same scene drawn as B|: for the untranslated source and for G(source). */
  pairedMaeSource: number;
  pairedMaeTranslation: number;
  /** Intensity-histogram distance (W1) to the real B test images: source vs translation. */
  histSource: number;
  histTranslation: number;
  /** Texture toy: texture energy inside the objects (see innerTextureEnergy) of A, G(A) (A's objects) and real B. */
  textureSource: number | null;
  textureTranslation: number | null;
  textureTarget: number | null;
  /** Geometry toy: mean squareness of the objects (disc 0.785, square 1) in A, G(A) and real B. */
  squareSource: number | null;
  squareTranslation: number | null;
  squareTarget: number | null;
}

export interface ToyEvaluation {
  toy: ToyKind;
  metrics: ToyMetrics;
  /** The first test images, for the grid. */
  shown: ToyImages[];
  /** The normalised test images of A and B (for the flip experiment). */
  testA: Volume[];
  testB: Volume[];
}

async function readNormalised(path: string): Promise<Volume> {
  return preprocess(await readNifti(path), undefined).image;
}

const toyIndex = (id: string): number => {
  const m = /_(\d+)$/.exec(id);
  if (!m) throw new UnpairedError("BAD_MANIFEST", `toy subject ${id}: no image index at the end of its id`);
  return Number(m[1]);
};

/** Translates and reconstructs the test images of a toy pair and measures what changed. */
export async function evaluateToyPair(pair: ToyPair, show = 2): Promise<ToyEvaluation> {
  const d = pair.run.dataset;
  const subjectsA = selectSubjects(d, { domain: "A", split: "test" });
  const subjectsB = selectSubjects(d, { domain: "B", split: "test" });
  const testA = await Promise.all(subjectsA.map((s) => readNormalised(s.image)));
  const testB = await Promise.all(subjectsB.map((s) => readNormalised(s.image)));
  const texture = pair.toy === "texture";
  const masksA = texture ? await Promise.all(subjectsA.map((s) => readNiftiLabels(s.label!))) : [];
  const masksB = texture ? await Promise.all(subjectsB.map((s) => readNiftiLabels(s.label!))) : [];
  const paired = subjectsA.map((s) => preprocess(toySample(pair.toy, "A", toyIndex(s.id), pair.phantom, { renderAs: "B" }).image, undefined).image);
  const x = stack(testA);
  const fake = tf.tidy(() => pair.trainer.G_A.apply(x));
  const rec = tf.tidy(() => pair.trainer.G_B.apply(fake));
  const translations = unstack(fake);
  const reconstructions = unstack(rec);
  tf.dispose([x, fake, rec]);
  const geometry = pair.toy === "geometry";
  const sq = (vs: Volume[]) => (geometry ? meanOf(vs.flatMap((v) => squareness(v))) : null);
  const c = pair.run.config;
  const metrics: ToyMetrics = {
    toy: pair.toy,
    change: TOY_CHANGES[pair.toy],
    steps: c.constantSteps + c.decaySteps,
    testImages: testA.length,
    cycleL1: meanOf(testA.map((a, i) => meanAbs(reconstructions[i]!.data, a.data))),
    pairedMaeSource: meanOf(testA.map((a, i) => meanAbs(a.data, paired[i]!.data))),
    pairedMaeTranslation: meanOf(translations.map((t, i) => meanAbs(t.data, paired[i]!.data))),
    histSource: intensityDistance(testA, testB),
    histTranslation: intensityDistance(translations, testB),
    textureSource: texture ? meanOf(testA.map((v, i) => innerTextureEnergy(v, masksA[i]!)).filter(Number.isFinite)) : null,
    textureTranslation: texture ? meanOf(translations.map((v, i) => innerTextureEnergy(v, masksA[i]!)).filter(Number.isFinite)) : null,
    textureTarget: texture ? meanOf(testB.map((v, i) => innerTextureEnergy(v, masksB[i]!)).filter(Number.isFinite)) : null,
    squareSource: sq(testA),
    squareTranslation: sq(translations),
    squareTarget: sq(testB),
  };
  const shown = testA.slice(0, show).map((source, i) => ({ id: subjectsA[i]!.id, source, translation: translations[i]!, reconstruction: reconstructions[i]!, paired: paired[i]! }));
  return { toy: pair.toy, metrics, shown, testA, testB };
}

/** Source | translation G(a) | reconstruction F(G(a)) | the same scene drawn as B, rows grouped by toy. */
export function toyGridFigure(evals: readonly ToyEvaluation[]): Figure {
  const rows: ImageGridRow[] = evals.flatMap((e) =>
    e.shown.map((s) => ({
      label: `${e.toy} #${toyIndex(s.id)}`,
      images: [grey(s.source), grey(s.translation), grey(s.reconstruction), grey(s.paired)],
    })),
  );
  return imageGridFigure({
    title: "Toy CycleGANs: A, G(A), F(G(A)) and the paired answer",
    rows,
    columnTitles: ["A (test image)", "G(A)", "F(G(A))", "same scene drawn as B"],
    tileSize: 128,
  });
}

export function toyMetricsRows(evals: readonly ToyEvaluation[]): Row[] {
  return evals.map(({ metrics: m }) => ({
    toy: m.toy,
    change: m.change,
    steps: m.steps,
    test_images: m.testImages,
    cycle_l1: m.cycleL1,
    paired_mae_source: m.pairedMaeSource,
    paired_mae_translation: m.pairedMaeTranslation,
    hist_w1_source: m.histSource,
    hist_w1_translation: m.histTranslation,
    texture_source: m.textureSource,
    texture_translation: m.textureTranslation,
    texture_target: m.textureTarget,
    squareness_source: m.squareSource,
    squareness_translation: m.squareTranslation,
    squareness_target: m.squareTarget,
  }));
}

/** A run's losses.csv as a history (empty when the run has none). */
export function lossHistoryOfRun(runDir: string): LossHistoryEntry[] {
  const p = join(runDir, "losses.csv");
  return existsSync(p) ? lossHistoryFromCsv(readFileSync(p, "utf8")) : [];
}

/**
 * Several runs' losses in one history: for each run the weighted cycle loss (cycle_A + cycle_B),
 * the generators' adversarial loss (G_A + G_B) and, where present, the shape loss.
 */
export function mergedCycleGanHistory(runs: readonly { name: string; runDir: string }[]): LossHistoryEntry[] {
  const bySteps = new Map<number, Record<string, number>>();
  for (const r of runs) {
    for (const h of lossHistoryOfRun(r.runDir)) {
      const l = h.losses;
      const e = bySteps.get(h.step) ?? {};
      e[`${r.name}: cycle`] = (l["cycle_A"] ?? NaN) + (l["cycle_B"] ?? NaN);
      e[`${r.name}: adversarial (G)`] = (l["G_A"] ?? NaN) + (l["G_B"] ?? NaN);
      if ("shape" in l) e[`${r.name}: shape`] = l["shape"]!;
      bySteps.set(h.step, e);
    }
  }
  return [...bySteps.entries()].sort((a, b) => a[0] - b[0]).map(([step, losses]) => ({ step, losses }));
}

/** Loss curves of several CycleGAN runs (cycle, adversarial, shape), smoothed for long runs. */
export function cycleGanCurvesFigure(runs: readonly { name: string; runDir: string }[], title: string): Figure {
  const history = mergedCycleGanHistory(runs);
  if (!history.length) throw new UnpairedError("FILE_NOT_FOUND", `${title}: the runs have no losses.csv (${runs.map((r) => r.runDir).join(", ")})`);
  return trainingCurvesFigure({ history, smoothing: history.length >= 100 ? 15 : 1, title, logY: true });
}

// ---------------------------------------------------------------------------------------------
// 2. The geometric ambiguity of the cycle loss

/** An image translator: [n, h, w, 1] -> [n, h, w, 1]. */
export type ImageTranslator = (x: tf.Tensor) => tf.Tensor;

export interface CycleLosses {
  /** Mean |F(G(x)) - x| (the X -> Y -> X cycle). */
  cycleX: number;
  /** Mean |G(F(y)) - y| (the Y -> X -> Y cycle). */
  cycleY: number;
}

export interface FlipAmbiguity {
  transform: string;
  /** Images each cycle was averaged over (the test images and their mirror images). */
  imagesX: number;
  imagesY: number;
  /** (G, F) as trained. */
  original: CycleLosses;
  /** (T o G, F o T^-1): the translation mirrored, undone before the way back. */
  mirrored: CycleLosses;
  /** |difference| of each cycle loss between the two pairs, and relative to the loss. */
  absDifference: CycleLosses;
  relDifference: number;
  /** Largest |F'(G'(x)) - F(G(x))| over all pixels: the X reconstructions are the same images. */
  reconstructionMaxDiff: number;
  /** Mean |T(G(x)) - G(x)|: how much the two translations differ. */
  translationChange: number;
  /** Mean |G(x) - mean G(x)|: the translations' own spread, for scale. */
  translationSpread: number;
}

/** The left-right mirror T of [n, h, w, c] images (T^-1 = T). */
export const mirrorImages = (x: tf.Tensor): tf.Tensor => tf.reverse(x, 2);

/** Mean |a - b|, the float32 differences summed in float64 (so the order of summation hardly matters). */
function meanAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const d = tf.tidy(() => tf.abs(tf.sub(a, b)));
  const v = d.dataSync() as Float32Array;
  d.dispose();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s / v.length;
}

/**
 * Cycle consistency cannot tell (G, F) from (T o G, F o T^-1) for a bijection T of Y: here the
 * left-right mirror. F'(G'(x)) = F(T^-1(T(G(x)))) = F(G(x)) exactly, since mirroring twice
 * returns the very same pixels; G'(F'(y)) = T(G(F(T^-1 y))), whose L1 distance to y equals that
 * of G(F(T^-1 y)) to T^-1 y (mirroring keeps distances), so over a set of images that holds each
 * image's mirror too the Y cycle loss is the same sum in another order. Both pairs are therefore
 * equally cycle consistent, to float precision, while their translations differ by a mirror.
 * `xs` and `ys` are [n, h, w, 1]; their mirror images are added here.
 */
export function flipAmbiguity(G: ImageTranslator, F: ImageTranslator, xs: tf.Tensor, ys: tf.Tensor): FlipAmbiguity {
  return tf.tidy(() => {
    const x = tf.concat([xs, mirrorImages(xs)], 0);
    const y = tf.concat([ys, mirrorImages(ys)], 0);
    const Gx = G(x);
    const FGx = F(Gx);
    const GFy = G(F(y));
    // The mirrored pair.
    const G2 = (t: tf.Tensor) => mirrorImages(G(t));
    const F2 = (t: tf.Tensor) => F(mirrorImages(t));
    const G2x = G2(x);
    const F2G2x = F2(G2x);
    const G2F2y = G2(F2(y));
    const original = { cycleX: meanAbsDiff(FGx, x), cycleY: meanAbsDiff(GFy, y) };
    const mirrored = { cycleX: meanAbsDiff(F2G2x, x), cycleY: meanAbsDiff(G2F2y, y) };
    const absDifference = { cycleX: Math.abs(original.cycleX - mirrored.cycleX), cycleY: Math.abs(original.cycleY - mirrored.cycleY) };
    const total = original.cycleX + original.cycleY;
    return {
      transform: "left-right mirror",
      imagesX: x.shape[0]!,
      imagesY: y.shape[0]!,
      original,
      mirrored,
      absDifference,
      relDifference: (absDifference.cycleX + absDifference.cycleY) / Math.max(total, 1e-30),
      reconstructionMaxDiff: tf.max(tf.abs(tf.sub(F2G2x, FGx))).dataSync()[0]!,
      translationChange: meanAbsDiff(G2x, Gx),
      translationSpread: tf.mean(tf.abs(tf.sub(Gx, tf.mean(Gx)))).dataSync()[0]!,
    };
  });
}

/** The flip experiment on a trained toy pair's test images (G = G_A, F = G_B). */
export function flipAmbiguityOfPair(pair: ToyPair, ev: ToyEvaluation): FlipAmbiguity {
  const xs = stack(ev.testA);
  const ys = stack(ev.testB);
  try {
    return flipAmbiguity((t) => pair.trainer.G_A.apply(t), (t) => pair.trainer.G_B.apply(t), xs, ys);
  } finally {
    tf.dispose([xs, ys]);
  }
}

export function flipRows(f: FlipAmbiguity, toy: string): Row[] {
  const row = (pair: string, c: CycleLosses, change: number | null): Row => ({
    toy,
    pair,
    cycle_x: c.cycleX,
    cycle_y: c.cycleY,
    cycle_total: c.cycleX + c.cycleY,
    translation_change: change,
  });
  return [
    row("(G, F)", f.original, 0),
    row("(T∘G, F∘T⁻¹), T = mirror", f.mirrored, f.translationChange),
    { toy, pair: "|difference|", cycle_x: f.absDifference.cycleX, cycle_y: f.absDifference.cycleY, cycle_total: Math.abs(f.original.cycleX + f.original.cycleY - f.mirrored.cycleX - f.mirrored.cycleY), translation_change: f.translationChange },
  ];
}

/** The flip numbers as a plotly table (values to 9 significant digits, so equality shows). */
export function flipTableFigure(f: FlipAmbiguity, toy: string): Figure {
  const rows = flipRows(f, toy);
  const fmt = (v: unknown) => (typeof v === "number" ? (v === 0 ? "0" : v.toPrecision(9)) : String(v));
  const cols = ["pair", "cycle_x", "cycle_y", "cycle_total", "translation_change"] as const;
  const header = ["pair", "cycle loss X→Y→X", "cycle loss Y→X→Y", "sum", "mean |G'(x) − G(x)|"];
  return {
    data: [
      {
        type: "table",
        columnwidth: [2.2, 1.3, 1.3, 1.3, 1.5],
        header: { values: header.map((h) => `<b>${h}</b>`), align: "left", fill: { color: "#e5e9f0" }, font: { size: 13 } },
        cells: { values: cols.map((c) => rows.map((r) => fmt(r[c]))), align: "left", font: { size: 13, family: "monospace" }, height: 26 },
      },
    ],
    layout: {
      title: { text: `Cycle consistency is blind to a mirror: ${toy} pair, ${f.imagesX} + ${f.imagesY} test images (with their mirror images)`, x: 0.02, xanchor: "left", font: { size: 15 } },
      width: 980,
      height: 230,
      margin: { l: 20, r: 20, t: 60, b: 20 },
    } as Figure["layout"],
    config: { displaylogo: false, responsive: true },
  };
}

/** x | G(x) | T(G(x)) | F(G(x)) | F'(G'(x)) for the first test images of a pair. */
export function flipImagesFigure(pair: ToyPair, ev: ToyEvaluation, n = 2): Figure {
  const xs = stack(ev.testA.slice(0, n));
  const out = tf.tidy(() => {
    const g = pair.trainer.G_A.apply(xs);
    const tg = mirrorImages(g);
    return [g, tg, pair.trainer.G_B.apply(g), pair.trainer.G_B.apply(mirrorImages(tg))].map((t) => tf.keep(t));
  });
  const [g, tg, fg, f2g2] = out.map(unstack) as [Volume[], Volume[], Volume[], Volume[]];
  tf.dispose([xs, ...out]);
  return imageGridFigure({
    title: `G and its mirror T∘G: the same reconstructions (${pair.toy})`,
    rows: ev.testA.slice(0, n).map((x, i) => ({ label: `#${i + 1}`, images: [grey(x), grey(g[i]!), grey(tg[i]!), grey(fg[i]!), grey(f2g2[i]!)] })),
    columnTitles: ["x", "G(x)", "T(G(x))", "F(G(x))", "F(T⁻¹(T(G(x))))"],
    tileSize: 110,
  });
}

// ---------------------------------------------------------------------------------------------
// 3. Ear phantom: ceT1 -> T2, segmenters on translations, shape consistency

export const LECTURE_EAR_STRUCTURES: Record<number, string> = { 1: "intra-meatal VS", 2: "extra-meatal VS", 3: "cochlea" };
const LABELS = [1, 2, 3];

export const LECTURE_EAR_METHODS = {
  plain: "CycleGAN",
  shape: "CycleGAN + shape consistency",
  oracle: "Oracle (real labelled T2)",
} as const;

/**
 * Slices of each ear volume the lecture keeps: the phantom's crops are centred on the inner ear,
 * and every structure of every phantom volume lies within the central 16 of the 32 slices
 * (z 8..23), so slices outside never show anatomy to translate or segment.
 */
export const LECTURE_EAR_SLAB = 16;

/**
 * The ear phantom cropped to its central LECTURE_EAR_SLAB slices (images and labels, the same
 * fixed box for every subject, so no label chooses it), written once under
 * <runs>/derived/lecture-ear-slab/ with its manifest; the subjects keep their ids, domains,
 * sites, splits and label uses. Returns the manifest path and the dataset.
 */
export async function lectureEarSlab(cfg: ExperimentConfig): Promise<{ manifest: string; dataset: Dataset }> {
  const ear = await openDataset(EAR_MANIFEST, dataRootOf(cfg));
  const dir = join(derivedDir(cfg), "lecture-ear-slab");
  const out = (p: string) => join(dir, basename(p));
  const done = join(dir, "complete.json");
  const want = JSON.stringify({ dataset: ear.id, slab: LECTURE_EAR_SLAB, subjects: ear.subjects.map((s) => s.id) });
  if (!(existsSync(done) && readFileSync(done, "utf8").trim() === want)) {
    const bar = new ProgressBar(`crop the ear volumes to ${LECTURE_EAR_SLAB} slices`, ear.subjects.length, { quiet: !cfg.progress });
    for (const [i, s] of ear.subjects.entries()) {
      const crop = <V extends Volume | LabelVolume>(v: V): V => centerCropOrPad(v, [v.shape[0]!, v.shape[1]!, Math.min(LECTURE_EAR_SLAB, v.shape[2] ?? 1)]);
      const img = await readNifti(s.image);
      await writeNifti(out(s.image), crop({ data: img.data, shape: img.shape, spacing: img.spacing, affine: img.affine }));
      if (s.label) {
        const lab = await readNiftiLabels(s.label);
        await writeNifti(out(s.label), crop({ data: lab.data, shape: lab.shape, spacing: lab.spacing, affine: lab.affine }));
      }
      bar.update({ done: i + 1, total: ear.subjects.length });
    }
    bar.finish();
    writeFileAtomicSync(done, want);
  }
  const m = derivedManifest(ear, {
    id: "lecture-ear-slab",
    description: `${ear.id} cropped to the central ${LECTURE_EAR_SLAB} slices, which hold every labelled structure of the phantom.`,
    domains: {
      source: { role: "source", modality: "ceT1", description: "contrast-enhanced T1-like, labelled" },
      target: { role: "target", modality: "T2", description: "T2-like; labels only for evaluation" },
    },
    subjects: ear.subjects.map((s) => ({
      id: s.id,
      domain: s.role,
      site: s.site,
      image: out(s.image),
      ...(s.label ? { label: out(s.label), labelUse: s.labelUse ?? "evaluation" } : {}),
      ...(s.trueStyle ? { trueStyle: s.trueStyle } : {}),
      split: s.split,
    })),
  });
  const manifest = writeDerivedManifest(join(dir, "manifest.json"), m);
  return { manifest, dataset: await openDataset(manifest, dataRootOf(cfg)) };
}

/** The ear data of the lecture: the phantom cropped to its central slices (see lectureEarSlab). */
export async function lectureEarDataset(cfg: ExperimentConfig): Promise<Dataset> {
  return (await lectureEarSlab(cfg)).dataset;
}

/** Trains (or reuses) CycleGAN ceT1 -> T2 on the ear phantom, with shape consistency when lambdaShape > 0. */
export async function trainEarCycleGan(cfg: ExperimentConfig, lambdaShape: number): Promise<CachedRun> {
  const b = lectureBudget(cfg.profile);
  const { manifest } = await lectureEarSlab(cfg);
  const run = await cachedRun(cfg, {
    method: "cyclegan",
    manifest,
    overrides: { ...b.ear, lambdaShape },
    label: lambdaShape > 0 ? "lecture-ear-cyclegan-shape" : "lecture-ear-cyclegan",
  });
  asCycleGan(run.trainer, "ear cyclegan");
  return run;
}

export interface TranslatedSet {
  /** The derived manifest: translated ceT1 volumes (role source, source labels for training) + the real T2 subjects. */
  manifest: string;
  datasetId: string;
  /** Folder of the translated NIfTI files (inside the translator's run folder). */
  dir: string;
  /** The translated subjects as the derived dataset lists them. */
  subjects: DerivedSubject[];
  /** True when the volumes were translated now, false when reused. */
  translated: boolean;
}

/** The source training subjects the budget translates. */
function sourceSubjects(cfg: ExperimentConfig, ear: Dataset): Subject[] {
  const all = selectSubjects(ear, { role: "source", split: "train", trainingLabels: true });
  const n = lectureBudget(cfg.profile).sourceSubjects;
  return n === null ? all : all.slice(0, n);
}

/** The labelled T2 test subjects the budget scores. */
export function lectureTestSubjects(cfg: ExperimentConfig, ear: Dataset): Subject[] {
  const all = selectSubjects(ear, { role: "target", split: "test", labelled: true });
  const n = lectureBudget(cfg.profile).testSubjects;
  return n === null ? all : all.slice(0, n);
}

/**
 * Translates every source training volume of the budget with a trained translation run
 * (slice by slice for 2D networks), writes them as NIfTI into <run>/translated/ and a derived
 * manifest in which they are the labelled source domain (the source labels, marked for
 * training) beside the real T2 subjects. Reused when the run's translations are complete.
 */
export async function translateEarSources(cfg: ExperimentConfig, run: CachedRun, name: string): Promise<TranslatedSet> {
  const ear = await lectureEarDataset(cfg);
  const subjects = sourceSubjects(cfg, ear);
  const dir = join(run.runDir, "translated");
  const done = join(dir, "complete.json");
  const files = subjects.map((s) => join(dir, `${s.id}_${name}.nii.gz`));
  const want = JSON.stringify({ subjects: subjects.map((s) => s.id) });
  let translated = false;
  if (!(existsSync(done) && readFileSync(done, "utf8").trim() === want && files.every((f) => existsSync(f)))) {
    const bar = new ProgressBar(`translate ceT1 -> T2 (${name})`, subjects.length, { quiet: !cfg.progress });
    for (const [i, s] of subjects.entries()) {
      const v = await readNormalised(s.image);
      const r = applyToVolume(run.trainer, run.config, v);
      await writeNifti(files[i]!, makeVolume(r.data, v.shape, v.spacing, v.affine));
      bar.update({ done: i + 1, total: subjects.length, info: s.id });
    }
    bar.finish();
    writeFileAtomicSync(done, want);
    translated = true;
  }
  const translatedSubjects: DerivedSubject[] = subjects.map((s, i) => ({
    id: `${s.id}_${name}`,
    domain: "translated",
    site: s.site,
    image: files[i]!,
    label: s.label!,
    labelUse: "training",
    split: "train",
  }));
  const datasetId = `lecture-ear-${basename(run.runDir)}`;
  const m = derivedManifest(ear, {
    id: datasetId,
    description: `ceT1 phantom volumes translated to T2 by ${basename(run.runDir)}, with the ceT1 labels; and the real T2 subjects.`,
    domains: {
      translated: { role: "source", modality: "T2 (translated from ceT1)" },
      target: { role: "target", modality: "T2" },
    },
    subjects: [...translatedSubjects, ...carry(selectSubjects(ear, { role: "target" }), "target")],
  });
  const manifest = writeDerivedManifest(join(dir, "manifest.json"), m);
  return { manifest, datasetId, dir, subjects: translatedSubjects, translated };
}

/** The translated volumes whose anatomy the Oracle checks: the budget's number, spread evenly over the list (and so over the sites). */
export function lectureAnatomyCases(cfg: ExperimentConfig, set: TranslatedSet): DerivedSubject[] {
  const n = lectureBudget(cfg.profile).anatomySubjects;
  if (n === null || n >= set.subjects.length) return set.subjects;
  const stride = set.subjects.length / n;
  return Array.from({ length: n }, (_, i) => set.subjects[Math.floor(i * stride)]!);
}

/** Trains (or reuses) the segmenter on a translated set: translated images, source labels. */
export async function trainSegmenterOnTranslations(cfg: ExperimentConfig, set: TranslatedSet, label: string): Promise<CachedRun> {
  return cachedRun(cfg, { method: "segmenter", manifest: set.manifest, overrides: lectureBudget(cfg.profile).segmenter, label });
}

/**
 * The Oracle: the same segmenter trained on real T2 training images with their labels (which the
 * phantom keeps for evaluation only). It is the ceiling for segmenters trained on translations,
 * and the judge of whether a translation kept the source anatomy.
 */
export async function trainLectureOracle(cfg: ExperimentConfig): Promise<CachedRun> {
  const ear = await lectureEarDataset(cfg);
  const t2 = selectSubjects(ear, { role: "target", split: "train", labelled: true });
  const m = derivedManifest(ear, {
    id: `${ear.id}-t2-labelled`,
    description: "Real T2 training volumes of the ear phantom with their (evaluation) labels as training labels: the Oracle's data.",
    domains: { labelled: { role: "source", modality: "T2 (labelled)" }, target: { role: "target", modality: "T2" } },
    subjects: [...carry(t2, "labelled", { labelUse: "training" }).map((s) => ({ ...s, id: `${s.id}_labelled` })), ...carry(t2, "target")],
  });
  const manifest = writeDerivedManifest(join(derivedDir(cfg), `${ear.id}-t2-labelled.json`), m);
  return cachedRun(cfg, { method: "segmenter", manifest, overrides: lectureBudget(cfg.profile).segmenter, label: "lecture-oracle" });
}

/** Segments a normalised volume with a segmenter run. */
function segment(seg: { trainer: Trainer; config: MethodConfig }, v: Volume): LabelVolume {
  return segmentVolume(seg.trainer, seg.config, v);
}

/**
 * Dice per structure of a segmenter on (image, label) pairs: real T2 test subjects, or
 * translated volumes with the source labels they were made from. One MetricRow per case and structure.
 */
export async function lectureDice(
  seg: { trainer: Trainer; config: MethodConfig },
  cases: readonly { id: string; image: string; label?: string }[],
  method: string,
  progress = false,
): Promise<MetricRow[]> {
  const rows: MetricRow[] = [];
  const bar = new ProgressBar(`Dice: ${method}`, cases.length, { quiet: !progress });
  for (const [i, c] of cases.entries()) {
    if (!c.label) throw new UnpairedError("BAD_MANIFEST", `${c.id}: no label to score against`);
    const v = await readNormalised(c.image);
    const truth = await readNiftiLabels(c.label);
    const d = dice(segment(seg, v), truth, LABELS);
    LABELS.forEach((l, k) => rows.push({ case: c.id, method, structure: LECTURE_EAR_STRUCTURES[l]!, value: d[k]! }));
    bar.update({ done: i + 1, total: cases.length });
  }
  bar.finish();
  return rows;
}

/** Mean Dice per method and structure (and over structures), as table rows. */
export function lectureDiceSummary(rows: readonly MetricRow[], what: string): Row[] {
  const methods = [...new Set(rows.map((r) => r.method))];
  return methods.map((m) => {
    const mine = rows.filter((r) => r.method === m);
    const out: Record<string, string | number> = { evaluation: what, method: m, cases: new Set(mine.map((r) => r.case)).size };
    for (const s of Object.values(LECTURE_EAR_STRUCTURES)) out[s] = meanOf(mine.filter((r) => r.structure === s).map((r) => r.value ?? NaN));
    out["mean"] = meanOf(mine.map((r) => r.value ?? NaN));
    return out;
  });
}

export function lectureDiceBoxFigure(rows: readonly MetricRow[], title: string): Figure {
  return metricBoxFigure({ rows, metric: "Dice", title, yRange: [0, 1], structures: Object.values(LECTURE_EAR_STRUCTURES) });
}

/**
 * Rows of ear images through the label centroid: the ceT1 source with its labels, each
 * translation with the Oracle's segmentation of it (where the anatomy ended up), and a real T2.
 */
export async function lectureEarGridFigure(
  cfg: ExperimentConfig,
  sets: readonly { name: string; set: TranslatedSet }[],
  oracle: { trainer: Trainer; config: MethodConfig },
): Promise<Figure> {
  const ear = await lectureEarDataset(cfg);
  const sources = sourceSubjects(cfg, ear).slice(0, lectureBudget(cfg.profile).earShow);
  const realT2 = selectSubjects(ear, { role: "target", split: "test", labelled: true });
  const rows: ImageGridRow[] = [];
  for (const [i, s] of sources.entries()) {
    const src = await readNormalised(s.image);
    const label = await readNiftiLabels(s.label!);
    const at = centroidSlice(src, label);
    const pick = (v: Volume | LabelVolume) => sliceOf(v, { index: at.index ?? undefined });
    const images: Bitmap[] = [overlayContours(windowLevel(at.image, { range: [-1, 1] }), at.labels)];
    for (const { set } of sets) {
      const t = await readNormalised(set.subjects.find((x) => x.id.startsWith(s.id))!.image);
      images.push(overlayContours(windowLevel(pick(t), { range: [-1, 1] }), pick(segment(oracle, t))));
    }
    const t2 = realT2.find((x) => x.site === s.site) ?? realT2[i % realT2.length]!;
    const t2v = await readNormalised(t2.image);
    const t2l = await readNiftiLabels(t2.label!);
    const at2 = centroidSlice(t2v, t2l);
    images.push(overlayContours(windowLevel(at2.image, { range: [-1, 1] }), at2.labels));
    rows.push({ label: s.id.replace(/^crossmoda-phantom_/, ""), images });
  }
  return imageGridFigure({
    title: "ceT1 → T2 (contours: labels; on translations, the Oracle's segmentation)",
    rows,
    columnTitles: ["ceT1 source + labels", ...sets.map((s) => s.name), "a real T2 + labels"],
    tileSize: 150,
  });
}

// ---------------------------------------------------------------------------------------------
// 4. The result

export interface LectureParts {
  cfg: ExperimentConfig;
  toyEvals: ToyEvaluation[];
  toyRuns: { name: string; runDir: string }[];
  flip: { toy: string; result: FlipAmbiguity; images: Figure };
  earRuns: { name: string; runDir: string }[];
  earGrid: Figure;
  /** Dice on the labelled T2 test set of the segmenters trained on translations (and the Oracle). */
  downstream: MetricRow[];
  /** Dice of the Oracle's segmentation of each translation against the source labels. */
  anatomy: MetricRow[];
  runs: string[];
  seconds: number;
}

const r3 = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : Math.round(v * 1000) / 1000);
const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(d));

function meanDice(rows: readonly MetricRow[], method: string, structure?: string): number {
  return meanOf(rows.filter((r) => r.method === method && (structure === undefined || r.structure === structure)).map((r) => r.value ?? NaN));
}

/** The key numbers of a lecture run. */
export function lectureNumbers(p: LectureParts): Record<string, KeyNumber> {
  const n: Record<string, KeyNumber> = {};
  for (const e of p.toyEvals) {
    const m = e.metrics;
    n[`${m.toy}_cycle_l1`] = r3(m.cycleL1);
    n[`${m.toy}_paired_mae_source`] = r3(m.pairedMaeSource);
    n[`${m.toy}_paired_mae_translation`] = r3(m.pairedMaeTranslation);
    n[`${m.toy}_hist_w1_source`] = r3(m.histSource);
    n[`${m.toy}_hist_w1_translation`] = r3(m.histTranslation);
    if (m.textureTranslation !== null) {
      n[`${m.toy}_texture_source`] = r3(m.textureSource);
      n[`${m.toy}_texture_translation`] = r3(m.textureTranslation);
      n[`${m.toy}_texture_target`] = r3(m.textureTarget);
    }
    if (m.squareTranslation !== null) {
      n[`${m.toy}_squareness_source`] = r3(m.squareSource);
      n[`${m.toy}_squareness_translation`] = r3(m.squareTranslation);
      n[`${m.toy}_squareness_target`] = r3(m.squareTarget);
    }
  }
  const f = p.flip.result;
  n["flip_toy"] = p.flip.toy;
  n["flip_cycle_original"] = f.original.cycleX + f.original.cycleY;
  n["flip_cycle_mirrored"] = f.mirrored.cycleX + f.mirrored.cycleY;
  n["flip_cycle_rel_difference"] = f.relDifference;
  n["flip_translation_change"] = r3(f.translationChange);
  for (const [key, name] of Object.entries(LECTURE_EAR_METHODS)) {
    n[`dice_t2_test_${key}`] = r3(meanDice(p.downstream, name));
    if (key !== "oracle") n[`dice_anatomy_${key}`] = r3(meanDice(p.anatomy, name));
  }
  return n;
}

/** A few sentences from the numbers (what held, what did not). */
export function lectureReading(p: LectureParts): string {
  const out: string[] = [];
  const ev = (t: ToyKind) => p.toyEvals.find((e) => e.toy === t)?.metrics;
  const smoke = p.cfg.profile === "smoke";
  if (smoke) out.push(`Smoke profile: a few training steps only, so the numbers below check the wiring and show none of the lecture's effects.`);
  const c = ev("colour");
  if (c) {
    const ratio = c.pairedMaeTranslation / Math.max(1e-9, c.pairedMaeSource);
    out.push(
      `Colour toy: translations are ${fmt(c.pairedMaeTranslation)} (mean absolute difference, intensities in [-1, 1]) from the same scenes drawn in domain B, against ${fmt(c.pairedMaeSource)} for the untranslated images; ` +
        (ratio < 0.25 ? `the grey-level mapping was learnt` : ratio < 0.75 ? `the mapping was only partly learnt` : `the mapping was not learnt`) +
        `, and F brought the images back to within ${fmt(c.cycleL1)}.`,
    );
  }
  const towards = (from: number | null, to: number | null, target: number | null) =>
    from === null || to === null || target === null || Math.abs(target - from) < 1e-9 ? NaN : (to - from) / (target - from);
  const t = ev("texture");
  if (t) {
    const k = towards(t.textureSource, t.textureTranslation, t.textureTarget);
    out.push(
      `Texture toy: the texture energy inside the objects went from ${fmt(t.textureSource)} (smooth source) to ${fmt(t.textureTranslation)} in the translations, against ${fmt(t.textureTarget)} in real striped images ` +
        `(${fmt(100 * k, 0)}% of the way); ` +
        (k >= 0.5 ? `stripes were added inside unchanged outlines` : k >= 0.2 ? `stripes appeared only partly` : `no stripes to speak of appeared at this budget`) +
        `, with a reconstruction error of ${fmt(t.cycleL1)}.`,
    );
  }
  const g = ev("geometry");
  if (g && g.squareTranslation !== null && g.squareSource !== null && g.squareTarget !== null) {
    const k = towards(g.squareSource, g.squareTranslation, g.squareTarget);
    out.push(
      `Geometry toy: objects fill ${fmt(g.squareSource, 2)} of their bounding box in the source (discs), ${fmt(g.squareTarget, 2)} in real B (squares) and ${fmt(g.squareTranslation, 2)} in the translations ` +
        `(${fmt(100 * k, 0)}% of the way to squares): ` +
        (k < 0.15 ? `circles did not become squares` : k < 0.6 ? `circles became at best rounded, blurred squares` : `the translations came close to squares, more than the lecture leads one to expect`) +
        `, while F still brought the images back to within ${fmt(g.cycleL1)} (colour ${fmt(c?.cycleL1)}, texture ${fmt(t?.cycleL1)}): a small cycle error does not mean the translation is right.`,
    );
  }
  const f = p.flip.result;
  out.push(
    `Mirror ambiguity (${p.flip.toy} pair): cycle loss ${f.original.cycleX.toPrecision(7)} + ${f.original.cycleY.toPrecision(7)} for (G, F) and ${f.mirrored.cycleX.toPrecision(7)} + ${f.mirrored.cycleY.toPrecision(7)} for (T∘G, F∘T⁻¹), ` +
      `${f.relDifference === 0 ? "equal to the last bit" : `a relative difference of ${f.relDifference.toExponential(1)}`}, while the two translations differ by ${fmt(f.translationChange)} per pixel on average (their own spread is ${fmt(f.translationSpread)}): ` +
      `cycle consistency alone cannot choose between them.`,
  );
  const dPlain = meanDice(p.downstream, LECTURE_EAR_METHODS.plain);
  const dShape = meanDice(p.downstream, LECTURE_EAR_METHODS.shape);
  const dOracle = meanDice(p.downstream, LECTURE_EAR_METHODS.oracle);
  const aPlain = meanDice(p.anatomy, LECTURE_EAR_METHODS.plain);
  const aShape = meanDice(p.anatomy, LECTURE_EAR_METHODS.shape);
  const cases = new Set(p.downstream.map((r) => r.case)).size;
  const compare = (a: number, b: number) => (Math.abs(a - b) < 0.02 ? "about the same as" : a > b ? "higher than" : "lower than");
  // The structure where shape consistency changed the anatomy Dice most.
  const byStructure = Object.values(LECTURE_EAR_STRUCTURES).map((st) => ({ st, d: meanDice(p.anatomy, LECTURE_EAR_METHODS.shape, st) - meanDice(p.anatomy, LECTURE_EAR_METHODS.plain, st) }));
  const most = byStructure.reduce((a, b) => (Math.abs(b.d) > Math.abs(a.d) ? b : a));
  out.push(
    `Ear phantom: segmenters trained on translated ceT1 with the ceT1 labels reached a mean Dice (three structures, ${cases} labelled real T2 test volumes) of ${fmt(dPlain)} with plain CycleGAN ` +
      `and ${fmt(dShape)} with shape consistency, against ${fmt(dOracle)} for the Oracle trained on real labelled T2` +
      (dPlain < dOracle - 0.05 ? `: translations carried part of the way, not all of it.` : `.`),
  );
  out.push(
    `Whether the translations kept the source anatomy (the Oracle's segmentation of each translation against the ceT1 labels): mean Dice ${fmt(aPlain)} for plain CycleGAN and ${fmt(aShape)} with shape consistency ` +
      `(largest change: ${most.st}, ${most.d >= 0 ? "+" : ""}${fmt(most.d)}). ` +
      (aShape > aPlain + 0.02
        ? `Shape consistency kept more of the anatomy`
        : aShape < aPlain - 0.02
          ? `Shape consistency kept less of the anatomy, so on this phantom, budget and seed it did not fix a distortion`
          : `Shape consistency made no clear difference to the anatomy`) +
      `, and the segmenter trained on its translations scored ${compare(dShape, dPlain)} the one trained on plain CycleGAN's (one seed; see the box plots for the spread).`,
  );
  return out.join(" ");
}

/** The lecture's target: the ear CycleGAN's translations keep the source anatomy (the Oracle finds it at mean Dice >= 0.6). */
export function lectureTargets(p: LectureParts): Target[] {
  const a = meanDice(p.anatomy, LECTURE_EAR_METHODS.plain);
  return [{ id: "anatomyKept.CycleGAN", claim: "CycleGAN's ear translations keep the source anatomy", measure: "Oracle Dice vs the source labels", measured: Number.isFinite(a) ? a : null, op: ">=", threshold: 0.6 }];
}

/** Figures, tables, numbers and reading of a lecture run. */
export function lectureResult(p: LectureParts): ExperimentResult {
  const figures: NamedFigure[] = [
    { name: "", figure: toyGridFigure(p.toyEvals), caption: "Toy domains: source, translation, reconstruction and the paired answer (never seen in training)." },
    { name: "curves", figure: cycleGanCurvesFigure(p.toyRuns, "Toy CycleGANs: cycle and adversarial losses"), caption: "Training losses of the toy pairs." },
    { name: "flip", figure: flipTableFigure(p.flip.result, p.flip.toy), caption: "Cycle losses of a trained pair and of its mirrored twin." },
    { name: "flip-images", figure: p.flip.images, caption: "The mirrored translator reconstructs the same images." },
    { name: "ear", figure: p.earGrid, caption: "ceT1 -> T2 translations with and without shape consistency." },
    { name: "ear-curves", figure: cycleGanCurvesFigure(p.earRuns, "Ear CycleGANs: cycle, adversarial and shape losses"), caption: "Training losses of the ear CycleGANs." },
    { name: "dice", figure: lectureDiceBoxFigure(p.downstream, "Segmenters trained on CycleGAN translations: Dice on real labelled T2 (test)"), caption: "Dice on the T2 test set." },
    { name: "anatomy", figure: lectureDiceBoxFigure(p.anatomy, "Is the anatomy kept? The Oracle's segmentation of each translation vs the source labels"), caption: "Anatomy preservation by translation." },
  ];
  const tables: NamedTable[] = [
    { name: "toys", rows: toyMetricsRows(p.toyEvals), caption: "Toy pairs: cycle error, distance to the paired answer, histogram distance to B, squareness" },
    { name: "flip", rows: flipRows(p.flip.result, p.flip.toy), caption: "Cycle losses of (G, F) and of the mirrored pair (T∘G, F∘T⁻¹)" },
    { name: "dice", rows: [...lectureDiceSummary(p.downstream, "T2 test (segmenter)"), ...lectureDiceSummary(p.anatomy, "anatomy kept (Oracle on translation vs source labels)")], caption: "Mean Dice per structure" },
    { name: "dice-cases", rows: [...p.downstream.map((r) => ({ evaluation: "t2-test", ...r })), ...p.anatomy.map((r) => ({ evaluation: "anatomy", ...r }))], caption: "Dice per case and structure" },
  ];
  return {
    name: LECTURE_CYCLEGAN,
    title: TITLE,
    profile: p.cfg.profile,
    seed: p.cfg.seed,
    figures,
    images: [],
    tables,
    numbers: { ...lectureNumbers(p), ...targetNumbers(lectureTargets(p)) },
    reading: [lectureReading(p), targetsReading(lectureTargets(p), p.cfg.profile)].join(" "),
    runs: p.runs,
    seconds: p.seconds,
  };
}

/** The whole lecture, step by step (the notebook makes the same calls). */
export async function runLecture(cfg: ExperimentConfig): Promise<ExperimentResult> {
  const t0 = performance.now();
  const budget = lectureBudget(cfg.profile);
  const runs: string[] = [];
  const toyEvals: ToyEvaluation[] = [];
  const toyRuns: { name: string; runDir: string }[] = [];
  let flip: LectureParts["flip"] | undefined;
  for (const toy of budget.toys) {
    const pair = await trainToyPair(cfg, toy);
    try {
      runs.push(pair.run.runDir);
      toyRuns.push({ name: toy, runDir: pair.run.runDir });
      const ev = await evaluateToyPair(pair, budget.toyShow);
      toyEvals.push(ev);
      if (toy === "colour") flip = { toy, result: flipAmbiguityOfPair(pair, ev), images: flipImagesFigure(pair, ev) };
    } finally {
      pair.trainer.dispose();
    }
  }
  if (!flip) throw new UnpairedError("BAD_CONFIG", "lecture-cyclegan: the budget has no colour toy for the mirror experiment");
  const plain = await trainEarCycleGan(cfg, 0);
  const shape = await trainEarCycleGan(cfg, budget.lambdaShape);
  runs.push(plain.runDir, shape.runDir);
  const setPlain = await translateEarSources(cfg, plain, "cyclegan");
  const setShape = await translateEarSources(cfg, shape, "cyclegan-shape");
  plain.trainer.dispose();
  shape.trainer.dispose();
  const ear = await lectureEarDataset(cfg);
  const test = lectureTestSubjects(cfg, ear);
  const downstream: MetricRow[] = [];
  for (const [set, name, label] of [
    [setPlain, LECTURE_EAR_METHODS.plain, "lecture-seg-cyclegan"],
    [setShape, LECTURE_EAR_METHODS.shape, "lecture-seg-cyclegan-shape"],
  ] as const) {
    const seg = await trainSegmenterOnTranslations(cfg, set, label);
    runs.push(seg.runDir);
    downstream.push(...(await lectureDice(seg, test, name, cfg.progress)));
    seg.trainer.dispose();
  }
  const oracle = await trainLectureOracle(cfg);
  runs.push(oracle.runDir);
  try {
    downstream.push(...(await lectureDice(oracle, test, LECTURE_EAR_METHODS.oracle, cfg.progress)));
    const anatomy = [
      ...(await lectureDice(oracle, lectureAnatomyCases(cfg, setPlain), LECTURE_EAR_METHODS.plain, cfg.progress)),
      ...(await lectureDice(oracle, lectureAnatomyCases(cfg, setShape), LECTURE_EAR_METHODS.shape, cfg.progress)),
    ];
    const earGrid = await lectureEarGridFigure(cfg, [{ name: LECTURE_EAR_METHODS.plain, set: setPlain }, { name: LECTURE_EAR_METHODS.shape, set: setShape }], oracle);
    return lectureResult({
      cfg,
      toyEvals,
      toyRuns,
      flip,
      earRuns: [
        { name: "plain", runDir: plain.runDir },
        { name: "shape", runDir: shape.runDir },
      ],
      earGrid,
      downstream,
      anatomy,
      runs,
      seconds: (performance.now() - t0) / 1000,
    });
  } finally {
    oracle.trainer.dispose();
  }
}

export const lectureCycleGan: Experiment = {
  name: LECTURE_CYCLEGAN,
  title: TITLE,
  summary: "CycleGAN on toy domains (colour and texture changes; circles -> squares, the failure case), the mirror ambiguity of the cycle loss, ceT1 -> T2 with segmentation and shape consistency",
  run: runLecture,
};
