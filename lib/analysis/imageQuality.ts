// Image-quality metrics of translations and reconstructions, 2D and 3D: SSIM (Gaussian window),
// PSNR and mean absolute error. SSIM reproduces scikit-image's
// structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
// data_range=R) on float64 data, border handling included:
// - local means, variances and covariance come from a separable Gaussian filter (sigma 1.5,
//   truncated at 3.5 sigma: radius r = floor(3.5 sigma + 0.5) = 5, 11 taps, weights normalised to
//   sum 1), with the image mirrored at its edges as scipy.ndimage's 'reflect' mode does
//   (... c b a | a b c ... , the edge voxel repeated);
// - population (not sample) variances: v_x = G*(x²) - (G*x)²;
// - SSIM map S = (2 µx µy + C1)(2 σxy + C2) / ((µx² + µy² + C1)(σx² + σy² + C2)), C1 = (K1 R)²,
//   C2 = (K2 R)², K1 0.01, K2 0.03;
// - the mean is taken after cropping r voxels from every edge of every axis.
// Every axis must therefore hold at least 2r + 1 = 11 voxels (scikit-image refuses smaller images
// too). All arithmetic is float64; scikit-image given float32 arrays computes in float32 and
// differs from these values by ~1e-6.
import { UnpairedError } from "../util/errors.js";

/** An image: a Volume, or any flat float array with its shape ([nx, ny] or [nx, ny, nz], x fastest). */
export interface ImageInput {
  data: ArrayLike<number>;
  shape: readonly number[];
}

export interface SsimOptions {
  /** Dynamic range of the intensities (max possible - min possible), e.g. 2 for images in [-1, 1]. Required. */
  dataRange: number;
  /** Gaussian sigma in voxels; default 1.5 (window radius floor(3.5 sigma + 0.5)). */
  sigma?: number;
  /** Default 0.01. */
  k1?: number;
  /** Default 0.03. */
  k2?: number;
}

export interface PsnrOptions {
  /** Dynamic range of the intensities (max possible - min possible). Required. */
  dataRange: number;
}

function checkImagePair(what: string, a: ImageInput, b: ImageInput): [number, number, number] {
  for (const [name, v] of [["first image", a], ["second image", b]] as const) {
    if (!v || !v.data || !Array.isArray(v.shape)) throw new UnpairedError("BAD_VOLUME", `${what}: the ${name} must be a volume ({ data, shape })`);
    if ((v.shape.length !== 2 && v.shape.length !== 3) || !v.shape.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new UnpairedError("BAD_VOLUME", `${what}: the ${name} has shape [${v.shape}]; it must be [nx, ny] or [nx, ny, nz] of positive whole numbers`);
    }
    const n = v.shape.reduce((x, y) => x * y, 1);
    if (v.data.length !== n) throw new UnpairedError("BAD_VOLUME", `${what}: the ${name} has ${v.data.length} voxels but its shape [${v.shape}] holds ${n}`);
  }
  if (a.shape.length !== b.shape.length || a.shape.some((n, i) => n !== b.shape[i])) {
    throw new UnpairedError("BAD_VOLUME", `${what}: the images have shapes [${a.shape}] and [${b.shape}]; compare images of one grid (resample or crop first)`);
  }
  return [a.shape[0]!, a.shape[1]!, a.shape.length === 3 ? a.shape[2]! : 1];
}

function checkRange(what: string, options: { dataRange?: number } | undefined): number {
  const r = options?.dataRange;
  if (typeof r !== "number" || !Number.isFinite(r) || r <= 0) {
    throw new UnpairedError("BAD_CONFIG", `${what}: options.dataRange must be the images' positive intensity range (e.g. 2 for [-1, 1], 1 for [0, 1]); got ${r}`);
  }
  return r;
}

/** Mean squared error. */
export function mse(a: ImageInput, b: ImageInput): number {
  checkImagePair("mse", a, b);
  const x = a.data;
  const y = b.data;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - y[i]!;
    s += d * d;
  }
  return s / x.length;
}

/** Mean absolute error (L1). */
export function mae(a: ImageInput, b: ImageInput): number {
  checkImagePair("mae", a, b);
  const x = a.data;
  const y = b.data;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.abs(x[i]! - y[i]!);
  return s / x.length;
}

/** PSNR in dB = 10 log10(dataRange² / MSE); Infinity for identical images. */
export function psnr(reference: ImageInput, test: ImageInput, options: PsnrOptions): number {
  const r = checkRange("psnr", options);
  const e = mse(reference, test);
  return e === 0 ? Infinity : 10 * Math.log10((r * r) / e);
}

/** Mean SSIM (see the header for the exact definition). */
export function ssim(a: ImageInput, b: ImageInput, options: SsimOptions): number {
  return ssimCompute("ssim", a, b, options, false).ssim;
}

/** Mean SSIM and the full SSIM map (every voxel, borders included, as scikit-image's full=True). */
export function ssimMap(a: ImageInput, b: ImageInput, options: SsimOptions): { ssim: number; map: Float64Array } {
  const r = ssimCompute("ssimMap", a, b, options, true);
  return { ssim: r.ssim, map: r.map! };
}

/** The mask's voxel indices, checked against the images' grid. */
function maskIndices(what: string, mask: ArrayLike<number>, n: number): Int32Array {
  if (mask.length !== n) throw new UnpairedError("BAD_VOLUME", `${what}: the mask has ${mask.length} voxels, the images ${n}; give a mask on the images' grid`);
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (mask[i]) idx.push(i);
  if (idx.length === 0) throw new UnpairedError("BAD_VOLUME", `${what}: the mask selects no voxel`);
  return Int32Array.from(idx);
}

/**
 * SSIM within a mask (e.g. the brain of a skull-stripped volume): the SSIM map of the whole images
 * (as ssimMap, borders included) averaged over the masked voxels, so the background, where any
 * two methods agree, does not inflate the score.
 */
export function maskedSsim(a: ImageInput, b: ImageInput, mask: ArrayLike<number>, options: SsimOptions): number {
  const { map } = ssimMap(a, b, options);
  const idx = maskIndices("maskedSsim", mask, map.length);
  let s = 0;
  for (const i of idx) s += map[i]!;
  return s / idx.length;
}

/** Mean absolute error over the masked voxels. */
export function maskedMae(a: ImageInput, b: ImageInput, mask: ArrayLike<number>): number {
  checkImagePair("maskedMae", a, b);
  const idx = maskIndices("maskedMae", mask, a.data.length);
  let s = 0;
  for (const i of idx) s += Math.abs(a.data[i]! - b.data[i]!);
  return s / idx.length;
}

/** Normalised Gaussian taps exp(-x²/(2σ²)), x = -r..r. */
function gaussianTaps(sigma: number, radius: number): Float64Array {
  const w = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let j = -radius; j <= radius; j++) sum += w[j + radius] = Math.exp((-0.5 / (sigma * sigma)) * j * j);
  for (let j = 0; j < w.length; j++) w[j]! /= sum;
  return w;
}

/** 'reflect' boundary: index i of a line of n mirrored about the edges (edge voxel repeated). */
function reflect(i: number, n: number): number {
  const period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

/** For every position of a line of n, the index of each of its 2r+1 taps under 'reflect'. */
function tapTable(n: number, r: number): Int32Array {
  const win = 2 * r + 1;
  const t = new Int32Array(n * win);
  for (let x = 0; x < n; x++) for (let j = 0; j < win; j++) t[x * win + j] = reflect(x + j - r, n);
  return t;
}

function ssimCompute(what: string, a: ImageInput, b: ImageInput, options: SsimOptions, wantMap: boolean): { ssim: number; map?: Float64Array } {
  const [nx, ny, nz] = checkImagePair(what, a, b);
  const R = checkRange(what, options);
  const sigma = options.sigma ?? 1.5;
  const k1 = options.k1 ?? 0.01;
  const k2 = options.k2 ?? 0.03;
  if (!(sigma > 0 && Number.isFinite(sigma))) throw new UnpairedError("BAD_CONFIG", `${what}: sigma ${sigma} must be a positive number of voxels (default 1.5)`);
  if (!(k1 >= 0 && k2 >= 0)) throw new UnpairedError("BAD_CONFIG", `${what}: k1 ${k1} and k2 ${k2} must be non-negative (defaults 0.01, 0.03)`);
  const is3d = a.shape.length === 3;
  const r = Math.floor(3.5 * sigma + 0.5);
  const win = 2 * r + 1;
  if (a.shape.some((n) => n < win)) {
    throw new UnpairedError(
      "BAD_VOLUME",
      `${what}: shape [${a.shape}] has an axis shorter than the ${win}-voxel Gaussian window; every axis needs at least ${win} voxels (for thin 3D volumes compute SSIM on 2D slices)`,
    );
  }
  const w = gaussianTaps(sigma, r);
  const C1 = (k1 * R) ** 2;
  const C2 = (k2 * R) ** 2;
  const plane = nx * ny;
  const X = a.data;
  const Y = b.data;
  const tx = tapTable(nx, r);
  const ty = tapTable(ny, r);
  const tz = tapTable(nz, r);

  // Ring of x/y-filtered planes (5 quantities each: x, y, x², y², xy), one slot per slice of the
  // z window; a 2D image has one slot. Everything below reuses these buffers.
  const slots = is3d ? win : 1;
  const ring = Array.from({ length: slots }, () => Array.from({ length: 5 }, () => new Float64Array(plane)));
  const rows = Array.from({ length: 5 }, () => new Float64Array(nx));
  const xf = Array.from({ length: 5 }, () => new Float64Array(plane));
  const mu = is3d ? Array.from({ length: 5 }, () => new Float64Array(plane)) : null;

  const filterPlane = (z: number, dest: Float64Array[]): void => {
    const off = z * plane;
    // Along x: the five products of each row, then the taps.
    for (let y = 0; y < ny; y++) {
      const o = off + y * nx;
      const [p0, p1, p2, p3, p4] = rows as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
      for (let x = 0; x < nx; x++) {
        const u = X[o + x]!;
        const v = Y[o + x]!;
        p0[x] = u;
        p1[x] = v;
        p2[x] = u * u;
        p3[x] = v * v;
        p4[x] = u * v;
      }
      for (let q = 0; q < 5; q++) {
        const p = rows[q]!;
        const out = xf[q]!;
        const ro = y * nx;
        for (let x = 0; x < nx; x++) {
          let s = 0;
          if (x >= r && x < nx - r) {
            for (let j = 0, i = x - r; j < win; j++, i++) s += w[j]! * p[i]!;
          } else {
            for (let j = 0, t = x * win; j < win; j++, t++) s += w[j]! * p[tx[t]!]!;
          }
          out[ro + x] = s;
        }
      }
    }
    // Along y: whole rows at a time.
    for (let q = 0; q < 5; q++) {
      const src = xf[q]!;
      const out = dest[q]!;
      out.fill(0);
      for (let y = 0; y < ny; y++) {
        const ro = y * nx;
        for (let j = 0; j < win; j++) {
          const wj = w[j]!;
          const so = ty[y * win + j]! * nx;
          for (let x = 0; x < nx; x++) out[ro + x]! += wj * src[so + x]!;
        }
      }
    }
  };

  const map = wantMap ? new Float64Array(plane * nz) : null;
  let sum = 0;
  const zLo = is3d ? r : 0;
  const zHi = is3d ? nz - r : 1;
  const kFrom = wantMap ? 0 : zLo;
  const kTo = wantMap ? nz : zHi;
  let loaded = -1; // the highest slice filtered into the ring so far
  for (let k = kFrom; k < kTo; k++) {
    let m: Float64Array[];
    if (is3d) {
      // Slices k-r..k+r mirrored into [0, nz) all lie within [k-r, k+r] (nz >= 2r + 1), so a ring
      // of 2r + 1 slots filled in slice order holds every one of them.
      const need = Math.min(nz - 1, k + r);
      while (loaded < need) {
        loaded++;
        filterPlane(loaded, ring[loaded % win]!);
      }
      m = mu!;
      for (let q = 0; q < 5; q++) m[q]!.fill(0);
      for (let j = 0; j < win; j++) {
        const wj = w[j]!;
        const slot = ring[tz[k * win + j]! % win]!;
        for (let q = 0; q < 5; q++) {
          const src = slot[q]!;
          const out = m[q]!;
          for (let i = 0; i < plane; i++) out[i]! += wj * src[i]!;
        }
      }
    } else {
      filterPlane(0, ring[0]!);
      m = ring[0]!;
    }
    const [ux, uy, uxx, uyy, uxy] = m as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    const inZ = k >= zLo && k < zHi;
    for (let y = 0; y < ny; y++) {
      const inY = inZ && y >= r && y < ny - r;
      for (let x = 0, i = y * nx; x < nx; x++, i++) {
        const mx = ux[i]!;
        const my = uy[i]!;
        const vx = uxx[i]! - mx * mx;
        const vy = uyy[i]! - my * my;
        const vxy = uxy[i]! - mx * my;
        const s = ((2 * mx * my + C1) * (2 * vxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
        if (map) map[k * plane + i] = s;
        if (inY && x >= r && x < nx - r) sum += s;
      }
    }
  }
  const count = (nx - 2 * r) * (ny - 2 * r) * (is3d ? nz - 2 * r : 1);
  return map ? { ssim: sum / count, map } : { ssim: sum / count };
}

/**
 * Pearson correlation of two images over the masked voxels: +1 when one is an increasing linear
 * function of the other, -1 when a decreasing one (an inverted contrast). NaN when either is
 * constant there.
 */
export function maskedCorrelation(a: ImageInput, b: ImageInput, mask: ArrayLike<number>): number {
  checkImagePair("maskedCorrelation", a, b);
  const idx = maskIndices("maskedCorrelation", mask, a.data.length);
  let ma = 0;
  let mb = 0;
  for (const i of idx) {
    ma += a.data[i]!;
    mb += b.data[i]!;
  }
  ma /= idx.length;
  mb /= idx.length;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (const i of idx) {
    const da = a.data[i]! - ma;
    const db = b.data[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}
