// SynDiff's time-conditioned discriminator in 2D (DDGAN's Discriminator_large, channels-last):
// it judges whether x_t is a plausible denoising of x_{t+1} at step t, from concat(x_t, x_{t+1})
// and an embedding of t, and returns one logit per sample.
//
// Layout (ndf base channels, `levels` downsampling blocks; LeakyReLU 0.2 throughout):
//   t -> sinusoid(tEmbDim) -> dense -> act -> dense -> act = temb
//   conv1 2->2ndf; per block i = 0..levels-1 (out ndf*min(2^(i+2), 8)):
//     h = conv3(act(x)) + dense(temb); h = act(h); h, x = avgpool2(h), avgpool2(x);
//     h = conv3(h) (zero init); out = (h + conv1_nobias(x)) / sqrt 2
//   minibatch standard deviation as one more channel; conv3 (zero init); act;
//   sum over height and width; dense -> 1.
// The reference blurs with a [1,3,3,1] FIR kernel before striding; here it is a 2x2 average pool.
// Every op has a correct second-order gradient in the kit's engine (lib/engine/secondOrder.ts),
// which the R1 penalty needs.
import { tf } from "../engine/tf.js";
import type { Rng } from "../util/random.js";
import { UnpairedError } from "../util/errors.js";
import { Conv, Linear } from "../nn/layers.js";
import { Module, type InitSpec, type Tensor } from "../nn/module.js";
import { DIFFUSION_INIT, TimeEmbedding } from "./diffusionEmbedding.js";

const ZERO_INIT: InitSpec = { kind: "normal", gain: 0 };
const act = (x: Tensor): Tensor => tf.leakyRelu(x, 0.2);

export interface TimeDiscriminatorOptions {
  /** Input channels: x_t and x_{t+1} (1 each). */
  imageChannels: number;
  /** Base channels (SynDiff's ngf, 64). */
  ndf: number;
  /** Downsampling blocks (6 in Discriminator_large for 256x256). */
  levels: number;
  /** Time embedding size (SynDiff: 256). */
  tEmbDim: number;
  /** Samples per minibatch-stddev group, at most (4 in the reference). */
  stddevGroup?: number;
  /** Zero-initialise the reference's init_scale 0 convs (default true). */
  zeroInit?: boolean;
}

/** A residual downsampling block with the time embedding added after its first conv. */
export class DownConvBlock extends Module {
  readonly conv1: Conv;
  readonly conv2: Conv;
  readonly denseT: Linear;
  readonly skip: Conv;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    tEmbDim: number,
    rng: Rng,
    zeroInit = true,
  ) {
    super();
    this.conv1 = this.child("conv1", new Conv(2, inChannels, outChannels, 3, rng, { padding: 1, init: DIFFUSION_INIT }));
    this.conv2 = this.child("conv2", new Conv(2, outChannels, outChannels, 3, rng, { padding: 1, init: zeroInit ? ZERO_INIT : DIFFUSION_INIT }));
    this.denseT = this.child("dense_t1", new Linear(tEmbDim, outChannels, rng, { init: DIFFUSION_INIT }));
    this.skip = this.child("skip", new Conv(2, inChannels, outChannels, 1, rng, { bias: false, init: DIFFUSION_INIT }));
  }
  apply(x: Tensor, temb: Tensor): Tensor {
    return tf.tidy(() => {
      const b = x.shape[0]!;
      let h = tf.add(this.conv1.apply(act(x)), tf.reshape(this.denseT.apply(temb), [b, 1, 1, this.outChannels]));
      h = tf.avgPool(act(h) as tf.Tensor4D, 2, 2, "valid");
      h = this.conv2.apply(h);
      const skip = this.skip.apply(tf.avgPool(x as tf.Tensor4D, 2, 2, "valid"));
      return tf.mul(tf.add(h, skip), Math.SQRT1_2);
    });
  }
}

/**
 * StyleGAN's minibatch standard deviation feature: samples in groups of g (the largest divisor of
 * the batch <= maxGroup; sample i is in group slot i mod (b / g)), per slot the standard deviation
 * over the group of every feature, averaged to one number, appended as a constant channel.
 */
export function minibatchStddev(x: Tensor, maxGroup: number): Tensor {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  let g = Math.min(b, maxGroup);
  while (b % g !== 0) g--;
  return tf.tidy(() => {
    const grouped = tf.reshape(x, [g, b / g, h, w, c]);
    const { variance } = tf.moments(grouped, 0);
    const std = tf.mean(tf.sqrt(tf.add(variance, 1e-8)), [1, 2, 3]);
    // Broadcast (not tile) to [g, b / g, h, w, 1]: sample g * (b / g) + m gets slot m's value.
    const perSample = tf.reshape(tf.mul(tf.reshape(std, [1, b / g, 1, 1, 1]), tf.ones([g, b / g, h, w, 1])), [b, h, w, 1]);
    return tf.concat([x, perSample], 3);
  });
}

export class TimeDiscriminator extends Module {
  readonly opts: Required<TimeDiscriminatorOptions>;
  readonly timeEmbedding: TimeEmbedding;
  readonly startConv: Conv;
  readonly blocks: DownConvBlock[];
  readonly finalConv: Conv;
  readonly endLinear: Linear;

  constructor(opts: TimeDiscriminatorOptions, rng: Rng) {
    super();
    const o = (this.opts = { stddevGroup: 4, zeroInit: true, ...opts });
    for (const [name, v, min] of [["imageChannels", o.imageChannels, 1], ["ndf", o.ndf, 1], ["levels", o.levels, 1], ["tEmbDim", o.tEmbDim, 4], ["stddevGroup", o.stddevGroup, 1]] as const) {
      if (!Number.isInteger(v) || v < min) throw new UnpairedError("BAD_OPTION", `TimeDiscriminator: ${name} must be a whole number >= ${min}, got ${v}`);
    }
    this.timeEmbedding = this.child("t_embed", new TimeEmbedding(o.tEmbDim, o.tEmbDim, o.tEmbDim, rng, act));
    this.startConv = this.child("start_conv", new Conv(2, 2 * o.imageChannels, 2 * o.ndf, 1, rng, { init: DIFFUSION_INIT }));
    let ch = 2 * o.ndf;
    this.blocks = Array.from({ length: o.levels }, (_, i) => {
      const out = o.ndf * Math.min(2 ** (i + 2), 8);
      const blk = this.child(`conv${i + 1}`, new DownConvBlock(ch, out, o.tEmbDim, rng, o.zeroInit));
      ch = out;
      return blk;
    });
    this.finalConv = this.child("final_conv", new Conv(2, ch + 1, ch, 3, rng, { padding: 1, init: o.zeroInit ? ZERO_INIT : DIFFUSION_INIT }));
    this.endLinear = this.child("end_linear", new Linear(ch, 1, rng, { init: DIFFUSION_INIT }));
  }

  /** x_t, x_{t+1} [b, h, w, imageChannels] (h, w multiples of 2^levels); t: b steps -> [b, 1] logits. */
  apply(xt: Tensor, t: readonly number[], xNext: Tensor): Tensor {
    const o = this.opts;
    const b = xt.shape[0]!;
    const ok = (x: Tensor) => x.rank === 4 && x.shape[0] === b && x.shape[3] === o.imageChannels;
    if (!ok(xt) || !ok(xNext) || xt.shape[1] !== xNext.shape[1] || xt.shape[2] !== xNext.shape[2]) {
      throw new UnpairedError("BAD_OPTION", `TimeDiscriminator: x_t and x_{t+1} must both be [batch, height, width, ${o.imageChannels}], got [${xt.shape}] and [${xNext.shape}]`);
    }
    const f = 2 ** o.levels;
    if (xt.shape.slice(1, 3).some((n) => n! % f !== 0)) throw new UnpairedError("BAD_OPTION", `TimeDiscriminator: height and width must be multiples of ${f} (${o.levels} levels), got ${xt.shape[1]}x${xt.shape[2]}`);
    if (t.length !== b) throw new UnpairedError("BAD_OPTION", `TimeDiscriminator: ${t.length} time steps for a batch of ${b}`);
    return tf.tidy(() => {
      const temb = act(this.timeEmbedding.apply(t));
      let h = this.startConv.apply(tf.concat([xt, xNext], 3));
      for (const blk of this.blocks) h = blk.apply(h, temb);
      h = act(this.finalConv.apply(minibatchStddev(h, o.stddevGroup)));
      return this.endLinear.apply(tf.sum(h, [1, 2]));
    });
  }
}
