// A real-MRI example for the T1 -> T2 translation recipe, built from files Debian ships
// (package mricron-data): the Colin27 brain, a T1-weighted average of 27 scans of one person,
// skull-stripped (ch2bet.nii.gz), and its AAL atlas (aal.nii.gz). There is no public T2 of it in
// a package, so the T2-weighted volumes are rendered from the anatomy by the spin-echo signal
// equation S = PD (1 - exp(-TR/T1)) exp(-TE/T2) per tissue: CSF, grey and white matter as
// partial-volume fractions of the T1 intensities, and the iron-rich deep nuclei of the AAL atlas
// (putamen, pallidum, caudate, thalamus) with their own, shorter T2. So the T2 is not a monotone
// function of the T1 (the pallidum is bright on T1 and darker than white matter on T2), which
// is what a translation has to learn and histogram matching cannot.
//
// Every subject is the template under its own smooth random deformation (affine and elastic),
// scanner gain, polynomial bias field and noise, cropped to its brain with its own margins: the
// volumes differ in size and intensity range, as a user's own do. The training T1 and T2 subjects
// are deformed independently (unpaired); each test subject has a T1, a co-registered T2 (the same
// deformation and crop) that scores a translation, and its brain mask as an evaluation label.
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { UnpairedError } from "../util/errors.js";
import { Rng } from "../util/random.js";
import { readNifti, readNiftiLabels } from "../volume/niftiRead.js";
import { writeNifti } from "../volume/niftiWrite.js";
import { resampleToSpacing } from "../volume/resample.js";
import { boundingBox, cropOrPad } from "../volume/crop.js";
import { makeLabelVolume, makeVolume, type LabelVolume, type Volume } from "../volume/volume.js";
import { kMeans } from "../analysis/kmeans.js";
import { gaussianSmooth } from "./gaussian.js";
import { applyBiasField, biasFieldTerms } from "./augment.js";
import { writeManifest, type Manifest, type ManifestSubject } from "./manifest.js";

/** Where Debian's mricron-data puts its templates. */
export const MRICRON_TEMPLATES = "/usr/share/mricron/templates";
export const BRAIN_EXAMPLE_ID = "colin27-brain";

/** Relaxation of one tissue: proton density (relative) and T1, T2 in ms (typical 1.5 T values). */
export interface Relaxation {
  pd: number;
  t1: number;
  t2: number;
}

/** A T2-weighted spin-echo protocol: repetition and echo time in ms. */
export interface SpinEcho {
  tr: number;
  te: number;
}

export const T2W_SPIN_ECHO: SpinEcho = { tr: 4000, te: 90 };

export const TISSUE_RELAXATION = {
  csf: { pd: 1.0, t1: 4200, t2: 1990 },
  grey: { pd: 0.86, t1: 1200, t2: 100 },
  white: { pd: 0.7, t1: 790, t2: 80 },
} as const satisfies Record<string, Relaxation>;

/** Deep grey nuclei by AAL label value, with the shorter T2 their iron gives them. */
export const DEEP_NUCLEI: readonly { name: string; aal: readonly number[]; tissue: Relaxation }[] = [
  { name: "caudate", aal: [71, 72], tissue: { pd: 0.84, t1: 1150, t2: 85 } },
  { name: "putamen", aal: [73, 74], tissue: { pd: 0.82, t1: 1100, t2: 70 } },
  { name: "pallidum", aal: [75, 76], tissue: { pd: 0.78, t1: 900, t2: 55 } },
  { name: "thalamus", aal: [77, 78], tissue: { pd: 0.8, t1: 1000, t2: 82 } },
];

/** The spin-echo signal of a tissue: PD (1 - exp(-TR/T1)) exp(-TE/T2). */
export function spinEchoSignal(t: Relaxation, seq: SpinEcho = T2W_SPIN_ECHO): number {
  return t.pd * (1 - Math.exp(-seq.tr / t.t1)) * Math.exp(-seq.te / t.t2);
}

/** Mean T1 intensity of CSF, grey and white matter (in this order, increasing). */
export type TissueMeans = readonly [number, number, number];

/**
 * Partial-volume fractions (csf, grey, white) of a T1 intensity: linear between neighbouring
 * tissue means, pure below the CSF mean and above the white-matter mean.
 */
export function tissueFractions(v: number, means: TissueMeans): [number, number, number] {
  const [c, g, w] = means;
  if (v <= c) return [1, 0, 0];
  if (v < g) {
    const f = (v - c) / (g - c);
    return [1 - f, f, 0];
  }
  if (v < w) {
    const f = (v - g) / (w - g);
    return [0, 1 - f, f];
  }
  return [0, 0, 1];
}

/** The tissue means of a T1 brain by 1D k-means (3 clusters) of its masked intensities. */
export function t1TissueMeans(t1: Volume, mask: ArrayLike<number>, seed = 0): TissueMeans {
  const xs: number[][] = [];
  // Every 5th brain voxel is plenty for three 1D centres.
  for (let i = 0, k = 0; i < t1.data.length; i++) if (mask[i] && k++ % 5 === 0) xs.push([t1.data[i]!]);
  if (xs.length < 3) throw new UnpairedError("BAD_VOLUME", "t1TissueMeans: the brain mask holds fewer than 3 voxels");
  const r = kMeans(xs, 3, { seed, restarts: 3 });
  const m = r.centroids.map((c) => c[0]!).sort((a, b) => a - b);
  return [m[0]!, m[1]!, m[2]!];
}

/**
 * The noise-free T2-weighted image of a T1 brain: per voxel, the CSF fraction at CSF's signal and
 * the rest at grey/white matter's, or at the deep nucleus's where the atlas names one. 0 outside the mask.
 */
export function renderT2(t1: Volume, aal: LabelVolume, mask: ArrayLike<number>, means: TissueMeans, seq: SpinEcho = T2W_SPIN_ECHO): Volume {
  const s = { csf: spinEchoSignal(TISSUE_RELAXATION.csf, seq), grey: spinEchoSignal(TISSUE_RELAXATION.grey, seq), white: spinEchoSignal(TISSUE_RELAXATION.white, seq) };
  const nucleus = new Map<number, number>();
  for (const n of DEEP_NUCLEI) for (const v of n.aal) nucleus.set(v, spinEchoSignal(n.tissue, seq));
  const out = new Float32Array(t1.data.length);
  for (let i = 0; i < out.length; i++) {
    if (!mask[i]) continue;
    const [fc, fg, fw] = tissueFractions(t1.data[i]!, means);
    const deep = nucleus.get(aal.data[i]!);
    out[i] = deep === undefined ? fc * s.csf + fg * s.grey + fw * s.white : fc * s.csf + (1 - fc) * deep;
  }
  return makeVolume(out, t1.shape, t1.spacing, t1.affine);
}

// ---------------------------------------------------------------------------------------------
// Subjects: deformation, scanner, crop.

/** A voxel-space deformation: q = c + M (p - c) + d(p), M near the identity, d smooth. */
interface Deformation {
  matrix: number[][];
  field: [Float32Array, Float32Array, Float32Array];
}

function randomDeformation(rng: Rng, shape: readonly number[], spacing: number, peakMm: number): Deformation {
  const rz = rng.range(-6, 6) * (Math.PI / 180);
  const rx = rng.range(-4, 4) * (Math.PI / 180);
  const sc = [0, 1, 2].map(() => rng.range(0.92, 1.08));
  const cz = Math.cos(rz), sz = Math.sin(rz), cx = Math.cos(rx), sx = Math.sin(rx);
  const rotZ = [[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]];
  const rotX = [[1, 0, 0], [0, cx, -sx], [0, sx, cx]];
  const r = rotZ.map((row) => [0, 1, 2].map((j) => row.reduce((a, v, k) => a + v * rotX[k]![j]!, 0)));
  const matrix = r.map((row) => row.map((v, j) => v * sc[j]!));
  const n = shape.reduce((a, b) => a * b, 1);
  const peak = peakMm / spacing;
  const field = [0, 1, 2].map(() => {
    const noise = new Float32Array(n);
    for (let i = 0; i < n; i++) noise[i] = rng.normal();
    const smooth = gaussianSmooth(noise, shape, 12 / spacing, { border: "reflect" });
    let max = 0;
    for (const v of smooth) max = Math.max(max, Math.abs(v));
    for (let i = 0; i < n; i++) smooth[i] = (smooth[i]! / (max || 1)) * peak;
    return smooth;
  }) as [Float32Array, Float32Array, Float32Array];
  return { matrix, field };
}

/** Resamples `data` (on `shape`) under a deformation: trilinear, or nearest for labels; 0 outside. */
function warp<T extends Float32Array | Uint8Array>(data: T, shape: readonly number[], d: Deformation, nearest: boolean): T {
  const [nx, ny, nz] = shape as [number, number, number];
  const c = [(nx - 1) / 2, (ny - 1) / 2, (nz - 1) / 2];
  const out = new (data.constructor as { new (n: number): T })(data.length);
  const m = d.matrix;
  const at = (x: number, y: number, z: number) => (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz ? 0 : data[x + nx * (y + ny * z)]!);
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const p = [x - c[0]!, y - c[1]!, z - c[2]!];
        const q = [0, 1, 2].map((a) => c[a]! + m[a]![0]! * p[0]! + m[a]![1]! * p[1]! + m[a]![2]! * p[2]! + d.field[a]![i]!);
        if (nearest) {
          out[i] = at(Math.round(q[0]!), Math.round(q[1]!), Math.round(q[2]!));
          continue;
        }
        const x0 = Math.floor(q[0]!), y0 = Math.floor(q[1]!), z0 = Math.floor(q[2]!);
        const fx = q[0]! - x0, fy = q[1]! - y0, fz = q[2]! - z0;
        let v = 0;
        for (let dz = 0; dz < 2; dz++) {
          const wz = dz ? fz : 1 - fz;
          for (let dy = 0; dy < 2; dy++) {
            const wy = dy ? fy : 1 - fy;
            for (let dx = 0; dx < 2; dx++) v += (dx ? fx : 1 - fx) * wy * wz * at(x0 + dx, y0 + dy, z0 + dz);
          }
        }
        out[i] = v;
      }
    }
  }
  return out;
}

/** One scanner: gain, a smooth multiplicative bias field, Gaussian noise; whole numbers, 0 outside the brain. */
function scan(rng: Rng, clean: Volume, mask: Uint8Array, gain: number, noiseFraction: number): Volume {
  const terms = biasFieldTerms(3, 3).length;
  const coeffs = Array.from({ length: terms }, (_, t) => (t === 0 ? 0 : rng.range(-0.12, 0.12)));
  const biased = applyBiasField(clean.data, clean.shape, coeffs, { degree: 3 });
  let peak = 0;
  for (let i = 0; i < biased.length; i++) if (mask[i]) peak = Math.max(peak, clean.data[i]!);
  const sd = noiseFraction * peak * gain;
  const out = new Float32Array(biased.length);
  for (let i = 0; i < out.length; i++) {
    if (!mask[i]) continue;
    const re = gain * biased[i]! + sd * rng.normal();
    const im = sd * rng.normal();
    out[i] = Math.min(32767, Math.round(Math.hypot(re, im))); // magnitude images: Rician noise
  }
  return makeVolume(out, clean.shape, clean.spacing, clean.affine);
}

export interface BrainTemplate {
  t1: Volume;
  aal: LabelVolume;
  mask: Uint8Array;
  means: TissueMeans;
}

/** Reads Colin27's T1 and AAL labels from `templates`, resampled to `spacing` mm. */
export async function loadBrainTemplate(templates = MRICRON_TEMPLATES, spacing = 2): Promise<BrainTemplate> {
  const t1Path = join(templates, "ch2bet.nii.gz");
  const aalPath = join(templates, "aal.nii.gz");
  for (const p of [t1Path, aalPath]) {
    if (!existsSync(p)) {
      throw new UnpairedError(
        "FILE_NOT_FOUND",
        `${p} is missing: the brain example is built from Debian's mricron-data (sudo apt-get install mricron-data), or give --templates DIR holding ch2bet.nii.gz and aal.nii.gz`,
      );
    }
  }
  if (!(Number.isFinite(spacing) && spacing >= 1 && spacing <= 4)) throw new UnpairedError("BAD_OPTION", `brain example: spacing ${spacing} mm must be between 1 and 4`);
  const sp = [spacing, spacing, spacing];
  const t1 = resampleToSpacing(await readNifti(t1Path), sp, { mode: "linear" });
  const aal = resampleToSpacing(await readNiftiLabels(aalPath), sp, { mode: "nearest" });
  if (t1.shape.some((n, a) => n !== aal.shape[a])) throw new UnpairedError("BAD_VOLUME", `${t1Path} and ${aalPath} are on different grids ([${t1.shape}] vs [${aal.shape}])`);
  // ch2bet is zero outside the brain; interpolation blurs the edge, so keep voxels above a tenth of CSF.
  const mask = new Uint8Array(t1.data.length);
  for (let i = 0; i < mask.length; i++) mask[i] = t1.data[i]! > 10 ? 1 : 0;
  const plainT1 = makeVolume(t1.data, t1.shape, t1.spacing, t1.affine);
  const plainAal = makeLabelVolume(aal.data, aal.shape, aal.spacing, aal.affine);
  return { t1: plainT1, aal: plainAal, mask, means: t1TissueMeans(plainT1, mask) };
}

export interface BrainExampleOptions {
  /** Folder with ch2bet.nii.gz and aal.nii.gz (default Debian's /usr/share/mricron/templates). */
  templates?: string;
  seed?: number;
  /** Voxel size in mm (default 2: 91 x 109 x 91 before cropping). */
  spacing?: number;
  /** Training T1 and T2 subjects (unpaired) and test subjects (T1 with co-registered T2). */
  counts?: { t1?: number; t2?: number; test?: number };
  /** Peak elastic displacement in mm (default 6). */
  deformationMm?: number;
  onProgress?: (e: { done: number; total: number; info?: string }) => void;
}

export interface BrainExamplePair {
  id: string;
  t1: string;
  t2: string;
  mask: string;
}

export interface BrainExample {
  manifestPath: string;
  /** The test subjects' files (absolute): the input, its co-registered T2 truth and brain mask. */
  pairs: BrainExamplePair[];
}

export const BRAIN_EXAMPLE_DEFAULTS = { seed: 0, spacing: 2, counts: { t1: 8, t2: 8, test: 4 }, deformationMm: 6 } as const;

/** The dataset id of a brain example: the options are in it, so trained runs never mix variants. */
export function brainExampleId(options: Omit<BrainExampleOptions, "templates" | "onProgress"> = {}): string {
  const c = { ...BRAIN_EXAMPLE_DEFAULTS.counts, ...(options.counts ?? {}) };
  const spacing = options.spacing ?? BRAIN_EXAMPLE_DEFAULTS.spacing;
  const peak = options.deformationMm ?? BRAIN_EXAMPLE_DEFAULTS.deformationMm;
  return `${BRAIN_EXAMPLE_ID}-s${options.seed ?? BRAIN_EXAMPLE_DEFAULTS.seed}-${spacing}mm-${c.t1}-${c.t2}-${c.test}-d${peak}`;
}

/** The test pairs of a brain example folder, by the file names writeBrainExample gives them. */
export function brainExamplePairs(root: string, test: number): BrainExamplePair[] {
  return Array.from({ length: test }, (_, k) => ({
    id: `test-${k}`,
    t1: resolve(root, `t1-test-${k}.nii.gz`),
    t2: resolve(root, `t2-test-${k}.nii.gz`),
    mask: resolve(root, `mask-test-${k}.nii.gz`),
  }));
}

/** Writes the example's NIfTI files and manifest.json into `outDir`. Same options, same files. */
export async function writeBrainExample(outDir: string, options: BrainExampleOptions = {}): Promise<BrainExample> {
  const seed = options.seed ?? BRAIN_EXAMPLE_DEFAULTS.seed;
  const spacing = options.spacing ?? BRAIN_EXAMPLE_DEFAULTS.spacing;
  const counts = { ...BRAIN_EXAMPLE_DEFAULTS.counts, ...(options.counts ?? {}) };
  for (const [k, v] of Object.entries(counts)) {
    if (!(Number.isInteger(v) && v >= 1 && v <= 200)) throw new UnpairedError("BAD_OPTION", `brain example: count ${k}=${v} must be a whole number from 1 to 200`);
  }
  const peak = options.deformationMm ?? BRAIN_EXAMPLE_DEFAULTS.deformationMm;
  const tpl = await loadBrainTemplate(options.templates, spacing);
  const root = resolve(outDir);
  mkdirSync(root, { recursive: true });
  const rng = new Rng(`brain-example:${seed}`);
  const subjects: ManifestSubject[] = [];
  const total = counts.t1 + counts.t2 + counts.test;
  let done = 0;
  const write = async (file: string, v: Volume | LabelVolume, datatype: "int16" | "uint8") => writeNifti(join(root, file), v, { datatype, description: `${BRAIN_EXAMPLE_ID} ${file}` });

  /** One deformed subject: its T1 anatomy, T2 anatomy and mask, cropped to the brain plus margins. */
  const subject = (r: Rng) => {
    const d = randomDeformation(r, tpl.t1.shape, spacing, peak);
    const t1 = makeVolume(warp(tpl.t1.data, tpl.t1.shape, d, false), tpl.t1.shape, tpl.t1.spacing, tpl.t1.affine);
    const aal = makeLabelVolume(warp(tpl.aal.data as Uint8Array, tpl.aal.shape, d, true), tpl.aal.shape, tpl.aal.spacing, tpl.aal.affine);
    const maskData = warp(tpl.mask, tpl.t1.shape, d, true);
    const mask = makeLabelVolume(maskData, tpl.t1.shape, tpl.t1.spacing, tpl.t1.affine);
    const t2 = renderT2(t1, aal, maskData, tpl.means);
    const box = boundingBox(mask, [1])!;
    const lo = box.start.map((s) => s - r.intRange(1, 6));
    const size = box.size.map((n, a) => n + (box.start[a]! - lo[a]!) + r.intRange(1, 6));
    const crop = <V extends Volume | LabelVolume>(v: V) => cropOrPad(v, lo, size);
    return { t1: crop(t1), t2: crop(t2), mask: crop(mask) };
  };
  // Scanner gains spread over a decade, as exports of different scanners are: log-uniform, one
  // stratum of the decade per subject (k of n), so every set spans a wide range.
  const gain = (r: Rng, lo: number, hi: number, k: number, n: number) => lo * (hi / lo) ** ((k + r.uniform()) / n);
  const t1Scan = (r: Rng, v: Volume, m: LabelVolume, k: number, n: number) => scan(r, v, m.data as Uint8Array, gain(r, 3, 30, k, n), 0.015);
  const t2Scan = (r: Rng, v: Volume, m: LabelVolume, k: number, n: number) => scan(r, v, m.data as Uint8Array, gain(r, 800, 8000, k, n), 0.015);
  const site = "colin27";
  // The unpaired training subjects: each T1 and each T2 from a deformation of its own.
  for (const domain of ["t1", "t2"] as const) {
    const n = counts[domain];
    for (let k = 0; k < n; k++) {
      const id = `${domain}-train-${k}`;
      const r = rng.fork(id);
      const s = subject(r);
      await write(`${id}.nii.gz`, domain === "t1" ? t1Scan(r, s.t1, s.mask, k, n) : t2Scan(r, s.t2, s.mask, k, n), "int16");
      subjects.push({ id, domain, site, image: `${id}.nii.gz`, split: "train" });
      options.onProgress?.({ done: ++done, total, info: id });
    }
  }
  const pairs = brainExamplePairs(root, counts.test);
  for (let k = 0; k < counts.test; k++) {
    const r = rng.fork(`test-${k}`);
    const s = subject(r);
    await write(`t1-test-${k}.nii.gz`, t1Scan(r, s.t1, s.mask, k, counts.test), "int16");
    await write(`t2-test-${k}.nii.gz`, t2Scan(r, s.t2, s.mask, counts.test - 1 - k, counts.test), "int16");
    await write(`mask-test-${k}.nii.gz`, s.mask, "uint8");
    subjects.push({ id: `t1-test-${k}`, domain: "t1", site, image: `t1-test-${k}.nii.gz`, label: `mask-test-${k}.nii.gz`, labelUse: "evaluation", split: "test" });
    subjects.push({ id: `t2-test-${k}`, domain: "t2", site, image: `t2-test-${k}.nii.gz`, label: `mask-test-${k}.nii.gz`, labelUse: "evaluation", split: "test" });
    options.onProgress?.({ done: ++done, total, info: `test-${k}` });
  }
  const manifest: Manifest = {
    id: brainExampleId({ seed, spacing, counts, deformationMm: peak }),
    description:
      `Unpaired T1w and T2w brain MRI from the Colin27 template of Debian's mricron-data (skull-stripped ch2bet, AAL atlas), ` +
      `each subject under its own deformation, scanner gain, bias field and noise, cropped to its brain. ` +
      `Test subjects t1-test-k come with a co-registered T2w truth t2-test-k and brain mask mask-test-k (evaluation only). ` +
      `Rebuild: npx unpaired-lab brain-example --out DIR --seed ${seed} --spacing ${spacing} --count t1=${counts.t1},t2=${counts.t2},test=${counts.test} --deformation ${peak}`,
    dataRoot: ".",
    dimensions: 3,
    spacing: [spacing, spacing, spacing],
    labels: { "0": "background", "1": "brain" },
    domains: {
      t1: { role: "source", modality: "T1w", sites: [site], description: "skull-stripped T1-weighted (Colin27 anatomy, per-subject deformation and scanner)" },
      t2: { role: "target", modality: "T2w", sites: [site], description: `spin-echo T2-weighted rendered from the anatomy (TR ${T2W_SPIN_ECHO.tr} ms, TE ${T2W_SPIN_ECHO.te} ms)` },
    },
    subjects,
  };
  const manifestPath = join(root, "manifest.json");
  await writeManifest(manifestPath, manifest);
  return { manifestPath, pairs };
}
