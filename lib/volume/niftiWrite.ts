// Writes Volumes and LabelVolumes as NIfTI-1 (.nii, or .nii.gz when the name says so), keeping
// shape, spacing and affine (as both sform and, when it has no shear, qform). The header is
// built with nifti-reader-js's NIFTI1.toArrayBuffer(); files are written atomically.
import { gzipSync } from "node:zlib";
import { NIFTI1 } from "nifti-reader-js";
import { UnpairedError } from "../util/errors.js";
import { writeFileAtomic, writeFileAtomicSync } from "../util/atomicWrite.js";
import { affineToQuatern, niftiDatatypeByName } from "./niftiFormat.js";
import type { LabelVolume, Volume } from "./volume.js";

/** The datatypes the kit writes. */
export type NiftiWriteType = "float32" | "int16" | "uint8";

export interface WriteNiftiOptions {
  /** Stored datatype. Default: float32 for images; the narrowest of uint8/int16/float32 for labels. */
  datatype?: NiftiWriteType;
  /** Up to 79 characters stored in the header's descrip field. */
  description?: string;
  /** NIfTI xform code written for sform and qform (default 1, scanner anatomical). */
  xformCode?: number;
}

const RANGES: Record<NiftiWriteType, [number, number]> = {
  uint8: [0, 255],
  int16: [-32768, 32767],
  float32: [-Infinity, Infinity],
};

function chooseType(vol: Volume | LabelVolume, requested: NiftiWriteType | undefined): NiftiWriteType {
  if (requested) return requested;
  if (vol.data instanceof Float32Array) return "float32";
  let min = 0;
  let max = 0;
  for (let i = 0; i < vol.data.length; i++) {
    const v = vol.data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min >= 0 && max <= 255) return "uint8";
  if (min >= -32768 && max <= 32767) return "int16";
  return "float32";
}

/** The bytes of a NIfTI-1 single file (.nii) holding `vol`, uncompressed. */
export function encodeNifti(vol: Volume | LabelVolume, opts: WriteNiftiOptions = {}, name = "volume"): Uint8Array {
  const type = chooseType(vol, opts.datatype);
  const dt = niftiDatatypeByName(type);
  if (!dt || !(type in RANGES)) {
    throw new UnpairedError("BAD_OPTION", `${name}: cannot write datatype "${type}"; choose float32, int16 or uint8`);
  }
  const [lo, hi] = RANGES[type];
  const n = vol.data.length;
  if (type !== "float32") {
    for (let i = 0; i < n; i++) {
      const v = vol.data[i]!;
      if (!(Number.isInteger(v) && v >= lo && v <= hi)) {
        throw new UnpairedError(
          "BAD_OPTION",
          `${name}: voxel ${i} holds ${v}, which ${type} cannot store exactly (whole numbers ${lo}..${hi}); write it as float32`,
        );
      }
    }
  } else if (!(vol.data instanceof Float32Array)) {
    for (let i = 0; i < n; i++) {
      if (Math.abs(vol.data[i]!) > 16777216) throw new UnpairedError("BAD_OPTION", `${name}: label ${vol.data[i]} is too large to store exactly`);
    }
  }
  const h = new NIFTI1();
  h.littleEndian = true;
  const shape = vol.shape;
  h.dims = [shape.length, shape[0]!, shape[1]!, shape[2] ?? 1, 1, 1, 1, 1];
  h.datatypeCode = dt.code;
  h.numBitsPerVoxel = dt.bytes * 8;
  const q = affineToQuatern(vol.affine);
  h.pixDims = [q?.qfac ?? 1, vol.spacing[0]!, vol.spacing[1]!, vol.spacing[2] ?? 1, 0, 0, 0, 0];
  h.vox_offset = 352;
  h.scl_slope = 1;
  h.scl_inter = 0;
  h.xyzt_units = NIFTI1.UNITS_MM;
  h.description = (opts.description ?? "unpaired-lab").slice(0, 79);
  h.aux_file = "";
  h.intent_name = "";
  const code = opts.xformCode ?? NIFTI1.XFORM_SCANNER_ANAT;
  h.sform_code = code;
  h.affine = vol.affine.map((r) => [...r]);
  if (q) {
    h.qform_code = code;
    h.quatern_b = q.b;
    h.quatern_c = q.c;
    h.quatern_d = q.d;
    h.qoffset_x = q.qx;
    h.qoffset_y = q.qy;
    h.qoffset_z = q.qz;
  } else {
    h.qform_code = 0;
  }
  h.magic = "n+1";
  const header = new Uint8Array(h.toArrayBuffer());
  const out = new Uint8Array(352 + n * dt.bytes);
  out.set(header.subarray(0, 352), 0);
  out[348] = out[349] = out[350] = out[351] = 0; // no extensions
  const body = out.subarray(352);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (type === "float32") {
    if (vol.data instanceof Float32Array) new Float32Array(body.buffer, 352, n).set(vol.data);
    else for (let i = 0; i < n; i++) view.setFloat32(4 * i, vol.data[i]!, true);
  } else if (type === "int16") {
    for (let i = 0; i < n; i++) view.setInt16(2 * i, vol.data[i]!, true);
  } else {
    body.set(vol.data);
  }
  return out;
}

const wantsGzip = (path: string) => path.toLowerCase().endsWith(".gz");

function fileBytes(path: string, vol: Volume | LabelVolume, opts: WriteNiftiOptions): Uint8Array {
  if (!/\.nii(\.gz)?$/i.test(path)) {
    throw new UnpairedError("BAD_OPTION", `${path}: NIfTI files the kit writes end in .nii or .nii.gz`);
  }
  const raw = encodeNifti(vol, opts, path);
  // zlib's gzip header carries no time stamp, so the same volume gives the same bytes every time.
  return wantsGzip(path) ? gzipSync(raw, { level: 6 }) : raw;
}

/** Writes `vol` to `path` (.nii or .nii.gz) atomically. */
export async function writeNifti(path: string, vol: Volume | LabelVolume, opts: WriteNiftiOptions = {}): Promise<void> {
  await writeFileAtomic(path, fileBytes(path, vol, opts));
}

/** Synchronous twin of writeNifti. */
export function writeNiftiSync(path: string, vol: Volume | LabelVolume, opts: WriteNiftiOptions = {}): void {
  writeFileAtomicSync(path, fileBytes(path, vol, opts));
}
