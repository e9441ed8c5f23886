// Drawing primitives shared by the embedded phantoms: voxel grids in mm, signed distances of
// simple shapes, tubes along curves, smooth random fields, Gaussian blur, bias fields and noise.
import type { Rng } from "../../util/random.js";
import { gaussianSmooth } from "../gaussian.js";

export type Vec3 = [number, number, number];

/** A voxel grid with mm coordinates centred on the middle of the field of view (2D: nz = 1). */
export interface Grid {
  nx: number;
  ny: number;
  nz: number;
  /** Voxel size in mm along x, y, z (z is 1 for a 2D grid). */
  sx: number;
  sy: number;
  sz: number;
  /** Centre of each column / row / slice in mm, zero at the middle of the volume. */
  xs: Float64Array;
  ys: Float64Array;
  zs: Float64Array;
  /** Number of voxels. */
  n: number;
}

/** The grid of a volume of `shape` ([nx, ny] or [nx, ny, nz]) and `spacing` (mm). */
export function makeGrid(shape: readonly number[], spacing: readonly number[]): Grid {
  const nx = shape[0]!;
  const ny = shape[1]!;
  const nz = shape[2] ?? 1;
  const sx = spacing[0]!;
  const sy = spacing[1]!;
  const sz = spacing[2] ?? 1;
  const axis = (n: number, s: number) => Float64Array.from({ length: n }, (_, i) => (i - (n - 1) / 2) * s);
  return { nx, ny, nz, sx, sy, sz, xs: axis(nx, sx), ys: axis(ny, sy), zs: axis(nz, sz), n: nx * ny * nz };
}

// ---- small vector algebra -------------------------------------------------------------------

export const vadd = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const vsub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const vscale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
export const vdot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const vcross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
export const vnorm = (a: Vec3): number => Math.hypot(a[0], a[1], a[2]);
/** a + s * b */
export const vaxpy = (a: Vec3, s: number, b: Vec3): Vec3 => [a[0] + s * b[0], a[1] + s * b[1], a[2] + s * b[2]];

export function vunit(a: Vec3): Vec3 {
  const n = vnorm(a);
  return n > 0 ? [a[0] / n, a[1] / n, a[2] / n] : [1, 0, 0];
}

/** Rotates `v` by `angle` radians about the unit `axis` (Rodrigues). */
export function vrotate(v: Vec3, axis: Vec3, angle: number): Vec3 {
  const k = vunit(axis);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const kxv = vcross(k, v);
  const kdv = vdot(k, v);
  return [
    v[0] * c + kxv[0] * s + k[0] * kdv * (1 - c),
    v[1] * c + kxv[1] * s + k[1] * kdv * (1 - c),
    v[2] * c + kxv[2] * s + k[2] * kdv * (1 - c),
  ];
}

/** An orthonormal frame [u, v, w] with u along `dir` and v as close as possible to `hint`. */
export function frameAlong(dir: Vec3, hint: Vec3): [Vec3, Vec3, Vec3] {
  const u = vunit(dir);
  let v = vsub(hint, vscale(u, vdot(hint, u)));
  if (vnorm(v) < 1e-6) v = Math.abs(u[0]) < 0.9 ? vsub([1, 0, 0], vscale(u, u[0])) : vsub([0, 1, 0], vscale(u, u[1]));
  v = vunit(v);
  return [u, v, vcross(u, v)];
}

// ---- signed distances (negative inside, in mm; approximate away from the surface) -----------

/** Partial-volume coverage of a voxel by a shape: 1 deep inside, 0 outside, linear over `width` mm. */
export function coverage(sdf: number, width: number): number {
  const a = 0.5 - sdf / width;
  return a <= 0 ? 0 : a >= 1 ? 1 : a;
}

/** An axis-aligned box in mm: [x0, x1, y0, y1, z0, z1]. */
export type Box = [number, number, number, number, number, number];

export const inBox = (b: Box, x: number, y: number, z: number): boolean =>
  x >= b[0] && x <= b[1] && y >= b[2] && y <= b[3] && z >= b[4] && z <= b[5];

/** The box around points, grown by `pad` mm. */
export function boxAround(points: readonly Vec3[], pad: number): Box {
  const b: Box = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
  for (const p of points) {
    for (let a = 0; a < 3; a++) {
      b[2 * a] = Math.min(b[2 * a]!, p[a]! - pad);
      b[2 * a + 1] = Math.max(b[2 * a + 1]!, p[a]! + pad);
    }
  }
  return b;
}

/** A capsule (segment a-b swept by a radius that goes linearly from ra to rb). */
export class Capsule {
  private readonly ab: Vec3;
  private readonly inv: number;
  constructor(readonly a: Vec3, readonly b: Vec3, readonly ra: number, readonly rb: number) {
    this.ab = vsub(b, a);
    const l2 = vdot(this.ab, this.ab);
    this.inv = l2 > 0 ? 1 / l2 : 0;
  }

  sdf(x: number, y: number, z: number): number {
    const px = x - this.a[0];
    const py = y - this.a[1];
    const pz = z - this.a[2];
    let t = (px * this.ab[0] + py * this.ab[1] + pz * this.ab[2]) * this.inv;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const dx = px - t * this.ab[0];
    const dy = py - t * this.ab[1];
    const dz = pz - t * this.ab[2];
    return Math.sqrt(dx * dx + dy * dy + dz * dz) - (this.ra + t * (this.rb - this.ra));
  }

  /** A box holding every point within `pad` mm of the capsule. */
  bounds(pad: number): Box {
    return boxAround([this.a, this.b], Math.max(this.ra, this.rb) + pad);
  }
}

/** An ellipsoid with centre c, orthonormal axes e[0..2] and radii r[0..2]. */
export class Ellipsoid {
  private readonly m: number[];
  constructor(readonly c: Vec3, axes: readonly Vec3[], readonly r: readonly number[]) {
    this.m = [];
    for (const e of axes) this.m.push(e[0], e[1], e[2]);
  }

  /** The usual ellipsoid distance bound k0 (k0 - 1) / k1: exact on the surface, close nearby. */
  sdf(x: number, y: number, z: number): number {
    const px = x - this.c[0];
    const py = y - this.c[1];
    const pz = z - this.c[2];
    const m = this.m;
    const q0 = px * m[0]! + py * m[1]! + pz * m[2]!;
    const q1 = px * m[3]! + py * m[4]! + pz * m[5]!;
    const q2 = px * m[6]! + py * m[7]! + pz * m[8]!;
    const r0 = this.r[0]!;
    const r1 = this.r[1]!;
    const r2 = this.r[2]!;
    const k0 = Math.sqrt((q0 / r0) ** 2 + (q1 / r1) ** 2 + (q2 / r2) ** 2);
    const k1 = Math.sqrt((q0 / (r0 * r0)) ** 2 + (q1 / (r1 * r1)) ** 2 + (q2 / (r2 * r2)) ** 2);
    return k1 > 0 ? (k0 * (k0 - 1)) / k1 : -Math.min(r0, r1, r2);
  }

  /** A box holding every point within `pad` mm of the ellipsoid. */
  bounds(pad: number): Box {
    return boxAround([this.c], Math.max(...this.r) + pad);
  }
}

/** A shape with a signed distance and a bounding box. */
export interface Shape {
  sdf(x: number, y: number, z: number): number;
  bounds(pad: number): Box;
}

/**
 * Adds a shape to a distance map: writes min(current, distance) for the voxels within `pad` mm
 * of the shape's box (others are left as they are, so start from a large value). With
 * `subtract` it cuts the shape out instead: max(current, -distance) (start from a large
 * negative value).
 */
export function rasterise(grid: Grid, shape: Shape, pad: number, sdf: Float32Array, subtract = false): void {
  const [i0, i1, j0, j1, k0, k1] = voxelRange(grid, shape.bounds(pad));
  const { nx, ny, xs, ys, zs } = grid;
  for (let k = k0; k <= k1; k++) {
    const z = zs[k]!;
    for (let j = j0; j <= j1; j++) {
      const y = ys[j]!;
      const row = (k * ny + j) * nx;
      for (let i = i0; i <= i1; i++) {
        const d = shape.sdf(xs[i]!, y, z);
        if (subtract) {
          if (-d > sdf[row + i]!) sdf[row + i] = -d;
        } else if (d < sdf[row + i]!) sdf[row + i] = d;
      }
    }
  }
}

/** The voxel index ranges [i0, i1, j0, j1, k0, k1] (inclusive, clipped) whose centres lie in a box. */
export function voxelRange(grid: Grid, b: Box): [number, number, number, number, number, number] {
  const r = (lo: number, hi: number, c: Float64Array, s: number) => {
    const n = c.length;
    const a = Math.max(0, Math.ceil((lo - c[0]!) / s));
    const z = Math.min(n - 1, Math.floor((hi - c[0]!) / s));
    return [a, z] as const;
  };
  const [i0, i1] = r(b[0], b[1], grid.xs, grid.sx);
  const [j0, j1] = r(b[2], b[3], grid.ys, grid.sy);
  const [k0, k1] = r(b[4], b[5], grid.zs, grid.sz);
  return [i0, i1, j0, j1, k0, k1];
}

/**
 * A tube along a sampled curve: writes min(current, distance - radius) into `sdf` for the voxels
 * within `margin` mm of the tube (others are left as they are, so start from +Infinity).
 * Sample the curve more finely than the smallest radius.
 */
export function splatTube(grid: Grid, points: readonly Vec3[], radii: readonly number[], sdf: Float32Array, margin = 1): void {
  const { nx, ny, nz, sx, sy, sz, xs, ys, zs } = grid;
  const x0 = xs[0]!;
  const y0 = ys[0]!;
  const z0 = zs[0]!;
  for (let p = 0; p < points.length; p++) {
    const [cx, cy, cz] = points[p]!;
    const r = radii[p]!;
    const reach = r + margin;
    const i0 = Math.max(0, Math.floor((cx - reach - x0) / sx));
    const i1 = Math.min(nx - 1, Math.ceil((cx + reach - x0) / sx));
    const j0 = Math.max(0, Math.floor((cy - reach - y0) / sy));
    const j1 = Math.min(ny - 1, Math.ceil((cy + reach - y0) / sy));
    const k0 = Math.max(0, Math.floor((cz - reach - z0) / sz));
    const k1 = Math.min(nz - 1, Math.ceil((cz + reach - z0) / sz));
    for (let k = k0; k <= k1; k++) {
      const dz = zs[k]! - cz;
      for (let j = j0; j <= j1; j++) {
        const dy = ys[j]! - cy;
        const row = (k * ny + j) * nx;
        for (let i = i0; i <= i1; i++) {
          const dx = xs[i]! - cx;
          const d = Math.sqrt(dx * dx + dy * dy + dz * dz) - r;
          if (d < sdf[row + i]!) sdf[row + i] = d;
        }
      }
    }
  }
}

// ---- smooth random fields -------------------------------------------------------------------

/** Per-axis lattice lookups: lower lattice index and linear weight of each coordinate. */
function latticeAxis(coords: Float64Array, cell: number, offset: number): { i0: Int32Array; w: Float64Array; size: number } {
  const n = coords.length;
  const i0 = new Int32Array(n);
  const w = new Float64Array(n);
  const start = coords[0]! - offset;
  let size = 2;
  for (let i = 0; i < n; i++) {
    const u = (coords[i]! - start) / cell;
    const f = Math.floor(u);
    i0[i] = f;
    w[i] = u - f;
    size = Math.max(size, f + 2);
  }
  return { i0, w, size };
}

/**
 * A smooth random field over `grid` with features about `scaleMm` across: white noise on a
 * lattice of half that spacing, Gaussian-blurred (so the field is isotropic, with no grid-aligned
 * features) and interpolated; summed over `octaves` (each half the scale and half the weight),
 * then shifted and scaled to zero mean and unit standard deviation.
 */
export function smoothField(rng: Rng, grid: Grid, scaleMm: number, octaves = 1): Float32Array {
  const out = new Float32Array(grid.n);
  let weight = 1;
  for (let o = 0; o < octaves; o++) {
    addLatticeNoise(rng, grid, scaleMm / 2 ** o, weight, out);
    weight *= 0.5;
  }
  let sum = 0;
  let ss = 0;
  for (let i = 0; i < out.length; i++) {
    const v = out[i]!;
    sum += v;
    ss += v * v;
  }
  const mean = sum / out.length;
  const variance = ss / out.length - mean * mean;
  const inv = variance > 0 ? 1 / Math.sqrt(variance) : 0;
  for (let i = 0; i < out.length; i++) out[i] = (out[i]! - mean) * inv;
  return out;
}

function addLatticeNoise(rng: Rng, grid: Grid, scale: number, weight: number, out: Float32Array): void {
  // Lattice cells of half the scale (never finer than the voxels), blurred by half the scale.
  const cells = [Math.max(scale / 2, grid.sx), Math.max(scale / 2, grid.sy), Math.max(scale / 2, grid.sz)];
  const sigma = cells.map((c) => scale / 2 / c);
  // The lattice reaches 3 blur sigmas past the field of view on every side.
  const margin = (a: number) => Math.ceil(3 * sigma[a]!) * cells[a]!;
  const ax = latticeAxis(grid.xs, cells[0]!, margin(0) + rng.range(0, cells[0]!));
  const ay = latticeAxis(grid.ys, cells[1]!, margin(1) + rng.range(0, cells[1]!));
  const flat = grid.nz === 1;
  const az = flat ? { i0: new Int32Array(1), w: new Float64Array(1), size: 1 } : latticeAxis(grid.zs, cells[2]!, margin(2) + rng.range(0, cells[2]!));
  const lx = ax.size + Math.ceil(3 * sigma[0]!);
  const ly = ay.size + Math.ceil(3 * sigma[1]!);
  const lz = flat ? 1 : az.size + Math.ceil(3 * sigma[2]!);
  // Uniform white noise: once blurred it is as good as Gaussian (and much cheaper to draw).
  const lattice = gaussianBlur(fastUniforms(rng, lx * ly * lz), flat ? [lx, ly] : [lx, ly, lz], sigma, 2);
  const { nx, ny, nz } = grid;
  // Per row, collapse the lattice over y and z first; each voxel is then one lerp along x.
  const row = new Float64Array(lx);
  let idx = 0;
  for (let k = 0; k < nz; k++) {
    const kz = az.i0[k]!;
    const wz = az.w[k]!;
    const kz1 = flat ? kz : kz + 1;
    for (let j = 0; j < ny; j++) {
      const jy = ay.i0[j]!;
      const wy = ay.w[j]!;
      const b00 = (kz * ly + jy) * lx;
      const b10 = (kz * ly + jy + 1) * lx;
      const b01 = (kz1 * ly + jy) * lx;
      const b11 = (kz1 * ly + jy + 1) * lx;
      for (let c = 0; c < lx; c++) {
        const c0 = lattice[b00 + c]! + wy * (lattice[b10 + c]! - lattice[b00 + c]!);
        const c1 = lattice[b01 + c]! + wy * (lattice[b11 + c]! - lattice[b01 + c]!);
        row[c] = c0 + wz * (c1 - c0);
      }
      for (let i = 0; i < nx; i++, idx++) {
        const ix = ax.i0[i]!;
        const r0 = row[ix]!;
        out[idx] = out[idx]! + weight * (r0 + ax.w[i]! * (row[ix + 1]! - r0));
      }
    }
  }
}

// ---- filters --------------------------------------------------------------------------------


/**
 * Separable Gaussian blur with sigma in voxels per axis (edges replicated, kernel cut at
 * `truncate` sigmas): lib/data/gaussian.ts's smoothing, with axes whose sigma is below a
 * quarter voxel left untouched (a blur that small only costs time).
 */
export function gaussianBlur(data: Float32Array, shape: readonly number[], sigma: readonly number[], truncate = 3): Float32Array {
  const sig = shape.map((n, a) => ((sigma[a] ?? 0) >= 0.25 && n > 1 ? sigma[a]! : 0));
  return gaussianSmooth(data, shape, sig, { truncate, border: "edge" });
}

/**
 * Bilinear resampling of each slice of a [nx, ny(, nz)] array onto an mx x my grid that covers
 * the same field of view (voxel centres placed as a scanner with another pixel size would).
 */
export function resampleInPlane(data: Float32Array, shape: readonly number[], mx: number, my: number): Float32Array {
  const nx = shape[0]!;
  const ny = shape[1]!;
  const nz = shape[2] ?? 1;
  const out = new Float32Array(mx * my * nz);
  const map = (i: number, from: number, to: number) => {
    const u = ((i + 0.5) * from) / to - 0.5;
    return u < 0 ? 0 : u > from - 1 ? from - 1 : u;
  };
  const xi0 = new Int32Array(mx);
  const xw = new Float64Array(mx);
  for (let i = 0; i < mx; i++) {
    const u = map(i, nx, mx);
    xi0[i] = Math.min(nx - 2, Math.floor(u));
    xw[i] = u - xi0[i]!;
    if (nx === 1) {
      xi0[i] = 0;
      xw[i] = 0;
    }
  }
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < my; j++) {
      const v = map(j, ny, my);
      const j0 = ny === 1 ? 0 : Math.min(ny - 2, Math.floor(v));
      const wy = ny === 1 ? 0 : v - j0;
      const r0 = (k * ny + j0) * nx;
      const r1 = ny === 1 ? r0 : r0 + nx;
      for (let i = 0; i < mx; i++) {
        const i0 = xi0[i]!;
        const wx = xw[i]!;
        const i1 = nx === 1 ? i0 : i0 + 1;
        const a = data[r0 + i0]! + wx * (data[r0 + i1]! - data[r0 + i0]!);
        const b = data[r1 + i0]! + wx * (data[r1 + i1]! - data[r1 + i0]!);
        out[(k * my + j) * mx + i] = a + wy * (b - a);
      }
    }
  }
  return out;
}

// ---- acquisition effects --------------------------------------------------------------------

/**
 * A smooth multiplicative bias field exp(P(x, y, z)), P a random polynomial of total degree
 * `degree` (no constant term) in coordinates scaled by `extentMm`; `strength` is roughly the
 * standard deviation of P over the field of view (0.1 means about +-10 % shading). P is clipped
 * to +-2.5 strength, so corners never blow up.
 */
export function biasField(rng: Rng, grid: Grid, strength: number, degree = 2, extentMm = 15): Float32Array {
  const d1 = degree + 1;
  // coef[(a * d1 + b) * d1 + c] multiplies x^a y^b z^c.
  const coef = new Float64Array(d1 * d1 * d1);
  for (let a = 0; a <= degree; a++) {
    for (let b = 0; a + b <= degree; b++) {
      for (let c = 0; a + b + c <= degree; c++) {
        if (a + b + c === 0 || (grid.nz === 1 && c > 0)) continue;
        coef[(a * d1 + b) * d1 + c] = (rng.normal() * strength) / Math.sqrt(a + b + c);
      }
    }
  }
  const out = new Float32Array(grid.n);
  const limit = 2.5 * strength;
  const cx = new Float64Array(d1);
  let idx = 0;
  for (let k = 0; k < grid.nz; k++) {
    const z = grid.zs[k]! / extentMm;
    for (let j = 0; j < grid.ny; j++) {
      const y = grid.ys[j]! / extentMm;
      // Collapse y and z: the polynomial in x for this row.
      for (let a = 0; a <= degree; a++) {
        let acc = 0;
        for (let b = 0; b <= degree; b++) {
          for (let c = 0; c <= degree; c++) acc += coef[(a * d1 + b) * d1 + c]! * y ** b * z ** c;
        }
        cx[a] = acc;
      }
      for (let i = 0; i < grid.nx; i++, idx++) {
        const x = grid.xs[i]! / extentMm;
        let p = 0;
        for (let a = degree; a >= 0; a--) p = p * x + cx[a]!;
        out[idx] = Math.exp(p < -limit ? -limit : p > limit ? limit : p);
      }
    }
  }
  return out;
}

export type NoiseKind = "gaussian" | "rician";

/**
 * Adds noise of standard deviation `sigma` in place. Rician is the magnitude of a complex signal
 * with Gaussian noise in both channels (what a magnitude MR image has); Gaussian is clamped at 0
 * when `clampZero` is set.
 */
export function addNoise(data: Float32Array, rng: Rng, sigma: number, kind: NoiseKind, clampZero = true): void {
  if (!(sigma > 0)) return;
  const normals = fastNormals(rng, kind === "rician" ? 2 * data.length : data.length);
  if (kind === "rician") {
    for (let i = 0; i < data.length; i++) {
      const re = data[i]! + sigma * normals[2 * i]!;
      const im = sigma * normals[2 * i + 1]!;
      data[i] = Math.sqrt(re * re + im * im);
    }
  } else {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]! + sigma * normals[i]!;
      data[i] = clampZero && v < 0 ? 0 : v;
    }
  }
}

/** A fast xorshift128 stream seeded from `rng`: returns uint32 values. */
function xorshift(rng: Rng): () => number {
  let a = rng.nextUint32() | 1;
  let b = rng.nextUint32();
  let c = rng.nextUint32();
  let d = rng.nextUint32();
  return () => {
    const t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return d;
  };
}

/** `n` numbers uniform in [-1, 1), fast (a xorshift128 stream seeded from `rng`). */
export function fastUniforms(rng: Rng, n: number): Float32Array {
  const next = xorshift(rng);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = next() / 2147483648 - 1;
  return out;
}

/**
 * `n` standard normal numbers, fast: a xorshift128 stream seeded from `rng` feeds Box-Muller
 * in Marsaglia's polar form, both values of each pair used. Deterministic for a given `rng` state.
 */
export function fastNormals(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  const next = xorshift(rng);
  // Marsaglia's polar method: one log and one square root per pair, no trigonometry.
  for (let i = 0; i < n; ) {
    const x = next() / 2147483648 - 1;
    const y = next() / 2147483648 - 1;
    const q = x * x + y * y;
    if (q >= 1 || q === 0) continue;
    const f = Math.sqrt((-2 * Math.log(q)) / q);
    out[i++] = x * f;
    if (i < n) out[i++] = y * f;
  }
  return out;
}

/** Clamps every value into [lo, hi] in place. */
export function clampInPlace(data: Float32Array, lo: number, hi: number): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    data[i] = v < lo ? lo : v > hi ? hi : v;
  }
}
