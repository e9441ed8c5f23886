// Typed errors for unpaired-lab: every failure a user can cause carries a code and says
// what to do, so the CLI can print one clear line instead of a stack trace.

export type ErrorCode =
  | "BACKEND_UNAVAILABLE"
  | "BACKEND_INIT_FAILED"
  | "KERNEL_UNSUPPORTED"
  | "KERNEL_FAILED"
  | "BAD_OPTION"
  | "BAD_VOLUME"
  | "FILE_NOT_FOUND"
  | "NOT_NIFTI"
  | "BAD_NIFTI"
  | "UNSUPPORTED_DATATYPE"
  | "BAD_MANIFEST"
  | "WRITE_FAILED"
  | "BAD_CHECKPOINT"
  | "TRAINING_DIVERGED"
  | "BAD_CONFIG"
  | "OUT_OF_MEMORY"
  | "NO_BROWSER"
  | "EXPORT_FAILED"
  | "INTERRUPTED"
  | "EXPERIMENT_FAILED";

export class UnpairedError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UnpairedError";
    this.code = code;
  }
}

/**
 * Turns the wasm backend's abort (its 4 GB heap ran out: "Aborted()" or "memory access out of
 * bounds") into an UnpairedError that says what to do; other errors pass through unchanged.
 */
export function explainEngineFailure(err: unknown, what: string): unknown {
  const msg = err instanceof Error ? err.message : "";
  if (err instanceof Error && err.name === "RuntimeError" && /Aborted|memory access out of bounds|out of memory/i.test(msg)) {
    return new UnpairedError(
      "OUT_OF_MEMORY",
      `${what}: the wasm backend ran out of its 4 GB heap. Use a smaller patch (--set patch=...), 2D slices, a smaller ngf, ` +
        `or the tensorflow backend (npm install @tensorflow/tfjs-node@4.22.0), then start a fresh process (this one's engine is gone).`,
      { cause: err },
    );
  }
  return err;
}
