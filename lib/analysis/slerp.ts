// Spherical linear interpolation (SLERP) between two style vectors: the IntraStyler paper's
// interpolation grid walks the great circle from one exemplar's style to another's (and a
// little beyond it), synthesising styles that no single target image has.
//
// The kit's style vectors are unit vectors: the style encoder ends with an L2 normalisation
// (F.normalize in the reference), so the generator's DIN layers were only ever trained on
// styles on the unit sphere, and the style losses compare them by cosine. A style between two
// exemplars must stay on that sphere. SLERP does in exact arithmetic, for every real t (the
// result is cos(t theta) v0 + sin(t theta) u, with u the unit vector orthogonal to v0 in the
// v0-v1 plane); the result is nevertheless re-normalised, which removes rounding drift and the
// shrinkage of the linear fallback for nearly parallel vectors (a chord is shorter than its arc).
import { UnpairedError } from "../util/errors.js";

/** Below this sin(theta) the two vectors count as parallel and SLERP falls back to linear interpolation. */
export const SLERP_PARALLEL = 1e-6;

function unit(v: readonly number[], what: string): number[] {
  let s = 0;
  for (const x of v) {
    if (!Number.isFinite(x)) throw new UnpairedError("BAD_CONFIG", `slerp: ${what} has a non-finite component ${x}`);
    s += x * x;
  }
  const norm = Math.sqrt(s);
  if (!(norm > 0)) throw new UnpairedError("BAD_CONFIG", `slerp: ${what} is the zero vector, which has no direction; use a style vector from the style encoder`);
  return v.map((x) => x / norm);
}

/**
 * The style a fraction t of the way along the great circle from v0 to v1 (t = 0 gives v0, t = 1
 * gives v1, t outside [0, 1] extrapolates along the same circle; the reference uses t up to 1.5).
 * v0 and v1 are normalised first (as the reference does), theta = arccos(v0 . v1) with the dot
 * product clamped to [-1, 1], and
 *   slerp(t) = sin((1 - t) theta) / sin(theta) v0 + sin(t theta) / sin(theta) v1,
 * or (1 - t) v0 + t v1 when sin(theta) < 1e-6. The result is re-normalised to unit length.
 * Opposite vectors (theta = pi) throw: every great circle joins them, so the path is not defined.
 */
export function slerp(v0: readonly number[], v1: readonly number[], t: number): number[] {
  return slerpPath(v0, v1, [t])[0]!;
}

/** slerp(v0, v1, t) for every t of `ts`, sharing the set-up: [ts.length][d]. */
export function slerpPath(v0: readonly number[], v1: readonly number[], ts: readonly number[]): number[][] {
  if (!Array.isArray(v0) || !Array.isArray(v1) || v0.length !== v1.length || v0.length === 0) {
    throw new UnpairedError("BAD_CONFIG", `slerp: v0 and v1 must be style vectors of one length, got ${Array.isArray(v0) ? v0.length : typeof v0} and ${Array.isArray(v1) ? v1.length : typeof v1} components`);
  }
  for (const t of ts) if (!Number.isFinite(t)) throw new UnpairedError("BAD_CONFIG", `slerp: t must be a finite number, got ${t}`);
  const a = unit(v0, "v0");
  const b = unit(v1, "v1");
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  dot = Math.min(1, Math.max(-1, dot));
  const theta = Math.acos(dot);
  const sinTheta = Math.sin(theta);
  const parallel = sinTheta < SLERP_PARALLEL;
  if (parallel && dot < 0) {
    throw new UnpairedError("BAD_CONFIG", "slerp: v0 and v1 point in opposite directions, so no single great circle joins them; interpolate between other styles (or via a third one)");
  }
  return ts.map((t) => {
    const w0 = parallel ? 1 - t : Math.sin((1 - t) * theta) / sinTheta;
    const w1 = parallel ? t : Math.sin(t * theta) / sinTheta;
    const out = a.map((x, i) => w0 * x + w1 * b[i]!);
    let s = 0;
    for (const x of out) s += x * x;
    const norm = Math.sqrt(s);
    // Nearly parallel unit vectors never cancel under (1 - t) a + t b, except at extreme t far
    // beyond the reference's range; keep the direction of a there rather than divide by ~0.
    return norm > 1e-12 ? out.map((x) => x / norm) : a.slice();
  });
}
