// Checkpoints of a trainer (its training face): weights, optimiser state, extra tensors (safetensors) and state.json
// (step, method, config, RNG and loader state), written whole into a new folder and swapped in.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import type { TrainingFace } from "../methods/trainer.js";
import { writeFileAtomic } from "../util/atomicWrite.js";
import { UnpairedError } from "../util/errors.js";
import type { RngState } from "../util/random.js";
import { Adam } from "../optim/adam.js";
import type { OptimizerState } from "../optim/optimizer.js";
import { readSafetensors, writeSafetensors, type SafeTensor, type SafeTensorInput } from "./safetensors.js";

export const CHECKPOINT_FORMAT = "unpaired-lab/checkpoint";
export const CHECKPOINT_FORMAT_VERSION = 1;

export const CHECKPOINT_FILES = {
  weights: "weights.safetensors",
  optimizer: "optimizer.safetensors",
  extra: "extra.safetensors",
  state: "state.json",
} as const;

/** What state.json holds. */
export interface CheckpointState {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  kitVersion: string;
  savedAt: string;
  method: string;
  /** Steps completed when the checkpoint was taken. */
  step: number;
  /** The run's configuration (saveCheckpoint's `config`, else the trainer's). */
  config: Record<string, unknown>;
  /** The trainer's own resolved configuration. */
  trainerConfig: Record<string, unknown>;
  /** Module names and their parameter counts, for the record. */
  modules: Record<string, { parameters: number; values: number }>;
  /** Per optimiser: steps taken and hyper-parameters (its slots are in optimizer.safetensors). */
  optimizers: Record<string, { step: number; hyper: Record<string, number | number[]> }>;
  /** trainer.extraState(): the method's Rng and anything else beyond tensors. */
  extraState: { rng: RngState; [key: string]: unknown };
  /** Whether extra.safetensors is part of this checkpoint. */
  extraTensors: boolean;
  /** The data loader's state (train()'s loaderState), when one was given. */
  loader?: unknown;
}

export interface SaveCheckpointOptions {
  /** Steps completed. */
  step: number;
  /** The run's configuration to record (default: trainer.config). */
  config?: Record<string, unknown>;
  /** The data loader's state, restored on resume so the same batches follow. */
  loaderState?: unknown;
}

function kitVersion(): string {
  try {
    return (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

const bad = (message: string) => new UnpairedError("BAD_CHECKPOINT", message);

/** Folders a save in progress (".tmp-<pid>") or a swap in progress (".old-<pid>") leaves beside `dir`. */
async function siblings(dir: string): Promise<{ tmp: string[]; old: string[] }> {
  const parent = dirname(dir);
  const name = basename(dir);
  let entries: string[] = [];
  try {
    entries = await readdir(parent);
  } catch {
    return { tmp: [], old: [] };
  }
  const pick = (kind: string) => entries.filter((e) => new RegExp(`^${escapeRegExp(name)}\\.${kind}-\\d+$`).test(e)).map((e) => join(parent, e));
  return { tmp: pick("tmp"), old: pick("old") };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function readStep(dir: string): Promise<number | undefined> {
  try {
    const s = JSON.parse(await readFile(join(dir, CHECKPOINT_FILES.state), "utf8")) as { step?: unknown };
    return typeof s.step === "number" ? s.step : undefined;
  } catch {
    return undefined;
  }
}

/** The files of a checkpoint folder: anything else there means it is not ours to replace. */
const OWN_FILE = (f: string) => (Object.values(CHECKPOINT_FILES) as string[]).includes(f) || /^\..*\.tmp$/.test(f);

/**
 * Checks that `dir` can hold checkpoints: absent, empty, or holding only checkpoint files (a save
 * replaces the whole folder, so other files there would be lost). Throws BAD_OPTION otherwise.
 */
export async function checkCheckpointDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new UnpairedError("BAD_OPTION", `the checkpoint path ${dir} exists and is not a folder`);
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const foreign = entries.filter((e) => !OWN_FILE(e));
  if (foreign.length) {
    throw new UnpairedError(
      "BAD_OPTION",
      `the checkpoint folder ${dir} holds other files (${foreign.slice(0, 5).join(", ")}${foreign.length > 5 ? ", ..." : ""}); a checkpoint replaces its whole folder, so give it a folder of its own`,
    );
  }
}

/**
 * Saves `trainer` to `dir`:
 *
 *   dir/weights.safetensors    every module's parameters as "<module>.<param>" (F32)
 *   dir/optimizer.safetensors  every optimiser's slots as "<optimiser>.<slot>"
 *                              (Adam: "<param>.exp_avg", "<param>.exp_avg_sq", "<param>.step")
 *   dir/extra.safetensors      trainer.extraTensors() (image pools), when the trainer has them
 *   dir/state.json             CheckpointState: step, method, config, optimiser steps and
 *                              hyper-parameters, extraState (RNG), loader state, versions
 *
 * Everything is written (each file atomically, state.json last) into `dir.tmp-<pid>`; only then
 * is the old `dir` renamed to `dir.old-<pid>`, the new one renamed to `dir`, and the old one
 * removed. A crash at any point leaves a complete checkpoint: `dir` itself, or, inside the instant
 * between the two renames, `dir.old-<pid>` / `dir.tmp-<pid>` (loadCheckpoint finds those).
 * Returns the state written.
 */
export async function saveCheckpoint(dir: string, trainer: TrainingFace, opts: SaveCheckpointOptions): Promise<CheckpointState> {
  if (!(Number.isInteger(opts.step) && opts.step >= 0)) throw new UnpairedError("BAD_OPTION", `saveCheckpoint: step must be a whole number >= 0, got ${opts.step}`);
  dir = resolve(dir);
  await checkCheckpointDir(dir);
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const weights = new Map<string, SafeTensorInput>();
    const modules: CheckpointState["modules"] = {};
    for (const [mod, m] of Object.entries(trainer.modules())) {
      const params = m.namedParameters(`${mod}.`);
      modules[mod] = { parameters: params.length, values: params.reduce((n, [, v]) => n + v.size, 0) };
      for (const [name, v] of params) {
        const data = await v.data();
        weights.set(name, { dtype: "F32", shape: [...v.shape], data: data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>) });
      }
    }
    const optimizers: CheckpointState["optimizers"] = {};
    const slots = new Map<string, SafeTensorInput>();
    for (const [name, o] of Object.entries(trainer.optimizers())) {
      const s = o.getState();
      optimizers[name] = { step: s.step, hyper: s.hyper };
      for (const [slot, t] of s.slots) slots.set(`${name}.${slot}`, { dtype: "F32", shape: t.shape, data: t.data });
    }
    const extra = trainer.extraTensors?.();
    const meta = { format: CHECKPOINT_FORMAT, method: trainer.method, step: String(opts.step) };
    await writeSafetensors(join(tmp, CHECKPOINT_FILES.weights), weights, meta);
    await writeSafetensors(join(tmp, CHECKPOINT_FILES.optimizer), slots, meta);
    if (extra) {
      const t = new Map<string, SafeTensorInput>();
      for (const [k, v] of extra) t.set(k, { dtype: "F32", shape: v.shape, data: v.data });
      await writeSafetensors(join(tmp, CHECKPOINT_FILES.extra), t, meta);
    }
    const state: CheckpointState = {
      format: CHECKPOINT_FORMAT,
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      kitVersion: kitVersion(),
      savedAt: new Date().toISOString(),
      method: trainer.method,
      step: opts.step,
      config: opts.config ?? trainer.config,
      trainerConfig: trainer.config,
      modules,
      optimizers,
      extraState: trainer.extraState(),
      extraTensors: Boolean(extra),
      ...(opts.loaderState === undefined ? {} : { loader: opts.loaderState }),
    };
    await writeFileAtomic(join(tmp, CHECKPOINT_FILES.state), `${JSON.stringify(state, null, 2)}\n`);

    await rm(old, { recursive: true, force: true });
    const hadOld = existsSync(dir);
    if (hadOld) await rename(dir, old);
    await rename(tmp, dir);
    if (hadOld) await rm(old, { recursive: true, force: true });
    // Leftovers of interrupted earlier saves (one writer per checkpoint folder).
    const s = await siblings(dir);
    for (const p of [...s.tmp, ...s.old]) await rm(p, { recursive: true, force: true });
    return state;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof UnpairedError) throw err;
    throw new UnpairedError("WRITE_FAILED", `could not save the checkpoint ${dir}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * Where the complete checkpoint for `dir` is: `dir` when it holds state.json; when `dir` is
 * missing, the newest complete folder a save interrupted mid-swap left beside it; else undefined.
 */
export async function findCheckpoint(dir: string): Promise<string | undefined> {
  dir = resolve(dir);
  if (existsSync(dir)) return existsSync(join(dir, CHECKPOINT_FILES.state)) ? dir : undefined;
  const s = await siblings(dir);
  let best: { path: string; step: number } | undefined;
  for (const p of [...s.tmp, ...s.old]) {
    const step = await readStep(p);
    if (step !== undefined && (!best || step > best.step)) best = { path: p, step };
  }
  return best?.path;
}

/** Whether `dir` (or a folder an interrupted save left beside it) holds a complete checkpoint. */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  return (await findCheckpoint(dir)) !== undefined;
}

/** Reads and checks state.json of a checkpoint folder. */
export async function readCheckpointState(dir: string): Promise<CheckpointState> {
  const where = await findCheckpoint(dir);
  if (!where) {
    if (existsSync(dir)) {
      throw bad(`${dir} is an incomplete checkpoint: it has no ${CHECKPOINT_FILES.state} (written last, so the save did not finish). Use an earlier checkpoint or start afresh.`);
    }
    throw bad(`there is no checkpoint at ${dir}`);
  }
  const path = join(where, CHECKPOINT_FILES.state);
  let state: Partial<CheckpointState>;
  try {
    state = JSON.parse(await readFile(path, "utf8")) as Partial<CheckpointState>;
  } catch (err) {
    throw bad(`${path} is not readable JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof state !== "object" || state === null || state.format !== CHECKPOINT_FORMAT) throw bad(`${path} is not an unpaired-lab checkpoint state`);
  if (typeof state.formatVersion !== "number" || state.formatVersion > CHECKPOINT_FORMAT_VERSION) {
    throw bad(`${path} has checkpoint format ${state.formatVersion}, newer than this kit reads (${CHECKPOINT_FORMAT_VERSION}); update unpaired-lab (it was written by ${state.kitVersion})`);
  }
  const missing = (["method", "step", "optimizers", "extraState", "modules"] as const).filter((k) => state[k] === undefined);
  if (missing.length) throw bad(`${path} lacks ${missing.join(", ")}`);
  return state as CheckpointState;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

const asF32 = (t: SafeTensor) => ({ shape: t.shape, data: t.data as Float32Array });

/**
 * Loads a checkpoint into `trainer`: weights, optimiser state, extra tensors, then extra state
 * (in that order: loadExtraTensors before loadExtraState). Everything is checked first (method,
 * module, parameter and optimiser names, shapes, dtypes), and every mismatch is reported in one
 * BAD_CHECKPOINT error before anything is changed (an optimiser other than Adam checks its own
 * state in setState, after the weights are in). Returns the saved state (step,
 * loader state, ...).
 */
export async function loadCheckpoint(dir: string, trainer: TrainingFace): Promise<CheckpointState> {
  const state = await readCheckpointState(dir);
  const where = (await findCheckpoint(dir))!;
  if (state.method !== trainer.method) {
    throw bad(`${where} is a "${state.method}" checkpoint; it cannot load into a "${trainer.method}" trainer`);
  }
  const problems: string[] = [];
  const read = async (file: string) => {
    const path = join(where, file);
    if (!existsSync(path)) {
      problems.push(`${file} is missing`);
      return undefined;
    }
    return (await readSafetensors(path)).tensors;
  };

  // Weights.
  const weights = await read(CHECKPOINT_FILES.weights);
  const moduleStates = new Map<string, Map<string, { shape: number[]; data: Float32Array }>>();
  if (weights) {
    const claimed = new Set<string>();
    for (const [mod, m] of Object.entries(trainer.modules())) {
      const st = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const [pname, v] of m.namedParameters()) {
        const key = `${mod}.${pname}`;
        const t = weights.get(key);
        claimed.add(key);
        if (!t) problems.push(`weights: missing ${key} [${v.shape}]`);
        else if (t.dtype !== "F32") problems.push(`weights: ${key} is ${t.dtype}, expected F32`);
        else if (!sameShape(t.shape, v.shape)) problems.push(`weights: ${key} has shape [${t.shape}] in the checkpoint, [${v.shape}] in the trainer`);
        else st.set(pname, asF32(t));
      }
      moduleStates.set(mod, st);
    }
    for (const key of weights.keys()) if (!claimed.has(key)) problems.push(`weights: unexpected ${key} (no such module parameter in the trainer)`);
  }

  // Optimisers.
  const optimizers = trainer.optimizers();
  const savedOpt = state.optimizers;
  const slotTensors = await read(CHECKPOINT_FILES.optimizer);
  const optStates = new Map<string, OptimizerState>();
  for (const name of Object.keys(savedOpt)) if (!(name in optimizers)) problems.push(`optimizer: the checkpoint has an optimiser "${name}" the trainer lacks`);
  for (const [name, o] of Object.entries(optimizers)) {
    const saved = savedOpt[name];
    if (!saved) {
      problems.push(`optimizer: "${name}" is not in the checkpoint`);
      continue;
    }
    if (!slotTensors) continue;
    const slots: OptimizerState["slots"] = new Map();
    // A slot belongs to the optimiser with the longest name that prefixes it.
    for (const [key, t] of slotTensors) {
      if (!key.startsWith(`${name}.`)) continue;
      const owner = Object.keys(optimizers)
        .filter((n) => key.startsWith(`${n}.`))
        .sort((a, b) => b.length - a.length)[0];
      if (owner !== name) continue;
      if (t.dtype !== "F32") problems.push(`optimizer: ${key} is ${t.dtype}, expected F32`);
      else slots.set(key.slice(name.length + 1), asF32(t));
    }
    const s: OptimizerState = { step: saved.step, slots, hyper: saved.hyper };
    if (o instanceof Adam) for (const p of o.stateProblems(s)) problems.push(`optimizer "${name}": ${p}`);
    optStates.set(name, s);
  }
  if (slotTensors) {
    for (const key of slotTensors.keys()) {
      if (!Object.keys(optimizers).some((n) => key.startsWith(`${n}.`))) problems.push(`optimizer: unexpected ${key} (no such optimiser)`);
    }
  }

  // Extra tensors.
  let extra: Map<string, { shape: number[]; data: Float32Array }> | undefined;
  if (state.extraTensors) {
    const t = await read(CHECKPOINT_FILES.extra);
    if (t) {
      if (!trainer.loadExtraTensors) problems.push(`extra: the checkpoint has extra tensors (${[...t.keys()].slice(0, 3).join(", ")}...) this trainer cannot load`);
      extra = new Map();
      for (const [k, v] of t) {
        if (v.dtype !== "F32") problems.push(`extra: ${k} is ${v.dtype}, expected F32`);
        else extra.set(k, asF32(v));
      }
    }
  } else if (trainer.extraTensors) {
    problems.push(`extra: the trainer keeps extra tensors (e.g. image pools) but the checkpoint has none`);
  }

  if (problems.length) {
    throw bad(`the checkpoint ${where} does not fit this ${trainer.method} trainer (${problems.length} problem${problems.length > 1 ? "s" : ""}):\n  - ${problems.join("\n  - ")}`);
  }

  const modules = trainer.modules();
  for (const [mod, st] of moduleStates) modules[mod]!.loadState(st, mod);
  for (const [name, s] of optStates) optimizers[name]!.setState(s);
  if (extra && trainer.loadExtraTensors) trainer.loadExtraTensors(extra);
  trainer.loadExtraState(state.extraState);
  return state;
}
