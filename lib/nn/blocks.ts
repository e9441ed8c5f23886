// Building blocks made of layers: the CycleGAN residual block (reflection pad, 3^d conv, norm,
// ReLU, reflection pad, 3^d conv, norm, plus the skip) and a conv-norm-activation unit.
import { tf } from "../engine/tf.js";
import type { Rng } from "../util/random.js";
import { Conv, InstanceNorm, type ConvOptions } from "./layers.js";
import { Layer, type Dims, type InitSpec, type Tensor } from "./module.js";

export type NormKind = "instance" | "instance-affine" | "none";

export function makeNorm(kind: NormKind, dims: Dims, channels: number, rng: Rng): Layer | undefined {
  if (kind === "none") return undefined;
  return new InstanceNorm(dims, channels, { affine: kind === "instance-affine", rng });
}

/** Residual block: x + [pad, conv3, norm, ReLU, pad, conv3, norm](x). Channels unchanged. */
export class ResidualBlock extends Layer {
  readonly conv1: Conv;
  readonly conv2: Conv;
  readonly norm1?: Layer;
  readonly norm2?: Layer;
  constructor(
    readonly dims: Dims,
    readonly channels: number,
    rng: Rng,
    opts: { norm?: NormKind; init?: InitSpec; padMode?: "reflect" | "zeros"; bias?: boolean } = {},
  ) {
    super();
    const conv: ConvOptions = { padding: 1, padMode: opts.padMode ?? "reflect", bias: opts.bias ?? true, ...(opts.init ? { init: opts.init } : {}) };
    this.conv1 = this.child("conv1", new Conv(dims, channels, channels, 3, rng, conv));
    const n1 = makeNorm(opts.norm ?? "instance", dims, channels, rng);
    if (n1) this.norm1 = this.child("norm1", n1);
    this.conv2 = this.child("conv2", new Conv(dims, channels, channels, 3, rng, conv));
    const n2 = makeNorm(opts.norm ?? "instance", dims, channels, rng);
    if (n2) this.norm2 = this.child("norm2", n2);
  }
  apply(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = this.conv1.apply(x);
      if (this.norm1) h = this.norm1.apply(h);
      h = tf.relu(h);
      h = this.conv2.apply(h);
      if (this.norm2) h = this.norm2.apply(h);
      return tf.add(x, h);
    });
  }
}

export type Activation = "relu" | "leaky" | "tanh" | "none";

export function activate(x: Tensor, a: Activation, slope = 0.2): Tensor {
  switch (a) {
    case "relu":
      return tf.relu(x);
    case "leaky":
      return tf.leakyRelu(x, slope);
    case "tanh":
      return tf.tanh(x);
    default:
      return x;
  }
}

/** conv -> norm -> activation, the unit of discriminators and U-Nets. */
export class ConvNormAct extends Layer {
  readonly conv: Conv;
  readonly norm?: Layer;
  constructor(
    readonly dims: Dims,
    inChannels: number,
    outChannels: number,
    kernel: number,
    rng: Rng,
    readonly opts: ConvOptions & { norm?: NormKind; activation?: Activation; slope?: number } = {},
  ) {
    super();
    const { norm, activation: _a, slope: _s, ...conv } = opts;
    this.conv = this.child("conv", new Conv(dims, inChannels, outChannels, kernel, rng, conv));
    const n = makeNorm(norm ?? "instance", dims, outChannels, rng);
    if (n) this.norm = this.child("norm", n);
  }
  apply(x: Tensor): Tensor {
    return tf.tidy(() => {
      let h = this.conv.apply(x);
      if (this.norm) h = this.norm.apply(h);
      return activate(h, this.opts.activation ?? "relu", this.opts.slope ?? 0.2);
    });
  }
}
