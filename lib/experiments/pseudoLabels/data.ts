// The axon phantom as the pseudo-labelling study uses it: the dataset, the derived manifests each
// translator and segmenter trains on (TEM paired with one target; the swapped pair for one-way
// translators; one manifest per cross-validation fold), held-out cases loaded as the networks see
// them, and the paired ground truth only a phantom has: the same field rendered in another domain.
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { preprocess } from "../../data/loader.js";
import { selectSubjects, type Dataset, type Subject } from "../../data/manifest.js";
import { AXON_DOMAINS, axonPhantomConfig, axonSample, axonSampleId, type AxonDomain, type AxonPhantomConfig } from "../../data/phantoms/axon.js";
import { openDataset } from "../../data/openDataset.js";
import { UnpairedError } from "../../util/errors.js";
import type { LabelVolume, Volume } from "../../volume/volume.js";
import { carry, derivedManifest, writeDerivedManifest, type DerivedSubject } from "../framework/derive.js";
import { AXON_MANIFEST } from "../framework/data.js";
import { loadImage, loadLabels } from "../framework/ear.js";
import { PSEUDO_SOURCE, type PseudoFold, type PseudoTarget } from "./plan.js";
import type { ExperimentConfig } from "../framework/types.js";

/** The axon phantom (its files written on first use). */
export function axonDataset(cfg: ExperimentConfig): Promise<Dataset> {
  return openDataset(AXON_MANIFEST, cfg.dataRoot ?? cfg.phantomRoot);
}

/** Where the study's derived manifests and translated images live. */
export function pseudoDatasetsDir(cfg: ExperimentConfig): string {
  return join(resolve(cfg.runsDir), "datasets");
}

/** A short content hash, for ids that must change when a list of images does. */
export function pseudoShortHash(parts: readonly string[]): string {
  return createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 8);
}

/** The labelled TEM training images the study uses ("all", or the first n in manifest order). */
export function pseudoSourceImages(d: Dataset, n: number | "all"): Subject[] {
  const all = selectSubjects(d, { domain: PSEUDO_SOURCE, split: "train", trainingLabels: true });
  return n === "all" ? all : all.slice(0, n);
}

/** The held-out (test-split, labelled) images of a domain ("all", or the first n). */
export function pseudoTestImages(d: Dataset, domain: string, n: number | "all"): Subject[] {
  const all = selectSubjects(d, { domain, split: "test", labelled: true });
  return n === "all" ? all : all.slice(0, n);
}

/**
 * The manifest a translator of one target trains on: TEM (source, labelled) and that target
 * (target), every split carried over; `swapped` makes the target the source and TEM the target
 * (the second run of a one-way translator).
 */
export async function pseudoPairManifest(cfg: ExperimentConfig, d: Dataset, target: PseudoTarget, swapped = false): Promise<{ manifest: string; datasetId: string }> {
  const tem = selectSubjects(d, { domain: PSEUDO_SOURCE });
  const tgt = selectSubjects(d, { domain: target });
  const id = swapped ? `${d.id}-${target}-to-${PSEUDO_SOURCE}` : `${d.id}-${PSEUDO_SOURCE}-to-${target}`;
  const [from, to] = swapped ? [tgt, tem] : [tem, tgt];
  const m = derivedManifest(d, {
    id,
    description: `${d.id}: ${swapped ? `${target} as the source, TEM as the target` : `labelled TEM as the source, ${target} as the target`} (one translator's training pair).`,
    domains: {
      [from[0]!.domain]: { role: "source", modality: from[0]!.modality },
      [to[0]!.domain]: { role: "target", modality: to[0]!.modality },
    },
    // A translator never reads labels; those of a target domain stay marked for evaluation only.
    subjects: [...carry(from, from[0]!.domain), ...carry(to, to[0]!.domain)],
  });
  const manifest = writeDerivedManifest(join(pseudoDatasetsDir(cfg), `${id}.json`), m);
  return { manifest, datasetId: id };
}

/** A labelled image a segmenter may train on: its id, image file and label file. */
export interface PseudoLabelledImage {
  id: string;
  image: string;
  label: string;
}

/**
 * The manifest of one fold's segmenter: the fold's training images as the labelled source
 * (split train), its held-out images as split "val" (scored for the source-domain check, never
 * trained on), and `companions` as the target side the loader always draws and a segmenter
 * ignores (default: the training images themselves, as the Oracle manifest does).
 */
export async function pseudoFoldManifest(
  cfg: ExperimentConfig,
  d: Dataset,
  o: { stem: string; domain: string; modality: string; images: readonly PseudoLabelledImage[]; fold: PseudoFold; folds: number; description: string; companions?: readonly Subject[] },
): Promise<{ manifest: string; datasetId: string; trainImages: number }> {
  const byId = new Map(o.images.map((s) => [s.id, s]));
  const pick = (ids: readonly string[]) =>
    ids.map((id) => {
      const s = byId.get(id);
      if (!s) throw new UnpairedError("BAD_CONFIG", `pseudo-labels: fold image ${id} is not among the ${o.images.length} images of ${o.stem}`);
      return s;
    });
  const train = pick(o.fold.train);
  const held = pick(o.fold.heldOut);
  const id = `${o.stem}-f${o.fold.index + 1}of${o.folds}-${pseudoShortHash(o.fold.train)}`;
  const site = o.domain;
  const subjects: DerivedSubject[] = [
    ...train.map((s) => ({ id: s.id, domain: o.domain, site, image: s.image, label: s.label, labelUse: "training" as const, split: "train" as const })),
    ...held.map((s) => ({ id: s.id, domain: o.domain, site, image: s.image, label: s.label, labelUse: "evaluation" as const, split: "val" as const })),
  ];
  const companions: DerivedSubject[] = o.companions?.length
    ? carry(o.companions, "companion", { split: "train" }).map((s) => ({ ...s, site: "companion", id: `${s.id}-companion` }))
    : train.map((s) => ({ id: `${s.id}-companion`, domain: "companion", site: "companion", image: s.image, split: "train" as const }));
  const m = derivedManifest(d, {
    id,
    description: `${o.description} Fold ${o.fold.index + 1} of ${o.folds}: ${train.length} training images, ${held.length} held out (split val).`,
    domains: { [o.domain]: { role: "source", modality: o.modality }, companion: { role: "target", modality: "unused by segmenters" } },
    subjects: [...subjects, ...companions],
  });
  const manifest = writeDerivedManifest(join(pseudoDatasetsDir(cfg), `${id}.json`), m);
  return { manifest, datasetId: id, trainImages: train.length };
}

/** A held-out image as the networks see it: percentile-normalised to [-1, 1], with its labels. */
export interface PseudoCase {
  id: string;
  domain: string;
  subject: Subject;
  image: Volume;
  labels: LabelVolume;
}

/** Loads held-out images (normalised as in training) with their labels. */
export function loadPseudoCases(subjects: readonly Subject[]): Promise<PseudoCase[]> {
  return Promise.all(subjects.map(async (s) => ({ id: s.id, domain: s.domain, subject: s, image: await loadImage(s), labels: await loadLabels(s) })));
}

/** The axon phantom's generator settings recorded in a manifest (undefined for other data). */
export function axonPhantomOf(d: Dataset): AxonPhantomConfig | undefined {
  const g = d.generator;
  if (!g || g.kind !== "axon") return undefined;
  return axonPhantomConfig({ ...(g.options ?? {}), seed: g.seed } as Partial<AxonPhantomConfig>);
}

/** A phantom subject's domain and image index, checked against the phantom's own id scheme. */
export function axonIndexOf(s: Subject): { domain: AxonDomain; index: number } {
  const m = /_(\d+)$/.exec(s.id);
  if (!m || !(AXON_DOMAINS as readonly string[]).includes(s.domain)) throw new UnpairedError("BAD_CONFIG", `pseudo-labels: ${s.id} is not an axon phantom image`);
  const domain = s.domain as AxonDomain;
  const index = Number(m[1]);
  if (axonSampleId(domain, index) !== s.id) throw new UnpairedError("BAD_CONFIG", `pseudo-labels: ${s.id} does not follow the phantom's ids (${axonSampleId(domain, index)})`);
  return { domain, index };
}

/**
 * The ground truth of translating phantom image `s` into `renderAs`: the same field (geometry,
 * textures, noise seed) rendered as that domain would image it, normalised as training normalises
 * images. With renderAs = the subject's own domain this is the image in its file. Undefined when
 * the dataset is not the axon phantom (real data has no paired truth).
 */
export function axonTruth(d: Dataset, s: Subject, renderAs: AxonDomain): Volume | undefined {
  const pc = axonPhantomOf(d);
  if (!pc) return undefined;
  const { domain, index } = axonIndexOf(s);
  return preprocess(axonSample(domain, index, pc, { renderAs }).image, undefined).image;
}
