// `npm run bench -- nifti`: load a 240x240x155 int16 .nii.gz (a BraTS-sized MRI) to float32,
// the kit (readNifti) against nibabel's get_fdata(dtype=float32) in the same run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readNifti } from "../lib/volume/niftiRead.js";
import { writeNifti } from "../lib/volume/niftiWrite.js";
import { makeVolume } from "../lib/volume/volume.js";
import { Rng } from "../lib/util/random.js";

/** A head-like int16 volume: a smooth ellipsoid with tissue texture and scanner noise (compresses like real MRI). */
function headVolume(nx: number, ny: number, nz: number): Float32Array {
  const rng = new Rng("bench:nifti");
  const out = new Float32Array(nx * ny * nz);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const u = (x - nx / 2) / (nx * 0.4);
        const v = (y - ny / 2) / (ny * 0.45);
        const w = (z - nz / 2) / (nz * 0.45);
        const r = u * u + v * v + w * w;
        const tissue = r < 1 ? 600 + 250 * Math.sin(x / 9) * Math.cos(y / 11) + 150 * Math.sin(z / 7) : 0;
        out[x + nx * (y + ny * z)] = Math.round(Math.max(0, tissue + 12 * rng.normal()));
      }
    }
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchNifti(opts: { reps?: number; warmup?: number } = {}): Promise<void> {
  const reps = opts.reps ?? 7;
  const warmup = opts.warmup ?? 2;
  const shape = [240, 240, 155];
  const path = join(mkdtempSync(join(tmpdir(), "unpaired-bench-")), "head.nii.gz");
  await writeNifti(path, makeVolume(headVolume(240, 240, 155), shape, [1, 1, 1]), { datatype: "int16" });
  console.log(`nifti: load ${shape.join("x")} int16 .nii.gz (${(statSync(path).size / 1e6).toFixed(1)} MB on disk) to float32; median of ${reps}`);
  let sum = 0;
  for (let i = 0; i < warmup; i++) await readNifti(path);
  const ours: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const v = await readNifti(path);
    ours.push(performance.now() - t0);
    if (i === 0) for (const x of v.data) sum += x;
  }
  const python = process.env["UNPAIRED_PYTHON"] ?? "/usr/bin/python3";
  const peer = spawnSync(python, [new URL("peers/nifti_load.py", import.meta.url).pathname, path, String(warmup), String(reps)], { encoding: "utf8" });
  const ms = median(ours);
  console.log(`  unpaired-lab readNifti: ${ms.toFixed(1)} ms`);
  if (peer.status !== 0) {
    console.log(`  nibabel peer did not run (${(peer.stderr || peer.error?.message || "").trim().split("\n").pop()}). Install it with: apt-get install python3-nibabel`);
    return;
  }
  const r = JSON.parse(peer.stdout) as { ms: number[]; nibabel: string; sum: number };
  if (Math.abs(r.sum - sum) > 1e-6 * Math.abs(sum)) console.log(`  WARNING: sums differ (${sum} vs ${r.sum})`);
  const theirs = median(r.ms);
  console.log(`  nibabel ${r.nibabel} get_fdata(float32): ${theirs.toFixed(1)} ms`);
  console.log(`  ratio (unpaired-lab / nibabel): ${(ms / theirs).toFixed(2)}  (target <= 1.5)`);
}
