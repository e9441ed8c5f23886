// IntraStyler's style encoder E: maps an image (an exemplar of the target domain) to a unit
// style vector (K = 256) that drives the generator's DIN layers, in 2D and 3D.
//
// Layout, numbered and named as the reference's StyleEncoder `model` Sequential:
//   0 conv 7 s1 (reflection pad 3) base, IN, ReLU
//   1 conv 4 s2 (reflection pad 1) base -> 2 base, IN, ReLU
//   2 conv 4 s2 (reflection pad 1) 2 base -> 4 base, IN, ReLU
//   (further downsamplings, if asked, keep the channels)
//   global average pool, then a 1^d conv (here a Linear, `model.<n>.weight` [C, K]) to K,
//   then L2 normalisation (x / max(|x|, 1e-12), as F.normalize).
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";
import type { Rng } from "../util/random.js";
import { ConvNormAct, type NormKind } from "../nn/blocks.js";
import { Linear } from "../nn/layers.js";
import { Module, spatialAxes, type Dims, type InitSpec, type Tensor } from "../nn/module.js";
import { Slots } from "./containers.js";

export interface StyleEncoderOptions {
  dims: Dims;
  inChannels: number;
  /** Filters of the first conv (default 64). */
  base?: number;
  /** Length K of the style vector (default 256). */
  styleDim?: number;
  /** Stride-2 convs (default 2: base*2, base*4; more keep the channels). */
  downsamples?: number;
  /** Norm in each conv block (default "instance", as methods.md and the reference's
   * ResnetGeneratorStyle; the reference's stand-alone SID encoder uses none). */
  norm?: NormKind;
  init?: InitSpec;
}

export class StyleEncoder extends Module {
  readonly model: Slots;
  readonly dims: Dims;
  readonly inChannels: number;
  readonly styleDim: number;
  readonly downsamples: number;
  private readonly convs: ConvNormAct[] = [];
  private readonly fc: Linear;

  constructor(opts: StyleEncoderOptions, rng: Rng) {
    super();
    const base = opts.base ?? 64;
    this.dims = opts.dims;
    this.inChannels = opts.inChannels;
    this.styleDim = opts.styleDim ?? 256;
    this.downsamples = opts.downsamples ?? 2;
    for (const [name, v, min] of [["inChannels", this.inChannels, 1], ["base", base, 1], ["styleDim", this.styleDim, 1], ["downsamples", this.downsamples, 0]] as const) {
      if (!Number.isInteger(v) || v < min) throw new UnpairedError("BAD_OPTION", `StyleEncoder: ${name} must be a whole number >= ${min}, got ${v}`);
    }
    const norm = opts.norm ?? "instance";
    const init = opts.init ? { init: opts.init } : {};
    this.model = this.child("model", new Slots());
    let c = base;
    this.convs.push(this.model.add(0, new ConvNormAct(this.dims, this.inChannels, c, 7, rng, { padding: 3, padMode: "reflect", norm, activation: "relu", ...init })));
    for (let i = 0; i < this.downsamples; i++) {
      const cout = i < 2 ? 2 * c : c;
      this.convs.push(this.model.add(i + 1, new ConvNormAct(this.dims, c, cout, 4, rng, { stride: 2, padding: 1, padMode: "reflect", norm, activation: "relu", ...init })));
      c = cout;
    }
    // Index downsamples + 1 is the (parameter-free) global average pool.
    this.fc = this.model.add(this.downsamples + 2, new Linear(c, this.styleDim, rng, init));
  }

  /** x [batch, s.., inChannels] -> unit style vectors [batch, styleDim]. */
  apply(x: Tensor): Tensor {
    if (x.rank !== this.dims + 2 || x.shape[x.rank - 1] !== this.inChannels) {
      throw new UnpairedError("BAD_OPTION", `StyleEncoder: expected [batch, ${this.dims === 3 ? "depth, " : ""}height, width, ${this.inChannels}], got [${x.shape}]`);
    }
    // Reflection padding needs more voxels than it pads: 4 for the first conv, then >= 2 at
    // every stride-2 conv (each halves, rounding down).
    const min = Math.max(4, 2 ** this.downsamples);
    if (x.shape.slice(1, -1).some((n) => n < min)) {
      throw new UnpairedError("BAD_OPTION", `StyleEncoder: every spatial size must be at least ${min}, got ${x.shape.slice(1, -1).join("x")}`);
    }
    return tf.tidy(() => {
      const h = this.convs.reduce((a, l) => l.apply(a), x);
      const pooled = tf.mean(h, spatialAxes(this.dims));
      return l2Normalize(this.fc.apply(pooled), 1e-12);
    });
  }
}

/**
 * Rows divided by max(their L2 norm, eps) (F.normalize), computed as x * rsqrt(max(|x|^2, eps^2))
 * so that an all-zero row (a blank crop) gets a zero gradient instead of sqrt's 0/0 = NaN.
 */
export function l2Normalize(x: Tensor, eps = 1e-12): Tensor {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), eps * eps))));
}
