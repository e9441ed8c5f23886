// The lecture on the ear phantom: ceT1 -> T2 CycleGANs (with and without shape consistency),
// segmenters trained on their translations, the Oracle, and whether the translations kept the
// source anatomy.
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { selectSubjects, type Dataset, type Subject } from "../../data/manifest.js";
import type { MethodConfig } from "../../methods/config.js";
import type { Trainer } from "../../methods/trainer.js";
import { openDataset } from "../../data/openDataset.js";
import { applyToVolume, segmentVolume } from "../../inference/translate.js";
import { readNifti, readNiftiLabels } from "../../volume/niftiRead.js";
import { centerCropOrPad } from "../../volume/crop.js";
import { writeNifti } from "../../volume/niftiWrite.js";
import { makeVolume, type LabelVolume, type Volume } from "../../volume/volume.js";
import { dice } from "../../analysis/overlap.js";
import type { Row } from "../../analysis/tables.js";
import { imageGridFigure, type ImageGridRow } from "../../viz/imageFigures.js";
import { centroidSlice, overlayContours, sliceOf, windowLevel } from "../../viz/imageGrid.js";
import { metricBoxFigure, type MetricRow } from "../../viz/metricBoxFigures.js";
import type { Figure } from "../../viz/figure.js";
import type { Bitmap } from "../../viz/png.js";
import { ProgressBar } from "../../util/progress.js";
import { writeFileAtomicSync } from "../../util/atomicWrite.js";
import { UnpairedError } from "../../util/errors.js";
import { cachedRun, type CachedRun } from "../framework/runCache.js";
import { carry, derivedManifest, writeDerivedManifest, type DerivedSubject } from "../framework/derive.js";
import { EAR_MANIFEST } from "../framework/data.js";
import type { ExperimentConfig } from "../framework/types.js";
import { dataRootOf, derivedDir, meanOf } from "./common.js";
import { lectureBudget } from "./budget.js";
import { asCycleGan, readNormalised } from "./toys.js";

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
