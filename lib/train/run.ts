// A training run as one function of a config: dataset (validated, phantoms generated on first
// use), method config from profile + overrides, loaders (with the method's batch extras,
// e.g. IntraStyler's style-contrastive stacks), the resumable loop, and a run folder: config.json, losses.csv, checkpoint/. The CLI's
// `train` command and the experiments both call it.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { initEngine } from "../engine/backend.js";
import type { Dataset } from "../data/manifest.js";
import { openDataset } from "../data/openDataset.js";
import { unpairedLoader, VolumeStore } from "../data/loader.js";
import type { MethodConfig, Profile } from "../methods/config.js";
import { configFor, createTrainer, methodSpec, needsSourceLabels, totalSteps, warmupSteps } from "../methods/registry.js";
import type { StepLosses, TrainBatch, Trainer } from "../methods/trainer.js";
import { UnpairedError } from "../util/errors.js";
import { writeFileAtomicSync } from "../util/atomicWrite.js";
import { Rng, type RngState } from "../util/random.js";
import { train, type StepInfo, type TrainResult } from "./loop.js";
import { linearDecaySchedule } from "../optim/schedule.js";
import { liveTrainingDisplay, type HtmlDisplay, type SampleImage } from "./liveDisplay.js";
import { tf } from "../engine/tf.js";

export interface TrainRunOptions {
  method: string;
  /** A manifest file (data-manifests/*.json). Phantom manifests generate their files on first use. */
  manifest: string;
  dataRoot?: string;
  profile?: Profile;
  /** The run folder (config.json, losses.csv, checkpoint/). */
  out: string;
  /** Continue the run in `out` from its checkpoint. */
  resume?: boolean;
  /** Method options over the profile's defaults (unknown names are errors). */
  overrides?: Record<string, unknown>;
  /** Save a checkpoint every this many steps (default: 10 times per run). */
  checkpointEvery?: number;
  progress?: boolean;
  /** Live loss curves and sample translations in a notebook: tslab's display by default (none outside one). */
  display?: HtmlDisplay | false;
  onStep?: (info: StepInfo) => void;
  /**
   * Rewrites each batch between the loader and the step (default: none, the batches as drawn):
   * online augmentation, e.g. a segmenter's labelled source patches translated by a trained
   * IntraStyler into the style of the batch's own target patches. It must depend only on the
   * batch (and fixed weights), so that a resumed run sees the same batches. It is not recorded in
   * config.json: whoever caches runs must key them by it (the segmentation figure keys them by a
   * derived dataset id that names the translator).
   */
  transformBatch?: (batch: TrainBatch) => TrainBatch | Promise<TrainBatch>;
  signal?: AbortSignal;
  handleSigint?: boolean;
}

export interface TrainRunResult {
  trainer: Trainer;
  config: MethodConfig;
  dataset: Dataset;
  result: TrainResult;
  runDir: string;
}


/**
 * Appends one step's losses to losses.csv. The columns are the losses seen so far: a loss that
 * first appears later (IntraStyler's generator losses after the encoder warm-up) widens the
 * table, the file rewritten atomically with empty cells for the earlier steps. On resume the
 * header is read back from the file. Returns the header now in force.
 */
export function appendLossRow(logPath: string, header: string[] | undefined, info: { step: number; lrFactor: number; seconds: number; losses: StepLosses }): string[] {
  const fixed = ["step", "lr_factor", "seconds"];
  if (!header) {
    header = existsSync(logPath) ? (readFileSync(logPath, "utf8").split("\n", 1)[0] ?? "").split(",").slice(fixed.length).filter((k) => k) : [];
    if (!existsSync(logPath)) writeFileAtomicSync(logPath, `${[...fixed, ...Object.keys(info.losses)].join(",")}\n`);
    if (!header.length) header = Object.keys(info.losses);
  }
  const added = Object.keys(info.losses).filter((k) => !header!.includes(k));
  if (added.length) {
    const lines = readFileSync(logPath, "utf8").split("\n").filter((l) => l);
    const pad = ",".repeat(added.length);
    const rows = lines.slice(1).map((l) => `${l}${pad}`);
    header = [...header, ...added];
    writeFileAtomicSync(logPath, `${[[...fixed, ...header].join(","), ...rows].join("\n")}\n`);
  }
  appendFileSync(logPath, `${info.step},${info.lrFactor},${info.seconds.toFixed(4)},${header.map((k) => info.losses[k] ?? "").join(",")}\n`);
  return header;
}

/** Trains a method on a dataset into a run folder (resumable). */
export async function trainRun(o: TrainRunOptions): Promise<TrainRunResult> {
  const profile = o.profile ?? "quick";
  const dataset = await openDataset(o.manifest, o.dataRoot);
  const runDir = resolve(o.out);
  const configPath = join(runDir, "config.json");
  let cfg: MethodConfig;
  if (o.resume) {
    if (!existsSync(configPath)) throw new UnpairedError("BAD_OPTION", `--resume: ${runDir} holds no run (no config.json); start it without --resume`);
    const saved = JSON.parse(readFileSync(configPath, "utf8")) as { config: MethodConfig };
    cfg = saved.config;
  } else {
    cfg = configFor(o.method, profile, dataset, o.overrides);
    if (existsSync(join(runDir, "checkpoint"))) {
      throw new UnpairedError("BAD_OPTION", `${runDir} already holds a run; pass --resume to continue it, or choose another --out`);
    }
    mkdirSync(runDir, { recursive: true });
    writeFileAtomicSync(configPath, `${JSON.stringify({ method: cfg.method, profile, manifest: resolve(o.manifest), dataset: dataset.id, config: cfg }, null, 2)}\n`);
  }
  await initEngine({ quiet: !o.progress });
  const spec = methodSpec(cfg.method);
  const trainer = createTrainer(cfg);
  const store = new VolumeStore();
  const loader = unpairedLoader(store, dataset, {
    patch: cfg.patch,
    batchSize: cfg.batchSize,
    seed: cfg.seed,
    sourceLabels: needsSourceLabels(cfg),
    ...(spec.loaderOptions?.(cfg) ?? {}),
  });
  // The Rng of the method's batch extras (saved with the loader's; "style" since IntraStyler's
  // style-contrastive stacks were the first extras, and checkpoints keep the name).
  const extrasRng = new Rng(`style:${cfg.seed}`);
  const extras = spec.batchExtras?.(cfg, { dataset, store, rng: extrasRng });
  let sample: { data: Float32Array; shape: number[] } | undefined;
  const drawBatch = async (): Promise<TrainBatch> => {
    const b = await loader.next();
    if (!sample) {
      const per = b.source.images.length / b.source.shape[0]!;
      sample = { data: b.source.images.slice(0, per), shape: [1, ...b.source.shape.slice(1)] };
    }
    return extras ? extras(b) : b;
  };
  const transform = o.transformBatch;
  const nextBatch = transform ? async (): Promise<TrainBatch> => transform(await drawBatch()) : drawBatch;
  // The middle slice of a [1, (d,) h, w, 1] tensor as a grey image.
  const asImage = (title: string, data: Float32Array, shape: number[]): SampleImage => {
    const [h, w] = shape.slice(-3, -1) as [number, number];
    const d = shape.length === 5 ? shape[1]! : 1;
    const z = Math.floor(d / 2);
    return { title, data: data.slice(z * h * w, (z + 1) * h * w), height: h, width: w };
  };
  const live =
    o.display === false
      ? undefined
      : liveTrainingDisplay({
          ...(o.display ? { display: o.display } : {}),
          title: `${cfg.method} (${profile}) on ${dataset.id}`,
          samples: () => {
            if (!sample || trainer.role !== "translator") return [];
            const x = tf.tensor(sample.data, sample.shape);
            let out: tf.Tensor | undefined;
            try {
              out = trainer.translate(x, spec.preview?.(cfg, x) ?? {});
              return [asImage("source", sample.data, sample.shape), asImage(`${cfg.method}(source)`, out.dataSync() as Float32Array, out.shape)];
            } finally {
              x.dispose();
              out?.dispose();
            }
          },
        });
  const logPath = join(runDir, "losses.csv");
  let header: string[] | undefined;
  const steps = totalSteps(cfg);
  let result: TrainResult;
  try {
    result = await train(trainer, {
      steps,
      nextBatch,
      schedule: linearDecaySchedule({ constantSteps: warmupSteps(cfg) + cfg.constantSteps, decaySteps: cfg.decaySteps }),
      checkpointDir: join(runDir, "checkpoint"),
      checkpointEvery: o.checkpointEvery ?? Math.max(1, Math.ceil(steps / 10)),
      resume: o.resume ? true : false,
      loaderState: {
        get: () => ({ loader: loader.getState(), style: extrasRng.getState() }),
        set: (s) => {
          const st = s as { loader: RngState; style: RngState };
          loader.setState(st.loader);
          extrasRng.setState(st.style);
        },
      },
      config: cfg as unknown as Record<string, unknown>,
      progress: o.progress ?? false,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.handleSigint ? { handleSigint: true } : {}),
      onStep: (info) => {
        header = appendLossRow(logPath, header, info);
        live?.(info);
        o.onStep?.(info);
      },
    });
  } catch (err) {
    trainer.dispose();
    throw err;
  }
  return { trainer, config: cfg, dataset, result, runDir };
}
