// The training loop every method shares: schedule, batch, step, a finite-loss check, periodic and
// final checkpoints, exact resume, and a clean stop on Ctrl-C or an AbortSignal.
import type { StepLosses, TrainBatch, TrainingFace } from "../methods/trainer.js";
import { explainEngineFailure, UnpairedError } from "../util/errors.js";
import { ProgressBar } from "../util/progress.js";
import { checkCheckpointDir, hasCheckpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import type { LrSchedule } from "../optim/schedule.js";

/** A data loader's state hooks: saved in checkpoints and restored on resume (same batches follow). */
export interface LoaderStateHooks {
  /** The state just after the last batch the loop took (a prefetching loader must account for that). */
  get(): unknown;
  set(s: unknown): void;
}

/** What onStep receives after each step. */
export interface StepInfo {
  /** Steps completed, this one included (the step's number, counting from 1). */
  step: number;
  /** The run's total number of steps. */
  total: number;
  losses: StepLosses;
  /** The schedule's factor this step ran with (1 without a schedule). */
  lrFactor: number;
  /** Wall time of this step, seconds. */
  seconds: number;
  /** Steps per second over this call of train(). */
  stepsPerSecond: number;
  /** Estimated seconds to the end. */
  etaSeconds: number;
  /** Whether a checkpoint was saved after this step. */
  checkpointed: boolean;
}

export interface TrainOptions {
  /** Total steps of the run (a resumed run continues from its saved step up to this). */
  steps: number;
  /** The next batch; called once per step, in order. */
  nextBatch: () => Promise<TrainBatch>;
  /** Learning-rate factor per step (given the steps done before it); none: the factor is left alone. */
  schedule?: LrSchedule;
  /** Where checkpoints go (a folder of their own: each save replaces it whole). */
  checkpointDir?: string;
  /** Save every this many steps (and always at the end and on interruption). */
  checkpointEvery?: number;
  /** Continue from checkpointDir (true: it must hold a checkpoint; "if-present": start afresh when it does not). */
  resume?: boolean | "if-present";
  /** The data loader's state, saved with checkpoints and restored on resume. */
  loaderState?: LoaderStateHooks;
  /** The run's configuration, recorded in state.json (default: the trainer's). */
  config?: Record<string, unknown>;
  onStep?: (info: StepInfo) => void;
  /** true: a ProgressBar on stderr; or a bar of your own (fed this call's done/total). */
  progress?: boolean | ProgressBar;
  /** Aborting stops after the current step, saves a checkpoint, and returns "interrupted". */
  signal?: AbortSignal;
  /** Treat Ctrl-C (SIGINT) as the signal above while training; a second Ctrl-C quits at once. */
  handleSigint?: boolean;
}

export interface TrainResult {
  stopped: "completed" | "interrupted";
  /** Steps completed in total (the global step). */
  steps: number;
  /** The step this call started from (the checkpoint's when resumed, else 0). */
  startStep: number;
  lastLosses: StepLosses | undefined;
  /** Losses of each step this call ran: history[i] is step startStep + i + 1. */
  history: StepLosses[];
  /** The step of the last checkpoint this call saved. */
  checkpointStep?: number;
}

function wholeNumber(what: string, n: number, min: number): void {
  if (!(Number.isInteger(n) && n >= min)) throw new UnpairedError("BAD_OPTION", `train: ${what} must be a whole number >= ${min}, got ${n}`);
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

function formatLosses(losses: StepLosses): string {
  return Object.entries(losses)
    .map(([k, v]) => `${k} ${Number.isFinite(v) ? v.toPrecision(3) : String(v)}`)
    .join(" ");
}

/**
 * Trains `trainer` for `opts.steps` steps. Each step: the schedule's factor is set, a batch is
 * taken, trainer.step runs, and every loss must be finite, else training stops with
 * TRAINING_DIVERGED (naming the step, the loss and its value) and the checkpoint on disk stays
 * the last good one. Checkpoints are saved every `checkpointEvery` steps, at the end, and on
 * interruption. The loop itself creates no tensors.
 */
export async function train(trainer: TrainingFace, opts: TrainOptions): Promise<TrainResult> {
  const total = opts.steps;
  wholeNumber("steps", total, 0);
  if (opts.checkpointEvery !== undefined) wholeNumber("checkpointEvery", opts.checkpointEvery, 1);
  const dir = opts.checkpointDir;
  if ((opts.resume || opts.checkpointEvery !== undefined) && dir === undefined) {
    throw new UnpairedError("BAD_OPTION", `train: ${opts.resume ? "resume" : "checkpointEvery"} needs a checkpointDir`);
  }
  if (dir !== undefined) await checkCheckpointDir(dir);

  let start = 0;
  if (opts.resume && dir !== undefined && (opts.resume === true || (await hasCheckpoint(dir)))) {
    const state = await loadCheckpoint(dir, trainer);
    start = state.step;
    if (opts.loaderState && state.loader !== undefined) opts.loaderState.set(state.loader);
  }

  const save = async (step: number) => {
    await saveCheckpoint(dir!, trainer, {
      step,
      ...(opts.config ? { config: opts.config } : {}),
      ...(opts.loaderState ? { loaderState: opts.loaderState.get() } : {}),
    });
    lastSaved = step;
  };
  let lastSaved: number | undefined;

  const bar = opts.progress instanceof ProgressBar ? opts.progress : opts.progress ? new ProgressBar(`train ${trainer.method}`, Math.max(0, total - start)) : undefined;
  let interrupted = false;
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints === 1) {
      interrupted = true;
      if (bar) process.stderr.write(`\nstopping after this step${dir ? " and saving a checkpoint" : ""} (Ctrl-C again to quit at once)\n`);
    } else {
      // A second Ctrl-C: let the default behaviour (or other listeners) take over.
      process.removeListener("SIGINT", onSigint);
      process.kill(process.pid, "SIGINT");
    }
  };
  if (opts.handleSigint) process.on("SIGINT", onSigint);

  const history: StepLosses[] = [];
  let step = start;
  let stopped: TrainResult["stopped"] = "completed";
  const t0 = performance.now();
  try {
    while (step < total) {
      if (interrupted || opts.signal?.aborted) {
        stopped = "interrupted";
        break;
      }
      const tStep = performance.now();
      let lrFactor = 1;
      if (opts.schedule) {
        lrFactor = opts.schedule(step);
        if (!(Number.isFinite(lrFactor) && lrFactor >= 0)) throw new UnpairedError("BAD_OPTION", `train: the schedule gave ${lrFactor} for step ${step + 1}`);
        trainer.setLearningRateFactor(lrFactor);
      }
      const batch = await opts.nextBatch();
      let losses: StepLosses;
      try {
        losses = await trainer.step(batch);
      } catch (err) {
        throw explainEngineFailure(err, `${trainer.method} step ${step + 1}`);
      }
      step++;
      for (const [name, value] of Object.entries(losses)) {
        if (!Number.isFinite(value)) {
          const kept =
            dir === undefined
              ? "no checkpoint folder was given"
              : lastSaved !== undefined || start > 0
                ? `the last good checkpoint (step ${lastSaved ?? start}) stays in ${dir}`
                : "no checkpoint had been saved";
          throw new UnpairedError(
            "TRAINING_DIVERGED",
            `training diverged at step ${step}: the loss "${name}" is ${value} (${formatLosses(losses)}); ${kept}. Try a lower learning rate, or check the data for NaNs.`,
          );
        }
      }
      history.push(losses);
      let checkpointed = false;
      if (dir !== undefined && opts.checkpointEvery !== undefined && step % opts.checkpointEvery === 0) {
        await save(step);
        checkpointed = true;
      }
      const now = performance.now();
      const elapsed = (now - t0) / 1000;
      const done = step - start;
      const stepsPerSecond = elapsed > 0 ? done / elapsed : 0;
      const etaSeconds = stepsPerSecond > 0 ? (total - step) / stepsPerSecond : Infinity;
      opts.onStep?.({ step, total, losses, lrFactor, seconds: (now - tStep) / 1000, stepsPerSecond, etaSeconds, checkpointed });
      bar?.update({
        done,
        total: total - start,
        info: `step ${step}/${total}  ${formatLosses(losses)}  ${stepsPerSecond.toFixed(2)} steps/s  eta ${clock(etaSeconds)}`,
      });
    }
    if (dir !== undefined && lastSaved !== step && (step > start || !(await hasCheckpoint(dir)))) await save(step);
  } finally {
    if (opts.handleSigint) process.removeListener("SIGINT", onSigint);
  }
  bar?.finish(stopped === "interrupted" ? `interrupted at step ${step}` : undefined);
  return {
    stopped,
    steps: step,
    startStep: start,
    lastLosses: history[history.length - 1],
    history,
    ...(lastSaved !== undefined ? { checkpointStep: lastSaved } : {}),
  };
}
