// Reads NIfTI-1 and NIfTI-2 images (.nii, .nii.gz, and the .hdr/.img pair) into Volumes and
// LabelVolumes: nifti-reader-js parses the header; the kit decompresses with Node's zlib, swaps
// byte order, applies scl_slope/scl_inter and builds the affine by the NIfTI rules. Every way a
// file can be wrong becomes an UnpairedError that names the file and the reason.
import { existsSync, readFileSync, createReadStream, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { gunzip, gunzipSync, createGunzip } from "node:zlib";
import { promisify } from "node:util";
import { NIFTI1, NIFTI2, readHeader } from "nifti-reader-js";
import { UnpairedError } from "../util/errors.js";
import { headerAffine, niftiDatatype, type AffineSource, type NiftiDatatype } from "./niftiFormat.js";
import { labelArrayFor, makeLabelVolume, makeVolume, type Affine, type LabelVolume, type Volume } from "./volume.js";

const gunzipAsync = promisify(gunzip);

/** What the header says, in the kit's terms. */
export interface NiftiHeader {
  /** The file the header was read from. */
  path: string;
  version: 1 | 2;
  littleEndian: boolean;
  /** Datatype name as the kit spells it, e.g. "int16", "float32". */
  datatype: string;
  /** The header's datatype code. */
  datatypeCode: number;
  /** dim[1..dim[0]] as stored. */
  dims: number[];
  /** Spatial shape: [nx, ny] for a 2D file (dim[0] = 2), else [nx, ny, nz]. */
  shape: number[];
  /** Number of volumes (the product of dim[4..]): 1 for a plain 3D image. */
  volumes: number;
  /** Voxel size per axis of `shape` (|pixdim|; 1 where the header has none). */
  spacing: number[];
  affine: Affine;
  affineSource: AffineSource;
  qformCode: number;
  sformCode: number;
  /** The scaling applied to stored values: slope 1, intercept 0 when the header has none. */
  sclSlope: number;
  sclInter: number;
  description: string;
  /** Byte offset of the voxel data (in the .img file for a pair). */
  voxOffset: number;
}

export interface ReadNiftiOptions {
  /** Which volume of a 4D+ file to read (0-based, default 0). */
  volume?: number;
  /**
   * What to do with NaN voxels in float data: "error" (default) stops with a message that counts
   * them, "zero" replaces them with 0, "keep" leaves them.
   */
  nan?: "error" | "zero" | "keep";
}

export interface NiftiVolume extends Volume {
  header: NiftiHeader;
}

export interface NiftiLabelVolume extends LabelVolume {
  header: NiftiHeader;
}

function bad(path: string, reason: string, cause?: unknown): UnpairedError {
  return new UnpairedError("BAD_NIFTI", `${path}: ${reason}`, cause === undefined ? undefined : { cause });
}

// ---------------------------------------------------------------------------------------------
// Files: which bytes hold the header and which the voxels.

interface FilePair {
  headerPath: string;
  imagePath: string;
}

function locate(path: string): FilePair {
  const lower = path.toLowerCase();
  const swap = (from: string, to: string): string => {
    const base = path.slice(0, path.length - from.length);
    for (const ext of [to, to.toUpperCase()]) {
      for (const gz of ["", ".gz"]) if (existsSync(base + ext + gz)) return base + ext + gz;
    }
    return base + to;
  };
  if (lower.endsWith(".hdr") || lower.endsWith(".hdr.gz")) {
    const imagePath = swap(lower.endsWith(".gz") ? ".hdr.gz" : ".hdr", ".img");
    return { headerPath: path, imagePath };
  }
  if (lower.endsWith(".img") || lower.endsWith(".img.gz")) {
    return { headerPath: swap(lower.endsWith(".gz") ? ".img.gz" : ".img", ".hdr"), imagePath: path };
  }
  return { headerPath: path, imagePath: path };
}

function checkExists(path: string, what = "file"): void {
  if (!existsSync(path)) {
    throw new UnpairedError("FILE_NOT_FOUND", `${path}: no such ${what}. Check the path (relative paths start from ${process.cwd()}).`);
  }
  if (statSync(path).isDirectory()) {
    throw new UnpairedError("FILE_NOT_FOUND", `${path}: is a folder, not a NIfTI file`);
  }
}

// zlib's default 16 KiB output chunks make inflating a 20 MB volume several times slower.
const INFLATE_CHUNK = 1 << 22;

const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

function gunzipError(path: string, err: unknown): UnpairedError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/unexpected end/i.test(msg)) return bad(path, "the gzip stream ends early: the file is truncated (an interrupted download or copy?)", err);
  return bad(path, `the gzip data is corrupt (${msg}); download or copy the file again`, err);
}

function inflateSync(path: string, bytes: Uint8Array): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes, { chunkSize: INFLATE_CHUNK });
  } catch (err) {
    throw gunzipError(path, err);
  }
}

async function inflate(path: string, bytes: Uint8Array): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  try {
    return await gunzipAsync(bytes, { chunkSize: INFLATE_CHUNK });
  } catch (err) {
    throw gunzipError(path, err);
  }
}

/** The first `n` decompressed bytes of a file (or all of it when shorter), without inflating the rest. */
async function leadingBytes(path: string, n: number): Promise<Uint8Array> {
  const head = new Uint8Array(2);
  const fd = await import("node:fs/promises").then((m) => m.open(path, "r"));
  try {
    await fd.read(head, 0, 2, 0);
  } finally {
    await fd.close();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const source = createReadStream(path, isGzip(head) ? {} : { start: 0, end: n - 1 });
  const stream = isGzip(head) ? source.pipe(createGunzip()) : source;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= n) break;
    }
  } catch (err) {
    if (total < n) throw gunzipError(path, err);
  } finally {
    source.destroy();
    if (stream !== source) (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
  }
  return new Uint8Array(Buffer.concat(chunks).subarray(0, n));
}

// ---------------------------------------------------------------------------------------------
// Header.

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? (b.buffer as ArrayBuffer) : (b.slice().buffer as ArrayBuffer);
}

/** Parses the header at the start of `bytes` (already decompressed). */
export function parseNiftiHeader(bytes: Uint8Array, path: string, pair = false): NiftiHeader {
  if (bytes.length < 348) {
    throw new UnpairedError("NOT_NIFTI", `${path}: not a NIfTI file (only ${bytes.length} bytes; a NIfTI header alone is 348)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sizeLE = view.getInt32(0, true);
  const sizeBE = view.getInt32(0, false);
  const version = sizeLE === 348 || sizeBE === 348 ? 1 : sizeLE === 540 || sizeBE === 540 ? 2 : 0;
  if (version === 0) {
    throw new UnpairedError(
      "NOT_NIFTI",
      `${path}: not a NIfTI file (the first four bytes should say the header size, 348 or 540, but read ${sizeLE}). Is it another format (DICOM, NRRD, MHA)? Convert it to NIfTI first.`,
    );
  }
  if (version === 2 && bytes.length < 540) throw bad(path, `the file ends inside its NIfTI-2 header (${bytes.length} of 540 bytes)`);
  const magicAt = version === 1 ? 344 : 4;
  const magic = String.fromCharCode(bytes[magicAt]!, bytes[magicAt + 1]!, bytes[magicAt + 2]!);
  const okMagic = version === 1 ? ["n+1", "ni1"] : ["n+2", "ni2"];
  if (!okMagic.includes(magic)) {
    const shown = magic.replace(/[^\x20-\x7e]/g, "?");
    throw new UnpairedError(
      "NOT_NIFTI",
      version === 1
        ? `${path}: a 348-byte header without the NIfTI magic ("${shown}"): an Analyze 7.5 file, which has no reliable orientation. Convert it to NIfTI (e.g. with FSL or nibabel) first.`
        : `${path}: a 540-byte header without the NIfTI-2 magic ("${shown}")`,
    );
  }
  if (magic[1] === "i" && !pair) {
    throw bad(path, `the header says its voxels live in a separate .img file ("${magic}"); open the .hdr file with its .img beside it`);
  }
  let h: NIFTI1 | NIFTI2;
  try {
    h = readHeader(toArrayBuffer(bytes.subarray(0, version === 1 ? 348 : 540)), true) as NIFTI1 | NIFTI2;
  } catch (err) {
    throw bad(path, `unreadable NIfTI header (${err instanceof Error ? err.message : String(err)})`, err);
  }
  const le = h.littleEndian;
  const dim0 = h.dims[0]!;
  if (!(dim0 >= 1 && dim0 <= 7)) throw bad(path, `dim[0] is ${dim0}; NIfTI allows 1 to 7 dimensions`);
  const dims = h.dims.slice(1, dim0 + 1).map(Number);
  if (!dims.every((d) => Number.isInteger(d) && d >= 1)) throw bad(path, `the header's dimensions [${dims}] are not all positive`);
  const nx = dims[0]!;
  const ny = dims[1] ?? 1;
  const nz = dims[2] ?? 1;
  const shape = dim0 <= 2 ? [nx, ny] : [nx, ny, nz];
  const volumes = dims.slice(3).reduce((a, b) => a * b, 1);
  const pix = h.pixDims.map(Number);
  const spacing = shape.map((_, i) => {
    const p = Math.abs(pix[i + 1]!);
    return Number.isFinite(p) && p > 0 ? p : 1;
  });
  // Raw sform rows: nifti-reader-js keeps only whichever affine it prefers, so read them here.
  const srow: number[][] = [];
  for (let r = 0; r < 3; r++) {
    const row: number[] = [];
    for (let c = 0; c < 4; c++) {
      row.push(version === 1 ? view.getFloat32(280 + 16 * r + 4 * c, le) : view.getFloat64(400 + 32 * r + 8 * c, le));
    }
    srow.push(row);
  }
  const { affine, source } = headerAffine({
    sformCode: h.sform_code,
    qformCode: h.qform_code,
    srow,
    quatern: {
      b: h.quatern_b,
      c: h.quatern_c,
      d: h.quatern_d,
      qx: h.qoffset_x,
      qy: h.qoffset_y,
      qz: h.qoffset_z,
      dx: Math.abs(pix[1]!),
      dy: Math.abs(pix[2]!),
      dz: Math.abs(pix[3]!),
      qfac: pix[0]!,
    },
    pixdim: pix.map(Math.abs),
  });
  if (!affine.every((row) => row.every(Number.isFinite))) throw bad(path, `the ${source} affine holds non-finite numbers`);
  const dt = niftiDatatype(h.datatypeCode);
  let slope = Number(h.scl_slope);
  let inter = Number(h.scl_inter);
  if (!Number.isFinite(slope) || slope === 0) {
    slope = 1;
    inter = 0;
  }
  if (!Number.isFinite(inter)) inter = 0;
  return {
    path,
    version,
    littleEndian: le,
    datatype: dt?.name ?? `unknown code ${h.datatypeCode}`,
    datatypeCode: h.datatypeCode,
    dims,
    shape,
    volumes,
    spacing,
    affine,
    affineSource: source,
    qformCode: h.qform_code,
    sformCode: h.sform_code,
    sclSlope: slope,
    sclInter: inter,
    description: (h.description ?? "").replace(/\0.*$/s, "").trim(),
    voxOffset: Number(h.vox_offset),
  };
}

/** Reads only the header (for manifest checks: shapes and affines without decompressing voxels). */
export async function readNiftiHeader(path: string): Promise<NiftiHeader> {
  const { headerPath, pair } = pairOf(path);
  return parseNiftiHeader(await leadingBytes(headerPath, 540), headerPath, pair);
}

// ---------------------------------------------------------------------------------------------
// Voxels.

function readableType(h: NiftiHeader): NiftiDatatype {
  const dt = niftiDatatype(h.datatypeCode);
  if (!dt || dt.array === undefined) {
    throw new UnpairedError(
      "UNSUPPORTED_DATATYPE",
      `${h.path}: unsupported datatype ${h.datatype}; the kit reads scalar images (uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64). Convert RGB or complex data to one scalar channel first.`,
    );
  }
  return dt;
}

/** The stored values of one volume as a numeric array (native byte order, before scaling). */
function storedValues(bytes: Uint8Array, start: number, count: number, dt: NiftiDatatype, littleEndian: boolean): ArrayLike<number> {
  const n = count * dt.bytes;
  let src = bytes.subarray(start, start + n);
  const hostLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (dt.bytes > 1 && littleEndian !== hostLE) {
    const swapped = new Uint8Array(n);
    const w = dt.bytes;
    for (let i = 0; i < n; i += w) for (let k = 0; k < w; k++) swapped[i + k] = src[i + w - 1 - k]!;
    src = swapped;
  } else if ((src.byteOffset % dt.bytes) !== 0) {
    src = src.slice();
  }
  const buf = src.buffer;
  const off = src.byteOffset;
  switch (dt.array) {
    case "u8":
      return new Uint8Array(buf, off, count);
    case "i8":
      return new Int8Array(buf, off, count);
    case "i16":
      return new Int16Array(buf, off, count);
    case "u16":
      return new Uint16Array(buf, off, count);
    case "i32":
      return new Int32Array(buf, off, count);
    case "u32":
      return new Uint32Array(buf, off, count);
    case "f32":
      return new Float32Array(buf, off, count);
    case "f64":
      return new Float64Array(buf, off, count);
    case "i64":
    case "u64": {
      const big = dt.array === "i64" ? new BigInt64Array(buf, off, count) : new BigUint64Array(buf, off, count);
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(big[i]!);
      return out;
    }
    default:
      throw new Error(`unreachable datatype ${String(dt.array)}`);
  }
}

interface Decoded {
  header: NiftiHeader;
  values: ArrayLike<number>;
  slope: number;
  inter: number;
  float: boolean;
}

function decode(headerBytes: Uint8Array, imageBytes: Uint8Array, path: string, pair: boolean, opts: ReadNiftiOptions): Decoded {
  const header = parseNiftiHeader(headerBytes, path, pair);
  const dt = readableType(header);
  const perVolume = header.shape.reduce((a, b) => a * b, 1);
  const volume = opts.volume ?? 0;
  if (!Number.isInteger(volume) || volume < 0 || volume >= header.volumes) {
    throw new UnpairedError(
      "BAD_OPTION",
      `${path}: volume ${volume} does not exist; the file holds ${header.volumes} volume(s) (dims [${header.dims}]), numbered from 0`,
    );
  }
  const offset = pair ? header.voxOffset : Math.max(header.voxOffset, header.version === 1 ? 352 : 544);
  if (!pair && header.voxOffset < (header.version === 1 ? 348 : 540)) {
    throw bad(path, `vox_offset ${header.voxOffset} points inside the header`);
  }
  const needed = offset + perVolume * header.volumes * dt.bytes;
  if (imageBytes.length < needed) {
    throw bad(
      pair ? locate(path).imagePath : path,
      `holds ${imageBytes.length - offset} bytes of voxel data but the header (dims [${header.dims}], ${header.datatype}) needs ${needed - offset}: the file is truncated or the header is wrong`,
    );
  }
  const values = storedValues(imageBytes, offset + volume * perVolume * dt.bytes, perVolume, dt, header.littleEndian);
  return { header, values, slope: header.sclSlope, inter: header.sclInter, float: dt.array === "f32" || dt.array === "f64" };
}

function coordinates(shape: number[], index: number): string {
  const x = index % shape[0]!;
  const y = Math.floor(index / shape[0]!) % shape[1]!;
  const z = Math.floor(index / (shape[0]! * shape[1]!));
  return shape.length === 2 ? `(${x}, ${y})` : `(${x}, ${y}, ${z})`;
}

function toVolume(d: Decoded, opts: ReadNiftiOptions): NiftiVolume {
  const { values, slope, inter, header } = d;
  const n = values.length;
  const out = new Float32Array(n);
  // Types whose every value float32 holds exactly convert with one typed-array copy (much faster
  // than a loop); scaling them afterwards gives the same result as scaling the stored values.
  const exact = values instanceof Float32Array || values instanceof Uint8Array || values instanceof Int8Array || values instanceof Int16Array || values instanceof Uint16Array;
  if (exact) {
    out.set(values);
    if (slope !== 1 || inter !== 0) for (let i = 0; i < n; i++) out[i] = out[i]! * slope + inter;
  } else if (slope === 1 && inter === 0) {
    for (let i = 0; i < n; i++) out[i] = values[i]!;
  } else {
    for (let i = 0; i < n; i++) out[i] = values[i]! * slope + inter;
  }
  if (d.float && (opts.nan ?? "error") !== "keep") {
    let count = 0;
    let first = -1;
    for (let i = 0; i < n; i++) {
      if (out[i] !== out[i]) {
        if (first < 0) first = i;
        count++;
        out[i] = 0;
      }
    }
    if (count > 0 && (opts.nan ?? "error") === "error") {
      throw new UnpairedError(
        "BAD_NIFTI",
        `${header.path}: ${count} voxel(s) are NaN (the first at voxel ${coordinates(header.shape, first)}). Fix the file, or read it with { nan: "zero" } (CLI: --nan zero) to set them to 0.`,
      );
    }
  }
  return { ...makeVolume(out, header.shape, header.spacing, header.affine), header };
}

function toLabels(d: Decoded): NiftiLabelVolume {
  const { values, slope, inter, header } = d;
  const n = values.length;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i]! * slope + inter;
    if (!Number.isInteger(v)) {
      throw new UnpairedError(
        "BAD_NIFTI",
        `${header.path}: not a label map: voxel ${coordinates(header.shape, i)} holds ${v}, and labels must be whole numbers. Is this an image rather than a segmentation?`,
      );
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min < -2147483648 || max > 2147483647) throw bad(header.path, `label values span ${min}..${max}, beyond 32-bit integers`);
  const out = labelArrayFor(min, max, n);
  for (let i = 0; i < n; i++) out[i] = values[i]! * slope + inter;
  return { ...makeLabelVolume(out, header.shape, header.spacing, header.affine), header };
}

function pairOf(path: string): FilePair & { pair: boolean } {
  checkExists(path);
  const files = locate(path);
  const pair = files.headerPath !== files.imagePath;
  if (pair) {
    checkExists(files.headerPath, "header file (.hdr)");
    checkExists(files.imagePath, "image file (.img) for the header");
  }
  return { ...files, pair };
}

async function load(path: string, opts: ReadNiftiOptions): Promise<Decoded> {
  const { headerPath, imagePath, pair } = pairOf(path);
  const headerBytes = await inflate(headerPath, new Uint8Array(await readFile(headerPath)));
  const imageBytes = pair ? await inflate(imagePath, new Uint8Array(await readFile(imagePath))) : headerBytes;
  return decode(headerBytes, imageBytes, headerPath, pair, opts);
}

function loadSync(path: string, opts: ReadNiftiOptions): Decoded {
  const { headerPath, imagePath, pair } = pairOf(path);
  const headerBytes = inflateSync(headerPath, new Uint8Array(readFileSync(headerPath)));
  const imageBytes = pair ? inflateSync(imagePath, new Uint8Array(readFileSync(imagePath))) : headerBytes;
  return decode(headerBytes, imageBytes, headerPath, pair, opts);
}

/** Reads an image as float32 intensities (scl_slope/scl_inter applied). */
export async function readNifti(path: string, opts: ReadNiftiOptions = {}): Promise<NiftiVolume> {
  return toVolume(await load(path, opts), opts);
}

/** Synchronous twin of readNifti. */
export function readNiftiSync(path: string, opts: ReadNiftiOptions = {}): NiftiVolume {
  return toVolume(loadSync(path, opts), opts);
}

/** Reads a segmentation: every voxel must be a whole number; stored in the narrowest integer array. */
export async function readNiftiLabels(path: string, opts: Pick<ReadNiftiOptions, "volume"> = {}): Promise<NiftiLabelVolume> {
  return toLabels(await load(path, opts));
}

/** Synchronous twin of readNiftiLabels. */
export function readNiftiLabelsSync(path: string, opts: Pick<ReadNiftiOptions, "volume"> = {}): NiftiLabelVolume {
  return toLabels(loadSync(path, opts));
}
