// The layers the kit's networks are made of, each one definition for 2D and 3D (`dims`):
// convolution (zero or reflection padding), PyTorch-style transposed convolution, nearest
// upsampling + convolution, anti-aliased (blur-pool) down- and upsampling, reflection and zero
// padding, instance norm (with or without affine), dynamic instance norm (DIN) driven by a style
// vector or a one-hot code, linear layers and activations. Tensors are channels-last:
// [batch, (depth,) height, width, channels].
import { tf } from "../engine/tf.js";
import { normaliseOver } from "../engine/normalise.js";
import { UnpairedError } from "../util/errors.js";
import type { Rng } from "../util/random.js";
import { DEFAULT_INIT, initWeight, Layer, Module, normalTensor, spatialAxes, spatialPads, type Dims, type InitSpec, type Tensor } from "./module.js";

function checkRank(what: string, x: Tensor, dims: Dims): void {
  if (x.rank !== dims + 2) {
    throw new UnpairedError("BAD_OPTION", `${what}: expected a ${dims}D batch [batch, ${dims === 3 ? "depth, " : ""}height, width, channels], got shape [${x.shape}]`);
  }
}

function convNd(dims: Dims, x: Tensor, w: Tensor, stride: number, pad: "valid" | "same"): Tensor {
  return dims === 2
    ? tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad)
    : tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, stride, pad);
}

/** Zero or reflection padding on every spatial side. */
export function padSpatial(x: Tensor, dims: Dims, p: number | readonly [number, number], mode: "zeros" | "reflect" = "zeros"): Tensor {
  const pads = spatialPads(dims, p);
  if (pads.every(([a, b]) => a === 0 && b === 0)) return x;
  return mode === "reflect" ? tf.mirrorPad(x, pads, "reflect") : tf.pad(x, pads);
}

export class ReflectionPad extends Layer {
  constructor(
    readonly dims: Dims,
    readonly p: number,
  ) {
    super();
  }
  apply(x: Tensor): Tensor {
    return padSpatial(x, this.dims, this.p, "reflect");
  }
}

export interface ConvOptions {
  stride?: number;
  /** Padding on every side (PyTorch's `padding`); default 0. */
  padding?: number;
  padMode?: "zeros" | "reflect";
  bias?: boolean;
  init?: InitSpec;
}

/** Convolution with PyTorch semantics (explicit padding, zeros or reflect). Filter [k.., in, out]. */
export class Conv extends Layer {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly stride: number;
  readonly padding: number;
  readonly padMode: "zeros" | "reflect";

  constructor(
    readonly dims: Dims,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    rng: Rng,
    opts: ConvOptions = {},
  ) {
    super();
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.padMode = opts.padMode ?? "zeros";
    const field = kernel ** dims;
    this.weight = this.param("weight", initWeight(rng, [...Array(dims).fill(kernel), inChannels, outChannels], inChannels * field, outChannels * field, opts.init ?? DEFAULT_INIT));
    if (opts.bias ?? true) this.bias = this.param("bias", tf.zeros([outChannels]));
  }

  apply(x: Tensor): Tensor {
    checkRank("Conv", x, this.dims);
    return tf.tidy(() => {
      const h = padSpatial(x, this.dims, this.padding, this.padMode);
      const y = convNd(this.dims, h, this.weight, this.stride, "valid");
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}

export interface ConvTransposeOptions {
  stride?: number;
  padding?: number;
  outputPadding?: number;
  bias?: boolean;
  init?: InitSpec;
}

/**
 * Transposed convolution with PyTorch's size rule: out = (n - 1) * stride - 2 * padding +
 * kernel + outputPadding (k3 s2 p1 op1 doubles the size). Computed as a 'valid' transposed
 * convolution, then cropped by `padding` at the start (and zero-extended when outputPadding
 * exceeds padding). Filter [k.., out, in], as tfjs stores transposed filters.
 */
export class ConvTranspose extends Layer {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly stride: number;
  readonly padding: number;
  readonly outputPadding: number;

  constructor(
    readonly dims: Dims,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    rng: Rng,
    opts: ConvTransposeOptions = {},
  ) {
    super();
    this.stride = opts.stride ?? 2;
    this.padding = opts.padding ?? 1;
    this.outputPadding = opts.outputPadding ?? 1;
    const field = kernel ** dims;
    this.weight = this.param("weight", initWeight(rng, [...Array(dims).fill(kernel), outChannels, inChannels], inChannels * field, outChannels * field, opts.init ?? DEFAULT_INIT));
    if (opts.bias ?? true) this.bias = this.param("bias", tf.zeros([outChannels]));
  }

  /** Output spatial size for an input of size n. */
  outputSize(n: number): number {
    return (n - 1) * this.stride - 2 * this.padding + this.kernel + this.outputPadding;
  }

  apply(x: Tensor): Tensor {
    checkRank("ConvTranspose", x, this.dims);
    return tf.tidy(() => {
      const b = x.shape[0]!;
      const spatial = x.shape.slice(1, -1);
      const full = [b, ...spatial.map((n) => (n - 1) * this.stride + this.kernel), this.outChannels];
      let y =
        this.dims === 2
          ? tf.conv2dTranspose(x as tf.Tensor4D, this.weight as unknown as tf.Tensor4D, full as [number, number, number, number], this.stride, "valid")
          : tf.conv3dTranspose(x as tf.Tensor5D, this.weight as unknown as tf.Tensor5D, full as [number, number, number, number, number], this.stride, "valid");
      const extra = Math.max(0, this.outputPadding - this.padding);
      if (extra > 0) y = tf.pad(y, spatialPads(this.dims, [0, extra]));
      const out = spatial.map((n) => this.outputSize(n));
      y = tf.slice(y, [0, ...spatial.map(() => this.padding), 0], [b, ...out, this.outChannels]);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}

/** Nearest-neighbour upsampling by an integer factor along every spatial axis (differentiable). */
export function upsampleNearest(x: Tensor, dims: Dims, factor = 2): Tensor {
  return tf.tidy(() => {
    let h = x;
    for (const axis of spatialAxes(dims)) {
      const n = h.shape[axis]!;
      const idx = tf.tensor1d(Array.from({ length: n * factor }, (_, i) => Math.floor(i / factor)), "int32");
      h = tf.gather(h, idx, axis);
    }
    return h;
  });
}

/** Nearest upsampling x2 then a 3^d convolution (reflection padded): no checkerboard artefacts. */
export class UpsampleConv extends Layer {
  readonly conv: Conv;
  constructor(
    readonly dims: Dims,
    inChannels: number,
    outChannels: number,
    rng: Rng,
    opts: { init?: InitSpec; bias?: boolean } = {},
  ) {
    super();
    this.conv = this.child("conv", new Conv(dims, inChannels, outChannels, 3, rng, { padding: 1, padMode: "reflect", ...opts }));
  }
  apply(x: Tensor): Tensor {
    return tf.tidy(() => this.conv.apply(upsampleNearest(x, this.dims, 2)));
  }
}

/** The binomial [1, 2, 1] filter in `dims` dimensions, normalised to sum 1. */
function binomialFilter(dims: Dims): { data: Float32Array; shape: number[] } {
  const b = [1, 2, 1];
  const n = 3 ** dims;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = 1;
    let r = i;
    for (let a = 0; a < dims; a++) {
      v *= b[r % 3]!;
      r = Math.floor(r / 3);
    }
    data[i] = v / 4 ** dims;
  }
  return { data, shape: [...Array(dims).fill(3), 1, 1] };
}

/** Applies a single-channel filter to every channel alike (channels folded into the batch). */
function perChannel(x: Tensor, dims: Dims, f: (one: Tensor) => Tensor): Tensor {
  const rank = dims + 2;
  const c = x.shape[rank - 1]!;
  const b = x.shape[0]!;
  // [b, s.., c] -> [b, c, s..] -> [b*c, s.., 1]
  const perm = [0, rank - 1, ...spatialAxes(dims)];
  const folded = tf.reshape(tf.transpose(x, perm), [b * c, ...x.shape.slice(1, -1), 1]);
  const y = f(folded);
  const ys = y.shape.slice(1, -1);
  const back = tf.reshape(y, [b, c, ...ys]);
  return tf.transpose(back, [0, ...spatialAxes(dims).map((a) => a + 1), 1]);
}

/** Anti-aliased downsampling (blur pool): reflection pad 1, [1,2,1]^d blur, stride 2 (as CUT's Downsample). */
export class BlurDownsample extends Layer {
  constructor(readonly dims: Dims) {
    super();
  }
  apply(x: Tensor): Tensor {
    checkRank("BlurDownsample", x, this.dims);
    return tf.tidy(() => {
      const { data, shape } = binomialFilter(this.dims);
      const k = tf.tensor(data, shape);
      return perChannel(padSpatial(x, this.dims, 1, "reflect"), this.dims, (one) => convNd(this.dims, one, k, 2, "valid"));
    });
  }
}

/**
 * Anti-aliased upsampling x2 in the spirit of CUT's Upsample: zeros inserted by a stride-2
 * transposed convolution with the [1,2,1]^d filter scaled by 2^d (so each output is the linear
 * interpolation of its neighbours), on an input whose last voxel is repeated, cropped to 2n.
 */
export class BlurUpsample extends Layer {
  constructor(readonly dims: Dims) {
    super();
  }
  apply(x: Tensor): Tensor {
    checkRank("BlurUpsample", x, this.dims);
    return tf.tidy(() => {
      const { data, shape } = binomialFilter(this.dims);
      const k = tf.tensor(data.map((v) => v * 2 ** this.dims), shape);
      return perChannel(x, this.dims, (one) => {
        // Replicate the last voxel along every spatial axis so the border does not darken.
        let h = one;
        for (const axis of spatialAxes(this.dims)) {
          const last = tf.slice(h, h.shape.map((n, i) => (i === axis ? n - 1 : 0)), h.shape.map((n, i) => (i === axis ? 1 : n)));
          h = tf.concat([h, last], axis);
        }
        const b = h.shape[0]!;
        const s = h.shape.slice(1, -1);
        const full = [b, ...s.map((n) => (n - 1) * 2 + 3), 1];
        const y =
          this.dims === 2
            ? tf.conv2dTranspose(h as tf.Tensor4D, k as tf.Tensor4D, full as [number, number, number, number], 2, "valid")
            : tf.conv3dTranspose(h as tf.Tensor5D, k as tf.Tensor5D, full as [number, number, number, number, number], 2, "valid");
        const n = one.shape.slice(1, -1);
        return tf.slice(y, [0, ...n.map(() => 1), 0], [b, ...n.map((v) => 2 * v), 1]);
      });
    });
  }
}

/** Instance normalisation over the spatial axes (eps 1e-5), optionally with a learnt scale and shift. */
export function instanceNormalise(x: Tensor, dims: Dims, eps = 1e-5): Tensor {
  return normaliseOver(x, spatialAxes(dims), eps);
}

export class InstanceNorm extends Layer {
  readonly weight?: tf.Variable;
  readonly bias?: tf.Variable;
  constructor(
    readonly dims: Dims,
    readonly channels: number,
    opts: { affine?: boolean; rng?: Rng; eps?: number } = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    if (opts.affine) {
      this.weight = this.param("weight", opts.rng ? normalTensor(opts.rng, [channels], 1, 0.02) : tf.ones([channels]));
      this.bias = this.param("bias", tf.zeros([channels]));
    }
  }
  private readonly eps: number;
  apply(x: Tensor): Tensor {
    checkRank("InstanceNorm", x, this.dims);
    return tf.tidy(() => {
      const h = instanceNormalise(x, this.dims, this.eps);
      return this.weight ? tf.add(tf.mul(h, this.weight), this.bias!) : h;
    });
  }
}

/** y = x W + b for x [batch, in] (or [..., in]). */
export class Linear extends Layer {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
    opts: { bias?: boolean; init?: InitSpec } = {},
  ) {
    super();
    this.weight = this.param("weight", initWeight(rng, [inFeatures, outFeatures], inFeatures, outFeatures, opts.init ?? DEFAULT_INIT));
    if (opts.bias ?? true) this.bias = this.param("bias", tf.zeros([outFeatures]));
  }
  apply(x: Tensor): Tensor {
    return tf.tidy(() => {
      const flat = x.rank === 2 ? x : tf.reshape(x, [-1, this.inFeatures]);
      let y = tf.matMul(flat as tf.Tensor2D, this.weight as tf.Tensor2D);
      if (this.bias) y = tf.add(y, this.bias);
      return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
}

/**
 * Dynamic instance normalisation (DIN): x_hat = IN(x); [gamma, beta] = mapping(s), a linear map
 * from the conditioning vector s (a style vector, or a one-hot sub-domain code) to 2C values;
 * out = gamma * x_hat + beta, per sample and channel.
 */
export class DynamicInstanceNorm extends Module {
  readonly mapping: Linear;
  constructor(
    readonly dims: Dims,
    readonly channels: number,
    readonly conditionDim: number,
    rng: Rng,
    opts: { init?: InitSpec } = {},
  ) {
    super();
    this.mapping = this.child("mapping", new Linear(conditionDim, 2 * channels, rng, opts));
  }
  /** x [batch, s.., C]; s [batch, conditionDim] (or [1, conditionDim], shared by the batch). */
  apply(x: Tensor, s: Tensor): Tensor {
    checkRank("DynamicInstanceNorm", x, this.dims);
    if (s.rank !== 2 || s.shape[1] !== this.conditionDim) {
      throw new UnpairedError("BAD_OPTION", `DynamicInstanceNorm: the condition must be [batch, ${this.conditionDim}], got [${s.shape}]`);
    }
    return tf.tidy(() => {
      const gb = this.mapping.apply(s);
      const b = gb.shape[0]!;
      const bcast = [b, ...Array(this.dims).fill(1), this.channels];
      const gamma = tf.reshape(tf.slice(gb, [0, 0], [b, this.channels]), bcast);
      const beta = tf.reshape(tf.slice(gb, [0, this.channels], [b, this.channels]), bcast);
      return tf.add(tf.mul(instanceNormalise(x, this.dims), gamma), beta);
    });
  }
}

export const relu = (x: Tensor): Tensor => tf.relu(x);
export const leakyRelu = (x: Tensor, alpha = 0.2): Tensor => tf.leakyRelu(x, alpha);
export const tanh = (x: Tensor): Tensor => tf.tanh(x);
