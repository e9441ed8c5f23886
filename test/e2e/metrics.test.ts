// End-to-end: the segmentation and image-quality metrics of lib/analysis against independent
// computations in Python (test/e2e/metrics_ref.py, Debian's python3-scipy and python3-skimage):
// the distance transform against scipy.ndimage.distance_transform_edt(sampling=spacing); Dice,
// ASSD, HD95 and the boundary ASSD against surfaces from binary_erosion (outside the volume =
// background) and scipy's EDT; SSIM (map and mean), PSNR and MAE against scikit-image. Random
// and structured 2D and 3D volumes, anisotropic spacing, structures on the volume's edge, and
// the empty cases.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { edt } from "../../lib/analysis/edt.js";
import { segmentationMetrics } from "../../lib/analysis/surfaceDistance.js";
import { mae, psnr, ssimMap } from "../../lib/analysis/imageQuality.js";
import { Rng } from "../../lib/util/random.js";
import { python } from "./python.js";

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------------------------------------
// Inputs

/** Sparse random mask (density p). */
function randomMask(shape: number[], p: number, rng: Rng): Uint8Array {
  return Uint8Array.from({ length: count(shape) }, () => (rng.chance(p) ? 1 : 0));
}

/** Random labels 0..3 voxel by voxel (0 with probability p0): many small, ragged structures. */
function randomLabels(shape: number[], p0: number, rng: Rng): Uint8Array {
  return Uint8Array.from({ length: count(shape) }, () => (rng.chance(p0) ? 0 : 1 + rng.int(3)));
}

interface Scene {
  /** Tumour centre (voxels), radii (mm), the x (voxels) splitting intra- (1) from extra-meatal (2). */
  centre: number[];
  radii: number[];
  split: number;
  /** Cochlea centre (voxels) and radius (mm). */
  cochlea: number[];
  cochleaRadius: number;
}

/** A CrossMoDA-like scene: an ellipsoid split by a plane into labels 1 and 2, a ball of label 3. */
function sceneLabels(shape: number[], spacing: number[], s: Scene): Uint8Array {
  const [nx, ny, nz = 1] = shape as [number, number, number?];
  const out = new Uint8Array(count(shape));
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const p = [x, y, z];
        let e = 0;
        let c = 0;
        for (let a = 0; a < shape.length; a++) {
          e += (((p[a]! - s.centre[a]!) * spacing[a]!) / s.radii[a]!) ** 2;
          c += ((p[a]! - s.cochlea[a]!) * spacing[a]!) ** 2;
        }
        if (e <= 1) out[i] = x < s.split ? 1 : 2;
        else if (c <= s.cochleaRadius ** 2) out[i] = 3;
      }
    }
  }
  return out;
}

/** The prediction: the scene moved and resized a little, then a few voxels relabelled at random. */
function perturb(shape: number[], spacing: number[], s: Scene, rng: Rng, flips: number): Uint8Array {
  const moved: Scene = {
    centre: s.centre.map((c) => c + rng.range(-1.5, 1.5)),
    radii: s.radii.map((r) => r * rng.range(0.85, 1.15)),
    split: s.split + rng.range(-2, 2),
    cochlea: s.cochlea.map((c) => c + rng.range(-1, 1)),
    cochleaRadius: s.cochleaRadius * rng.range(0.8, 1.2),
  };
  const out = sceneLabels(shape, spacing, moved);
  for (let k = 0; k < flips; k++) out[rng.int(out.length)] = rng.int(4);
  return out;
}

/** A smooth image in [lo, hi] with noise: sums of sinusoids. */
function smoothImage(shape: number[], rng: Rng, lo: number, hi: number, noise: number): Float32Array {
  const [nx, ny, nz = 1] = shape as [number, number, number?];
  const f = [rng.range(0.1, 0.5), rng.range(0.1, 0.5), rng.range(0.1, 0.5)];
  const out = new Float32Array(count(shape));
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const v = 0.5 + 0.25 * Math.sin(f[0]! * x + 0.3) * Math.cos(f[1]! * y) + 0.2 * Math.sin(f[2]! * z + x * 0.05) + noise * rng.normal();
        out[i] = lo + (hi - lo) * Math.min(1, Math.max(0, v));
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Cases, the reference run

interface EdtCase { kind: "edt"; shape: number[]; spacing: number[]; mask: string; data: Uint8Array }
interface SegCase { kind: "segmentation"; name: string; shape: number[]; spacing: number[]; pred: string; truth: string; labels: number[]; boundary: [number, number]; p: Uint8Array; t: Uint8Array }
interface ImgCase { kind: "image"; name: string; shape: number[]; a: string; b: string; dataRange: number; x: Float32Array; y: Float32Array }
type Case = EdtCase | SegCase | ImgCase;

const rng = new Rng("e2e:metrics");
const cases: Case[] = [];
const edtCase = (shape: number[], spacing: number[], data: Uint8Array) => cases.push({ kind: "edt", shape, spacing, mask: `${cases.length}_mask.u8`, data });
const segCase = (name: string, shape: number[], spacing: number[], t: Uint8Array, p: Uint8Array) =>
  cases.push({ kind: "segmentation", name, shape, spacing, pred: `${cases.length}_pred.u8`, truth: `${cases.length}_truth.u8`, labels: [1, 2, 3], boundary: [1, 2], p, t });
const imgCase = (name: string, shape: number[], dataRange: number, x: Float32Array, y: Float32Array) =>
  cases.push({ kind: "image", name, shape, a: `${cases.length}_a.f32`, b: `${cases.length}_b.f32`, dataRange, x, y });

edtCase([37, 29, 23], [0.41, 0.41, 1], randomMask([37, 29, 23], 0.002, rng));
edtCase([41, 33], [0.7, 1.3], randomMask([41, 33], 0.01, rng));
edtCase([19, 23, 17], [1.5, 0.5, 0.8], randomMask([19, 23, 17], 0.3, rng));
edtCase([64, 1, 5], [0.3, 2, 1], randomMask([64, 1, 5], 0.05, rng));

for (const [dims, shape, spacing] of [
  [3, [48, 44, 26], [0.41, 0.41, 1]],
  [3, [40, 36, 30], [0.9, 0.5, 1.7]],
  [2, [90, 70], [0.41, 0.8]],
] as [number, number[], number[]][]) {
  for (let k = 0; k < 2; k++) {
    const s: Scene = {
      centre: shape.map((n) => n * rng.range(0.35, 0.6)),
      radii: shape.map((n, a) => n * spacing[a]! * rng.range(0.15, 0.3)),
      split: shape[0]! * rng.range(0.4, 0.55),
      cochlea: shape.map((n) => n * rng.range(0.75, 0.85)),
      cochleaRadius: Math.min(...shape.map((n, a) => n * spacing[a]!)) * 0.08 + 0.5,
    };
    const t = sceneLabels(shape, spacing, s);
    segCase(`${dims}D scene ${k}`, shape, spacing, t, perturb(shape, spacing, s, rng, 30));
  }
  segCase(`${dims}D random labels`, shape, spacing, randomLabels(shape, 0.9, rng), randomLabels(shape, 0.9, rng));
  // Structures cut by the volume's edge (the surface includes the cut face).
  const edge: Scene = { centre: shape.map((n, a) => (a === 0 ? 1 : n / 2)), radii: shape.map((n, a) => n * spacing[a]! * 0.3), split: shape[0]! * 0.15, cochlea: shape.map((n) => n - 2), cochleaRadius: 3 };
  segCase(`${dims}D on the edge`, shape, spacing, sceneLabels(shape, spacing, edge), perturb(shape, spacing, edge, rng, 0));
}
{
  // Empty cases: label 3 only in the truth, label 2 in neither, no 1/2 interface in the prediction.
  const shape = [30, 28, 20];
  const spacing = [0.41, 0.41, 1];
  const t = new Uint8Array(count(shape));
  const p = new Uint8Array(count(shape));
  for (let z = 5; z < 12; z++) for (let y = 6; y < 15; y++) for (let x = 4; x < 14; x++) {
    t[x + 30 * (y + 28 * z)] = 1;
    p[x + 1 + 30 * (y + 28 * z)] = 1;
  }
  t[25 + 30 * (20 + 28 * 15)] = 3;
  segCase("3D empty labels", shape, spacing, t, p);
}

for (const [shape, range, lo] of [
  [[37, 29], 1, 0],
  [[11, 64], 2, -1],
  [[23, 19, 15], 1, 0],
  [[11, 12, 13], 255, 0],
  [[40, 33, 21], 2, -1],
] as [number[], number, number][]) {
  const x = smoothImage(shape, rng, lo, lo + range, 0.02);
  const y = Float32Array.from(x, (v) => Math.min(lo + range, Math.max(lo, v + range * (0.05 * rng.normal() + 0.02))));
  imgCase(`${shape.length}D [${shape}]`, shape, range, x, y);
}
{
  // Unrelated images (SSIM near 0) and a step edge.
  const shape = [25, 30, 12];
  imgCase("3D unrelated", shape, 1, smoothImage(shape, rng, 0, 1, 0.3), smoothImage(shape, rng, 0, 1, 0.3));
  const step = Float32Array.from({ length: count([32, 32]) }, (_, i) => (i % 32 < 16 ? 0 : 1));
  imgCase("2D step vs smooth", [32, 32], 1, step, smoothImage([32, 32], rng, 0, 1, 0.05));
}

let dir = "";
let results: Record<string, unknown>[] = [];
const f64 = (name: string) => {
  const b = readFileSync(join(dir, name));
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), "unpaired-metrics-"));
  const index = cases.map((c) => {
    if (c.kind === "edt") {
      writeFileSync(join(dir, c.mask), c.data);
      return { kind: c.kind, shape: c.shape, spacing: c.spacing, mask: c.mask };
    }
    if (c.kind === "segmentation") {
      writeFileSync(join(dir, c.pred), c.p);
      writeFileSync(join(dir, c.truth), c.t);
      return { kind: c.kind, shape: c.shape, spacing: c.spacing, pred: c.pred, truth: c.truth, labels: c.labels, boundary: c.boundary };
    }
    writeFileSync(join(dir, c.a), Buffer.from(c.x.buffer));
    writeFileSync(join(dir, c.b), Buffer.from(c.y.buffer));
    return { kind: c.kind, shape: c.shape, spacing: c.shape.map(() => 1), a: c.a, b: c.b, dataRange: c.dataRange };
  });
  writeFileSync(join(dir, "cases.json"), JSON.stringify(index));
  execFileSync(python(["numpy", "scipy", "skimage"]), [new URL("metrics_ref.py", import.meta.url).pathname, dir], { stdio: ["ignore", "inherit", "inherit"] });
  results = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as Record<string, unknown>[];
});

/** Equal within `rel` relative (absolute near 0); NaN (null in the JSON) only matches NaN. */
function close(actual: number, expected: number | null, rel: number, what: string): void {
  if (expected === null || Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs reference ${expected}`);
}

describe("metrics against scipy and scikit-image", () => {
  test("the distance transform equals scipy's distance_transform_edt(sampling=spacing) voxel by voxel", () => {
    cases.forEach((c, i) => {
      if (c.kind !== "edt") return;
      const ref = f64((results[i] as { edt: string }).edt);
      const ours = edt(c.data, c.shape, c.spacing);
      assert.equal(ours.length, ref.length);
      let worst = 0;
      for (let k = 0; k < ref.length; k++) worst = Math.max(worst, Math.abs(ours[k]! - ref[k]!) / Math.max(1, ref[k]!));
      assert.ok(worst <= 1e-12, `edt [${c.shape}] spacing [${c.spacing}]: max relative difference ${worst}`);
    });
  });

  test("Dice, ASSD, HD95 and boundary ASSD agree with surfaces from binary_erosion and scipy's EDT", (t) => {
    let n = 0;
    cases.forEach((c, i) => {
      if (c.kind !== "segmentation") return;
      const ref = results[i] as { rows: { label: number; dice: number; assd: number; hd95: number }[]; boundaryAssd: number };
      const ours = segmentationMetrics({ data: c.p, shape: c.shape, spacing: c.spacing }, { data: c.t, shape: c.shape, spacing: c.spacing }, { labels: c.labels, boundary: c.boundary });
      ref.rows.forEach((r, k) => {
        const o = ours.rows[k]!;
        assert.equal(o.label, r.label);
        close(o.dice, r.dice, 1e-12, `${c.name} label ${r.label} dice`);
        close(o.assd, r.assd, 1e-6, `${c.name} label ${r.label} assd`);
        close(o.hd95, r.hd95, 1e-6, `${c.name} label ${r.label} hd95`);
        n++;
      });
      close(ours.boundaryAssd!, ref.boundaryAssd, 1e-6, `${c.name} boundary assd`);
      t.diagnostic(`${c.name}: ${ours.rows.map((r) => `${r.label}: dice ${r.dice.toFixed(3)} assd ${r.assd.toFixed(3)} hd95 ${r.hd95.toFixed(3)}`).join("; ")}; boundary ${ours.boundaryAssd?.toFixed(3)}`);
    });
    assert.ok(n >= 30);
  });

  test("SSIM (mean and map), PSNR and MAE agree with scikit-image", (t) => {
    cases.forEach((c, i) => {
      if (c.kind !== "image") return;
      const ref = results[i] as { ssim: number; ssimFloat32: number; ssimMap: string; psnr: number; mae: number };
      const a = { data: c.x, shape: c.shape };
      const b = { data: c.y, shape: c.shape };
      const ours = ssimMap(a, b, { dataRange: c.dataRange });
      close(ours.ssim, ref.ssim, 1e-9, `${c.name} ssim`);
      const map = f64(ref.ssimMap);
      let worst = 0;
      for (let k = 0; k < map.length; k++) worst = Math.max(worst, Math.abs(ours.map[k]! - map[k]!));
      assert.ok(worst <= 1e-9, `${c.name}: SSIM map max |difference| ${worst}`);
      // scikit-image on the float32 arrays computes in float32: the same value to ~1e-5.
      close(ours.ssim, ref.ssimFloat32, 1e-4, `${c.name} ssim vs float32 scikit-image`);
      close(psnr(a, b, { dataRange: c.dataRange }), ref.psnr, 1e-9, `${c.name} psnr`);
      close(mae(a, b), ref.mae, 1e-9, `${c.name} mae`);
      t.diagnostic(`${c.name}: ssim ${ours.ssim.toFixed(6)} (float64 skimage ${ref.ssim.toFixed(6)}, float32 ${ref.ssimFloat32.toFixed(6)}), psnr ${ref.psnr.toFixed(3)} dB`);
    });
  });
});
