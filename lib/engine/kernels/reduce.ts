// Two data-movement kernels the wasm backend runs slowly for the kit's rank-5 tensors: Sum over a
// contiguous block of axes (instance norm and Dice reduce the spatial axes of [b, d, h, w, c],
// which the backend does by transposing the whole tensor first), and SplitV (the gradient of
// concat, e.g. a U-Net's skip connections), done as contiguous heap-to-heap slices.
import { tf } from "../tf.js";
import type { TensorInfo } from "../tf.js";
import { sliceHeap } from "./slice.js";
import type { WasmBackend } from "./wasmHeap.js";

/** The axes as one contiguous block [lo, hi], or null when they are not contiguous. */
export function contiguousAxes(axes: number[], rank: number): [number, number] | null {
  const a = [...new Set(axes.map((x) => (x < 0 ? x + rank : x)))].sort((p, q) => p - q);
  if (a.length === 0) return null;
  for (let i = 1; i < a.length; i++) if (a[i] !== a[i - 1]! + 1) return null;
  return [a[0]!, a.at(-1)!];
}

/** out[o, i] = sum over r of x[o, r, i], with x seen as [outer, R, inner]; float32. */
export function sumBlockHeap(backend: WasmBackend, x: TensorInfo, lo: number, hi: number, keepDims: boolean): TensorInfo {
  const shape = x.shape;
  const outer = shape.slice(0, lo).reduce((p, q) => p * q, 1);
  const R = shape.slice(lo, hi + 1).reduce((p, q) => p * q, 1);
  const inner = shape.slice(hi + 1).reduce((p, q) => p * q, 1);
  const outShape = keepDims ? shape.map((n, i) => (i >= lo && i <= hi ? 1 : n)) : [...shape.slice(0, lo), ...shape.slice(hi + 1)];
  const out = backend.makeOutput(outShape, "float32");
  const xs = backend.typedArrayFromHeap(x);
  const os = backend.typedArrayFromHeap(out);
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let s = 0;
      const base = o * R;
      for (let r = 0; r < R; r++) s += xs[base + r]!;
      os[o] = s;
    }
    return out;
  }
  // Accumulate rows in float64 for accuracy, then store.
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    const base = o * R * inner;
    for (let r = 0; r < R; r++) {
      const row = base + r * inner;
      for (let i = 0; i < inner; i++) acc[i] = acc[i]! + xs[row + i]!;
    }
    os.set(acc, o * inner);
  }
  return out;
}

/** SplitV as slices along `axis`. */
export function splitHeap(backend: WasmBackend, x: TensorInfo, sizes: number[], axis: number): TensorInfo[] {
  const begin = x.shape.map(() => 0);
  return sizes.map((n) => {
    const size = x.shape.map((m, i) => (i === axis ? n : m));
    const part = sliceHeap(backend, x, [...begin], size);
    begin[axis] = begin[axis]! + n;
    return part;
  });
}

export const prepareSplitSize = (x: TensorInfo, numOrSizeSplits: number | number[], axis: number): number[] =>
  tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, axis);
