// `npm run bench -- train`: whole training steps of cyclegan and cut (2D 128x128, ngf 32, 6 blocks),
// intrastyler (3D patch 16x64x64, ngf 16; full steps, not the encoder-only warm-up), the segmenter
// (3D U-Net, base 16, depth 4, batch 2) and syndiff (2D 128x128 with the quick profile's
// networks, the R1 penalty on every step): the kit on the torch backend with 1 thread and with
// every core, on wasm (one thread), and the same networks, losses and optimisers in PyTorch
// (bench/peers/train_step.py) with 1 thread and every core, all in one run; the ratios are the
// figure. `--backends torch,wasm` and `--threads 1,2` choose the columns.
import { spawnSync } from "node:child_process";
import { peerEnv, type PeerMalloc } from "./peerEnv.js";
import { fileURLToPath } from "node:url";
import { availableParallelism } from "node:os";
import { engineInfo, initEngine, setEngineThreads, tf, torchStatus } from "../lib/engine/index.js";
import { createTrainer } from "../lib/methods/index.js";
import { resolveConfig } from "../lib/methods/registry.js";
import type { TrainBatch } from "../lib/methods/trainer.js";
import { Rng } from "../lib/util/random.js";

interface TrainCase {
  method: "cyclegan" | "cut" | "intrastyler" | "segmenter" | "syndiff";
  dims: 2 | 3;
  /** Tensor order [(d,) h, w]. */
  size: number[];
  ngf?: number;
  blocks?: number;
  base?: number;
}

export const TRAIN_CASES: TrainCase[] = [
  { method: "cyclegan", dims: 2, size: [128, 128], ngf: 32, blocks: 6 },
  { method: "cut", dims: 2, size: [128, 128], ngf: 32, blocks: 6 },
  // 32x64x64 (the size the issue names) needs more than the wasm backend's 4 GB heap for
  // IntraStyler's step (generator on source + target, style encoder on 14 crops): 16 slices fit.
  { method: "intrastyler", dims: 3, size: [16, 64, 64], ngf: 16, blocks: 6 },
  { method: "segmenter", dims: 3, size: [32, 64, 64], base: 16 },
  // The quick profile's SynDiff networks (ResNet ngf 16 x 6 blocks, PatchGAN ndf 32, diffusive
  // U-Net 16 x [1, 2, 2], time discriminator 16 x 3 levels) on 128x128, R1 on every step (the
  // costliest step; the profile's lazy R1 pays it every 10th).
  { method: "syndiff", dims: 2, size: [128, 128] },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function batchOf(rng: Rng, shape: number[], labels: boolean, classes = 4) {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    images: Float32Array.from({ length: n }, () => Math.tanh(rng.normal())),
    ...(labels ? { labels: Int32Array.from({ length: n }, () => rng.int(classes)) } : {}),
    shape,
    subjects: [],
  };
}

/** A trainer for one benchmark case and a maker of its random batches. */
export function trainCase(c: TrainCase): { trainer: ReturnType<typeof createTrainer>; make: () => TrainBatch; config: Record<string, unknown> } {
  const patch = [...c.size].reverse(); // volume axes
  const overrides: Record<string, unknown> = { patch, ...(c.ngf ? { ngf: c.ngf, ndf: 64 } : {}), ...(c.blocks ? { blocks: c.blocks } : {}) };
  if (c.method === "cyclegan") overrides["poolSize"] = 0; // the peer has no pool
  // Full IntraStyler steps (generator, discriminator, encoder), not the encoder-only warm-up
  // the quick profile starts with.
  if (c.method === "intrastyler") Object.assign(overrides, { styleBase: 16, negatives: 12, styleCrop: [patch[0]! / 2, patch[1]! / 2, patch[2]!], styleWarmupSteps: 0 });
  if (c.method === "segmenter") Object.assign(overrides, { base: c.base, depth: 4, batchSize: 2 });
  if (c.method === "syndiff") overrides["r1Every"] = 1;
  const cfg = resolveConfig(c.method, "quick", c.dims, overrides);
  const trainer = createTrainer(cfg);
  const rng = new Rng(`bench:${c.method}`);
  const b = cfg.batchSize;
  const shape = [b, ...c.size, 1];
  const make = (): TrainBatch => {
    const batch: TrainBatch = { source: batchOf(rng, shape, c.method === "segmenter"), target: batchOf(rng, shape, false) };
    if (c.method === "intrastyler") {
      const crop = c.dims === 3 ? [c.size[0]!, c.size[1]! / 2, c.size[2]! / 2] : c.size.map((n) => n / 2);
      const s = batchOf(rng, [14, ...crop, 1], false);
      batch.extra = { style: { data: s.images, shape: s.shape } };
    }
    return batch;
  };
  return { trainer, make, config: cfg as unknown as Record<string, unknown> };
}

async function timeKit(c: TrainCase, warmup: number, steps: number): Promise<{ ms: number; tensorsGrew: number; config: Record<string, unknown> }> {
  const { trainer, make, config } = trainCase(c);
  for (let i = 0; i < warmup; i++) await trainer.step(make());
  const before = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const batch = make();
    const t0 = performance.now();
    await trainer.step(batch);
    times.push(performance.now() - t0);
  }
  const grew = tf.memory().numTensors - before;
  trainer.dispose();
  return { ms: median(times), tensorsGrew: grew, config };
}

function timeTorch(c: TrainCase, warmup: number, steps: number, config: Record<string, unknown>, threads: number, malloc: PeerMalloc = "default"): { median_ms: number; torch: string } | string {
  const device = engineInfo()?.backend === "torch" && engineInfo()!.device.startsWith("cuda") ? "cuda" : "cpu";
  const script = fileURLToPath(new URL("./peers/train_step.py", import.meta.url));
  const python = process.env["UNPAIRED_PYTHON"] ?? "/usr/bin/python3";
  const args = [script, "--method", c.method, "--dims", String(c.dims), "--size", ...c.size.map(String), "--warmup", String(warmup), "--steps", String(steps), "--threads", String(threads), "--device", device];
  if (c.ngf) args.push("--ngf", String(c.ngf), "--ndf", "64");
  if (c.blocks) args.push("--blocks", String(c.blocks));
  if (c.base) args.push("--base", String(c.base), "--depth", "4");
  if (c.method === "syndiff") args.push("--syndiff", JSON.stringify(config));
  const r = spawnSync(python, args, { encoding: "utf8", env: peerEnv(threads, malloc) });
  if (r.status !== 0) return (r.error ? r.error.message : r.stderr.trim().split("\n").pop()) ?? "failed";
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { median_ms: number; torch: string };
}

export interface TrainBenchOptions {
  steps?: number;
  warmup?: number;
  only?: string;
  /** Kit backends to time (default torch and wasm, those that start). */
  backends?: ("torch" | "wasm")[];
  /** Thread counts for torch and PyTorch (default 1 and every core). */
  threads?: number[];
  /** How the PyTorch peer's malloc treats freed memory (bench/peerEnv.ts). */
  peerMalloc?: PeerMalloc;
}

export async function benchTrain(opts: TrainBenchOptions = {}): Promise<void> {
  const steps = opts.steps ?? 5;
  const warmup = opts.warmup ?? 2;
  const all = availableParallelism();
  const threadCounts = opts.threads ?? [...new Set([1, all])];
  const backends = opts.backends ?? ["torch", "wasm"];
  const started: string[] = [];
  for (const b of backends) {
    try {
      await initEngine({ backend: b, quiet: true });
      started.push(b);
    } catch (e) {
      console.log(`${b}: cannot start (${e instanceof Error ? e.message.split("\n")[0] : e}); its columns are left out`);
    }
  }
  const torch = torchStatus();
  if (torch && torch.device !== "cpu") console.log(`torch runs on ${torch.device} (${torch.gpu}); PyTorch on cuda too`);
  console.log(`train: one whole training step (batch 1, the segmenter batch 2), median of ${steps} after ${warmup} warm-up; the kit on ${started.join(" and ")} vs PyTorch, ${threadCounts.join(" and ")} thread(s); ratio = kit / PyTorch at the same threads, PyTorch's malloc ${opts.peerMalloc ?? "default"}`);
  const cols: string[] = [];
  for (const t of threadCounts) if (started.includes("torch")) cols.push(`torch ${t}T`, `PyTorch ${t}T`, `ratio ${t}T`);
  if (started.includes("wasm")) cols.push("wasm (1T)", "wasm / PyTorch 1T");
  console.log(`| method | network | ${cols.join(" | ")} |`);
  console.log(`|---|---|${cols.map(() => "---").join("|")}|`);
  for (const c of TRAIN_CASES) {
    if (opts.only && opts.only !== c.method) continue;
    const cells: string[] = [];
    const notes: string[] = [];
    const peer1: Record<number, number | string> = {};
    let config: Record<string, unknown> = {};
    for (const t of threadCounts) {
      let kit: Awaited<ReturnType<typeof timeKit>> | null = null;
      if (started.includes("torch")) {
        await initEngine({ backend: "torch", quiet: true });
        setEngineThreads(t);
        kit = await timeKit(c, warmup, steps);
        config = kit.config;
        if (kit.tensorsGrew) notes.push(`torch ${t}T: tensors grew by ${kit.tensorsGrew}`);
      } else {
        config = trainCaseConfig(c);
      }
      const peer = timeTorch(c, warmup, steps, config, t, opts.peerMalloc);
      peer1[t] = typeof peer === "string" ? peer : peer.median_ms;
      if (kit) {
        cells.push(`${kit.ms.toFixed(0)} ms`, typeof peer === "string" ? "-" : `${peer.median_ms.toFixed(0)} ms`, typeof peer === "string" ? "-" : (kit.ms / peer.median_ms).toFixed(2));
      }
      if (typeof peer === "string") notes.push(`PyTorch did not run (${peer}); apt-get install python3-torch libopenblas0-pthread`);
    }
    if (started.includes("wasm")) {
      await initEngine({ backend: "wasm", quiet: true });
      const w = await timeKit(c, warmup, steps);
      if (w.tensorsGrew) notes.push(`wasm: tensors grew by ${w.tensorsGrew}`);
      let p1 = peer1[1];
      if (p1 === undefined) {
        const r = timeTorch(c, warmup, steps, w.config, 1, opts.peerMalloc);
        p1 = typeof r === "string" ? r : r.median_ms;
      }
      const p = typeof p1 === "number" ? p1 : null;
      cells.push(`${w.ms.toFixed(0)} ms`, p ? (w.ms / p).toFixed(1) : "-");
    }
    const k = config;
    const net =
      c.method === "segmenter"
        ? `3D U-Net base ${c.base}, ${c.size.join("x")}`
        : c.method === "syndiff"
          ? `2D ResNet ngf ${k["ngf"]} x ${k["blocks"]}, diffusive U-Net ${k["diffChannels"]} x [${k["diffChannelMult"]}], ${c.size.join("x")}`
          : `${c.dims}D ngf ${c.ngf}, ${c.blocks} blocks, ${c.size.join("x")}`;
    console.log(`| ${c.method} | ${net} | ${cells.join(" | ")} |${notes.length ? ` (${notes.join("; ")})` : ""}`);
  }
}

function trainCaseConfig(c: TrainCase): Record<string, unknown> {
  const { trainer, config } = trainCase(c);
  trainer.dispose();
  return config;
}
