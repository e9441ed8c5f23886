// Sliding-window inference for volumes larger than the training patch: overlapping tiles, each
// prediction weighted by a Gaussian importance map (nnU-Net's: sigma = patch/8, highest at the
// tile centre) and the weighted sum divided by the summed weights. Used by translate and segment.
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";

export interface SlidingWindowOptions {
  /** Tile size in tensor order [(d,) h, w]. */
  patch: readonly number[];
  /** Fraction of a tile that neighbouring tiles overlap (default 0.5). */
  overlap?: number;
  /** Gaussian sigma as a fraction of the tile size (default 1/8); "constant" weights every voxel 1. */
  sigmaScale?: number | "constant";
  /** Called after each tile. */
  onTile?: (done: number, total: number) => void;
}

/** Tile starts along one axis: evenly spread, first at 0, last at n - p, step <= p * (1 - overlap). */
export function tileStarts(n: number, p: number, overlap: number): number[] {
  if (n <= p) return [0];
  const step = Math.max(1, Math.floor(p * (1 - overlap)));
  const count = Math.ceil((n - p) / step) + 1;
  const span = n - p;
  return Array.from({ length: count }, (_, i) => Math.round((i * span) / (count - 1)));
}

/** The Gaussian importance map of a tile, [(d,) h, w], max 1, floored at a small positive value. */
export function gaussianImportance(patch: readonly number[], sigmaScale: number | "constant" = 1 / 8): Float32Array {
  const n = patch.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (sigmaScale === "constant") return out.fill(1);
  const sig = patch.map((p) => Math.max(p * sigmaScale, 1e-3));
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    let r = i;
    let e = 0;
    for (let a = patch.length - 1; a >= 0; a--) {
      const p = patch[a]!;
      const c = r % p;
      r = Math.floor(r / p);
      const d = c - (p - 1) / 2;
      e += (d * d) / (2 * sig[a]! * sig[a]!);
    }
    out[i] = Math.exp(-e);
  }
  for (let i = 0; i < n; i++) if (out[i]! > 0 && out[i]! < min) min = out[i]!;
  // nnU-Net floors zeros to the smallest non-zero weight so every voxel gets a prediction.
  for (let i = 0; i < n; i++) if (!(out[i]! > 0)) out[i] = min;
  return out;
}

/**
 * Runs `predict` on overlapping tiles of `volume` ([(d,) h, w] in tensor order, one channel) and
 * blends the results. `predict` gets a [1, (d,) h, w, 1] tile and returns [1, (d,) h, w, C]; the
 * result is [(d,) h, w, C] channels-last. A volume smaller than the tile is padded (edge values)
 * and the padding cut off again.
 */
export function slidingWindow(
  volume: { data: Float32Array; shape: readonly number[] },
  predict: (tile: tf.Tensor) => tf.Tensor,
  opts: SlidingWindowOptions,
): { data: Float32Array; shape: number[]; channels: number } {
  const shape = [...volume.shape];
  const patch = [...opts.patch];
  if (patch.length !== shape.length) throw new UnpairedError("BAD_OPTION", `slidingWindow: a ${patch.length}D tile for a ${shape.length}D volume`);
  const overlap = opts.overlap ?? 0.5;
  if (!(overlap >= 0 && overlap < 1)) throw new UnpairedError("BAD_OPTION", `slidingWindow: overlap ${overlap} must be in [0, 1)`);
  // Pad up to at least one tile per axis.
  const padded = shape.map((n, a) => Math.max(n, patch[a]!));
  const nd = shape.length;
  const strides = (s: number[]) => s.map((_, a) => s.slice(a + 1).reduce((x, y) => x * y, 1));
  const ps = strides(padded);
  const vs = strides(shape);
  const total = padded.reduce((a, b) => a * b, 1);
  const src = new Float32Array(total);
  for (let i = 0; i < total; i++) {
    let r = i;
    let j = 0;
    for (let a = 0; a < nd; a++) {
      const c = Math.floor(r / ps[a]!);
      r -= c * ps[a]!;
      j += Math.min(c, shape[a]! - 1) * vs[a]!;
    }
    src[i] = volume.data[j]!;
  }
  const weight = gaussianImportance(patch, opts.sigmaScale ?? 1 / 8);
  const starts = padded.map((n, a) => tileStarts(n, patch[a]!, overlap));
  const tiles: number[][] = [[]];
  for (const list of starts) {
    const next: number[][] = [];
    for (const t of tiles) for (const s of list) next.push([...t, s]);
    tiles.splice(0, tiles.length, ...next);
  }
  const tileSize = patch.reduce((a, b) => a * b, 1);
  const pt = strides(patch);
  let acc: Float32Array | undefined;
  const norm = new Float32Array(total);
  let channels = 0;
  const tileIndex = (start: number[], k: number) => {
    let r = k;
    let j = 0;
    for (let a = 0; a < nd; a++) {
      const c = Math.floor(r / pt[a]!);
      r -= c * pt[a]!;
      j += (start[a]! + c) * ps[a]!;
    }
    return j;
  };
  tiles.forEach((start, t) => {
    const tile = new Float32Array(tileSize);
    for (let k = 0; k < tileSize; k++) tile[k] = src[tileIndex(start, k)]!;
    const out = tf.tidy(() => predict(tf.tensor(tile, [1, ...patch, 1])));
    const values = out.dataSync() as Float32Array;
    const c = out.shape[out.rank - 1]!;
    if (out.shape.slice(1, -1).join() !== patch.join()) {
      out.dispose();
      throw new UnpairedError("BAD_OPTION", `slidingWindow: the prediction for a [${patch}] tile has shape [${out.shape}]`);
    }
    out.dispose();
    if (!acc) {
      channels = c;
      acc = new Float32Array(total * c);
    }
    for (let k = 0; k < tileSize; k++) {
      const j = tileIndex(start, k);
      const w = weight[k]!;
      norm[j] = norm[j]! + w;
      for (let q = 0; q < c; q++) acc[j * c + q] = acc[j * c + q]! + w * values[k * c + q]!;
    }
    opts.onTile?.(t + 1, tiles.length);
  });
  // Cut the padding off and normalise.
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) {
    let r = i;
    let j = 0;
    for (let a = 0; a < nd; a++) {
      const c = Math.floor(r / vs[a]!);
      r -= c * vs[a]!;
      j += c * ps[a]!;
    }
    for (let q = 0; q < channels; q++) data[i * channels + q] = acc![j * channels + q]! / norm[j]!;
  }
  return { data, shape, channels };
}
