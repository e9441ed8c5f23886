// Resampling a volume onto a coarser or finer grid over the same physical extent: to a new voxel
// spacing or to a new shape, (bi/tri)linear for images and nearest-neighbour for labels.
import { UnpairedError } from "../util/errors.js";
import { checkSize, checkVolume, isLabelVolume, multiplyAffines, rebuild, type AnyVolume } from "./geometry.js";
import { emptyLike, type Affine } from "./volume.js";

/** "linear": bilinear (2D) / trilinear (3D); "nearest": nearest neighbour (the only choice for labels). */
export type ResampleMode = "linear" | "nearest";

export interface ResampleOptions {
  /** Default: "linear" for a Volume, "nearest" for a LabelVolume. */
  mode?: ResampleMode;
}

/**
 * Resamples `vol` to voxel size `spacing` (mm, one per axis) over the same physical extent.
 *
 * Grid: per axis the new size is n' = max(1, round(n·s / s')); new voxel i takes the value at old
 * continuous voxel coordinate c = (i + 0.5)·n/n' - 0.5 (centres of n' equal cells spanning the n
 * old cells), clamped to [0, n - 1] (edge replicate). Because n' is rounded, the step actually
 * used is s·n/n', and that is the spacing the result records (it equals the requested `spacing`
 * whenever n·s/s' is a whole number). The affine is affine·M with M mapping new voxel
 * coordinates to old ones, so each new voxel centre's world position is the old affine at c.
 * Linear interpolation reproduces functions linear in the voxel coordinates exactly wherever c
 * needs no clamping. Labels are resampled by nearest neighbour (round half up) and keep their
 * values and array type; asking for "linear" on labels is a BAD_OPTION error.
 */
export function resampleToSpacing<V extends AnyVolume>(vol: V, spacing: readonly number[], options: ResampleOptions = {}): V {
  checkVolume(vol, "resampleToSpacing");
  if (spacing.length !== vol.shape.length || !spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new UnpairedError("BAD_OPTION", `resampleToSpacing: spacing [${spacing}] must be ${vol.shape.length} positive numbers (mm)`);
  }
  const shape = vol.shape.map((n, a) => Math.max(1, Math.round((n * vol.spacing[a]!) / spacing[a]!)));
  return resampleToShape(vol, shape, options);
}

/**
 * Resamples `vol` to `shape` (one size per axis) over the same physical extent: new voxel i of an
 * axis with old size n and new size n' samples old coordinate (i + 0.5)·n/n' - 0.5, clamped to
 * [0, n - 1]; the new spacing is s·n/n'. Geometry and modes as in {@link resampleToSpacing}.
 */
export function resampleToShape<V extends AnyVolume>(vol: V, shape: readonly number[], options: ResampleOptions = {}): V {
  checkVolume(vol, "resampleToShape");
  checkSize(shape, vol.shape.length, "resampleToShape");
  const label = isLabelVolume(vol);
  const mode = options.mode ?? (label ? "nearest" : "linear");
  if (mode !== "linear" && mode !== "nearest") {
    throw new UnpairedError("BAD_OPTION", `resample: mode must be "linear" or "nearest", got ${String(mode)}`);
  }
  if (label && mode === "linear") {
    throw new UnpairedError("BAD_OPTION", "resample: labels can only be resampled with mode \"nearest\" (linear would invent label values)");
  }
  const nd = vol.shape.length;
  const oldShape = [vol.shape[0]!, vol.shape[1]!, vol.shape[2] ?? 1];
  const newShape = [shape[0]!, shape[1]!, shape[2] ?? 1];
  const factor = oldShape.map((n, a) => n / newShape[a]!);
  // New voxel coordinate -> old continuous coordinate: c = f·i + (f - 1)/2.
  const m: Affine = [
    [factor[0]!, 0, 0, (factor[0]! - 1) / 2],
    [0, factor[1]!, 0, (factor[1]! - 1) / 2],
    [0, 0, factor[2]!, (factor[2]! - 1) / 2],
    [0, 0, 0, 1],
  ];
  const affine = multiplyAffines(vol.affine, m);
  const spacing = vol.spacing.map((s, a) => s * factor[a]!);
  const out = emptyLike(vol.data, newShape[0]! * newShape[1]! * newShape[2]!);
  if (mode === "nearest") nearest(vol.data, oldShape, out, newShape, factor);
  else linear(vol.data as Float32Array, oldShape, out as Float32Array, newShape, factor);
  return rebuild(vol, out, shape.slice(0, nd), spacing, affine);
}

/** Per new index along one axis: the clamped old continuous coordinate. */
function coords(n: number, m: number, f: number): Float64Array {
  const c = new Float64Array(m);
  for (let i = 0; i < m; i++) c[i] = Math.min(Math.max((i + 0.5) * f - 0.5, 0), n - 1);
  return c;
}

function nearest(src: ArrayLike<number>, os: number[], out: { [i: number]: number }, ns: number[], f: number[]): void {
  const idx = os.map((n, a) => Int32Array.from(coords(n, ns[a]!, f[a]!), (c) => Math.round(c)));
  const [ix, iy, iz] = idx as [Int32Array, Int32Array, Int32Array];
  const nx = os[0]!;
  const ny = os[1]!;
  let o = 0;
  for (let z = 0; z < ns[2]!; z++) {
    for (let y = 0; y < ns[1]!; y++) {
      const row = nx * (iy[y]! + ny * iz[z]!);
      for (let x = 0; x < ns[0]!; x++) out[o++] = src[row + ix[x]!]!;
    }
  }
}

function linear(src: Float32Array, os: number[], out: Float32Array, ns: number[], f: number[]): void {
  // Per axis: lower index, upper index and the upper one's weight.
  const axes = os.map((n, a) => {
    const c = coords(n, ns[a]!, f[a]!);
    const lo = new Int32Array(c.length);
    const hi = new Int32Array(c.length);
    const w = new Float64Array(c.length);
    for (let i = 0; i < c.length; i++) {
      const l = Math.floor(c[i]!);
      lo[i] = l;
      hi[i] = Math.min(l + 1, n - 1);
      w[i] = c[i]! - l;
    }
    return { lo, hi, w };
  });
  const [ax, ay, az] = axes as [(typeof axes)[0], (typeof axes)[0], (typeof axes)[0]];
  const nx = os[0]!;
  const ny = os[1]!;
  let o = 0;
  for (let z = 0; z < ns[2]!; z++) {
    const wz = az.w[z]!;
    const z0 = az.lo[z]! * ny;
    const z1 = az.hi[z]! * ny;
    for (let y = 0; y < ns[1]!; y++) {
      const wy = ay.w[y]!;
      const r00 = nx * (ay.lo[y]! + z0);
      const r10 = nx * (ay.hi[y]! + z0);
      const r01 = nx * (ay.lo[y]! + z1);
      const r11 = nx * (ay.hi[y]! + z1);
      for (let x = 0; x < ns[0]!; x++) {
        const wx = ax.w[x]!;
        const x0 = ax.lo[x]!;
        const x1 = ax.hi[x]!;
        const a00 = src[r00 + x0]! + wx * (src[r00 + x1]! - src[r00 + x0]!);
        const a10 = src[r10 + x0]! + wx * (src[r10 + x1]! - src[r10 + x0]!);
        const a01 = src[r01 + x0]! + wx * (src[r01 + x1]! - src[r01 + x0]!);
        const a11 = src[r11 + x0]! + wx * (src[r11 + x1]! - src[r11 + x0]!);
        const b0 = a00 + wy * (a10 - a00);
        const b1 = a01 + wy * (a11 - a01);
        out[o++] = b0 + wz * (b1 - b0);
      }
    }
  }
}
