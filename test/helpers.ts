// Shared test helpers: seeded data, running one computation on two backends, comparisons.
import assert from "node:assert/strict";
import { initEngine, tf } from "../lib/engine/index.js";
import { silenceCpuBanner } from "../lib/engine/backend.js";
import { loadTorchAddon } from "../lib/engine/torch/native.js";

/** Uniform numbers in [-1, 1) from a seeded 32-bit LCG. */
export function seeded(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

export const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The backend the suite runs on: UNPAIRED_BACKEND when set, else torch where its addon is
 * built, else wasm (the order initEngine picks from, without tensorflow). */
export function suiteBackend(): "torch" | "wasm" | "cpu" | "tensorflow" {
  const forced = process.env["UNPAIRED_BACKEND"]?.trim().toLowerCase();
  if (forced) return forced as "torch" | "wasm" | "cpu" | "tensorflow";
  try {
    loadTorchAddon();
    return "torch";
  } catch (e) {
    if (process.env["UNPAIRED_REQUIRE_TORCH"] === "1") throw e;
    return "wasm";
  }
}

/** Starts the suite's backend (see suiteBackend) and registers the cpu reference beside it. */
export async function startSuiteEngine(): Promise<void> {
  const backend = suiteBackend();
  await initEngine({ backend, quiet: true });
  await tf.setBackend("cpu");
  silenceCpuBanner();
  await tf.setBackend(backend);
}

/** Starts the engine on wasm (the backend the kit's kernels replace) and the cpu reference. */
export async function startWasm(): Promise<void> {
  await initEngine({ backend: "wasm", quiet: true });
  await tf.setBackend("cpu");
  silenceCpuBanner();
  await tf.setBackend("wasm");
}

/** Runs `f` on the cpu backend and on wasm; returns both results as plain arrays. */
export async function onBoth(f: () => tf.Tensor): Promise<{ cpu: Float32Array; wasm: Float32Array; shape: number[] }> {
  await tf.setBackend("cpu");
  const c = tf.tidy(f);
  const cpu = Float32Array.from(c.dataSync());
  c.dispose();
  await tf.setBackend("wasm");
  const w = tf.tidy(f);
  const wasm = Float32Array.from(w.dataSync());
  const shape = w.shape;
  w.dispose();
  return { cpu, wasm, shape };
}

/** Asserts max |a - b| <= tol * max(1, max |b|), naming the case. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= tol * scale, `${what}: max |diff| ${worst} at ${at} exceeds ${tol} x ${scale}`);
}

/** Tensor count and wasm buffer count, to check that work leaves nothing behind. */
export function liveCounts(): { tensors: number; buffers: number } {
  return { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
}

/** Whether the torch backend can start here, and if not why. With UNPAIRED_REQUIRE_TORCH=1
 * (set by .ci/run) a missing torch engine is a failure, not a skip. */
export async function torchAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await initEngine({ backend: "torch", quiet: true });
    return { ok: true };
  } catch (e) {
    if (process.env["UNPAIRED_REQUIRE_TORCH"] === "1") throw e;
    return { ok: false, reason: `torch engine not available: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Runs `f` on the cpu backend and on torch; returns both results, shapes and dtypes. */
export async function onCpuAndTorch(f: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Float32Array[]; torch: Float32Array[]; shapes: [number[][], number[][]]; dtypes: [string[], string[]] }> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    if (backend === "cpu") silenceCpuBanner();
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    const values = list.map((t) => Float32Array.from(t.dataSync()));
    const shapes = list.map((t) => t.shape.slice());
    const dtypes = list.map((t) => t.dtype as string);
    tf.dispose(list);
    return { values, shapes, dtypes };
  };
  const c = await run("cpu");
  const t = await run("torch");
  return { cpu: c.values, torch: t.values, shapes: [c.shapes, t.shapes], dtypes: [c.dtypes, t.dtypes] };
}
