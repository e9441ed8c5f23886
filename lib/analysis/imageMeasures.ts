// Measures of what a translation changed in an image, as the CycleGAN lecture uses them: how far
// two image sets' intensity distributions lie apart (1-Wasserstein), how square the bright
// objects are (circles fill pi/4 of their box, squares all of it), and the texture energy inside
// objects away from their outlines.
import type { LabelVolume, Volume } from "../volume/volume.js";

/** 1-Wasserstein distance between the pooled values of two image sets (quantile matching on 512 levels). */
export function intensityDistance(a: readonly Volume[], b: readonly Volume[]): number {
  const pooled = (vs: readonly Volume[]) => {
    const all = new Float32Array(vs.reduce((n, v) => n + v.data.length, 0));
    let o = 0;
    for (const v of vs) {
      all.set(v.data, o);
      o += v.data.length;
    }
    return all.sort();
  };
  const pa = pooled(a);
  const pb = pooled(b);
  const q = 512;
  let s = 0;
  for (let k = 0; k < q; k++) {
    const p = (k + 0.5) / q;
    s += Math.abs(pa[Math.min(pa.length - 1, Math.floor(p * pa.length))]! - pb[Math.min(pb.length - 1, Math.floor(p * pb.length))]!);
  }
  return s / q;
}

/**
 * Squareness of the bright objects of a normalised image: each 4-connected component of pixels
 * above `threshold` (at least `minArea` pixels) fills this fraction of its bounding box; the mean
 * over components. A disc fills pi/4 = 0.785 of its box, an axis-aligned square 1.
 */
export function squareness(v: Volume, threshold = 0, minArea = 12): number[] {
  const [nx, ny] = v.shape as [number, number];
  const seen = new Uint8Array(nx * ny);
  const out: number[] = [];
  for (let start = 0; start < nx * ny; start++) {
    if (seen[start] || !(v.data[start]! > threshold)) continue;
    let area = 0;
    let x0 = nx, x1 = -1, y0 = ny, y1 = -1;
    const queue = [start];
    seen[start] = 1;
    while (queue.length) {
      const p = queue.pop()!;
      const x = p % nx;
      const y = (p - x) / nx;
      area++;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      const next = [x > 0 ? p - 1 : -1, x < nx - 1 ? p + 1 : -1, y > 0 ? p - nx : -1, y < ny - 1 ? p + nx : -1];
      for (const q of next) {
        if (q >= 0 && !seen[q] && v.data[q]! > threshold) {
          seen[q] = 1;
          queue.push(q);
        }
      }
    }
    if (area >= minArea) out.push(area / ((x1 - x0 + 1) * (y1 - y0 + 1)));
  }
  return out;
}

/**
 * Texture inside objects: the mean absolute difference between horizontally and vertically
 * neighbouring pixels, over object pixels at least `erode` pixels (Chebyshev) from any
 * background pixel, so outlines do not count. Stripes score high, smooth shading low.
 */
export function innerTextureEnergy(v: Volume, mask: LabelVolume, erode = 2): number {
  const [nx, ny] = v.shape as [number, number];
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < nx && y < ny && mask.data[y * nx + x]! > 0;
  let sum = 0;
  let n = 0;
  for (let y = 0; y < ny - 1; y++) {
    for (let x = 0; x < nx - 1; x++) {
      let inner = true;
      for (let dy = -erode; dy <= erode + 1 && inner; dy++) for (let dx = -erode; dx <= erode + 1 && inner; dx++) inner = inside(x + dx, y + dy);
      if (!inner) continue;
      const p = y * nx + x;
      sum += Math.abs(v.data[p + 1]! - v.data[p]!) + Math.abs(v.data[p + nx]! - v.data[p]!);
      n++;
    }
  }
  return n ? sum / (2 * n) : NaN;
}
