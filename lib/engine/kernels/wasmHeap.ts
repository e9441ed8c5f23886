// Direct access to the wasm backend's heap for the kernel pack: allocate outputs and
// scratch tensors, view them as Float32Array, call the backend's own (XNNPACK-backed)
// kernels, and free scratch. Kernel functions run outside the engine's bookkeeping, so
// every scratch tensor made here must be released with `free`.
import { tf } from "../tf.js";
import type { TensorInfo } from "../tf.js";

/** The part of tfjs-backend-wasm's BackendWasm the kernel pack relies on. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: "float32"): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
  numDataIds(): number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
}

/** A kernel as tfjs calls it: inputs and attributes by name, the backend, one output. */
export type KernelArgs = {
  inputs: Record<string, TensorInfo>;
  backend: WasmBackend;
  attrs: Record<string, unknown>;
};
export type WasmKernel = (args: KernelArgs) => TensorInfo;

/** The wasm backend's own implementation of `name`, captured before the pack replaces it. */
export function originalKernel(name: string): WasmKernel | undefined {
  const k = tf.getKernel(name, "wasm");
  return k ? (k.kernelFunc as unknown as WasmKernel) : undefined;
}

/** Allocates a float32 scratch or output tensor on the wasm heap (contents undefined). */
export function alloc(backend: WasmBackend, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, "float32");
}

/** A Float32Array view of a tensor's heap memory. Views go stale when the heap grows, so
 * take them after the last allocation of a kernel and never keep them across calls. */
export function view(backend: WasmBackend, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t);
}

/** Releases a scratch tensor made by `alloc` or by a kernel call. Reference-counted, not
 * forced: a kernel may hand back an alias of its input (Transpose with an identity
 * permutation does), and forcing would free the input's memory too. */
export function free(backend: WasmBackend, ...ts: TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

/** The same heap data under another shape (no copy; the caller must not free it). */
export function reshaped(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** Multiplies a [m, k] by b [k, n] with the backend's BatchMatMul, which takes its
 * XNNPACK fully-connected path for untransposed single-batch operands. XNNPACK caches
 * the packed `b` keyed by its tensor id, so `b` must be a tensor that is only ever used
 * with this shape (a fresh scratch tensor, or a gradient seen as [rows, channels]). */
export function matmul(
  backend: WasmBackend,
  batchMatMul: WasmKernel,
  a: TensorInfo,
  aShape: [number, number],
  b: TensorInfo,
  bShape: [number, number],
): TensorInfo {
  const out = batchMatMul({
    inputs: { a: reshaped(a, [1, ...aShape]), b: reshaped(b, [1, ...bShape]) },
    backend,
    attrs: { transposeA: false, transposeB: false },
  });
  return reshaped(out, [aShape[0], bShape[1]]);
}

/** Transposes with the backend's own Transpose kernel (returns a new tensor to free). */
export function transpose(
  backend: WasmBackend,
  transposeKernel: WasmKernel,
  x: TensorInfo,
  perm: number[],
): TensorInfo {
  return transposeKernel({ inputs: { x }, backend, attrs: { perm } });
}
