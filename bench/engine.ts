// `npm run bench -- engine`: training-step speed of the kit's engine against PyTorch on the
// same networks, in one invocation. Times forward + L1 loss + backward + Adam of the CycleGAN
// ResNet generator in 2D (ngf 32, 6 blocks, 128x128) and 3D (ngf 16, 3 blocks, 32x64x64),
// batch 1, then runs bench/peers/engine_step.py and prints both medians and their ratio.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describeEngine, initEngine, tf } from "../lib/engine/index.js";
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

/** Runs the PyTorch peer for one case; null (with the reason printed) if it cannot run. */
export function timeTorchSteps(c: EngineCase, warmup: number, steps: number): (StepTiming & { torch: string }) | null {
  const script = fileURLToPath(new URL("./peers/engine_step.py", import.meta.url));
  const python = process.env["UNPAIRED_PYTHON"] ?? "/usr/bin/python3";
  const args = [script, "--dims", String(c.dims), "--size", ...c.size.map(String), "--ngf", String(c.ngf),
    "--blocks", String(c.blocks), "--warmup", String(warmup), "--steps", String(steps), "--threads", "2"];
  const r = spawnSync(python, args, { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "2" } });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : r.stderr.trim().split("\n").pop();
    console.log(`  PyTorch peer did not run (${why}). Install it with: apt-get install python3-torch libopenblas0-pthread`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as StepTiming & { torch: string };
}

export async function benchEngine(opts: { steps?: number; warmup?: number; only?: 2 | 3 } = {}): Promise<void> {
  const info = await initEngine({ quiet: true });
  const steps = opts.steps ?? 10;
  const warmup = opts.warmup ?? 3;
  console.log(`engine: ${describeEngine(info)}`);
  for (const k of info.replacedKernels) console.log(`  ${k.kernel} (${k.reason}): ${k.via}`);
  console.log(`training step = forward + L1 loss + backward + Adam, batch 1, median of ${steps} after ${warmup} warm-up`);
  const rows: string[] = [];
  for (const c of ENGINE_CASES) {
    if (opts.only && c.dims !== opts.only) continue;
    console.log(`\n${c.name}`);
    const ours = timeTfjsSteps(c, warmup, steps);
    console.log(`  unpaired-lab (${info.backend}): median ${ours.median_ms.toFixed(1)} ms  [${ours.times_ms.map((t) => t.toFixed(0)).join(" ")}]`);
    if (ours.tensorsGrew !== 0) console.log(`  WARNING: live tensor count grew by ${ours.tensorsGrew} over the timed steps`);
    const peer = timeTorchSteps(c, warmup, steps);
    if (!peer) continue;
    const ratio = ours.median_ms / peer.median_ms;
    console.log(`  PyTorch ${peer.torch} (2 threads): median ${peer.median_ms.toFixed(1)} ms`);
    console.log(`  ratio unpaired-lab / PyTorch: ${ratio.toFixed(2)}`);
    rows.push(`| ${c.name} | ${info.backend} | ${ours.median_ms.toFixed(0)} | ${peer.median_ms.toFixed(0)} | ${ratio.toFixed(2)} |`);
  }
  if (rows.length) {
    console.log("\n| network | backend | unpaired-lab ms | PyTorch ms | ratio |\n|---|---|---|---|---|");
    for (const r of rows) console.log(r);
  }
}
