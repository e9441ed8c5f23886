// Style vectors of many images: runs IntraStyler's style encoder E over a list of target
// images in batches (inside tf.tidy, so no tensor outlives a batch) and returns plain unit
// vectors, the input of the style-space analysis (PCA map, clusters, exemplars, SLERP).
import { tf } from "../engine/index.js";
import type { Dims } from "../nn/module.js";
import { explainEngineFailure, UnpairedError } from "../util/errors.js";
import type { Volume } from "../volume/volume.js";

/** What embedStyles needs of a style encoder (lib/models/styleEncoder.ts's StyleEncoder, e.g. an IntraStyler trainer's `E`). */
export interface StyleEmbedder {
  readonly dims: Dims;
  readonly inChannels: number;
  /** x [batch, (depth,) height, width, inChannels] -> style vectors [batch, K]. */
  apply(x: tf.Tensor): tf.Tensor;
}

/**
 * An image already in the encoder's layout: `data` in C order with `shape` [height, width] or
 * [height, width, channels] for a 2D encoder, [depth, height, width] or [depth, height, width,
 * channels] for a 3D one (channels last, the batch axis left out; without a channel axis the
 * image has one channel). Use it for slices and patches cut out of volumes.
 */
export interface StylePatch {
  data: Float32Array;
  shape: readonly number[];
}

/**
 * An input of embedStyles: a Volume (recognised by its `spacing` and `affine`; NIfTI order
 * [nx, ny(, nz)], one channel) or a StylePatch (tensor order, see there).
 *
 * A Volume goes in as lib/train/translate.ts's asTensorFor does: a 3D encoder sees the whole
 * volume [nz, ny, nx, 1]; a 2D encoder sees a 2D volume whole and the middle z slice of a 3D
 * one. Images must be normalised as the encoder was trained (e.g. lib/data/loader.ts's preprocess).
 */
export type StyleImage = Volume | StylePatch;

export interface EmbedOptions {
  /** Images per encoder call (default 16 for a 2D encoder, 1 for a 3D one, whose activations are large). */
  batchSize?: number;
  /** Called after every batch with the number of images embedded so far and the total. */
  onBatch?: (done: number, total: number) => void;
}

const isVolume = (x: StyleImage): x is Volume => "spacing" in x && "affine" in x;

/** One image as the encoder's input: its data and shape without the batch axis. */
function encoderInput(image: StyleImage, enc: StyleEmbedder, i: number): { data: Float32Array; shape: number[] } {
  const where = `embedStyles: image ${i}`;
  if (!image || !(image.data instanceof Float32Array) || !Array.isArray(image.shape)) {
    throw new UnpairedError("BAD_CONFIG", `${where} must be a Volume or a {data: Float32Array, shape} patch`);
  }
  const count = image.shape.reduce((a, b) => a * b, 1);
  if (!image.shape.every((s) => Number.isInteger(s) && s >= 1) || count !== image.data.length) {
    throw new UnpairedError("BAD_VOLUME", `${where}: shape [${image.shape}] must be positive whole numbers holding the ${image.data.length} values of data`);
  }
  if (isVolume(image)) {
    if (enc.inChannels !== 1) throw new UnpairedError("BAD_CONFIG", `${where} is a one-channel Volume but the style encoder takes ${enc.inChannels} channels; pass {data, shape} patches with a channel axis`);
    const [nx, ny, nz = 1] = image.shape as [number, number, number?];
    if (enc.dims === 3) {
      if (image.shape.length !== 3) throw new UnpairedError("BAD_CONFIG", `${where} is a 2D volume [${image.shape}] but the style encoder is 3D; give 3D volumes`);
      return { data: image.data, shape: [nz, ny, nx, 1] };
    }
    const z = Math.floor(nz / 2);
    return { data: image.data.subarray(z * nx * ny, (z + 1) * nx * ny), shape: [ny, nx, 1] };
  }
  const r = image.shape.length;
  const shape = r === enc.dims ? [...image.shape, 1] : [...image.shape];
  if ((r !== enc.dims && r !== enc.dims + 1) || shape[shape.length - 1] !== enc.inChannels) {
    const axes = enc.dims === 3 ? "depth, height, width" : "height, width";
    throw new UnpairedError("BAD_CONFIG", `${where}: a ${enc.dims}D style encoder with ${enc.inChannels} channel(s) takes patches of shape [${axes}${enc.inChannels === 1 ? "" : ", " + enc.inChannels}] or [${axes}, ${enc.inChannels}], got [${image.shape}]`);
  }
  return { data: image.data, shape };
}

/**
 * The style vector of every image: [images.length][K] plain numbers, each of unit length.
 *
 * Consecutive images of the same input shape share a batch (up to batchSize); a change of shape
 * starts a new batch, so images of different sizes may be mixed. Each batch runs inside tf.tidy
 * and is read back at once, so the engine's tensor count is the same before and after. The
 * encoder's float32 output is re-normalised in double precision, so norms are 1 to ~1e-15
 * (an all-zero output, which has no direction, stays zero).
 */
export function embedStyles(encoder: StyleEmbedder, images: readonly StyleImage[], opts: EmbedOptions = {}): number[][] {
  if (!encoder || typeof encoder.apply !== "function" || (encoder.dims !== 2 && encoder.dims !== 3)) {
    throw new UnpairedError("BAD_CONFIG", "embedStyles: encoder must be a style encoder (lib/models/styleEncoder.ts, e.g. an intrastyler trainer's E)");
  }
  if (!Array.isArray(images)) throw new UnpairedError("BAD_CONFIG", "embedStyles: images must be an array of Volumes or {data, shape} patches");
  const batchSize = opts.batchSize ?? (encoder.dims === 3 ? 1 : 16);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UnpairedError("BAD_CONFIG", `embedStyles: batchSize must be a whole number >= 1, got ${batchSize}`);
  const inputs = images.map((im, i) => encoderInput(im, encoder, i));
  const out: number[][] = [];
  let start = 0;
  while (start < inputs.length) {
    const shape = inputs[start]!.shape;
    let end = start + 1;
    while (end < inputs.length && end - start < batchSize && sameShape(inputs[end]!.shape, shape)) end++;
    const per = inputs[start]!.data.length;
    const batch = new Float32Array((end - start) * per);
    for (let i = start; i < end; i++) batch.set(inputs[i]!.data, (i - start) * per);
    let styles: Float32Array;
    try {
      styles = tf.tidy(() => {
        const y = encoder.apply(tf.tensor(batch, [end - start, ...shape]));
        if (y.rank !== 2 || y.shape[0] !== end - start) throw new UnpairedError("BAD_CONFIG", `embedStyles: the encoder returned [${y.shape}], expected [${end - start}, K]`);
        return y.dataSync() as Float32Array;
      });
    } catch (err) {
      throw explainEngineFailure(err, "embedStyles");
    }
    const K = styles.length / (end - start);
    for (let b = 0; b < end - start; b++) out.push(unitRow(styles.subarray(b * K, (b + 1) * K)));
    start = end;
    opts.onBatch?.(out.length, inputs.length);
  }
  return out;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

function unitRow(v: Float32Array): number[] {
  let s = 0;
  for (const x of v) s += x * x;
  const norm = Math.sqrt(s);
  return Array.from(v, (x) => (norm > 0 ? x / norm : 0));
}
