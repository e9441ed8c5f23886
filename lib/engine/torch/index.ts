// Starts the torch backend: loads the addon, sets libtorch's threads (UNPAIRED_THREADS, default
// every core), the device (UNPAIRED_DEVICE=cpu|cuda[:N], default the first GPU when this libtorch
// has CUDA and sees one), the convolution memory layout (UNPAIRED_TORCH_LAYOUT) and checks the host
// cache's size (UNPAIRED_CPU_CACHE_MB, read by the addon as it loads), registers the backend and
// its kernels with tfjs and makes it current.
import { availableParallelism } from "node:os";
import { tf } from "../tf.js";
import { UnpairedError } from "../../util/errors.js";
import { TorchBackend } from "./backend.js";
import { registerTorchKernels } from "./kernels.js";
import { ADDON_PATH, buildInfo, loadTorchAddon, type HostCache, type TorchAddon } from "./native.js";

export { TorchBackend } from "./backend.js";
export { TORCH_KERNELS, torchKernelError } from "./kernels.js";
export { buildInfo, loadTorchAddon } from "./native.js";
export type { HostCache, NativeInfo, NativeMemory, TorchAddon } from "./native.js";

export interface TorchStart {
  package: string;
  /** Which libtorch the addon was built against (native/build/build-info.json). */
  source: string;
  version: string;
  threads: number;
  device: string;
  gpu: string | null;
  layout: TorchLayout;
}

export type TorchLayout = "auto" | "channels-last" | "channels-first";

function threadsOption(): number {
  const v = process.env["UNPAIRED_THREADS"];
  if (v === undefined || v.trim() === "") return availableParallelism();
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UnpairedError("BAD_OPTION", `UNPAIRED_THREADS=${v} is not a whole number >= 1 (the threads libtorch computes with; leave it unset for every core).`);
  return n;
}

function deviceOption(native: TorchAddon): string {
  const v = process.env["UNPAIRED_DEVICE"]?.trim().toLowerCase();
  if (!v) return native.cudaDevices() > 0 ? "cuda:0" : "cpu";
  if (v !== "cpu" && !/^cuda(:\d+)?$/.test(v)) throw new UnpairedError("BAD_OPTION", `UNPAIRED_DEVICE=${v} is not a device; use cpu, cuda or cuda:N.`);
  if (v.startsWith("cuda") && native.cudaDevices() === 0) {
    const why = native.info().cuda ? "libtorch has CUDA but sees no GPU" : `the addon was built against a libtorch without CUDA (${buildInfo()?.libtorch ?? "unknown"})`;
    throw new UnpairedError("BAD_OPTION", `UNPAIRED_DEVICE=${v} asks for a GPU, but ${why}. Build against a CUDA libtorch (LIBTORCH=... npm run build:native), or use UNPAIRED_DEVICE=cpu.`);
  }
  return v;
}

/** auto: channels-last memory for 2D convolutions, channels-first for 3D (measured fastest). */
function layoutOption(): TorchLayout {
  const v = process.env["UNPAIRED_TORCH_LAYOUT"]?.trim().toLowerCase();
  if (!v) return "auto";
  if (v !== "auto" && v !== "channels-last" && v !== "channels-first") throw new UnpairedError("BAD_OPTION", `UNPAIRED_TORCH_LAYOUT=${v}: use auto, channels-last or channels-first.`);
  return v;
}

/** UNPAIRED_CPU_CACHE_MB: megabytes of freed host blocks the addon keeps for reuse (0: none). */
function cacheOption(): void {
  const v = process.env["UNPAIRED_CPU_CACHE_MB"];
  if (v === undefined || v.trim() === "") return;
  if (!/^\d+$/.test(v.trim())) {
    throw new UnpairedError("BAD_OPTION", `UNPAIRED_CPU_CACHE_MB=${v} is not a whole number of megabytes >= 0 (the freed host memory the torch engine keeps for reuse; 0 turns the cache off, unset means a quarter of memory, at most 8 GiB).`);
  }
}

let started: TorchStart | null = null;
let addon: TorchAddon | null = null;

/** Sets libtorch's intra-op threads of the running torch backend; returns the count it took. */
export function setTorchThreads(n: number): number {
  if (!addon || !started) throw new UnpairedError("BAD_OPTION", "setting threads needs the torch backend started (initEngine({ backend: \"torch\" }))");
  if (!Number.isInteger(n) || n < 1) throw new UnpairedError("BAD_OPTION", `threads must be a whole number >= 1 (got ${n})`);
  started.threads = addon.setThreads(n);
  return started.threads;
}

/** The running torch backend's settings, or null when it has not started. */
export function torchStatus(): TorchStart | null {
  return started ? { ...started } : null;
}

/** Live tensors in libtorch memory and the bytes of the storages they hold (torch only). */
export function torchMemory(): { tensors: number; bytes: number; peakBytes: number } | null {
  if (!addon) return null;
  const m = addon.memory();
  return { tensors: m.tensors, bytes: m.bytes, peakBytes: m.peakBytes };
}

/** The host cache's state: idle bytes kept for reuse, its limit, hits and misses (torch only). */
export function torchHostCache(): HostCache | null {
  return addon ? addon.cacheStats() : null;
}

/** Starts (or re-selects) the torch backend; throws with the reason when it cannot. */
export async function startTorch(): Promise<TorchStart> {
  if (started) {
    if (!(await tf.setBackend("torch"))) throw new Error("the torch backend failed to start again");
    return started;
  }
  cacheOption();
  const native = loadTorchAddon();
  addon = native;
  const threads = threadsOption();
  const device = deviceOption(native);
  const layout = layoutOption();
  native.setThreads(threads);
  native.setDevice(device);
  native.setLayout(layout);
  registerTorchKernels();
  if (!tf.findBackendFactory("torch")) tf.registerBackend("torch", () => new TorchBackend(native), 0);
  if (!(await tf.setBackend("torch"))) throw new Error("the torch backend failed to start");
  const info = native.info();
  started = {
    package: "libtorch",
    version: info.version,
    source: buildInfo()?.libtorch ?? ADDON_PATH,
    threads: info.threads,
    device: info.device,
    gpu: info.device.startsWith("cuda") ? info.gpuName || "unknown GPU" : null,
    layout,
  };
  return started;
}
