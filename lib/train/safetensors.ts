// Reads and writes the safetensors format (Hugging Face): an 8-byte little-endian header length,
// a JSON header (dtype, shape, data_offsets per tensor, optional "__metadata__"), then raw data.
import { readFile } from "node:fs/promises";
import { endianness } from "node:os";
import { writeFileAtomic } from "../util/atomicWrite.js";
import { UnpairedError } from "../util/errors.js";

/** The dtypes this kit reads and writes (safetensors names). */
export type SafeDType = "F64" | "F32" | "I64" | "I32" | "I16" | "I8" | "U64" | "U32" | "U16" | "U8" | "BOOL";

export type SafeArray =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | BigUint64Array
  | Uint32Array
  | Uint16Array
  | Uint8Array;

/** One tensor: row-major data in the typed array of its dtype (BOOL is a Uint8Array of 0/1). */
export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: SafeArray;
}

/** A tensor to write; `dtype` defaults from the array type (Uint8Array -> U8). */
export interface SafeTensorInput {
  dtype?: SafeDType;
  shape: readonly number[];
  data: SafeArray;
}

export interface SafetensorsContents {
  tensors: Map<string, SafeTensor>;
  /** The header's "__metadata__" string map ({} when absent). */
  metadata: Record<string, string>;
}

const ITEM_BYTES: Record<SafeDType, number> = { F64: 8, F32: 4, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1 };

const ARRAY_OF: Record<SafeDType, { new (buffer: ArrayBuffer): SafeArray; name: string }> = {
  F64: Float64Array,
  F32: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};

/** The Rust reference refuses headers above 100 MB; so do we (a corrupt length otherwise allocates wildly). */
const MAX_HEADER_BYTES = 100_000_000;
const LITTLE_ENDIAN_HOST = endianness() === "LE";

function isDType(s: unknown): s is SafeDType {
  return typeof s === "string" && Object.prototype.hasOwnProperty.call(ITEM_BYTES, s);
}

function dtypeOf(data: SafeArray): SafeDType {
  if (data instanceof Float64Array) return "F64";
  if (data instanceof Float32Array) return "F32";
  if (data instanceof BigInt64Array) return "I64";
  if (data instanceof Int32Array) return "I32";
  if (data instanceof Int16Array) return "I16";
  if (data instanceof Int8Array) return "I8";
  if (data instanceof BigUint64Array) return "U64";
  if (data instanceof Uint32Array) return "U32";
  if (data instanceof Uint16Array) return "U16";
  return "U8";
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Little-endian bytes of a typed array (a copy-free view on little-endian hosts). */
function littleEndianBytes(data: SafeArray): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN_HOST || data.BYTES_PER_ELEMENT === 1) return view;
  const out = new Uint8Array(data.byteLength);
  const k = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < view.length; i += k) for (let j = 0; j < k; j++) out[i + j] = view[i + k - 1 - j]!;
  return out;
}

/**
 * Encodes tensors (written in name order) and optional string metadata as safetensors bytes.
 * The header is padded with spaces so the data starts 8-byte aligned, as the reference writer does.
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafeTensorInput> | Record<string, SafeTensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)) as [string, SafeTensorInput][];
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new UnpairedError("BAD_OPTION", `safetensors metadata "${k}" must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new UnpairedError("BAD_OPTION", `"__metadata__" cannot name a tensor`);
    const dtype = t.dtype ?? dtypeOf(t.data);
    if (!isDType(dtype)) throw new UnpairedError("BAD_OPTION", `tensor "${name}": unsupported dtype ${String(dtype)}`);
    if (!t.shape.every((n) => Number.isInteger(n) && n >= 0)) throw new UnpairedError("BAD_OPTION", `tensor "${name}": bad shape [${t.shape}]`);
    if (t.data.BYTES_PER_ELEMENT !== ITEM_BYTES[dtype] || dtypeOf(t.data) !== (dtype === "BOOL" ? "U8" : dtype)) {
      throw new UnpairedError("BAD_OPTION", `tensor "${name}": a ${t.data.constructor.name} cannot be written as ${dtype}`);
    }
    if (t.data.length !== count(t.shape)) {
      throw new UnpairedError("BAD_OPTION", `tensor "${name}": shape [${t.shape}] needs ${count(t.shape)} values, got ${t.data.length}`);
    }
    const bytes = littleEndianBytes(t.data);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    parts.push(bytes);
  }
  let json = JSON.stringify(header);
  const utf8 = new TextEncoder();
  let headerBytes = utf8.encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad) headerBytes = utf8.encode((json += " ".repeat(pad)));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function corrupt(what: string, reason: string): UnpairedError {
  return new UnpairedError("BAD_CHECKPOINT", `${what} is not a valid safetensors file: ${reason}`);
}

/**
 * Decodes safetensors bytes, validating the header: its length, JSON, dtypes, shapes and offsets
 * (which must tile the data exactly, with no holes, overlaps or trailing bytes). `what` names the
 * source in errors (UnpairedError BAD_CHECKPOINT).
 */
export function decodeSafetensors(bytes: Uint8Array, what = "the data"): SafetensorsContents {
  if (bytes.length < 8) throw corrupt(what, `truncated: ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) throw corrupt(what, `header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(n64);
  if (8 + n > bytes.length) throw corrupt(what, `truncated: the header needs ${n} bytes, only ${bytes.length - 8} follow`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw corrupt(what, "the header is not UTF-8 text");
  }
  if (!text.startsWith("{")) throw corrupt(what, "the header does not start with '{'");
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw corrupt(what, `the header is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw corrupt(what, "the header is not a JSON object");

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw corrupt(what, `"__metadata__" is not a string map`);
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string") throw corrupt(what, `"__metadata__.${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof entry !== "object" || entry === null) throw corrupt(what, `tensor "${name}": the entry is not an object`);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isDType(e.dtype)) throw corrupt(what, `tensor "${name}": unsupported or missing dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw corrupt(what, `tensor "${name}": the shape ${JSON.stringify(e.shape)} is not a list of whole numbers >= 0`);
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) || offsets[0] > offsets[1]) {
      throw corrupt(what, `tensor "${name}": bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const shape = e.shape as number[];
    const [begin, end] = offsets as [number, number];
    const expected = count(shape) * ITEM_BYTES[e.dtype];
    if (end - begin !== expected) {
      throw corrupt(what, `tensor "${name}": data_offsets [${begin}, ${end}] span ${end - begin} bytes, a ${e.dtype} [${shape}] tensor needs ${expected}`);
    }
    if (end > dataLength) throw corrupt(what, `truncated: tensor "${name}" ends at byte ${end} of the data, which has only ${dataLength}`);
    spans.push({ name, dtype: e.dtype, shape, begin, end });
  }

  // The offsets must tile the data buffer exactly.
  const ordered = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const s of ordered) {
    if (s.begin !== expectedBegin) {
      throw corrupt(what, s.begin < expectedBegin ? `tensor "${s.name}" overlaps the tensor before it` : `a hole in the data before tensor "${s.name}" (bytes ${expectedBegin}..${s.begin})`);
    }
    expectedBegin = s.end;
  }
  if (expectedBegin !== dataLength) throw corrupt(what, `${dataLength - expectedBegin} bytes after the last tensor's data`);

  const tensors = new Map<string, SafeTensor>();
  for (const s of spans) {
    // A copy into a fresh buffer: aligned for the typed array, and never a view on a Buffer pool.
    const raw = new Uint8Array(s.end - s.begin);
    raw.set(bytes.subarray(dataStart + s.begin, dataStart + s.end));
    const k = ITEM_BYTES[s.dtype];
    if (!LITTLE_ENDIAN_HOST && k > 1) {
      for (let i = 0; i < raw.length; i += k) raw.subarray(i, i + k).reverse();
    }
    tensors.set(s.name, { dtype: s.dtype, shape: s.shape, data: new ARRAY_OF[s.dtype](raw.buffer) });
  }
  return { tensors, metadata };
}

/** Writes a safetensors file atomically (a reader never sees half of it). */
export async function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, SafeTensorInput> | Record<string, SafeTensorInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads and validates a safetensors file (BAD_CHECKPOINT naming the file and the reason). */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UnpairedError("FILE_NOT_FOUND", `${path} does not exist`, { cause: err });
    throw new UnpairedError("BAD_CHECKPOINT", `could not read ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return decodeSafetensors(bytes, path);
}
