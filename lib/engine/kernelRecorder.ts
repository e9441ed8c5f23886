// Kernel-use recorder: every kernel the kit dispatches (forward ops, gradients, optimiser
// updates) passes one hook on the engine. With UNPAIRED_RECORD_KERNELS=DIR set, the uses are
// counted by name, input dtypes and the attributes that select a code path, and written to
// DIR/kernels-<pid>.json when the process exits; `npx tsx scripts/kernel-use.ts DIR` merges the
// files into the list of kernels a backend must provide to run the kit. `kernelsUsedBy(f)`
// gives the kernel names one computation dispatched (the torch conformance test uses it).
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tf } from "./tf.js";

/** Attributes that change which code path a kernel takes (shapes are summarised by rank). */
const PATH_ATTRS = ["strides", "pad", "dilations", "dataFormat", "mode", "axis", "keepDims", "transposeA", "transposeB", "alignCorners", "halfPixelCenters", "filterSize", "reductionIndices", "batchDims", "numOrSizeSplits", "beginMask", "endMask", "ellipsisMask", "newAxisMask", "shrinkAxisMask", "dtype", "alpha", "exclusive", "reverse"];

export interface KernelUse {
  kernel: string;
  /** Input dtypes and ranks, e.g. "x:float32[4],filter:float32[4]". */
  inputs: string;
  attrs: string;
  count: number;
}

type Listener = (name: string, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> | undefined) => void;
const listeners = new Set<Listener>();
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  const engine = tf.engine() as unknown as { runKernel: (name: string, inputs: Record<string, tf.TensorInfo>, attrs?: Record<string, unknown>) => unknown };
  const original = engine.runKernel.bind(engine);
  engine.runKernel = (name, inputs, attrs) => {
    for (const l of listeners) l(name, inputs, attrs);
    return original(name, inputs, attrs);
  };
}

/** Runs `f` and returns the names of the kernels it dispatched (with its result). */
export function kernelsUsedBy<T>(f: () => T): { result: T; kernels: Set<string> } {
  hook();
  const kernels = new Set<string>();
  const l: Listener = (name) => kernels.add(name);
  listeners.add(l);
  try {
    return { result: f(), kernels };
  } finally {
    listeners.delete(l);
  }
}

function summarise(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 8 ? `[${value.length} items]` : value.map(summarise);
  return value;
}

let recording = false;

/** Starts recording into `dir` (idempotent); the file is written at process exit. */
export function recordKernelUse(dir: string): void {
  if (recording) return;
  recording = true;
  hook();
  const uses = new Map<string, KernelUse>();
  listeners.add((name, inputs, attrs) => {
    const ins = Object.entries(inputs ?? {})
      .map(([k, t]) => (Array.isArray(t) ? `${k}:${t.length}x${(t[0] as tf.TensorInfo | undefined)?.dtype}` : `${k}:${t.dtype}[${t.shape.length}]`))
      .join(",");
    const picked: Record<string, unknown> = {};
    for (const a of PATH_ATTRS) if (attrs && a in attrs && attrs[a] !== undefined) picked[a] = summarise(attrs[a]);
    const key = `${name}|${ins}|${JSON.stringify(picked)}`;
    const u = uses.get(key);
    if (u) u.count++;
    else uses.set(key, { kernel: name, inputs: ins, attrs: JSON.stringify(picked), count: 1 });
  });
  process.on("exit", () => {
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `kernels-${process.pid}.json`), JSON.stringify([...uses.values()]));
    } catch {
      // Recording is a diagnostic: a failed write must not change the exit of the run.
    }
  });
}

const dir = process.env["UNPAIRED_RECORD_KERNELS"];
if (dir) recordKernelUse(dir);
