// Voxel-axis bookkeeping: permuting and flipping axes (with the affine kept honest), the orientation
// code of an affine ("RAS", "LPS", like nibabel's aff2axcodes) and reorientation to canonical RAS+.
import { UnpairedError } from "../util/errors.js";
import { checkAxis, checkVolume, multiplyAffines, rebuild, stridesOf, type AnyVolume } from "./geometry.js";
import { emptyLike, type Affine } from "./volume.js";

/**
 * Rearranges the voxel axes of `vol`: new axis j is old axis `perm[j]`, run backwards when
 * `flip[j]` is true (new index i reads old index n - 1 - i). `perm` is a permutation of the axes
 * ([0, 1] or [0, 1, 2] in some order); `flip` defaults to no flips. Shape and spacing are permuted
 * with the axes and the affine becomes affine·M, where M maps new voxel coordinates to old ones
 * (a signed permutation plus n - 1 on flipped axes), so every voxel keeps its world position.
 */
export function permuteFlipAxes<V extends AnyVolume>(vol: V, perm: readonly number[], flip: readonly boolean[] = []): V {
  checkVolume(vol, "permuteFlipAxes");
  const nd = vol.shape.length;
  if (perm.length !== nd || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new UnpairedError("BAD_OPTION", `permuteFlipAxes: [${perm}] is not a permutation of the ${nd} axes`);
  }
  const oldStrides = stridesOf(vol.shape);
  const shape = perm.map((p) => vol.shape[p]!);
  const spacing = perm.map((p) => vol.spacing[p]!);
  // M: new voxel coordinate -> old voxel coordinate.
  const m: Affine = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 1],
  ];
  if (nd === 2) m[2]![2] = 1;
  const step = [0, 0, 0];
  let base = 0;
  perm.forEach((p, j) => {
    const f = flip[j] === true;
    m[p]![j] = f ? -1 : 1;
    m[p]![3] = f ? vol.shape[p]! - 1 : 0;
    step[j] = f ? -oldStrides[p]! : oldStrides[p]!;
    if (f) base += (vol.shape[p]! - 1) * oldStrides[p]!;
  });
  const [nx, ny, nz = 1] = shape as [number, number, number?];
  const [sx, sy, sz] = step as [number, number, number];
  const src = vol.data;
  const out = emptyLike(src, src.length);
  let o = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      let i = base + y * sy + z * sz;
      for (let x = 0; x < nx; x++, i += sx) out[o++] = src[i]!;
    }
  }
  return rebuild(vol, out, shape, spacing, multiplyAffines(vol.affine, m));
}

/** Flips `vol` along each of `axes` (index i -> n - 1 - i); the affine's column for each flipped axis
 * is negated and its origin moves to the old last voxel, so world positions are unchanged. */
export function flipAxes<V extends AnyVolume>(vol: V, axes: readonly number[]): V {
  checkVolume(vol, "flipAxes");
  const nd = vol.shape.length;
  for (const a of axes) checkAxis(a, nd, "flipAxes");
  if (new Set(axes).size !== axes.length) throw new UnpairedError("BAD_OPTION", `flipAxes: axes [${axes}] repeat an axis`);
  const perm = vol.shape.map((_, a) => a);
  return permuteFlipAxes(vol, perm, perm.map((a) => axes.includes(a)));
}

/** Transposes the voxel axes of `vol` (new axis j = old axis perm[j]); see {@link permuteFlipAxes}. */
export function permuteAxes<V extends AnyVolume>(vol: V, perm: readonly number[]): V {
  return permuteFlipAxes(vol, perm);
}

/** Where one voxel axis points: the closest world axis (0 = x/R, 1 = y/A, 2 = z/S) and its sign. */
export interface AxisDirection {
  worldAxis: number;
  sign: 1 | -1;
}

/**
 * For each of the first `ndim` voxel axes of `affine` (3, or 2 for a 2D volume: only the
 * in-plane axes), the world axis it is closest to and the direction along it; null for an axis
 * the affine drops (a zero or dependent column). Same algorithm as nibabel's io_orientation:
 * normalise the columns of the 3 x ndim part, take its closest orthogonal matrix (polar factor,
 * from an SVD, singular values below max·max(3, ndim)·eps dropped), then, axis by axis in order,
 * pick the world axis with the largest |entry| and remove that world axis from later choices.
 */
export function axisDirections(affine: Affine, ndim = 3): (AxisDirection | null)[] {
  if (ndim !== 2 && ndim !== 3) throw new UnpairedError("BAD_OPTION", `axisDirections: ndim must be 2 or 3, got ${ndim}`);
  const rs: number[][] = [0, 1, 2].map((r) => [0, 1, 2].slice(0, ndim).map((c) => affine[r]![c]!));
  for (let c = 0; c < ndim; c++) {
    const zoom = Math.hypot(rs[0]![c]!, rs[1]![c]!, rs[2]![c]!);
    if (zoom > 0) for (let r = 0; r < 3; r++) rs[r]![c]! /= zoom;
  }
  const r = polarFactor(rs);
  const out: (AxisDirection | null)[] = [];
  for (let c = 0; c < ndim; c++) {
    const col = [r[0]![c]!, r[1]![c]!, r[2]![c]!];
    if (col.every((v) => Math.abs(v) <= 1e-8)) {
      out.push(null);
      continue;
    }
    let best = 0;
    for (let k = 1; k < 3; k++) if (Math.abs(col[k]!) > Math.abs(col[best]!)) best = k;
    out.push({ worldAxis: best, sign: col[best]! < 0 ? -1 : 1 });
    for (let k = 0; k < ndim; k++) r[best]![k] = 0;
  }
  return out;
}

/**
 * The orientation code of `affine`: for each voxel axis (3, or 2 with ndim = 2) the world
 * direction it increases towards, R/L (x), A/P (y), S/I (z), like nibabel's aff2axcodes; e.g.
 * "RAS" for diag(1, 1, 1), "LPS" for DICOM-style diag(-1, -1, 1). A dropped axis reads "?".
 */
export function axisCodes(affine: Affine, ndim = 3): string {
  const pos = "RAS";
  const neg = "LPI";
  return axisDirections(affine, ndim)
    .map((d) => (d === null ? "?" : (d.sign > 0 ? pos : neg)[d.worldAxis]!))
    .join("");
}

/** The orientation code of a volume's affine over its own axes ("RAS", or e.g. "RA" for 2D). */
export function orientationOf(vol: AnyVolume): string {
  return axisCodes(vol.affine, vol.shape.length);
}

/**
 * The axis permutation and flips that bring `affine`'s voxel axes closest to canonical RAS+
 * (new axis j = old axis perm[j], reversed where flip[j]); in 2D the two in-plane axes are ordered
 * by the world axis they follow (x before y before z) and made to point along +. Throws BAD_VOLUME
 * for an affine that drops an axis.
 */
export function canonicalTransform(affine: Affine, ndim = 3): { perm: number[]; flip: boolean[] } {
  const dirs = axisDirections(affine, ndim);
  if (dirs.some((d) => d === null)) {
    throw new UnpairedError("BAD_VOLUME", "reorient: the affine is singular (a voxel axis has no world direction); fix the header's affine first");
  }
  const d = dirs as AxisDirection[];
  const perm = d.map((_, a) => a).sort((a, b) => d[a]!.worldAxis - d[b]!.worldAxis);
  return { perm, flip: perm.map((a) => d[a]!.sign < 0) };
}

/**
 * Reorients `vol` to the closest canonical orientation (RAS+, like nibabel's as_closest_canonical):
 * voxel axes are permuted and flipped so that they point closest to +x (R), +y (A), +z (S). The
 * data, shape and spacing move with the axes and the new affine keeps every voxel's world
 * position. 2D volumes: only the two in-plane axes (see {@link canonicalTransform}). Always returns
 * a new volume (a copy when already canonical).
 */
export function reorientToCanonical<V extends AnyVolume>(vol: V): V {
  checkVolume(vol, "reorientToCanonical");
  const { perm, flip } = canonicalTransform(vol.affine, vol.shape.length);
  return permuteFlipAxes(vol, perm, flip);
}

/**
 * The closest matrix with orthonormal columns to the 3 x p matrix `a` (its polar factor U·Vᵀ, from
 * a one-sided Jacobi SVD), keeping only the singular directions above nibabel's tolerance.
 */
function polarFactor(a: number[][]): number[][] {
  const q = a.length;
  const p = a[0]!.length;
  const u = a.map((r) => [...r]);
  const v = Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let i = 0; i < p - 1; i++) {
      for (let j = i + 1; j < p; j++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let r = 0; r < q; r++) {
          alpha += u[r]![i]! ** 2;
          beta += u[r]![j]! ** 2;
          gamma += u[r]![i]! * u[r]![j]!;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (const m of [u, v]) {
          for (const row of m) {
            const mi = row[i]!;
            const mj = row[j]!;
            row[i] = c * mi - s * mj;
            row[j] = s * mi + c * mj;
          }
        }
      }
    }
    if (!rotated) break;
  }
  const sigma = Array.from({ length: p }, (_, k) => Math.hypot(...u.map((r) => r[k]!)));
  const tol = Math.max(...sigma) * Math.max(q, p) * Number.EPSILON;
  const out = Array.from({ length: q }, () => new Array<number>(p).fill(0));
  for (let k = 0; k < p; k++) {
    if (!(sigma[k]! > tol)) continue;
    for (let r = 0; r < q; r++) for (let c = 0; c < p; c++) out[r]![c]! += (u[r]![k]! / sigma[k]!) * v[c]![k]!;
  }
  return out;
}
