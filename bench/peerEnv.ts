// The environment a PyTorch peer runs in: its thread count, and how glibc's malloc treats freed
// memory. "default" is PyTorch as people run it; "cached" keeps freed memory in the process
// (glibc's mmap and trim thresholds raised), the same reuse the kit's torch engine has from its
// host cache, so the ratio compares the arithmetic and dispatch alone (`--peer-malloc cached`).
export type PeerMalloc = "default" | "cached";

export function peerEnv(threads: number, malloc: PeerMalloc = "default"): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads) };
  if (malloc === "cached") Object.assign(env, { MALLOC_MMAP_THRESHOLD_: String(2 ** 32), MALLOC_TRIM_THRESHOLD_: String(2 ** 36) });
  return env;
}

export function peerMallocOption(v: string | undefined): PeerMalloc {
  if (v === undefined || v === "default" || v === "cached") return v ?? "default";
  throw new Error(`--peer-malloc: default or cached, not ${v}`);
}
