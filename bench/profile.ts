// Where a training step of the engine benchmark spends its time, per kernel (tf.profile).
// `npx tsx bench/profile.ts 2|3`
import { initEngine, tf } from "../lib/engine/index.js";
import { ENGINE_CASES } from "./engine.js";
import { ResnetGenerator } from "../lib/models/resnetGenerator.js";
import { Rng } from "../lib/util/random.js";

await initEngine({ quiet: true });
const dims = Number(process.argv[2] ?? 2);
const c = ENGINE_CASES.find((k) => k.dims === dims)!;
const net = new ResnetGenerator({ dims: c.dims, inChannels: 1, outChannels: 1, ngf: c.ngf, blocks: c.blocks }, new Rng(1));
const shape = [1, ...c.size, 1];
const normal = new Rng(7);
const rng = () => normal.normal();
const n = shape.reduce((a, b) => a * b, 1);
const x = tf.tensor(Float32Array.from({ length: n }, rng), shape);
const target = tf.zerosLike(x);
const opt = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
const step = () => opt.minimize(() => tf.mean(tf.abs(tf.sub(net.apply(x), target))) as tf.Scalar, true, net.parameters())!.dispose();
step();
const t0 = performance.now();
const prof = await tf.profile(step);
const total = performance.now() - t0;
const by = new Map<string, { ms: number; n: number }>();
for (const k of prof.kernels) {
  const key = `${k.name} ${k.name.startsWith("Conv") ? JSON.stringify(k.inputShapes) : ""}`;
  const e = by.get(key) ?? { ms: 0, n: 0 };
  e.ms += Number(k.kernelTimeMs);
  e.n++;
  by.set(key, e);
}
const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
const sum = rows.reduce((a, [, v]) => a + v.ms, 0);
console.log(`step ${total.toFixed(0)} ms (profiled), kernels ${sum.toFixed(0)} ms`);
for (const [k, v] of rows.slice(0, 30)) console.log(`${v.ms.toFixed(1).padStart(8)} ms ${String(v.n).padStart(4)}x  ${k}`);
