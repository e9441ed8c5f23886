// Writes files so that a reader never sees half of one: the bytes go to a temporary file
// beside the target, which is then renamed over it (an atomic step on one file system).
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { UnpairedError } from "./errors.js";

function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
}

function failure(path: string, err: unknown): UnpairedError {
  const reason = err instanceof Error ? err.message : String(err);
  return new UnpairedError("WRITE_FAILED", `could not write ${path}: ${reason}. Check that the folder is writable and the disk has space.`, { cause: err });
}

/** Writes `bytes` to `path` atomically, creating the folder if needed. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = temporaryPath(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw failure(path, err);
  }
}

/** Synchronous twin of writeFileAtomic. */
export function writeFileAtomicSync(path: string, bytes: Uint8Array | string): void {
  const tmp = temporaryPath(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw failure(path, err);
  }
}
