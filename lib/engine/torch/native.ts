// Loads the torch engine's Node-API addon (native/build/unpaired_torch.node, built by
// scripts/build-native.mjs at `npm install`) and types what it exports. Tensors live in libtorch
// memory and JavaScript holds them by slot number; every op returns the slot of its result and
// writes the result's dtype and shape into the shared scratch buffer.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** dtype codes shared with native/src/registry.h */
export const DTYPE_CODE = { float32: 0, int32: 1, bool: 2 } as const;
export const DTYPE_NAME = ["float32", "int32", "bool"] as const;
export type TorchDType = (typeof DTYPE_NAME)[number];

export interface NativeInfo {
  version: string;
  threads: number;
  cuda: boolean;
  gpus: number;
  gpuName: string;
  mkldnn: boolean;
  parallel: string;
  device: string;
}

/** The addon's caching host allocator (native/src/allocator.cc). */
export interface HostCache {
  enabled: boolean;
  idleBytes: number;
  limitBytes: number;
  hits: number;
  misses: number;
}

export interface NativeMemory {
  tensors: number;
  bytes: number;
  peakBytes: number;
  slots: number;
}

type Slot = number;
type Ints = readonly number[];

/** What the addon exports (native/src/*.cc). */
export interface TorchAddon {
  scratch(): ArrayBuffer;
  fromData(values: ArrayBufferView, shape: Ints, dtype: number): Slot;
  read(slot: Slot): Float32Array | Int32Array | Uint8Array;
  free(slot: Slot): void;
  describe(slot: Slot): void;
  memory(): NativeMemory;
  cacheStats(): HostCache;
  strides(slot: Slot): number[];
  setThreads(n: number): number;
  setDevice(device: string): string;
  cudaDevices(): number;
  synchronize(): void;
  info(): NativeInfo;
  setLayout(layout: "auto" | "channels-last" | "channels-first"): string;
  unary(code: number, x: Slot): Slot;
  binary(code: number, a: Slot, b: Slot): Slot;
  step(x: Slot, alpha: number): Slot;
  leakyRelu(x: Slot, alpha: number): Slot;
  clip(x: Slot, lo: number, hi: number): Slot;
  eluGrad(dy: Slot, y: Slot): Slot;
  cast(x: Slot, dtype: number): Slot;
  reduce(code: number, x: Slot, axes: Ints, keepDims: boolean): Slot;
  argReduce(code: number, x: Slot, axis: number): Slot;
  cumsum(x: Slot, axis: number, exclusive: boolean, reverse: boolean): Slot;
  softmax(x: Slot, dim: number): Slot;
  logSoftmax(x: Slot, dim: number): Slot;
  reshape(x: Slot, shape: Ints): Slot;
  transpose(x: Slot, perm: Ints): Slot;
  slice(x: Slot, begin: Ints, size: Ints): Slot;
  stridedSlice(x: Slot, begin: Ints, end: Ints, strides: Ints): Slot;
  concat(xs: Slot[], axis: number): Slot;
  stack(xs: Slot[], axis: number): Slot;
  unstack(x: Slot, axis: number): Slot[];
  split(x: Slot, sizes: Ints, axis: number): Slot[];
  pad(x: Slot, paddings: Ints, value: number): Slot;
  mirrorPad(x: Slot, paddings: Ints, mode: number): Slot;
  reverse(x: Slot, axes: Ints): Slot;
  tile(x: Slot, reps: Ints): Slot;
  gather(x: Slot, indices: Slot, axis: number): Slot;
  select(condition: Slot, t: Slot, e: Slot): Slot;
  oneHot(indices: Slot, depth: number, on: number, off: number, dtype: number): Slot;
  matMul(a: Slot, b: Slot, transposeA: boolean, transposeB: boolean): Slot;
  unsortedSegmentSum(x: Slot, ids: Slot, n: number): Slot;
  addN(xs: Slot[]): Slot;
  fill(shape: Ints, value: number, dtype: number): Slot;
  normalise(x: Slot, axes: Ints, eps: number): Slot;
  normaliseGrad(dy: Slot, x: Slot, axes: Ints, eps: number): Slot;
  adam(param: Slot, expAvg: Slot, expAvgSq: Slot, grad: Slot, beta1: number, beta2: number, eps: number, stepSize: number, bc2Sqrt: number): Slot[];
  conv(x: Slot, w: Slot, dims: number, strides: Ints, pads: Ints, dilations: Ints, channelsFirst: boolean): Slot;
  convBackpropInput(dy: Slot, w: Slot, inputShape: Ints, dims: number, strides: Ints, pads: Ints, dilations: Ints, channelsFirst: boolean): Slot;
  convBackpropFilter(x: Slot, dy: Slot, filterShape: Ints, dims: number, strides: Ints, pads: Ints, dilations: Ints, channelsFirst: boolean): Slot;
  avgPool(x: Slot, dims: number, strides: Ints, pads: Ints, kernel: Ints, channelsFirst: boolean): Slot;
  avgPoolGrad(dy: Slot, inputShape: Ints, dims: number, strides: Ints, pads: Ints, kernel: Ints, channelsFirst: boolean): Slot;
  maxPool(x: Slot, dims: number, strides: Ints, pads: Ints, kernel: Ints, channelsFirst: boolean): Slot;
  maxPoolGrad(dy: Slot, x: Slot, dims: number, strides: Ints, pads: Ints, kernel: Ints, channelsFirst: boolean): Slot;
}

/** Where the addon and its build record are (the same path from lib/ under tsx and dist/). */
export const ADDON_PATH = fileURLToPath(new URL("../../../native/build/unpaired_torch.node", import.meta.url));
export const BUILD_INFO_PATH = fileURLToPath(new URL("../../../native/build/build-info.json", import.meta.url));

export interface BuildInfo {
  ok: boolean;
  reason?: string;
  howto?: string;
  libtorch?: string;
  cuda?: boolean;
}

export function buildInfo(): BuildInfo | null {
  try {
    return JSON.parse(readFileSync(BUILD_INFO_PATH, "utf8")) as BuildInfo;
  } catch {
    return null;
  }
}

let loaded: TorchAddon | null = null;

/** Loads the addon once; throws an Error whose message says why it cannot and what to do. */
export function loadTorchAddon(): TorchAddon {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) {
    const b = buildInfo();
    const why = b && !b.ok && b.reason ? b.reason : "the addon is not built";
    throw new Error(`${why} (apt-get install libtorch-dev g++, or set LIBTORCH to a libtorch folder, then npm run build:native)`);
  }
  try {
    loaded = createRequire(import.meta.url)(ADDON_PATH) as TorchAddon;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new Error(`the addon failed to load (${msg}); rebuild it with npm run build:native`);
  }
  return loaded;
}
