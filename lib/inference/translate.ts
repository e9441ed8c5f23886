// Applying a trained run to a whole volume: rebuild the trainer from the run's config.json and
// checkpoint, normalise the input as training did, translate (or segment) it with overlapping
// tiles and Gaussian blending (slice by slice when the networks are 2D), and write NIfTI with
// the input's geometry. The CLI's `translate` command calls translateFile.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { tf } from "../engine/tf.js";
import { initEngine } from "../engine/backend.js";
import { preprocess } from "../data/loader.js";
import { createTrainer } from "../methods/registry.js";
import type { MethodConfig } from "../methods/config.js";
import { isStyleTranslator, type Trainer, type TranslateOptions } from "../methods/trainer.js";
import { slidingWindow } from "./slidingWindow.js";
import { readNifti } from "../volume/niftiRead.js";
import { writeNifti } from "../volume/niftiWrite.js";
import { makeLabelVolume, makeVolume, type LabelVolume, type Volume } from "../volume/volume.js";
import { ProgressBar } from "../util/progress.js";
import { UnpairedError } from "../util/errors.js";
import { loadCheckpoint } from "../train/checkpoint.js";

/** Rebuilds a run's trainer with its latest checkpoint. */
export async function openRun(run: string): Promise<{ trainer: Trainer; config: MethodConfig }> {
  const configPath = join(run, "config.json");
  if (!existsSync(configPath)) throw new UnpairedError("FILE_NOT_FOUND", `${run}: not a run folder (no config.json); train one with: npx unpaired-lab train ...`);
  const { config } = JSON.parse(readFileSync(configPath, "utf8")) as { config: MethodConfig };
  await initEngine({ quiet: true });
  const trainer = createTrainer(config);
  try {
    await loadCheckpoint(join(run, "checkpoint"), trainer);
  } catch (err) {
    trainer.dispose();
    throw err;
  }
  return { trainer, config };
}

export interface VolumeTranslateOptions extends Omit<TranslateOptions, "exemplar" | "style"> {
  /** Exemplar volume whose style to copy (intrastyler). */
  exemplar?: Volume;
  /** A style vector (intrastyler, [styleDim]), e.g. an exemplar's or a SLERP of two; not with `exemplar`. */
  style?: readonly number[];
  onTile?: (done: number, total: number) => void;
}

/** A volume as a network input: the whole volume for 3D networks, else its middle z slice [1, h, w, 1]. */
export function asTensorFor(v: Volume, netDims: 2 | 3): tf.Tensor {
  const [nx, ny, nz = 1] = v.shape as [number, number, number?];
  if (netDims === 3 || v.shape.length === 2) return tf.tensor(v.data, [1, ...(v.shape.length === 3 ? [nz] : []), ny, nx, 1]);
  const z = Math.floor(nz / 2);
  return tf.tensor(v.data.subarray(z * nx * ny, (z + 1) * nx * ny), [1, ny, nx, 1]);
}

/**
 * Runs a trainer over a whole (normalised) volume: 3D networks tile the volume, 2D networks tile
 * each z slice. Returns the blended output channels-last, [(nz,) ny, nx, C] flattened.
 */
export function applyToVolume(trainer: Trainer, config: MethodConfig, v: Volume, opts: VolumeTranslateOptions = {}): { data: Float32Array; channels: number } {
  const netDims = config.patch.length === 2 ? 2 : 3;
  const patch = [...config.patch].reverse();
  const t: TranslateOptions = {};
  if (opts.site) t.site = opts.site;
  if (opts.reverse) t.reverse = true;
  let style: tf.Tensor | undefined;
  if (opts.exemplar || opts.style) {
    const what = opts.exemplar ? "--exemplar" : "a style vector";
    if (!isStyleTranslator(trainer)) throw new UnpairedError("BAD_OPTION", `${what} steers style-conditioned translators (intrastyler) only; this run is ${config.method}`);
    if (opts.exemplar && opts.style) throw new UnpairedError("BAD_OPTION", "give an exemplar or a style vector, not both");
    if (opts.exemplar) {
      const ex = asTensorFor(opts.exemplar, netDims);
      style = trainer.embed(ex);
      ex.dispose();
    } else {
      const dim = trainer.styleDim;
      if (opts.style!.length !== dim) throw new UnpairedError("BAD_OPTION", `a style vector of this run has ${dim} components, got ${opts.style!.length}`);
      style = tf.tensor2d([Array.from(opts.style!)], [1, dim]);
    }
    t.style = style;
  }
  const predict = trainer.role === "segmenter" ? (tile: tf.Tensor) => trainer.segment(tile) : (tile: tf.Tensor) => trainer.translate(tile, t);
  try {
    if (netDims === 3 || v.shape.length === 2) {
      const shape = v.shape.length === 3 ? [v.shape[2]!, v.shape[1]!, v.shape[0]!] : [v.shape[1]!, v.shape[0]!];
      const r = slidingWindow({ data: v.data, shape }, predict, { patch, ...(opts.onTile ? { onTile: opts.onTile } : {}) });
      return { data: r.data, channels: r.channels };
    }
    const [nx, ny, nz] = v.shape as [number, number, number];
    let out: Float32Array | undefined;
    let channels = 1;
    for (let z = 0; z < nz; z++) {
      const r = slidingWindow({ data: v.data.subarray(z * nx * ny, (z + 1) * nx * ny), shape: [ny, nx] }, predict, { patch });
      channels = r.channels;
      out ??= new Float32Array(nx * ny * nz * channels);
      out.set(r.data, z * nx * ny * channels);
      opts.onTile?.(z + 1, nz);
    }
    return { data: out!, channels };
  } finally {
    style?.dispose();
  }
}

/** Per-voxel argmax of channels-last class scores, as a label volume on `like`'s grid. */
export function argmaxLabels(r: { data: Float32Array; channels: number }, like: Volume): LabelVolume {
  const n = r.data.length / r.channels;
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < r.channels; c++) if (r.data[i * r.channels + c]! > r.data[i * r.channels + best]!) best = c;
    labels[i] = best;
  }
  return makeLabelVolume(labels, like.shape, like.spacing, like.affine);
}

/** Translates a normalised volume with a trained translation run (same grid, one channel). */
export function translateVolume(trainer: Trainer, config: MethodConfig, v: Volume, opts: VolumeTranslateOptions = {}): Volume {
  if (trainer.role !== "translator") throw new UnpairedError("BAD_OPTION", `translateVolume: this run (${config.method}) segments; use segmentVolume`);
  const r = applyToVolume(trainer, config, v, opts);
  return makeVolume(r.data, v.shape, v.spacing, v.affine);
}

/** Segments a normalised volume with a trained segmenter run (sliding window, argmax). */
export function segmentVolume(trainer: Trainer, config: MethodConfig, v: Volume, opts: Pick<VolumeTranslateOptions, "onTile"> = {}): LabelVolume {
  if (trainer.role !== "segmenter") throw new UnpairedError("BAD_OPTION", `segmentVolume: this run is ${config.method}, a translator; use translateVolume`);
  return argmaxLabels(applyToVolume(trainer, config, v, opts), v);
}

export interface TranslateFileOptions {
  run: string;
  input: string;
  output: string;
  exemplar?: string;
  site?: string;
  reverse?: boolean;
  progress?: boolean;
}

/** Translates (or, for a segmenter run, segments) a NIfTI file with a trained run. */
export async function translateFile(o: TranslateFileOptions): Promise<Volume | LabelVolume> {
  const { trainer, config } = await openRun(o.run);
  try {
    const input = preprocess(await readNifti(o.input), undefined).image;
    const exemplar = o.exemplar ? preprocess(await readNifti(o.exemplar), undefined).image : undefined;
    const bar = new ProgressBar(`translate ${config.method}`, 1, { quiet: !o.progress });
    const r = applyToVolume(trainer, config, input, {
      ...(exemplar ? { exemplar } : {}),
      ...(o.site ? { site: o.site } : {}),
      ...(o.reverse ? { reverse: true } : {}),
      onTile: (done, total) => bar.update({ done, total }),
    });
    bar.finish();
    const result = trainer.role === "segmenter" ? argmaxLabels(r, input) : makeVolume(r.data, input.shape, input.spacing, input.affine);
    await writeNifti(o.output, result);
    return result;
  } finally {
    trainer.dispose();
  }
}
