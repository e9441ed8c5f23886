// `npm run bench -- metrics`: per-label ASSD of two 240x240x155 label volumes at CrossMoDA's
// 0.41 x 0.41 x 1 mm spacing, the kit (lib/analysis assd) against scipy (bench/peers/assd.py:
// binary_erosion surfaces + distance_transform_edt, as Python evaluation code does it) in the
// same run; also one whole-volume distance transform against scipy's, and the kit's full
// segmentationMetrics call (Dice, ASSD, HD95 per label and the boundary ASSD).
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { edt } from "../lib/analysis/edt.js";
import { surfaceMask } from "../lib/analysis/surface.js";
import { assd, segmentationMetrics } from "../lib/analysis/surfaceDistance.js";
import { Rng } from "../lib/util/random.js";
import { makeLabelVolume } from "../lib/volume/volume.js";

interface Ellipsoid {
  /** Centre in voxels, radii in mm. */
  centre: number[];
  radii: number[];
  label: number;
  /** Voxels with x below this get `splitLabel` instead (the intra-/extra-meatal split). */
  split?: number;
  splitLabel?: number;
  /** Amplitude of a smooth wobble of the surface (fraction of the radius). */
  wobble: number;
}

/** A label volume of ellipsoids, later ones on top. */
function scene(shape: number[], spacing: number[], parts: Ellipsoid[]): Uint8Array {
  const [nx, ny, nz] = shape as [number, number, number];
  const out = new Uint8Array(nx * ny * nz);
  for (const e of parts) {
    const lo = e.centre.map((c, a) => Math.max(0, Math.floor(c - (e.radii[a]! * (1 + e.wobble)) / spacing[a]!) - 1));
    const hi = e.centre.map((c, a) => Math.min(shape[a]! - 1, Math.ceil(c + (e.radii[a]! * (1 + e.wobble)) / spacing[a]!) + 1));
    for (let z = lo[2]!; z <= hi[2]!; z++) {
      for (let y = lo[1]!; y <= hi[1]!; y++) {
        for (let x = lo[0]!; x <= hi[0]!; x++) {
          const u = ((x - e.centre[0]!) * spacing[0]!) / e.radii[0]!;
          const v = ((y - e.centre[1]!) * spacing[1]!) / e.radii[1]!;
          const w = ((z - e.centre[2]!) * spacing[2]!) / e.radii[2]!;
          const limit = 1 + e.wobble * Math.sin(3 * Math.atan2(v, u) + 2 * w) * Math.cos(2 * Math.atan2(w, u));
          if (u * u + v * v + w * w <= limit * limit) out[x + nx * (y + ny * z)] = e.split !== undefined && x < e.split ? e.splitLabel! : e.label;
        }
      }
    }
  }
  return out;
}

/** CrossMoDA-like truth: a large head-sized structure (4), a VS split into 1 | 2, a cochlea (3). */
function truthParts(): Ellipsoid[] {
  return [
    { centre: [120, 118, 77], radii: [40, 38, 30], label: 4, wobble: 0.05 },
    { centre: [150, 100, 80], radii: [11, 9, 8], label: 2, split: 140, splitLabel: 1, wobble: 0.1 },
    { centre: [175, 95, 70], radii: [3, 3, 2.5], label: 3, wobble: 0.1 },
  ];
}

/** The prediction: each structure moved, resized and wobbled a little differently. */
function perturbed(parts: Ellipsoid[], rng: Rng): Ellipsoid[] {
  return parts.map((e) => ({
    ...e,
    centre: e.centre.map((c) => c + rng.range(-2, 2)),
    radii: e.radii.map((r) => r * rng.range(0.9, 1.1)),
    ...(e.split !== undefined ? { split: e.split + rng.range(-3, 3) } : {}),
    wobble: e.wobble * rng.range(0.5, 1.5),
  }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timed<T>(warmup: number, reps: number, f: () => T): { ms: number[]; value: T } {
  for (let i = 0; i < warmup; i++) f();
  const ms: number[] = [];
  let value!: T;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    value = f();
    ms.push(performance.now() - t0);
  }
  return { ms, value };
}

export async function benchMetrics(opts: { reps?: number; warmup?: number } = {}): Promise<void> {
  const reps = opts.reps ?? 5;
  const warmup = opts.warmup ?? 2;
  const shape = [240, 240, 155];
  const spacing = [0.41, 0.41, 1];
  const labels = [1, 2, 3, 4];
  const rng = new Rng("bench:metrics");
  const parts = truthParts();
  const truth = makeLabelVolume(scene(shape, spacing, parts), shape, spacing);
  const pred = makeLabelVolume(scene(shape, spacing, perturbed(parts, rng)), shape, spacing);
  const counts = labels.map((l) => {
    let n = 0;
    for (const v of truth.data) if (v === l) n++;
    return n;
  });
  console.log(`metrics: per-label ASSD of two ${shape.join("x")} label volumes, spacing ${spacing.join(" x ")} mm, labels ${labels.join(", ")} (${counts.join(", ")} true voxels); median of ${reps}`);

  const ours = timed(warmup, reps, () => labels.map((label) => assd(pred, truth, { label })));
  const full = timed(warmup, reps, () => segmentationMetrics(pred, truth, { labels }));
  const edtMask = surfaceMask(Uint8Array.from(truth.data, (v) => (v !== 0 ? 1 : 0)), shape);
  const edtOut = new Float64Array(edtMask.length);
  const edtRun = timed(warmup, reps, () => edt(edtMask, shape, spacing, { out: edtOut }));
  let edtSum = 0;
  for (const v of edtRun.value) edtSum += v;

  const dir = mkdtempSync(join(tmpdir(), "unpaired-bench-metrics-"));
  writeFileSync(join(dir, "pred.u8"), pred.data);
  writeFileSync(join(dir, "truth.u8"), truth.data);
  writeFileSync(join(dir, "meta.json"), JSON.stringify({ shape, spacing, labels }));
  const python = process.env["UNPAIRED_PYTHON"] ?? "/usr/bin/python3";
  const peer = spawnSync(python, [new URL("peers/assd.py", import.meta.url).pathname, dir, String(warmup), String(reps)], { encoding: "utf8" });

  const ms = median(ours.ms);
  console.log(`  unpaired-lab assd (${labels.length} labels): ${ms.toFixed(1)} ms   [${ours.value.map((v) => v.toFixed(4)).join(", ")}] mm`);
  console.log(`  unpaired-lab segmentationMetrics (Dice, ASSD, HD95 per label + boundary ASSD): ${median(full.ms).toFixed(1)} ms`);
  console.log(`  unpaired-lab edt of one whole volume: ${median(edtRun.ms).toFixed(1)} ms`);
  if (peer.status !== 0) {
    console.log(`  scipy peer did not run (${(peer.stderr || peer.error?.message || "").trim().split("\n").pop()}). Install it with: apt-get install python3-scipy`);
    return;
  }
  const r = JSON.parse(peer.stdout) as { scipy: string; assdMs: number[]; assd: number[]; croppedMs: number[]; croppedAssd: number[]; edtMs: number[]; edtSum: number };
  ours.value.forEach((v, i) => {
    if (!(Math.abs(v - r.assd[i]!) <= 1e-6 * Math.abs(r.assd[i]!))) console.log(`  WARNING: label ${labels[i]} ASSD differs (${v} vs scipy ${r.assd[i]})`);
  });
  if (!(Math.abs(edtSum - r.edtSum) <= 1e-9 * Math.abs(r.edtSum))) console.log(`  WARNING: EDT sums differ (${edtSum} vs scipy ${r.edtSum})`);
  const theirs = median(r.assdMs);
  console.log(`  scipy ${r.scipy} assd (binary_erosion + distance_transform_edt, whole volume): ${theirs.toFixed(1)} ms`);
  console.log(`  scipy assd cropped to the structures' box (the kit's shortcut): ${median(r.croppedMs).toFixed(1)} ms`);
  console.log(`  scipy distance_transform_edt of one whole volume: ${median(r.edtMs).toFixed(1)} ms`);
  console.log(`  ratio assd (unpaired-lab / scipy): ${(ms / theirs).toFixed(2)}  (target <= 1.5); vs cropped scipy ${(ms / median(r.croppedMs)).toFixed(2)}`);
  console.log(`  ratio edt (unpaired-lab / scipy): ${(median(edtRun.ms) / median(r.edtMs)).toFixed(2)}  (target <= 1)`);
}
