// Exclusive work on a shared path across processes (a cached training run, a generated phantom):
// the first process creates `<path>` exclusively and does the work; the others wait until the lock
// is gone and then look again, so parallel `figures` workers never train the same run twice. A
// lock left by a process that died (same host, pid gone) is taken over.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";

export interface FileLockOptions {
  /** Milliseconds between looks at a held lock (default 1000). */
  pollMs?: number;
  /** Called once when the lock is held by another process (e.g. to print "waiting for ..."). */
  onWait?: (holder: LockHolder) => void;
}

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

function holderOf(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, "utf8")) as Partial<LockHolder>;
    return typeof h.pid === "number" && typeof h.host === "string" ? { pid: h.pid, host: h.host, since: String(h.since ?? "") } : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock at `path` (creating its folder), runs `fn`, and releases the lock, also on error. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const poll = opts.pollMs ?? 1000;
  mkdirSync(dirname(path), { recursive: true });
  let announced = false;
  let unreadable = 0;
  for (;;) {
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      } finally {
        closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = holderOf(path);
    // A lock being written reads as empty for a moment; one that stays unreadable is debris.
    if (holder === null) {
      if (++unreadable >= 5) rmSync(path, { force: true });
    } else if (holder.host === hostname() && !alive(holder.pid)) {
      rmSync(path, { force: true });
      continue;
    } else if (!announced) {
      announced = true;
      opts.onWait?.(holder);
    }
    await new Promise((r) => setTimeout(r, poll));
  }
  try {
    return await fn();
  } finally {
    const h = holderOf(path);
    if (h && h.pid === process.pid && h.host === hostname()) rmSync(path, { force: true });
  }
}
