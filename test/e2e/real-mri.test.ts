// End-to-end: the real-MRI recipe on Debian's mricron-data (the Colin27 T1 and AAL atlas), as a
// user runs it from the command line: brain-example, validate, train CUT, translate, the
// histogram-matching baseline, compare. nibabel reads every file the example writes (sizes,
// ranges, co-registration), and the baseline is checked against scikit-image's
// exposure.match_histograms on the same voxels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { histogramMatch } from "../../lib/analysis/histogramMatch.js";
import { MRICRON_TEMPLATES } from "../../lib/data/brainExample.js";
import { Rng } from "../../lib/util/random.js";
import { python } from "./python.js";

const CLI = fileURLToPath(new URL("../../lib/cli.ts", import.meta.url));
const cli = (...args: string[]) => execFileSync(process.execPath, ["--import", "tsx", CLI, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, UNPAIRED_THREADS: process.env["UNPAIRED_THREADS"] ?? "1" } }).trim();

function requireTemplates(): void {
  if (!existsSync(join(MRICRON_TEMPLATES, "ch2bet.nii.gz"))) {
    throw new Error(`${MRICRON_TEMPLATES}/ch2bet.nii.gz is missing; install Debian's mricron-data: sudo apt-get install -y mricron-data`);
  }
}

test("histogramMatch agrees with scikit-image's match_histograms (ties, another reference length, a mask)", () => {
  const py = python(["numpy", "skimage"]);
  const rng = new Rng(11);
  const dir = mkdtempSync(join(tmpdir(), "unpaired-hist-"));
  const source = Float64Array.from({ length: 5000 }, () => Math.round(rng.range(0, 200)));
  const reference = Float64Array.from({ length: 3001 }, () => rng.normal() * 3 + 7);
  const mask = Uint8Array.from({ length: 5000 }, () => (rng.chance(0.7) ? 1 : 0));
  writeFileSync(join(dir, "source.f64"), Buffer.from(source.buffer));
  writeFileSync(join(dir, "reference.f64"), Buffer.from(reference.buffer));
  writeFileSync(join(dir, "mask.u8"), Buffer.from(mask.buffer));
  const script = `
import numpy as np, sys, json
from skimage.exposure import match_histograms
d = sys.argv[1]
s = np.fromfile(d + "/source.f64"); r = np.fromfile(d + "/reference.f64"); m = np.fromfile(d + "/mask.u8", dtype=np.uint8).astype(bool)
full = match_histograms(s, r)
masked = np.full(s.shape, -5.0); masked[m] = match_histograms(-s[m], r)
full.tofile(d + "/full.f64"); masked.tofile(d + "/masked.f64")
`;
  execFileSync(py, ["-c", script, dir], { stdio: ["ignore", "inherit", "inherit"] });
  const ref = (f: string) => new Float64Array(new Uint8Array(readFileSync(join(dir, f))).buffer);
  const full = histogramMatch(source, reference);
  const masked = histogramMatch(source, reference, { mask, invert: true, background: -5 });
  const worst = (a: ArrayLike<number>, b: Float64Array) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
  assert.ok(worst(full, ref("full.f64")) < 1e-4, `full: ${worst(full, ref("full.f64"))}`);
  assert.ok(worst(masked, ref("masked.f64")) < 1e-4, `masked: ${worst(masked, ref("masked.f64"))}`);
});

test("the real-MRI recipe from the command line on Colin27: brain-example, validate, train, translate, histmatch, compare", () => {
  requireTemplates();
  const py = python(["nibabel", "numpy"]);
  const dir = mkdtempSync(join(tmpdir(), "unpaired-brain-e2e-"));
  const data = join(dir, "brain");
  const manifest = cli("brain-example", "--out", data, "--spacing", "4", "--count", "t1=3,t2=3,test=1", "--quiet");
  assert.equal(manifest, join(data, "manifest.json"));
  assert.match(cli("validate", "--manifest", manifest), /8 subjects .* all files present and consistent/);

  // nibabel: subjects of different sizes and ranges, zero outside the brain, the test pair co-registered.
  const check = `
import nibabel as nib, numpy as np, json, sys
d = sys.argv[1]
out = {}
for n in ["t1-train-0", "t1-train-1", "t1-train-2", "t2-train-0", "t2-train-1", "t2-train-2", "t1-test-0", "t2-test-0", "mask-test-0"]:
    im = nib.load(f"{d}/{n}.nii.gz"); a = np.asarray(im.dataobj)
    out[n] = {"shape": list(a.shape), "max": float(a.max()), "affine": im.affine.round(4).tolist(), "nonzero": int((a > 0).sum())}
m = np.asarray(nib.load(f"{d}/mask-test-0.nii.gz").dataobj) > 0
t1 = np.asarray(nib.load(f"{d}/t1-test-0.nii.gz").dataobj); t2 = np.asarray(nib.load(f"{d}/t2-test-0.nii.gz").dataobj)
out["outsideZero"] = bool((t1[~m] == 0).all() and (t2[~m] == 0).all())
out["corr"] = float(np.corrcoef(t1[m], t2[m])[0, 1])
print(json.dumps(out))
`;
  const info = JSON.parse(execFileSync(py, ["-c", check, data], { encoding: "utf8" })) as Record<string, { shape: number[]; max: number; affine: number[][]; nonzero: number }> & { outsideZero: boolean; corr: number };
  const t1s = ["t1-train-0", "t1-train-1", "t1-train-2"].map((n) => info[n]!);
  assert.ok(new Set(t1s.map((v) => v.shape.join("x"))).size > 1, "training volumes differ in size");
  assert.ok(Math.max(...t1s.map((v) => v.max)) / Math.min(...t1s.map((v) => v.max)) > 2, "and in intensity range");
  assert.deepEqual(info["t1-test-0"]!.shape, info["t2-test-0"]!.shape);
  assert.deepEqual(info["t1-test-0"]!.affine, info["t2-test-0"]!.affine);
  assert.equal(info.outsideZero, true);
  assert.ok(info.corr < -0.3, `T1 and T2 contrasts are opposed in the brain (correlation ${info.corr})`);

  const run = join(dir, "runs", "brain-cut");
  cli("train", "--method", "cut", "--manifest", manifest, "--profile", "smoke", "--out", run, "--quiet");
  const cut = join(dir, "cut-0.nii.gz");
  const hist = join(dir, "hist-0.nii.gz");
  cli("translate", "--run", run, "--input", join(data, "t1-test-0.nii.gz"), "--out", cut, "--quiet");
  cli("histmatch", "--input", join(data, "t1-test-0.nii.gz"), "--reference", manifest, "--invert", "--out", hist);
  const score = (prediction: string) => JSON.parse(cli("compare", "--prediction", prediction, "--truth", join(data, "t2-test-0.nii.gz"), "--mask", join(data, "mask-test-0.nii.gz"), "--json")) as { ssim: number; mae: number; voxels: number };
  const s = { cut: score(cut), hist: score(hist), t1: score(join(data, "t1-test-0.nii.gz")) };
  assert.equal(s.cut.voxels, info["mask-test-0"]!.nonzero);
  for (const v of Object.values(s)) assert.ok(Number.isFinite(v.ssim) && v.ssim <= 1 && Number.isFinite(v.mae));
  // The baseline inverts the contrast: far closer to the T2 than the T1 itself is.
  assert.ok(s.hist.ssim > 0.7 && s.hist.ssim > s.t1.ssim + 0.1, JSON.stringify(s));
  // The translation is written on the input's grid.
  const grid = execFileSync(py, ["-c", "import nibabel as nib, sys, json; a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2]); print(json.dumps([list(a.shape) == list(b.shape), bool((abs(a.affine - b.affine) < 1e-4).all())]))", cut, join(data, "t1-test-0.nii.gz")], { encoding: "utf8" });
  assert.deepEqual(JSON.parse(grid), [true, true]);
});

test("fig-real-mri at the smoke profile: every test pair scored for both methods, the figures and the verdict", async () => {
  requireTemplates();
  const { runRealMri } = await import("../../lib/experiments/realMri/realMri.js");
  const { experimentConfig } = await import("../../lib/experiments/framework/types.js");
  const { initEngine } = await import("../../lib/engine/backend.js");
  await initEngine({ quiet: true });
  const runsDir = mkdtempSync(join(tmpdir(), "unpaired-realmri-"));
  const r = await runRealMri(experimentConfig({ profile: "smoke", runsDir, progress: false, liveDisplay: false }));
  assert.equal(r.numbers["cases"], 1);
  const hist = r.numbers["ssim.histogram"] as number;
  const cut = r.numbers["ssim.cut.4"] as number;
  const inverted = r.numbers["ssim.cut-inverted.4"] as number;
  assert.ok(hist > 0.7 && hist <= 1, `baseline SSIM ${hist}`);
  for (const v of [cut, inverted]) assert.ok(Number.isFinite(v) && v <= 1);
  assert.equal(r.numbers["target.translationBeatsHistogramMatching"], Math.max(cut, inverted) >= hist);
  for (const k of ["corrTruth.cut.4", "corrInput.cut.4", "corrTruth.cut-inverted.4"]) assert.ok(Math.abs(r.numbers[k] as number) <= 1, `${k} ${r.numbers[k]}`);
  assert.deepEqual(r.figures.map((f) => f.name), ["", "examples"]);
  assert.deepEqual(r.tables[0]!.rows.map((row) => row["translator"]), ["CUT, 4 steps", "CUT on the inverted T1 (lambdaNCE 10), 4 steps"]);
  assert.match(r.reading, /Targets at the smoke profile/);
  for (const run of r.runs) assert.ok(existsSync(join(run, "complete.json")), run);
  // The inverted arm's run trained with the option, the plain one without.
  const options = r.runs.map((run) => JSON.parse(readFileSync(join(run, "config.json"), "utf8")).config as { invertSource: boolean; lambdaNCE: number });
  assert.deepEqual(options.map((o) => [o.invertSource, o.lambdaNCE]), [[false, 1], [true, 10]]);
});
