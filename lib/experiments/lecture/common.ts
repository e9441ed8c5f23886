// Small helpers the CycleGAN lecture's studies share: the data root and derived-data folder of a
// config, stacking 2D images into a batch tensor and back, means, and grey display slices.
import { resolve } from "node:path";
import { tf } from "../../engine/tf.js";
import { makeVolume, type LabelVolume, type Volume } from "../../volume/volume.js";
import { sliceOf, windowLevel, type WindowSpec } from "../../viz/imageGrid.js";
import type { Bitmap } from "../../viz/png.js";
import type { ExperimentConfig } from "../framework/types.js";

/** The data root cachedRun opens manifests with (the user's --data-root, else a phantom override). */
export function dataRootOf(cfg: ExperimentConfig): string | undefined {
  return cfg.dataRoot ?? cfg.phantomRoot;
}

export const derivedDir = (cfg: ExperimentConfig) => resolve(cfg.runsDir, "derived");

/** Normalised 2D images [nx, ny] (as training sees them) stacked as a [n, ny, nx, 1] tensor. */
export function stack(images: readonly Volume[]): tf.Tensor4D {
  const [nx, ny] = images[0]!.shape as [number, number];
  const data = new Float32Array(images.length * nx * ny);
  images.forEach((v, i) => data.set(v.data, i * nx * ny));
  return tf.tensor4d(data, [images.length, ny, nx, 1]);
}

/** The images of a [n, ny, nx, 1] tensor as 2D volumes. */
export function unstack(t: tf.Tensor): Volume[] {
  const [n, ny, nx] = t.shape as [number, number, number, number];
  const data = t.dataSync() as Float32Array;
  return Array.from({ length: n }, (_, i) => makeVolume(data.slice(i * nx * ny, (i + 1) * nx * ny), [nx, ny]));
}

export const meanOf = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export function meanAbs(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

export const grey = (v: Volume | LabelVolume, spec: WindowSpec = { range: [-1, 1] }): Bitmap => windowLevel(sliceOf(v), spec);
