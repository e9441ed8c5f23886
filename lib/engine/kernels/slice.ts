// Slice for the wasm backend without its two costs: the backend copies the whole input out of
// the heap before slicing (readSync), and for rank 5 and up it falls back to an element-wise
// loop. This one copies contiguous runs straight from heap to heap, for any rank.
import { tf } from "../tf.js";
import type { TensorInfo } from "../tf.js";
import type { WasmBackend } from "./wasmHeap.js";

type HeapArray = Float32Array | Int32Array | Uint8Array;

/** out = x[begin : begin + size] for any rank; x and out are numeric heap tensors. */
export function sliceHeap(backend: WasmBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype as "float32");
  const total = size.reduce((a, b) => a * b, 1);
  if (total === 0) return out;
  const xs = backend.typedArrayFromHeap(x) as HeapArray;
  const os = backend.typedArrayFromHeap(out) as HeapArray;
  const shape = x.shape;
  const rank = shape.length;
  const strides = tf.util.computeStrides(shape);
  strides.push(1);
  // Innermost axis k such that every axis after it is taken whole: each run is contiguous.
  let k = rank - 1;
  while (k > 0 && size[k] === shape[k]) k--;
  const run = size.slice(k).reduce((a, b) => a * b, 1);
  const runStart = begin[k]! * strides[k]!;
  // Odometer over axes 0..k-1.
  const idx = new Array<number>(k).fill(0);
  let src = runStart;
  for (let a = 0; a < k; a++) src += begin[a]! * strides[a]!;
  for (let dst = 0; dst < total; dst += run) {
    os.set(xs.subarray(src, src + run), dst);
    for (let a = k - 1; a >= 0; a--) {
      idx[a]!++;
      src += strides[a]!;
      if (idx[a]! < size[a]!) break;
      src -= idx[a]! * strides[a]!;
      idx[a] = 0;
    }
  }
  return out;
}
