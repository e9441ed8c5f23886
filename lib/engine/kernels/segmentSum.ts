// UnsortedSegmentSum for the wasm backend, which has none: tf.gather's gradient needs it (PatchNCE
// samples feature positions with gather; nearest upsampling gathers too). One pass over the rows,
// adding each into its segment's row on the heap.
import type { TensorInfo } from "../tf.js";
import type { WasmBackend } from "./wasmHeap.js";

/** out[s] = sum of x[i] over rows i with segmentIds[i] = s, for s in [0, numSegments); other ids are dropped. */
export function unsortedSegmentSumHeap(backend: WasmBackend, x: TensorInfo, segmentIds: TensorInfo, numSegments: number): TensorInfo {
  const rows = x.shape[0] ?? 1;
  const inner = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype as "float32");
  const os = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  os.fill(0);
  const xs = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = backend.typedArrayFromHeap(segmentIds) as unknown as Int32Array;
  for (let i = 0; i < rows; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) os[dst + j] = os[dst + j]! + xs[src + j]!;
  }
  return out;
}
