// Group normalisation for SynDiff's diffusive generator (channels-last, 2D): plain group norm
// with a learnt per-channel scale and shift, and the adaptive group norm whose scale and shift
// come from the latent embedding of z, one pair per sample and channel (as in DDGAN's NCSN++).
import { normaliseOver } from "../engine/normalise.js";
import { tf } from "../engine/tf.js";
import type { Rng } from "../util/random.js";
import { UnpairedError } from "../util/errors.js";
import { Linear } from "../nn/layers.js";
import { Layer, Module, type InitSpec, type Tensor } from "../nn/module.js";
import { DIFFUSION_INIT } from "./diffusionEmbedding.js";

/** NCSN++'s group count for C channels: min(C / 4, 32). */
export const groupsFor = (channels: number): number => Math.max(1, Math.min(Math.floor(channels / 4), 32));

/** (x - mean) / sqrt(var + eps) over each sample's (h, w, channels of one group). x [b, h, w, C]. */
export function groupNormalise(x: Tensor, groups: number, eps = 1e-6): Tensor {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  if (x.rank !== 4 || c % groups !== 0) throw new UnpairedError("BAD_OPTION", `groupNormalise: expected [batch, height, width, C] with C divisible by ${groups}, got [${x.shape}]`);
  return tf.tidy(() => {
    const g = tf.reshape(x, [b, h, w, groups, c / groups]);
    return tf.reshape(normaliseOver(g, [1, 2, 4], eps), [b, h, w, c]);
  });
}

/** Group norm with an affine per-channel scale (init 1) and shift (init 0). */
export class GroupNorm extends Layer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly groups: number;
  constructor(readonly channels: number) {
    super();
    this.groups = groupsFor(channels);
    this.weight = this.param("weight", tf.ones([channels]));
    this.bias = this.param("bias", tf.zeros([channels]));
  }
  apply(x: Tensor): Tensor {
    return tf.tidy(() => tf.add(tf.mul(groupNormalise(x, this.groups), this.weight), this.bias));
  }
}

/**
 * Adaptive group norm: [gamma, beta] = dense(zEmb) (the gamma half's bias starts at 1, beta's
 * at 0), out = gamma * GN(x) + beta per sample and channel. x [b, h, w, C]; zEmb [b, zEmbDim].
 */
export class AdaptiveGroupNorm extends Module {
  readonly style: Linear;
  readonly groups: number;
  constructor(
    readonly channels: number,
    readonly styleDim: number,
    rng: Rng,
    init: InitSpec = DIFFUSION_INIT,
  ) {
    super();
    this.groups = groupsFor(channels);
    this.style = this.child("style", new Linear(styleDim, 2 * channels, rng, { init }));
    tf.tidy(() => this.style.bias!.assign(tf.concat([tf.ones([channels]), tf.zeros([channels])])));
  }
  apply(x: Tensor, zEmb: Tensor): Tensor {
    return tf.tidy(() => {
      const b = x.shape[0]!;
      const s = this.style.apply(zEmb);
      const gamma = tf.reshape(tf.slice(s, [0, 0], [b, this.channels]), [b, 1, 1, this.channels]);
      const beta = tf.reshape(tf.slice(s, [0, this.channels], [b, this.channels]), [b, 1, 1, this.channels]);
      return tf.add(tf.mul(groupNormalise(x, this.groups), gamma), beta);
    });
  }
}
