// Test-only NIfTI writer and reader, written straight from the header layouts in nifti1.h and
// nifti2.h with DataView, independent of the kit's reader: it builds edge cases (every datatype,
// both byte orders, NIfTI-2, pairs, broken files) and decodes files a second way.
export const TYPE_CODES = {
  uint8: 2,
  int8: 256,
  int16: 4,
  uint16: 512,
  int32: 8,
  uint32: 768,
  int64: 1024,
  uint64: 1280,
  float32: 16,
  float64: 64,
  rgb24: 128,
  complex64: 32,
} as const;
export type TypeName = keyof typeof TYPE_CODES;

const BYTES: Record<TypeName, number> = {
  uint8: 1, int8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8, float32: 4, float64: 8, rgb24: 3, complex64: 8,
};

export interface BuildSpec {
  version?: 1 | 2;
  littleEndian?: boolean;
  type: TypeName;
  dims: number[]; // dim[1..]
  pixdim?: number[]; // pixdim[0..3] (pixdim[0] = qfac)
  values: number[]; // stored values (before scaling), all volumes
  slope?: number;
  inter?: number;
  qformCode?: number;
  sformCode?: number;
  quatern?: [number, number, number, number, number, number]; // b c d qx qy qz
  srow?: number[][]; // 3 x 4
  /** "n+1"/"n+2" single file (default) or "ni1"/"ni2" for a .hdr/.img pair. */
  pair?: boolean;
  magic?: string;
}

function putValue(v: DataView, at: number, type: TypeName, x: number, le: boolean): void {
  switch (type) {
    case "uint8": v.setUint8(at, x); break;
    case "int8": v.setInt8(at, x); break;
    case "int16": v.setInt16(at, x, le); break;
    case "uint16": v.setUint16(at, x, le); break;
    case "int32": v.setInt32(at, x, le); break;
    case "uint32": v.setUint32(at, x, le); break;
    case "int64": v.setBigInt64(at, BigInt(x), le); break;
    case "uint64": v.setBigUint64(at, BigInt(x), le); break;
    case "float32": v.setFloat32(at, x, le); break;
    case "float64": v.setFloat64(at, x, le); break;
    case "rgb24": v.setUint8(at, x); v.setUint8(at + 1, x); v.setUint8(at + 2, x); break;
    case "complex64": v.setFloat32(at, x, le); v.setFloat32(at + 4, 0, le); break;
  }
}

/** Builds a header (+ voxels unless pair) as bytes. For a pair, returns { header, image }. */
export function buildNifti(spec: BuildSpec): { file: Uint8Array; header: Uint8Array; image: Uint8Array } {
  const version = spec.version ?? 1;
  const le = spec.littleEndian ?? true;
  const hsize = version === 1 ? 348 : 540;
  const offset = spec.pair ? 0 : version === 1 ? 352 : 544;
  const hdr = new Uint8Array(spec.pair ? hsize : offset);
  const h = new DataView(hdr.buffer);
  const dims = [spec.dims.length, ...spec.dims];
  while (dims.length < 8) dims.push(1);
  const pixdim = [...(spec.pixdim ?? [1, 1, 1, 1])];
  while (pixdim.length < 8) pixdim.push(1);
  const code = TYPE_CODES[spec.type];
  const bytes = BYTES[spec.type];
  const srow = spec.srow ?? [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]];
  const q = spec.quatern ?? [0, 0, 0, 0, 0, 0];
  const magic = spec.magic ?? (version === 1 ? (spec.pair ? "ni1" : "n+1") : spec.pair ? "ni2" : "n+2");
  if (version === 1) {
    h.setInt32(0, 348, le);
    dims.forEach((d, i) => h.setInt16(40 + 2 * i, d, le));
    h.setInt16(70, code, le);
    h.setInt16(72, bytes * 8, le);
    pixdim.forEach((p, i) => h.setFloat32(76 + 4 * i, p, le));
    h.setFloat32(108, offset, le);
    h.setFloat32(112, spec.slope ?? 0, le);
    h.setFloat32(116, spec.inter ?? 0, le);
    h.setUint8(123, 2);
    h.setInt16(252, spec.qformCode ?? 0, le);
    h.setInt16(254, spec.sformCode ?? 0, le);
    q.forEach((x, i) => h.setFloat32(256 + 4 * i, x, le));
    srow.forEach((row, r) => row.forEach((x, c) => h.setFloat32(280 + 16 * r + 4 * c, x, le)));
    for (let i = 0; i < 4; i++) hdr[344 + i] = i < magic.length ? magic.charCodeAt(i) : 0;
  } else {
    h.setInt32(0, 540, le);
    for (let i = 0; i < 8; i++) hdr[4 + i] = [...magic, "\0", "\r", "\n", "\x1a", "\n"].map((c) => c.charCodeAt(0))[i] ?? 0;
    h.setInt16(12, code, le);
    h.setInt16(14, bytes * 8, le);
    dims.forEach((d, i) => h.setBigInt64(16 + 8 * i, BigInt(d), le));
    pixdim.forEach((p, i) => h.setFloat64(104 + 8 * i, p, le));
    h.setBigInt64(168, BigInt(offset), le);
    h.setFloat64(176, spec.slope ?? 0, le);
    h.setFloat64(184, spec.inter ?? 0, le);
    h.setInt32(344, spec.qformCode ?? 0, le);
    h.setInt32(348, spec.sformCode ?? 0, le);
    q.forEach((x, i) => h.setFloat64(352 + 8 * i, x, le));
    srow.forEach((row, r) => row.forEach((x, c) => h.setFloat64(400 + 32 * r + 8 * c, x, le)));
    h.setInt32(500, 2, le);
  }
  const image = new Uint8Array(spec.values.length * bytes);
  const iv = new DataView(image.buffer);
  spec.values.forEach((x, i) => putValue(iv, i * bytes, spec.type, x, le));
  if (spec.pair) return { file: hdr, header: hdr, image };
  const file = new Uint8Array(offset + image.length);
  file.set(hdr, 0);
  file.set(image, offset);
  return { file, header: hdr, image };
}

/** Independent decode of a single-file NIfTI-1 (already decompressed): shape, first-volume values, sform/qform codes. */
export function decodeNifti1(file: Uint8Array): { dims: number[]; values: Float64Array; sformCode: number; qformCode: number; srow: number[][]; pixdim: number[]; quatern: number[] } {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const le = v.getInt32(0, true) === 348;
  const dim0 = v.getInt16(40, le);
  const dims: number[] = [];
  for (let i = 1; i <= dim0; i++) dims.push(v.getInt16(40 + 2 * i, le));
  const type = v.getInt16(70, le);
  const pixdim = [0, 1, 2, 3].map((i) => v.getFloat32(76 + 4 * i, le));
  const off = v.getFloat32(108, le);
  let slope = v.getFloat32(112, le);
  let inter = v.getFloat32(116, le);
  if (slope === 0 || !Number.isFinite(slope)) {
    slope = 1;
    inter = 0;
  }
  const n = dims.slice(0, 3).reduce((a, b) => a * b, 1);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x: number;
    switch (type) {
      case 2: x = v.getUint8(off + i); break;
      case 256: x = v.getInt8(off + i); break;
      case 4: x = v.getInt16(off + 2 * i, le); break;
      case 512: x = v.getUint16(off + 2 * i, le); break;
      case 8: x = v.getInt32(off + 4 * i, le); break;
      case 768: x = v.getUint32(off + 4 * i, le); break;
      case 16: x = v.getFloat32(off + 4 * i, le); break;
      case 64: x = v.getFloat64(off + 8 * i, le); break;
      default: throw new Error(`decodeNifti1: datatype ${type} not handled`);
    }
    values[i] = x * slope + inter;
  }
  const srow = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => v.getFloat32(280 + 16 * r + 4 * c, le)));
  const quatern = [0, 1, 2, 3, 4, 5].map((i) => v.getFloat32(256 + 4 * i, le));
  return { dims, values, sformCode: v.getInt16(254, le), qformCode: v.getInt16(252, le), srow, pixdim, quatern };
}
