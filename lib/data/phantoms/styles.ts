// Scanner styles for the ear MRI phantom: what one site's scanner and protocol does to an image
// (intensity curve, contrast, bias field, noise, blur, slice thickness, native pixel size).
import { UnpairedError } from "../../util/errors.js";
import type { Rng } from "../../util/random.js";
import { addNoise, biasField, gaussianBlur, makeGrid, resampleInPlane, type NoiseKind } from "./draw.js";

export type EarModality = "ceT1" | "T2";
export type EarSite = "etz" | "ldn" | "ukm";
export const EAR_SITES: readonly EarSite[] = ["etz", "ldn", "ukm"];

/** One scanner + protocol. Intensities enter on a 0..1000 scale (tissue contrast already set). */
export interface ScannerStyle {
  /** The true style, e.g. "ldn-T2" or "ukm-T2-b". */
  name: string;
  /** The named sub-dataset whose images carry this style. */
  site: EarSite;
  modality: EarModality;
  /** Intensity curve y = offset + contrast * x^gamma on x = intensity / 1000. */
  gamma: number;
  contrast: number;
  offset: number;
  /** Standard deviation of the log bias field over the field of view (0.1: about +-10 % shading). */
  biasStrength: number;
  /** Noise standard deviation as a fraction of 1000. */
  noise: number;
  noiseKind: NoiseKind;
  /** In-plane point spread (Gaussian sigma, mm). */
  inPlaneBlurMm: number;
  /** Slice profile along z (Gaussian sigma, mm): thick slices blur across z. */
  sliceBlurMm: number;
  /** Native in-plane pixel size (mm): the image is acquired at this size, then interpolated onto the output grid. */
  pixelMm: number;
  /** Overall scale of the site's stored intensities. */
  gain: number;
}

const style = (s: ScannerStyle): ScannerStyle => Object.freeze(s);

/** The three source (ceT1) styles, one per site. */
export const SOURCE_STYLES: readonly ScannerStyle[] = Object.freeze([
  style({ name: "etz-ceT1", site: "etz", modality: "ceT1", gamma: 1.0, contrast: 1.0, offset: 0.02, biasStrength: 0.08, noise: 0.02, noiseKind: "rician", inPlaneBlurMm: 0.15, sliceBlurMm: 0.35, pixelMm: 0.41, gain: 1.0 }),
  style({ name: "ldn-ceT1", site: "ldn", modality: "ceT1", gamma: 0.75, contrast: 0.9, offset: 0.05, biasStrength: 0.25, noise: 0.035, noiseKind: "rician", inPlaneBlurMm: 0.2, sliceBlurMm: 0.8, pixelMm: 0.55, gain: 0.75 }),
  style({ name: "ukm-ceT1", site: "ukm", modality: "ceT1", gamma: 1.3, contrast: 1.05, offset: 0.0, biasStrength: 0.15, noise: 0.012, noiseKind: "gaussian", inPlaneBlurMm: 0.3, sliceBlurMm: 0.3, pixelMm: 0.41, gain: 1.3 }),
]);

/**
 * The four true target (T2) styles. Sub-dataset "ukm" secretly mixes two scanners (ukm-T2-a and
 * ukm-T2-b), so the three named target sub-datasets hold four styles.
 */
export const TARGET_STYLES: readonly ScannerStyle[] = Object.freeze([
  // Sharp and clean, neutral curve.
  style({ name: "etz-T2", site: "etz", modality: "T2", gamma: 1.0, contrast: 1.0, offset: 0.02, biasStrength: 0.08, noise: 0.015, noiseKind: "rician", inPlaneBlurMm: 0.1, sliceBlurMm: 0.3, pixelMm: 0.41, gain: 1.0 }),
  // Smooth and quiet: thick slices, brightened mid-tones, low contrast.
  style({ name: "ldn-T2", site: "ldn", modality: "T2", gamma: 0.65, contrast: 0.85, offset: 0.06, biasStrength: 0.15, noise: 0.01, noiseKind: "gaussian", inPlaneBlurMm: 0.25, sliceBlurMm: 0.6, pixelMm: 0.41, gain: 0.7 }),
  // Noisy with strong coil shading and darkened mid-tones.
  style({ name: "ukm-T2-a", site: "ukm", modality: "T2", gamma: 1.6, contrast: 1.1, offset: 0.0, biasStrength: 0.28, noise: 0.08, noiseKind: "rician", inPlaneBlurMm: 0.0, sliceBlurMm: 0.25, pixelMm: 0.41, gain: 1.25 }),
  // Coarse native pixels (interpolated, blocky noise) and a raised floor.
  style({ name: "ukm-T2-b", site: "ukm", modality: "T2", gamma: 1.15, contrast: 0.8, offset: 0.2, biasStrength: 0.06, noise: 0.03, noiseKind: "gaussian", inPlaneBlurMm: 0.1, sliceBlurMm: 0.45, pixelMm: 0.75, gain: 0.9 }),
]);

/** Every style by name. */
export function earStyle(name: string): ScannerStyle {
  const s = [...SOURCE_STYLES, ...TARGET_STYLES].find((t) => t.name === name);
  if (!s) {
    const names = [...SOURCE_STYLES, ...TARGET_STYLES].map((t) => t.name).join(", ");
    throw new UnpairedError("BAD_OPTION", `unknown ear phantom style "${name}"; choose one of ${names}`);
  }
  return s;
}

/** The styles of one sub-dataset (site) of a modality: one, or two for the mixed target "ukm". */
export function stylesOfSite(modality: EarModality, site: EarSite): ScannerStyle[] {
  return (modality === "ceT1" ? SOURCE_STYLES : TARGET_STYLES).filter((s) => s.site === site);
}

/** A style with small per-subject variation (one scanner never gives two identical images). */
export function jitterStyle(s: ScannerStyle, rng: Rng): ScannerStyle {
  const j = (v: number, rel: number) => v * (1 + rel * rng.normal());
  return {
    ...s,
    gamma: j(s.gamma, 0.03),
    contrast: j(s.contrast, 0.03),
    offset: Math.max(0, s.offset + 0.005 * rng.normal()),
    biasStrength: Math.max(0, j(s.biasStrength, 0.15)),
    noise: Math.max(0, j(s.noise, 0.1)),
    gain: j(s.gain, 0.05),
  };
}

/**
 * Renders an image in a scanner style. `ideal` is the tissue-contrast image on a 0..1000 scale
 * ([nx, ny, nz], `spacing` in mm); returns a new array: curve -> blur (PSF, slice profile) ->
 * bias field -> acquisition at the native pixel size with noise -> interpolation to the grid ->
 * gain. The result is non-negative.
 */
export function applyScannerStyle(ideal: Float32Array, shape: readonly number[], spacing: readonly number[], s: ScannerStyle, rng: Rng): Float32Array {
  const grid = makeGrid(shape, spacing);
  // The intensity curve through a lookup table on x = intensity / 1000 in [0, 2].
  const steps = 4096;
  const lut = new Float64Array(steps + 2);
  for (let q = 0; q <= steps + 1; q++) lut[q] = 1000 * (s.offset + s.contrast * ((2 * q) / steps) ** s.gamma);
  let img: Float32Array = new Float32Array(ideal.length);
  for (let i = 0; i < ideal.length; i++) {
    const u = Math.min(steps, (Math.max(0, ideal[i]!) / 2000) * steps);
    const q = Math.floor(u);
    img[i] = lut[q]! + (u - q) * (lut[q + 1]! - lut[q]!);
  }
  const scale = Math.max(1, s.pixelMm / grid.sx);
  // Anti-aliasing for a coarser native grid goes into the in-plane blur.
  const psf = Math.hypot(s.inPlaneBlurMm, scale > 1.05 ? 0.4 * s.pixelMm : 0);
  img = gaussianBlur(img, shape, [psf / grid.sx, psf / grid.sy, grid.nz > 1 ? s.sliceBlurMm / grid.sz : 0]);
  const bias = biasField(rng.fork("bias"), grid, s.biasStrength, 2);
  for (let i = 0; i < img.length; i++) img[i] = img[i]! * bias[i]!;
  const noiseRng = rng.fork("noise");
  if (scale > 1.05) {
    const mx = Math.max(2, Math.round(grid.nx / scale));
    const my = Math.max(2, Math.round(grid.ny / scale));
    const coarse = resampleInPlane(img, shape, mx, my);
    addNoise(coarse, noiseRng, s.noise * 1000, s.noiseKind);
    img = resampleInPlane(coarse, [mx, my, grid.nz], grid.nx, grid.ny);
  } else {
    addNoise(img, noiseRng, s.noise * 1000, s.noiseKind);
  }
  for (let i = 0; i < img.length; i++) img[i] = Math.max(0, img[i]! * s.gain);
  return img;
}
