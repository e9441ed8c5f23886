// Trained runs cached under a hash of what determines them (the resolved method config, the
// dataset, an online transform): figures re-render without retraining, an interrupted run resumes from its last
// checkpoint, and changing any option trains a new run beside the old one.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { writeFileAtomicSync } from "../../util/atomicWrite.js";
import { withFileLock } from "../../util/fileLock.js";
import { UnpairedError } from "../../util/errors.js";
import { configFor } from "../../methods/registry.js";
import { trainRun, type TrainRunOptions } from "../../train/run.js";
import { openDataset } from "../../data/openDataset.js";
import { openRun } from "../../inference/translate.js";
import type { Trainer } from "../../methods/trainer.js";
import type { MethodConfig } from "../../methods/config.js";
import type { Dataset } from "../../data/manifest.js";
import type { ExperimentConfig } from "./types.js";

/** Bump when a code change makes earlier cached runs wrong to reuse. */
export const RUN_CACHE_VERSION = 2; // 2: segmenters train with their config's foreground oversampling

export interface RunSpec {
  method: string;
  /** Manifest path (phantom manifests write their data on first use). */
  manifest: string;
  /** Method options over the profile's defaults. */
  overrides?: Record<string, unknown>;
  /** A short name for the folder, e.g. "intrastyler" (default: the method). */
  label?: string;
  /**
   * Online batch rewriting (trainRun's transformBatch), e.g. a segmenter's sources translated by
   * a trained IntraStyler. `name` goes into the hash and the complete marker and must name
   * everything the function depends on (e.g. the translator's run folder).
   */
  transform?: { name: string; batch: NonNullable<TrainRunOptions["transformBatch"]> };
}

export interface CachedRun {
  trainer: Trainer;
  config: MethodConfig;
  dataset: Dataset;
  runDir: string;
  /** True when the run was trained (or resumed) now, false when reused. */
  trained: boolean;
}

const DONE = "complete.json";

/** Stable JSON (sorted keys) for hashing. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object") return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(",")}}`;
  return JSON.stringify(v);
}

/**
 * The run folder of a spec under a config: <runsDir>/<label>-<profile>-<hash10>, the hash over
 * the method's fully resolved configuration (profile defaults, seed and overrides, as trainRun
 * would train it), the dataset id and the transform's name. So a changed default trains a new
 * run instead of reusing one trained with the old value, and an override equal to the default
 * reuses the default run.
 */
export function runDirFor(cfg: ExperimentConfig, spec: RunSpec, dataset: Dataset): string {
  const config = configFor(spec.method, cfg.profile, dataset, { seed: cfg.seed, ...(spec.overrides ?? {}) });
  const key = stable({ v: RUN_CACHE_VERSION, dataset: dataset.id, config, ...(spec.transform ? { transform: spec.transform.name } : {}) });
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 10);
  return resolve(cfg.runsDir, `${spec.label ?? spec.method}-${cfg.profile}-${hash}`);
}

/** The trained run of a spec: reused when complete, resumed when interrupted, else trained. */
export async function cachedRun(cfg: ExperimentConfig, spec: RunSpec): Promise<CachedRun> {
  const dataRoot = phantomOr(cfg);
  const dataset = await openDataset(spec.manifest, dataRoot);
  const runDir = runDirFor(cfg, spec, dataset);
  const done = join(runDir, DONE);
  const reuse = async (): Promise<CachedRun> => {
    const { trainer, config } = await openRun(runDir);
    return { trainer, config, dataset, runDir, trained: false };
  };
  if (existsSync(done)) return reuse();
  // Another process (a parallel figures worker) may be training this very run: wait for it.
  return withFileLock(`${runDir}.lock`, async () => (existsSync(done) ? reuse() : train(cfg, spec, runDir)), {
    onWait: (h) => cfg.progress && process.stderr.write(`waiting for process ${h.pid}, which is training ${basename(runDir)}\n`),
  });
}

/** Trains (or resumes) a spec's run into runDir and marks it complete; the caller holds its lock. */
async function train(cfg: ExperimentConfig, spec: RunSpec, runDir: string): Promise<CachedRun> {
  const dataRoot = phantomOr(cfg);
  const done = join(runDir, DONE);
  const resume = existsSync(join(runDir, "checkpoint"));
  const r = await trainRun({
    method: spec.method,
    manifest: spec.manifest,
    ...(dataRoot === undefined ? {} : { dataRoot }),
    profile: cfg.profile,
    out: runDir,
    resume,
    overrides: { seed: cfg.seed, ...(spec.overrides ?? {}) },
    progress: cfg.progress,
    ...(spec.transform ? { transformBatch: spec.transform.batch } : {}),
    ...(cfg.liveDisplay === false ? { display: false as const } : {}),
  });
  if (r.result.stopped !== "completed") {
    r.trainer.dispose();
    throw new UnpairedError("INTERRUPTED", `training ${spec.label ?? spec.method} stopped at step ${r.result.steps}; its checkpoint is in ${runDir}, and the next run of this experiment resumes from it`);
  }
  const transform = spec.transform ? { transform: spec.transform.name } : {};
  writeFileAtomicSync(done, `${JSON.stringify({ method: spec.method, steps: r.result.steps, ...transform, finished: new Date().toISOString() }, null, 2)}\n`);
  return { trainer: r.trainer, config: r.config, dataset: r.dataset, runDir, trained: true };
}

/** The data root a manifest is opened with: the user's --data-root, else a phantom override. */
function phantomOr(cfg: ExperimentConfig): string | undefined {
  return cfg.dataRoot ?? cfg.phantomRoot;
}

/** Whether a spec's run is already complete (figures can render without training). */
export function isCached(cfg: ExperimentConfig, spec: RunSpec, dataset: Dataset): boolean {
  return existsSync(join(runDirFor(cfg, spec, dataset), DONE));
}

/** Reads the complete marker (what was trained, when). */
export function runInfo(runDir: string): Record<string, unknown> | undefined {
  const p = join(runDir, DONE);
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as Record<string, unknown>) : undefined;
}
