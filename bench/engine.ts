// `npm run bench -- engine`: training-step speed of the kit's engine against PyTorch on the
// same networks, in one invocation. Times forward + L1 loss + backward + Adam of the CycleGAN
// ResNet generator in 2D (ngf 32, 6 blocks, 128x128) and 3D (ngf 16, 3 blocks, 32x64x64),
// batch 1, on torch with 1 thread and every core and on wasm, against bench/peers/engine_step.py
// at the same thread counts; `--backends torch,wasm` and `--threads 1,2` choose the columns.
import { spawnSync } from "node:child_process";
import { peerEnv, type PeerMalloc } from "./peerEnv.js";
import { fileURLToPath } from "node:url";
import { availableParallelism } from "node:os";
import { describeEngine, initEngine, setEngineThreads, tf, torchStatus } from "../lib/engine/index.js";
import { ResnetGenerator } from "../lib/models/resnetGenerator.js";
import { Rng } from "../lib/util/random.js";

export interface EngineCase {
  name: string;
  dims: 2 | 3;
  size: number[];
  ngf: number;
  blocks: number;
}

export const ENGINE_CASES: EngineCase[] = [
  { name: "2D ResNet generator (ngf 32, 6 blocks, 128x128)", dims: 2, size: [128, 128], ngf: 32, blocks: 6 },
  { name: "3D ResNet generator (ngf 16, 3 blocks, 32x64x64)", dims: 3, size: [32, 64, 64], ngf: 16, blocks: 3 },
];

export interface StepTiming {
  median_ms: number;
  times_ms: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Times `steps` Adam training steps of the generator after `warmup` untimed ones. */
export function timeTfjsSteps(c: EngineCase, warmup: number, steps: number): StepTiming & { tensorsGrew: number } {
  const net = new ResnetGenerator({ dims: c.dims, inChannels: 1, outChannels: 1, ngf: c.ngf, blocks: c.blocks }, new Rng(1));
  const shape = [1, ...c.size, 1];
  const n = shape.reduce((a, b) => a * b, 1);
  const normal = new Rng(7);
  const rng = () => normal.normal();
  const x = tf.tensor(Float32Array.from({ length: n }, rng), shape);
  const target = tf.tensor(Float32Array.from({ length: n }, () => Math.tanh(rng())), shape);
  const opt = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
  const vars = net.parameters();
  const times: number[] = [];
  let tensorsAfterWarmup = 0;
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) tensorsAfterWarmup = tf.memory().numTensors;
    const t0 = performance.now();
    const loss = opt.minimize(() => tf.mean(tf.abs(tf.sub(net.apply(x), target))) as tf.Scalar, true, vars)!;
    loss.dataSync();
    loss.dispose();
    if (i >= warmup) times.push(performance.now() - t0);
  }
  const tensorsGrew = tf.memory().numTensors - tensorsAfterWarmup;
  opt.dispose();
  tf.dispose([x, target]);
  net.dispose();
  return { median_ms: median(times), times_ms: times, tensorsGrew };
}

/** Runs the PyTorch peer for one case at `threads`; the reason it could not run otherwise. */
export function timeTorchSteps(c: EngineCase, warmup: number, steps: number, threads = 2, device = "cpu", malloc: PeerMalloc = "default"): (StepTiming & { torch: string }) | string {
  const script = fileURLToPath(new URL("./peers/engine_step.py", import.meta.url));
  const python = process.env["UNPAIRED_PYTHON"] ?? "/usr/bin/python3";
  const args = [script, "--dims", String(c.dims), "--size", ...c.size.map(String), "--ngf", String(c.ngf),
    "--blocks", String(c.blocks), "--warmup", String(warmup), "--steps", String(steps), "--threads", String(threads), "--device", device];
  const r = spawnSync(python, args, { encoding: "utf8", env: peerEnv(threads, malloc) });
  if (r.status !== 0) return (r.error ? r.error.message : r.stderr.trim().split("\n").pop()) ?? "failed";
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as StepTiming & { torch: string };
}

export interface EngineBenchOptions {
  steps?: number;
  warmup?: number;
  only?: 2 | 3;
  /** Kit backends to time (default torch and wasm, those that start). */
  backends?: ("torch" | "wasm")[];
  /** Thread counts for torch and PyTorch (default 1 and every core). */
  threads?: number[];
  /** How the PyTorch peer's malloc treats freed memory (bench/peerEnv.ts). */
  peerMalloc?: PeerMalloc;
}

/**
 * The kit on torch at each thread count and on wasm (one thread), PyTorch at the same thread
 * counts, one table; a backend that cannot start loses its columns, with the reason printed.
 */
export async function benchEngine(opts: EngineBenchOptions = {}): Promise<void> {
  const steps = opts.steps ?? 10;
  const warmup = opts.warmup ?? 3;
  const threadCounts = opts.threads ?? [...new Set([1, availableParallelism()])];
  const started: string[] = [];
  for (const b of opts.backends ?? ["torch", "wasm"]) {
    try {
      const info = await initEngine({ backend: b, quiet: true });
      started.push(b);
      console.log(`${b}: ${describeEngine(info)}`);
    } catch (e) {
      console.log(`${b}: cannot start (${e instanceof Error ? e.message.split("\n")[0] : e}); its columns are left out`);
    }
  }
  const torch = torchStatus();
  const device = started.includes("torch") && torch && torch.device !== "cpu" ? "cuda" : "cpu";
  console.log(`engine: forward + L1 loss + backward + Adam of the ResNet generator, batch 1, median of ${steps} after ${warmup} warm-up; ratio = kit / PyTorch${device === "cuda" ? " (both on cuda)" : ""} at the same threads, PyTorch's malloc ${opts.peerMalloc ?? "default"}`);
  const cols: string[] = [];
  for (const t of threadCounts) if (started.includes("torch")) cols.push(`torch ${t}T`, `PyTorch ${t}T`, `ratio ${t}T`);
  if (started.includes("wasm")) cols.push("wasm (1T)", "wasm / PyTorch 1T");
  console.log(`| network | ${cols.join(" | ")} |`);
  console.log(`|---|${cols.map(() => "---").join("|")}|`);
  for (const c of ENGINE_CASES) {
    if (opts.only && c.dims !== opts.only) continue;
    const cells: string[] = [];
    const notes: string[] = [];
    const peerMs: Record<number, number | null> = {};
    const peerAt = (t: number) => {
      if (!(t in peerMs)) {
        const r = timeTorchSteps(c, warmup, steps, t, device, opts.peerMalloc);
        if (typeof r === "string") notes.push(`PyTorch ${t}T did not run (${r}); apt-get install python3-torch libopenblas0-pthread`);
        peerMs[t] = typeof r === "string" ? null : r.median_ms;
      }
      return peerMs[t]!;
    };
    if (started.includes("torch")) {
      for (const t of threadCounts) {
        await initEngine({ backend: "torch", quiet: true });
        setEngineThreads(t);
        const ours = timeTfjsSteps(c, warmup, steps);
        if (ours.tensorsGrew) notes.push(`torch ${t}T: tensors grew by ${ours.tensorsGrew}`);
        const p = peerAt(t);
        cells.push(`${ours.median_ms.toFixed(0)} ms`, p === null ? "-" : `${p.toFixed(0)} ms`, p === null ? "-" : (ours.median_ms / p).toFixed(2));
      }
    }
    if (started.includes("wasm")) {
      await initEngine({ backend: "wasm", quiet: true });
      const ours = timeTfjsSteps(c, warmup, steps);
      if (ours.tensorsGrew) notes.push(`wasm: tensors grew by ${ours.tensorsGrew}`);
      const p = device === "cpu" ? peerAt(1) : null;
      cells.push(`${ours.median_ms.toFixed(0)} ms`, p === null ? "-" : (ours.median_ms / p).toFixed(1));
    }
    console.log(`| ${c.name} | ${cells.join(" | ")} |${notes.length ? ` (${notes.join("; ")})` : ""}`);
  }
}
