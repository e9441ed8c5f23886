// Translators of the pseudo-labelling study and what they produce: one translator pair per
// (target, method) trained or reused through the run cache (two-way methods in one run, one-way
// methods as two runs), applied to whole 128x128 fields, and every translation the study needs
// written once as NIfTI under <runs>/datasets/<id>/ (a complete marker names the runs): the TEM
// training images in the target modality (Tutorship's training set), the TEM test images and
// their cycle reconstructions, the target test images in TEM (Adaptation's inputs) and theirs.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Dataset, Subject } from "../../data/manifest.js";
import type { MethodConfig } from "../../methods/config.js";
import { translateVolume } from "../../inference/translate.js";
import { readNifti } from "../../volume/niftiRead.js";
import { writeNifti } from "../../volume/niftiWrite.js";
import type { Volume } from "../../volume/volume.js";
import { writeFileAtomicSync } from "../../util/atomicWrite.js";
import { ProgressBar } from "../../util/progress.js";
import { loadImage } from "../framework/ear.js";
import { cachedRun, type CachedRun, type RunSpec } from "../framework/runCache.js";
import { pseudoPairManifest, pseudoDatasetsDir, pseudoShortHash } from "./data.js";
import { isOneWayTranslator, pseudoLabelsPlan, type PseudoTarget, type PseudoTranslator } from "./plan.js";
import type { ExperimentConfig } from "../framework/types.js";

/** Bump when the way translations are made changes (it is part of the sets' ids). */
export const PSEUDO_TRANSLATION_VERSION = 1;

/** The run spec of a translator (`swapped`: the target -> TEM run of a one-way method). */
export async function pseudoTranslatorSpec(cfg: ExperimentConfig, d: Dataset, target: PseudoTarget, method: PseudoTranslator, swapped = false): Promise<RunSpec> {
  const { manifest } = await pseudoPairManifest(cfg, d, target, swapped);
  return { method, manifest, label: swapped ? `axon-${method}-${target}-to-tem` : `axon-${method}-${target}`, overrides: pseudoLabelsPlan(cfg.profile).translators[method] };
}

/** A trained translator pair of one target: TEM -> target and target -> TEM. */
export interface PseudoTranslatorPair {
  target: PseudoTarget;
  method: PseudoTranslator;
  /** The TEM -> target run (two-way methods: both directions). */
  forward: CachedRun;
  /** The target -> TEM run of a one-way method. */
  backward?: CachedRun;
  /** Run folders, forward first. */
  runs: string[];
  /** Whether any of its runs trained now (false: all reused). */
  trained: boolean;
  seconds: number;
}

/** Trains (or reuses) a translator pair. Free it with disposePseudoTranslatorPair. */
export async function trainPseudoTranslatorPair(cfg: ExperimentConfig, d: Dataset, target: PseudoTarget, method: PseudoTranslator): Promise<PseudoTranslatorPair> {
  const t0 = performance.now();
  const forward = await cachedRun(cfg, await pseudoTranslatorSpec(cfg, d, target, method));
  let backward: CachedRun | undefined;
  try {
    if (isOneWayTranslator(method)) backward = await cachedRun(cfg, await pseudoTranslatorSpec(cfg, d, target, method, true));
  } catch (err) {
    forward.trainer.dispose();
    throw err;
  }
  return {
    target,
    method,
    forward,
    ...(backward ? { backward } : {}),
    runs: [forward.runDir, ...(backward ? [backward.runDir] : [])],
    trained: forward.trained || (backward?.trained ?? false),
    seconds: (performance.now() - t0) / 1000,
  };
}

export function disposePseudoTranslatorPair(p: PseudoTranslatorPair): void {
  p.forward.trainer.dispose();
  p.backward?.trainer.dispose();
}

/** A run applied to a whole image at once (the networks are fully convolutional; one tile, no seams). */
function wholeImage(run: CachedRun, v: Volume, reverse: boolean): Volume {
  const config = { ...run.config, patch: [...v.shape] } as MethodConfig;
  return translateVolume(run.trainer, config, v, reverse ? { reverse: true } : {});
}

/** TEM -> target of a normalised image. */
export function pseudoToTarget(p: PseudoTranslatorPair, v: Volume): Volume {
  return wholeImage(p.forward, v, false);
}

/** Target -> TEM of a normalised image. */
export function pseudoToSource(p: PseudoTranslatorPair, v: Volume): Volume {
  return p.backward ? wholeImage(p.backward, v, false) : wholeImage(p.forward, v, true);
}

/** The kinds of translated image a set holds. */
export const PSEUDO_TRANSLATION_KINDS = ["tutor", "forward", "forwardCycle", "backward", "backwardCycle"] as const;
export type PseudoTranslationKind = (typeof PSEUDO_TRANSLATION_KINDS)[number];

/** Everything one translator pair translated, as files (absolute paths by kind and input id). */
export interface PseudoTranslationSet {
  id: string;
  folder: string;
  target: PseudoTarget;
  method: PseudoTranslator;
  /** tutor: TEM training images -> target; forward / forwardCycle: TEM test images -> target -> TEM; backward / backwardCycle: target test images -> TEM -> target. */
  files: Record<PseudoTranslationKind, Map<string, string>>;
  /** True when the files were there already. */
  reused: boolean;
  seconds: number;
}

const DONE = "complete.json";

/** The inputs of a translation set. */
export interface PseudoTranslationInputs {
  /** Labelled TEM training images (Tutorship). */
  sources: readonly Subject[];
  /** TEM test images (TEM -> target quality). */
  sourceTest: readonly Subject[];
  /** Target test images (Adaptation, target -> TEM quality). */
  targetTest: readonly Subject[];
}

/** The id of a pair's set: it names the runs, so a retrained translator makes a new set. */
export function pseudoTranslationSetId(d: Dataset, pair: Pick<PseudoTranslatorPair, "target" | "method" | "runs">): string {
  return `${d.id}-${pair.method}-${pair.target}-tx${PSEUDO_TRANSLATION_VERSION}-${pseudoShortHash(pair.runs.map((r) => basename(r)))}`;
}

/**
 * Translates every input of the study with a pair (or reuses the files of a complete set): the
 * tutor images, the TEM test images and their cycle reconstructions, the target test images in
 * TEM and theirs. Translations are the networks' raw outputs (about [-1, 1]).
 */
export async function pseudoTranslationSet(cfg: ExperimentConfig, d: Dataset, pair: PseudoTranslatorPair, inputs: PseudoTranslationInputs): Promise<PseudoTranslationSet> {
  const t0 = performance.now();
  const id = pseudoTranslationSetId(d, pair);
  const folder = join(pseudoDatasetsDir(cfg), id);
  const fileOf = (kind: PseudoTranslationKind, s: Subject) => join(folder, kind, `${s.id}.nii.gz`);
  const plan: [PseudoTranslationKind, readonly Subject[]][] = [
    ["tutor", inputs.sources],
    ["forward", inputs.sourceTest],
    ["forwardCycle", inputs.sourceTest],
    ["backward", inputs.targetTest],
    ["backwardCycle", inputs.targetTest],
  ];
  const files = Object.fromEntries(plan.map(([k, ss]) => [k, new Map(ss.map((s) => [s.id, fileOf(k, s)]))])) as Record<PseudoTranslationKind, Map<string, string>>;
  const done = join(folder, DONE);
  const complete = existsSync(done) && Object.values(files).every((m) => [...m.values()].every((f) => existsSync(f)));
  if (!complete) {
    for (const k of Object.keys(files)) mkdirSync(join(folder, k), { recursive: true });
    const total = inputs.sources.length + 2 * inputs.sourceTest.length + 2 * inputs.targetTest.length;
    const bar = new ProgressBar(`translate (${pair.method}, ${pair.target})`, total, { quiet: !cfg.progress });
    let n = 0;
    // A test image makes two files (its translation and its reconstruction): it advances the bar by 2.
    const tick = (info: string, files = 1) => bar.update({ done: (n += files), total, info });
    for (const s of inputs.sources) {
      await writeNifti(fileOf("tutor", s), pseudoToTarget(pair, await loadImage(s)));
      tick(s.id);
    }
    for (const s of inputs.sourceTest) {
      const y = pseudoToTarget(pair, await loadImage(s));
      await writeNifti(fileOf("forward", s), y);
      await writeNifti(fileOf("forwardCycle", s), pseudoToSource(pair, y));
      tick(s.id, 2);
    }
    for (const s of inputs.targetTest) {
      const y = pseudoToSource(pair, await loadImage(s));
      await writeNifti(fileOf("backward", s), y);
      await writeNifti(fileOf("backwardCycle", s), pseudoToTarget(pair, y));
      tick(s.id, 2);
    }
    bar.finish();
    writeFileAtomicSync(done, `${JSON.stringify({ runs: pair.runs, method: pair.method, target: pair.target, counts: Object.fromEntries(Object.entries(files).map(([k, m]) => [k, m.size])), finished: new Date().toISOString() }, null, 2)}\n`);
  }
  return { id, folder, target: pair.target, method: pair.method, files, reused: complete, seconds: complete ? 0 : (performance.now() - t0) / 1000 };
}

/** Reads a translated image as written (the network's output, not re-normalised). */
export async function readPseudoTranslation(path: string): Promise<Volume> {
  const v = await readNifti(path);
  return { data: v.data, shape: v.shape, spacing: v.spacing, affine: v.affine };
}

/** The runs a complete set was made with (from its marker), or undefined. */
export function pseudoTranslationSetInfo(folder: string): { runs: string[] } | undefined {
  const p = join(folder, DONE);
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as { runs: string[] }) : undefined;
}
