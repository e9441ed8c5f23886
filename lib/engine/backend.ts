// Picks and starts the tensor backend for the whole kit: libtorch through the kit's own addon
// (native/, built at `npm install` when a libtorch is there; CPU threads or a CUDA GPU), else
// TensorFlow's native library through @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node when
// the user installed one, else the wasm backend with the kit's kernel pack, else the pure-JS
// cpu backend. Says once which one runs and why; `engineInfo()` reports it afterwards.
import "@tensorflow/tfjs-backend-cpu";
import { availableParallelism } from "node:os";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { tf } from "./tf.js";
import { UnpairedError } from "../util/errors.js";
import { type ReplacedKernel, installWasmKernelPack } from "./kernels/index.js";
import { installGradientFixes } from "./gradients.js";
import { setTorchThreads, startTorch } from "./torch/index.js";
import "./kernelRecorder.js"; // records kernel use when UNPAIRED_RECORD_KERNELS is set

export type BackendName = "torch" | "tensorflow" | "wasm" | "cpu";
export const BACKEND_ORDER: readonly BackendName[] = ["torch", "tensorflow", "wasm", "cpu"];

export interface EngineInfo {
  backend: BackendName;
  /** The npm package that provides it. */
  package: string;
  /** Version of that package. */
  version: string;
  /** Threads the backend computes with (1 for wasm and cpu in Node; for torch, libtorch's
   * intra-op threads; for tensorflow, the cores its own thread pool may use). */
  threads: number;
  /** Where tensors live: "cpu", or "cuda:N" for the torch backend on a GPU. */
  device: string;
  /** The GPU's name when device is cuda, else null. */
  gpu: string | null;
  /** Whether the wasm backend runs its SIMD build (null for other backends). */
  simd: boolean | null;
  /** Kernels the kit registered in place of the backend's own. */
  replacedKernels: ReplacedKernel[];
  /** Gradients the kit registered in place of tfjs-core's, or that tfjs-core lacks. */
  fixedGradients: string[];
  /** Why earlier backends in the order were not used. */
  skipped: { backend: BackendName; reason: string }[];
  /** Whether the choice was forced by UNPAIRED_BACKEND or an option. */
  forced: boolean;
}

export interface EngineOptions {
  /** Force a backend (else UNPAIRED_BACKEND, else the first that starts). */
  backend?: BackendName;
  /** Do not print the one-line summary. */
  quiet?: boolean;
}

let current: EngineInfo | null = null;
let starting: Promise<EngineInfo> | null = null;

/** The engine that runs, or `null` before `initEngine()`. */
export function engineInfo(): EngineInfo | null {
  return current;
}

function parseBackend(value: string, source: string): BackendName {
  const v = value.trim().toLowerCase();
  if ((BACKEND_ORDER as readonly string[]).includes(v)) return v as BackendName;
  throw new UnpairedError(
    "BAD_OPTION",
    `${source}=${value} is not a backend; use one of ${BACKEND_ORDER.join(", ")} (or leave it unset to pick the fastest available).`,
  );
}

/** The node bindings register a backend named "tensorflow" into the tfjs-core they import.
 * Resolves to the package that did so, or throws with the reason. */
async function loadTensorflow(): Promise<{ pkg: string; version: string }> {
  const reasons: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    let mod: { version?: Record<string, string> };
    try {
      mod = (await import(pkg)) as typeof mod;
    } catch (e) {
      const code = (e as { code?: string }).code;
      reasons.push(code === "ERR_MODULE_NOT_FOUND" ? `${pkg} not installed` : `${pkg} failed to load (${firstLine(e)})`);
      continue;
    }
    if (!tf.findBackendFactory("tensorflow")) {
      reasons.push(`${pkg} registered into another copy of @tensorflow/tfjs-core (install the version matching ${tf.version_core})`);
      continue;
    }
    const version = mod.version?.["tfjs-node"] ?? "unknown";
    return { pkg, version };
  }
  throw new Error(reasons.join("; "));
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0]!.slice(0, 200);
}

/** Emscripten's glue installs process handlers that rethrow every uncaught error after
 * printing the whole minified module; the kit removes the ones the wasm start-up added. */
async function withoutEmscriptenHandlers<T>(start: () => Promise<T>): Promise<T> {
  const listeners = (ev: string) => process.listeners(ev as "uncaughtException") as ((...a: unknown[]) => void)[];
  const events = ["uncaughtException", "unhandledRejection"];
  const before = new Map(events.map((ev) => [ev, new Set(listeners(ev))]));
  try {
    return await start();
  } finally {
    for (const ev of events) {
      for (const l of listeners(ev)) if (!before.get(ev)!.has(l)) process.removeListener(ev, l);
    }
  }
}

async function start(name: BackendName): Promise<Omit<EngineInfo, "skipped" | "forced" | "fixedGradients">> {
  switch (name) {
    case "torch": {
      const t = await startTorch();
      return { backend: name, package: t.package, version: t.version, threads: t.threads, device: t.device, gpu: t.gpu, simd: null, replacedKernels: [] };
    }
    case "tensorflow": {
      const { pkg, version } = await loadTensorflow();
      if (!(await tf.setBackend("tensorflow"))) throw new Error(`${pkg} is installed but its backend failed to start`);
      return { backend: name, package: pkg, version, threads: availableParallelism(), device: "cpu", gpu: null, simd: null, replacedKernels: [] };
    }
    case "wasm": {
      const ok = await withoutEmscriptenHandlers(() => tf.setBackend("wasm"));
      if (!ok) throw new Error("the wasm backend failed to start");
      const replacedKernels = installWasmKernelPack();
      return {
        backend: name,
        package: "@tensorflow/tfjs-backend-wasm",
        version: wasm.version_wasm,
        threads: wasm.getThreadsCount(),
        device: "cpu",
        gpu: null,
        simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT") as boolean,
        replacedKernels,
      };
    }
    case "cpu": {
      if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend failed to start");
      silenceCpuBanner();
      return { backend: name, package: "@tensorflow/tfjs-backend-cpu", version: tf.version_core, threads: 1, device: "cpu", gpu: null, simd: null, replacedKernels: [] };
    }
  }
}

/** The cpu backend prints an advert for tfjs-node on its first tensor in Node; the kit says
 * what runs itself, so the advert is switched off. */
export function silenceCpuBanner(): void {
  const cpu = tf.findBackend("cpu") as unknown as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}

/**
 * Starts the engine: the forced backend, or the first of torch, tensorflow (tfjs-node-gpu,
 * then tfjs-node), wasm, cpu that starts. Safe to call repeatedly; a different forced backend
 * switches. Prints one line on stderr unless `quiet`.
 */
export async function initEngine(options: EngineOptions = {}): Promise<EngineInfo> {
  const env = process.env["UNPAIRED_BACKEND"];
  const wanted = options.backend ?? (env ? parseBackend(env, "UNPAIRED_BACKEND") : undefined);
  if (options.backend) parseBackend(options.backend, "backend");
  if (current && (!wanted || wanted === current.backend)) return current;
  if (starting) await starting.catch(() => undefined);
  if (current && (!wanted || wanted === current.backend)) return current;
  starting = startEngine(wanted, options.quiet ?? false);
  try {
    return await starting;
  } finally {
    starting = null;
  }
}

async function startEngine(wanted: BackendName | undefined, quiet: boolean): Promise<EngineInfo> {
  const candidates = wanted ? [wanted] : BACKEND_ORDER;
  const skipped: EngineInfo["skipped"] = [];
  for (const name of candidates) {
    try {
      const started = await start(name);
      const fixedGradients = installGradientFixes();
      current = { ...started, fixedGradients, skipped, forced: wanted !== undefined };
      if (!quiet) process.stderr.write(`unpaired-lab: ${describeEngine(current)}\n`);
      return current;
    } catch (e) {
      // A malformed UNPAIRED_* setting is the user's to fix, not a reason to fall back.
      if (e instanceof UnpairedError && e.code === "BAD_OPTION") throw e;
      if (wanted) {
        throw new UnpairedError(
          "BACKEND_UNAVAILABLE",
          `backend "${wanted}" was asked for but cannot start: ${firstLine(e)}. ` +
            (wanted === "tensorflow"
              ? "Install @tensorflow/tfjs-node (or -gpu, with CUDA 11.2 and cuDNN 8.1) with internet access, or unset UNPAIRED_BACKEND."
              : wanted === "torch"
                ? "Unset UNPAIRED_BACKEND to fall back to wasm, or see `npx unpaired-lab doctor`."
                : "Unset UNPAIRED_BACKEND to let the kit pick one."),
          { cause: e },
        );
      }
      skipped.push({ backend: name, reason: firstLine(e) });
    }
  }
  throw new UnpairedError("BACKEND_INIT_FAILED", `no backend could start: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join("; ")}`);
}

/** Sets the threads the engine computes with (the torch backend; the others compute on one
 * thread in Node, or on their own pool for tensorflow, and refuse). Returns the count taken. */
export function setEngineThreads(n: number): number {
  if (!current || current.backend !== "torch") {
    throw new UnpairedError("BAD_OPTION", `only the torch backend's threads can be set (the engine runs ${current?.backend ?? "nothing yet"})`);
  }
  current.threads = setTorchThreads(n);
  return current.threads;
}

/** One line: which backend runs, how, and why the ones before it were skipped. */
export function describeEngine(info: EngineInfo): string {
  const parts = [`${info.backend} backend (${info.package} ${info.version}`];
  if (info.backend === "torch") parts.push(`, ${info.device}${info.gpu ? ` ${info.gpu}` : ""}, ${info.threads} thread${info.threads === 1 ? "" : "s"}`);
  if (info.backend === "wasm") parts.push(`, ${info.simd ? "SIMD" : "no SIMD"}, ${info.threads} thread${info.threads === 1 ? "" : "s"}`);
  parts.push(")");
  if (info.replacedKernels.length) parts.push(`, kit kernels: ${info.replacedKernels.map((k) => k.kernel).join(" ")}`);
  if (info.forced) parts.push(", forced by UNPAIRED_BACKEND/option");
  for (const s of info.skipped) parts.push(`; skipped ${s.backend}: ${s.reason}`);
  return parts.join("");
}
