// Merges the kernel-use files written under UNPAIRED_RECORD_KERNELS=DIR (one per process) into
// one table: kernel, input dtypes/ranks, path-selecting attributes, calls. `--names` prints only
// the distinct kernel names. Usage: npx tsx scripts/kernel-use.ts DIR [--names] [--json OUT]
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KernelUse } from "../lib/engine/kernelRecorder.js";

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  console.error("usage: npx tsx scripts/kernel-use.ts DIR [--names] [--json OUT]");
  process.exit(2);
}
const merged = new Map<string, KernelUse>();
for (const f of readdirSync(dir).filter((n) => /^kernels-\d+\.json$/.test(n))) {
  for (const u of JSON.parse(readFileSync(join(dir, f), "utf8")) as KernelUse[]) {
    const key = `${u.kernel}|${u.inputs}|${u.attrs}`;
    const m = merged.get(key);
    if (m) m.count += u.count;
    else merged.set(key, { ...u });
  }
}
const rows = [...merged.values()].sort((a, b) => a.kernel.localeCompare(b.kernel) || b.count - a.count);
const ji = rest.indexOf("--json");
if (ji >= 0) writeFileSync(rest[ji + 1]!, JSON.stringify(rows, null, 1));
if (rest.includes("--names")) {
  const names = new Map<string, number>();
  for (const r of rows) names.set(r.kernel, (names.get(r.kernel) ?? 0) + r.count);
  for (const [k, n] of [...names.entries()].sort((a, b) => a[0].localeCompare(b[0]))) console.log(`${k}\t${n}`);
} else {
  for (const r of rows) console.log(`${r.kernel}\t${r.inputs}\t${r.attrs}\t${r.count}`);
}
