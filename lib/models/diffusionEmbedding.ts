// The conditioning signals of SynDiff's networks: the sinusoidal (positional) embedding of the
// diffusion step t with the small MLP that follows it, and the mapping network that turns the
// latent z into the vector driving the generator's adaptive group norms (StyleGAN's pixel norm
// followed by dense + swish layers).
import { tf } from "../engine/tf.js";
import type { Rng } from "../util/random.js";
import { UnpairedError } from "../util/errors.js";
import { Linear } from "../nn/layers.js";
import { Module, type InitSpec, type Tensor } from "../nn/module.js";

/** Weights as "variance scaling, fan average" (the DDGAN/NCSN++ default_init): xavier, gain 1. */
export const DIFFUSION_INIT: InitSpec = { kind: "xavier", gain: 1 };

/** swish / SiLU: x * sigmoid(x), the activation of NCSN++. */
export const swish = (x: Tensor): Tensor => tf.tidy(() => tf.mul(x, tf.sigmoid(x)));

/**
 * Sinusoidal embedding of (integer or real) steps t: with h = floor(dim / 2) and
 * w_k = exp(-k ln(maxPositions) / (h - 1)), row i is [sin(t_i w_0..w_{h-1}), cos(t_i w_0..w_{h-1})]
 * (one zero appended when dim is odd). Computed in float64 on the CPU. Returns [t.length, dim].
 */
export function timestepEmbedding(t: readonly number[], dim: number, maxPositions = 10000): tf.Tensor2D {
  if (!(Number.isInteger(dim) && dim >= 4)) throw new UnpairedError("BAD_OPTION", `timestepEmbedding: dim must be a whole number >= 4, got ${dim}`);
  const half = Math.floor(dim / 2);
  const scale = Math.log(maxPositions) / (half - 1);
  const out = new Float32Array(t.length * dim);
  t.forEach((ti, i) => {
    for (let k = 0; k < half; k++) {
      const a = ti * Math.exp(-k * scale);
      out[i * dim + k] = Math.sin(a);
      out[i * dim + half + k] = Math.cos(a);
    }
  });
  return tf.tensor2d(out, [t.length, dim]);
}

/** t -> sinusoid(t, embeddingDim) -> dense -> act -> dense: [b, outDim]. */
export class TimeEmbedding extends Module {
  readonly dense0: Linear;
  readonly dense1: Linear;
  constructor(
    readonly embeddingDim: number,
    hiddenDim: number,
    readonly outDim: number,
    rng: Rng,
    private readonly act: (x: Tensor) => Tensor,
    init: InitSpec = DIFFUSION_INIT,
  ) {
    super();
    this.dense0 = this.child("dense0", new Linear(embeddingDim, hiddenDim, rng, { init }));
    this.dense1 = this.child("dense1", new Linear(hiddenDim, outDim, rng, { init }));
  }
  apply(t: readonly number[]): Tensor {
    return tf.tidy(() => this.dense1.apply(this.act(this.dense0.apply(timestepEmbedding(t, this.embeddingDim)))));
  }
}

/** Pixel norm over the feature axis: z / sqrt(mean(z^2) + 1e-8). z [b, n]. */
export function pixelNorm(z: Tensor): Tensor {
  return tf.tidy(() => tf.mul(z, tf.rsqrt(tf.add(tf.mean(tf.square(z), 1, true), 1e-8))));
}

/** The latent mapping: pixel norm, dense nz -> zEmbDim, swish, then `layers` x (dense, swish). */
export class LatentMapping extends Module {
  readonly denses: Linear[];
  constructor(
    readonly nz: number,
    readonly zEmbDim: number,
    layers: number,
    rng: Rng,
    init: InitSpec = DIFFUSION_INIT,
  ) {
    super();
    this.denses = Array.from({ length: layers + 1 }, (_, i) => this.child(String(i), new Linear(i === 0 ? nz : zEmbDim, zEmbDim, rng, { init })));
  }
  /** z [b, nz] -> [b, zEmbDim]. */
  apply(z: Tensor): Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.nz) throw new UnpairedError("BAD_OPTION", `LatentMapping: z must be [batch, ${this.nz}], got [${z.shape}]`);
    return tf.tidy(() => this.denses.reduce((h, d) => swish(d.apply(h)), pixelNorm(z)));
  }
}
