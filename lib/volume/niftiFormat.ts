// The NIfTI facts the reader and writer share: datatype codes and their sizes, and the three
// ways a header places voxels in the world (sform, qform quaternion, bare pixdim).
import type { Affine } from "./volume.js";

export interface NiftiDatatype {
  code: number;
  name: string;
  bytes: number;
  /** How the raw bytes are read; undefined for types the kit does not read (RGB, complex, ...). */
  array?: "u8" | "i8" | "i16" | "u16" | "i32" | "u32" | "i64" | "u64" | "f32" | "f64";
}

const TYPES: NiftiDatatype[] = [
  { code: 2, name: "uint8", bytes: 1, array: "u8" },
  { code: 256, name: "int8", bytes: 1, array: "i8" },
  { code: 4, name: "int16", bytes: 2, array: "i16" },
  { code: 512, name: "uint16", bytes: 2, array: "u16" },
  { code: 8, name: "int32", bytes: 4, array: "i32" },
  { code: 768, name: "uint32", bytes: 4, array: "u32" },
  { code: 1024, name: "int64", bytes: 8, array: "i64" },
  { code: 1280, name: "uint64", bytes: 8, array: "u64" },
  { code: 16, name: "float32", bytes: 4, array: "f32" },
  { code: 64, name: "float64", bytes: 8, array: "f64" },
  { code: 1, name: "binary (1 bit)", bytes: 0 },
  { code: 32, name: "complex64", bytes: 8 },
  { code: 128, name: "rgb24", bytes: 3 },
  { code: 1536, name: "float128", bytes: 16 },
  { code: 1792, name: "complex128", bytes: 16 },
  { code: 2048, name: "complex256", bytes: 32 },
  { code: 2304, name: "rgba32", bytes: 4 },
];

export function niftiDatatype(code: number): NiftiDatatype | undefined {
  return TYPES.find((t) => t.code === code);
}

export function niftiDatatypeByName(name: string): NiftiDatatype | undefined {
  return TYPES.find((t) => t.name === name && t.array !== undefined);
}

/** Rotation, zooms and offset of the NIfTI qform (nifti1.h "method 2"). */
export interface Quatern {
  b: number;
  c: number;
  d: number;
  qx: number;
  qy: number;
  qz: number;
  /** pixdim[1..3] */
  dx: number;
  dy: number;
  dz: number;
  /** pixdim[0]: -1 flips the third axis, anything else means +1. */
  qfac: number;
}

/** The qform affine: R(b, c, d) with columns scaled by the zooms (the third also by qfac). */
export function quaternToAffine(q: Quatern): Affine {
  let { b, c, d } = q;
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    // Not a unit quaternion with a >= 0: normalise (b, c, d) and take a 180-degree rotation.
    a = 1 / Math.sqrt(b * b + c * c + d * d);
    b *= a;
    c *= a;
    d *= a;
    a = 0;
  } else {
    a = Math.sqrt(a);
  }
  const xd = q.dx > 0 ? q.dx : 1;
  const yd = q.dy > 0 ? q.dy : 1;
  const zd = (q.dz > 0 ? q.dz : 1) * (q.qfac < 0 ? -1 : 1);
  const R = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  return [
    [R[0]![0]! * xd, R[0]![1]! * yd, R[0]![2]! * zd, q.qx],
    [R[1]![0]! * xd, R[1]![1]! * yd, R[1]![2]! * zd, q.qy],
    [R[2]![0]! * xd, R[2]![1]! * yd, R[2]![2]! * zd, q.qz],
    [0, 0, 0, 1],
  ];
}

/**
 * The qform that encodes `affine`, or undefined when the affine has shear (columns not
 * orthogonal), which a quaternion cannot hold: such files keep the sform only.
 */
export function affineToQuatern(affine: Affine): Quatern | undefined {
  const col = (j: number) => [affine[0]![j]!, affine[1]![j]!, affine[2]![j]!];
  const cols = [col(0), col(1), col(2)];
  const norms = cols.map((v) => Math.hypot(v[0]!, v[1]!, v[2]!));
  if (norms.some((n) => !(n > 0))) return undefined;
  const u = cols.map((v, j) => v.map((x) => x / norms[j]!));
  const dot = (p: number[], q: number[]) => p[0]! * q[0]! + p[1]! * q[1]! + p[2]! * q[2]!;
  if (Math.abs(dot(u[0]!, u[1]!)) > 1e-5 || Math.abs(dot(u[0]!, u[2]!)) > 1e-5 || Math.abs(dot(u[1]!, u[2]!)) > 1e-5) return undefined;
  const det =
    u[0]![0]! * (u[1]![1]! * u[2]![2]! - u[2]![1]! * u[1]![2]!) -
    u[1]![0]! * (u[0]![1]! * u[2]![2]! - u[2]![1]! * u[0]![2]!) +
    u[2]![0]! * (u[0]![1]! * u[1]![2]! - u[1]![1]! * u[0]![2]!);
  let qfac = 1;
  if (det < 0) {
    qfac = -1;
    u[2] = u[2]!.map((x) => -x);
  }
  // r[i][j]: row i, column j of the rotation.
  const r = (i: number, j: number) => u[j]![i]!;
  let a = r(0, 0) + r(1, 1) + r(2, 2) + 1;
  let b: number;
  let c: number;
  let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r(2, 1) - r(1, 2))) / a;
    c = (0.25 * (r(0, 2) - r(2, 0))) / a;
    d = (0.25 * (r(1, 0) - r(0, 1))) / a;
  } else {
    const xd = 1 + r(0, 0) - (r(1, 1) + r(2, 2));
    const yd = 1 + r(1, 1) - (r(0, 0) + r(2, 2));
    const zd = 1 + r(2, 2) - (r(0, 0) + r(1, 1));
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r(0, 1) + r(1, 0))) / b;
      d = (0.25 * (r(0, 2) + r(2, 0))) / b;
      a = (0.25 * (r(2, 1) - r(1, 2))) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r(0, 1) + r(1, 0))) / c;
      d = (0.25 * (r(1, 2) + r(2, 1))) / c;
      a = (0.25 * (r(0, 2) - r(2, 0))) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r(0, 2) + r(2, 0))) / d;
      c = (0.25 * (r(1, 2) + r(2, 1))) / d;
      a = (0.25 * (r(1, 0) - r(0, 1))) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qx: affine[0]![3]!, qy: affine[1]![3]!, qz: affine[2]![3]!, dx: norms[0]!, dy: norms[1]!, dz: norms[2]!, qfac };
}

/** Where the affine came from, as NIfTI readers report it. */
export type AffineSource = "sform" | "qform" | "pixdim";

/**
 * The header's voxel-to-world affine by the NIfTI rule: the sform when sform_code > 0, else the
 * qform when qform_code > 0, else diag(pixdim) with a zero origin (nifti1.h "method 1").
 */
export function headerAffine(h: {
  sformCode: number;
  qformCode: number;
  srow: number[][];
  quatern: Quatern;
  pixdim: number[];
}): { affine: Affine; source: AffineSource } {
  if (h.sformCode > 0) return { affine: [...h.srow.map((r) => [...r]), [0, 0, 0, 1]], source: "sform" };
  if (h.qformCode > 0) return { affine: quaternToAffine(h.quatern), source: "qform" };
  const p = (i: number) => (h.pixdim[i]! > 0 ? h.pixdim[i]! : 1);
  return {
    affine: [
      [p(1), 0, 0, 0],
      [0, p(2), 0, 0],
      [0, 0, p(3), 0],
      [0, 0, 0, 1],
    ],
    source: "pixdim",
  };
}
