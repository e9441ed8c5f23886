// 8-bit raster images (grey, grey + alpha, RGB, RGBA) and PNG without a browser: encoding with
// pngjs, atomic PNG files, decoding, and data URIs for plotly image traces and HTML <img> tags.
import { PNG, type ColorType } from "pngjs";
import { writeFileAtomic, writeFileAtomicSync } from "../util/atomicWrite.js";
import { UnpairedError } from "../util/errors.js";

/** Samples per pixel: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
export type Channels = 1 | 2 | 3 | 4;

/**
 * An 8-bit raster image. `data` is row-major with interleaved channels: the sample of channel c
 * of the pixel in row r (0 = top) and column x (0 = left) is data[(r * width + x) * channels + c].
 */
export interface Bitmap {
  width: number;
  height: number;
  channels: Channels;
  data: Uint8Array;
}

/** PNG colour type of each channel count (0 grey, 4 grey + alpha, 2 RGB, 6 RGBA). */
const COLOUR_TYPE: Record<Channels, ColorType> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/** Throws BAD_VOLUME unless `image` is a well-formed Bitmap; `what` names it in the message. */
export function checkBitmap(image: Bitmap, what = "image"): void {
  if (image === null || typeof image !== "object") {
    throw new UnpairedError("BAD_VOLUME", `${what}: expected an image {width, height, channels, data}, got ${image === null ? "null" : typeof image}`);
  }
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new UnpairedError("BAD_VOLUME", `${what}: width ${width} and height ${height} must be positive whole numbers`);
  }
  if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
    throw new UnpairedError("BAD_VOLUME", `${what}: channels ${String(channels)} must be 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)`);
  }
  if (!(data instanceof Uint8Array)) {
    throw new UnpairedError("BAD_VOLUME", `${what}: data must be a Uint8Array of 8-bit samples (window the intensities first, e.g. with windowLevel)`);
  }
  if (data.length !== width * height * channels) {
    throw new UnpairedError(
      "BAD_VOLUME",
      `${what}: ${width}x${height} pixels with ${channels} channel(s) need ${width * height * channels} bytes, but data has ${data.length}`,
    );
  }
}

/** A new image of the given size, every pixel set to `fill` (one value per channel, default zeros). */
export function makeBitmap(width: number, height: number, channels: Channels, fill: readonly number[] = []): Bitmap {
  const image: Bitmap = { width, height, channels, data: new Uint8Array(width * height * channels) };
  checkBitmap(image, "makeBitmap");
  if (fill.some((v) => v !== 0)) {
    const px = Uint8Array.from({ length: channels }, (_, c) => fill[c] ?? 0);
    for (let i = 0; i < image.data.length; i += channels) image.data.set(px, i);
  }
  return image;
}

/** The PNG file bytes of `image` (8 bits per sample, colour type chosen by its channel count). */
export function encodePng(image: Bitmap): Uint8Array {
  checkBitmap(image, "encodePng");
  const colorType = COLOUR_TYPE[image.channels];
  // pngjs reads `width`, `height` and `data` from the object it is given (its PNG class is a stream).
  const meta = { width: image.width, height: image.height, data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength) };
  const bytes = PNG.sync.write(meta as unknown as PNG, {
    colorType,
    inputColorType: colorType,
    inputHasAlpha: image.channels === 2 || image.channels === 4,
    bitDepth: 8,
  });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes PNG bytes into a Bitmap with the file's own channel count (grey files give 1 channel,
 * RGB 3, and so on; palette files give RGB or RGBA). 16-bit files are scaled to 8 bits.
 */
export function decodePng(bytes: Uint8Array): Bitmap {
  let png;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new UnpairedError("BAD_VOLUME", `decodePng: these bytes are not a readable PNG (${reason})`, { cause: err });
  }
  const channels: Channels = png.palette ? (png.alpha ? 4 : 3) : ((png.color ? 3 : 1) + (png.alpha ? 1 : 0)) as Channels;
  const { width, height } = png;
  const rgba = png.data; // pngjs always hands back RGBA
  const data = new Uint8Array(width * height * channels);
  for (let p = 0, o = 0; p < width * height; p++) {
    const i = p * 4;
    if (channels === 1 || channels === 2) {
      data[o++] = rgba[i]!;
      if (channels === 2) data[o++] = rgba[i + 3]!;
    } else {
      data[o++] = rgba[i]!;
      data[o++] = rgba[i + 1]!;
      data[o++] = rgba[i + 2]!;
      if (channels === 4) data[o++] = rgba[i + 3]!;
    }
  }
  return { width, height, channels, data };
}

/** Writes `image` to `path` as a PNG, atomically (a temporary file renamed into place). */
export async function writePng(path: string, image: Bitmap): Promise<void> {
  await writeFileAtomic(path, encodePng(image));
}

/** Synchronous twin of {@link writePng}. */
export function writePngSync(path: string, image: Bitmap): void {
  writeFileAtomicSync(path, encodePng(image));
}

const DATA_URI_PREFIX = "data:image/png;base64,";

/** `data:image/png;base64,...` of `image`: the `source` of a plotly image trace or an <img> src. */
export function pngDataUri(image: Bitmap): string {
  const png = encodePng(image);
  return DATA_URI_PREFIX + Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString("base64");
}

/** The image inside a PNG data URI made by {@link pngDataUri} (or any base64 PNG data URI). */
export function decodePngDataUri(uri: string): Bitmap {
  if (typeof uri !== "string" || !uri.startsWith(DATA_URI_PREFIX)) {
    throw new UnpairedError("BAD_OPTION", `decodePngDataUri: expected a string starting "${DATA_URI_PREFIX}"`);
  }
  return decodePng(new Uint8Array(Buffer.from(uri.slice(DATA_URI_PREFIX.length), "base64")));
}
