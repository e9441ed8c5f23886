// Typed errors for unpaired-lab: every failure a user can cause carries a code and says
// what to do, so the CLI can print one clear line instead of a stack trace.

export type ErrorCode =
  | "BACKEND_UNAVAILABLE"
  | "BACKEND_INIT_FAILED"
  | "KERNEL_UNSUPPORTED"
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
  | "BAD_CONFIG";

export class UnpairedError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UnpairedError";
    this.code = code;
  }
}
