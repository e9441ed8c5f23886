// Where a training step spends its time, per kernel (tf.profile), on the engine that starts
// (UNPAIRED_BACKEND to force one): `npx tsx bench/profile.ts --method cut|cyclegan|intrastyler|segmenter|syndiff`
// profiles one step of that `npm run bench -- train` case; `npx tsx bench/profile.ts 2|3` the
// engine benchmark's ResNet generator step.
import { initEngine, tf } from "../lib/engine/index.js";
import { ENGINE_CASES } from "./engine.js";
import { TRAIN_CASES, trainCase } from "./train.js";
import { ResnetGenerator } from "../lib/models/resnetGenerator.js";
import { Rng } from "../lib/util/random.js";

const info = await initEngine({ quiet: true });
const mi = process.argv.indexOf("--method");
let step: () => Promise<void>;
if (mi >= 0) {
  const c = TRAIN_CASES.find((k) => k.method === process.argv[mi + 1]);
  if (!c) throw new Error(`--method: one of ${TRAIN_CASES.map((k) => k.method).join(", ")}`);
  const { trainer, make } = trainCase(c);
  step = async () => {
    await trainer.step(make());
  };
} else {
  const dims = Number(process.argv[2] ?? 2);
  const c = ENGINE_CASES.find((k) => k.dims === dims)!;
  const net = new ResnetGenerator({ dims: c.dims, inChannels: 1, outChannels: 1, ngf: c.ngf, blocks: c.blocks }, new Rng(1));
  const shape = [1, ...c.size, 1];
  const normal = new Rng(7);
  const n = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(Float32Array.from({ length: n }, () => normal.normal()), shape);
  const target = tf.zerosLike(x);
  const opt = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
  step = async () => opt.minimize(() => tf.mean(tf.abs(tf.sub(net.apply(x), target))) as tf.Scalar, true, net.parameters())!.dispose();
}
await step();
await step();
let t0 = performance.now();
await step();
const plain = performance.now() - t0;
t0 = performance.now();
const prof = await tf.profile(step);
const total = performance.now() - t0;
const by = new Map<string, { ms: number; n: number }>();
for (const k of prof.kernels) {
  const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const e = by.get(key) ?? { ms: 0, n: 0 };
  e.ms += Number(k.kernelTimeMs);
  e.n++;
  by.set(key, e);
}
const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
const sum = rows.reduce((a, [, v]) => a + v.ms, 0);
console.log(`${info.backend}: step ${plain.toFixed(0)} ms unprofiled, ${total.toFixed(0)} ms profiled; ${prof.kernels.length} kernel calls taking ${sum.toFixed(0)} ms`);
const byName = new Map<string, { ms: number; n: number }>();
for (const k of prof.kernels) {
  const e = byName.get(k.name) ?? { ms: 0, n: 0 };
  e.ms += Number(k.kernelTimeMs);
  e.n++;
  byName.set(k.name, e);
}
console.log("by kernel:");
for (const [k, v] of [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20)) console.log(`${v.ms.toFixed(1).padStart(8)} ms ${String(v.n).padStart(5)}x  ${k}`);
console.log("by kernel and shape:");
for (const [k, v] of rows.slice(0, 25)) console.log(`${v.ms.toFixed(1).padStart(8)} ms ${String(v.n).padStart(5)}x  ${k.slice(0, 160)}`);
