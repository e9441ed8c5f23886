// The PatchGAN discriminator of CycleGAN / CUT (pix2pix's NLayerDiscriminator; 70x70 patches in
// 2D for 3 layers) in 2D and 3D: a map of real/fake scores, one per overlapping patch.
//
// Layout, numbered and named as the reference's `model` Sequential (LeakyReLU slope 0.2):
//   0 conv 4 s2 p1 in -> ndf (bias), 1 LeakyReLU
//   per n = 1..nLayers-1: conv 4 s2 p1 -> ndf*min(2^n, 8), norm, LeakyReLU
//   conv 4 s1 p1 -> ndf*min(2^nLayers, 8), norm, LeakyReLU
//   conv 4 s1 p1 -> 1 (bias)
// For nLayers 3: C64 - C128 - C256 - C512 - 1, entries 0, 2, 5, 8 and 11 hold the convs.
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";
import type { Rng } from "../util/random.js";
import { makeNorm, type NormKind } from "../nn/blocks.js";
import { Conv } from "../nn/layers.js";
import { Lambda, Layer, type Dims, type InitSpec, type Tensor } from "../nn/module.js";
import { Slots } from "./containers.js";

export interface PatchGanOptions {
  dims: Dims;
  inChannels: number;
  /** Filters of the first conv (default 64). */
  ndf?: number;
  /** Stride-2 convs (default 3). */
  nLayers?: number;
  /** Norm after every conv but the first and the last (default "instance"). */
  norm?: NormKind;
  /** Bias on the convs followed by a norm (default true, as the references with InstanceNorm). */
  useBias?: boolean;
  init?: InitSpec;
}

export class PatchGan extends Layer {
  readonly model: Slots;
  readonly dims: Dims;
  readonly inChannels: number;
  readonly nLayers: number;
  private readonly seq: Layer[] = [];

  constructor(opts: PatchGanOptions, rng: Rng) {
    super();
    this.dims = opts.dims;
    this.inChannels = opts.inChannels;
    this.nLayers = opts.nLayers ?? 3;
    const ndf = opts.ndf ?? 64;
    for (const [name, v, min] of [["inChannels", this.inChannels, 1], ["ndf", ndf, 1], ["nLayers", this.nLayers, 0]] as const) {
      if (!Number.isInteger(v) || v < min) throw new UnpairedError("BAD_OPTION", `PatchGan: ${name} must be a whole number >= ${min}, got ${v}`);
    }
    const norm = opts.norm ?? "instance";
    const bias = opts.useBias ?? true;
    const init = opts.init ? { init: opts.init } : {};
    const m = (this.model = this.child("model", new Slots()));
    let i = 0;
    const leaky = new Lambda("leaky relu 0.2", (x) => tf.leakyRelu(x, 0.2));
    const conv = (cin: number, cout: number, stride: number, withBias: boolean) => {
      this.seq.push(m.add(i++, new Conv(this.dims, cin, cout, 4, rng, { stride, padding: 1, bias: withBias, ...init })));
    };
    const normAct = (c: number) => {
      const n = makeNorm(norm, this.dims, c, rng);
      if (n) this.seq.push(m.add(i, n));
      i++;
      this.seq.push(leaky);
      i++;
    };
    conv(this.inChannels, ndf, 2, true);
    this.seq.push(leaky);
    i++;
    let mult = 1;
    for (let n = 1; n < this.nLayers; n++) {
      const prev = mult;
      mult = Math.min(2 ** n, 8);
      conv(ndf * prev, ndf * mult, 2, bias);
      normAct(ndf * mult);
    }
    const prev = mult;
    mult = Math.min(2 ** this.nLayers, 8);
    conv(ndf * prev, ndf * mult, 1, bias);
    normAct(ndf * mult);
    conv(ndf * mult, 1, 1, true);
  }

  /** Output size along an axis of input size n: nLayers halvings (k4 s2 p1), then two k4 s1 p1 (-1 each). */
  outputSize(n: number): number {
    let s = n;
    for (let k = 0; k < Math.max(1, this.nLayers); k++) s = Math.floor((s + 2 - 4) / 2) + 1;
    return s - 2;
  }

  /** x [batch, s.., inChannels] -> patch scores [batch, s'.., 1] (logits; no sigmoid). */
  apply(x: Tensor): Tensor {
    if (x.rank !== this.dims + 2 || x.shape[x.rank - 1] !== this.inChannels) {
      throw new UnpairedError("BAD_OPTION", `PatchGan: expected [batch, ${this.dims === 3 ? "depth, " : ""}height, width, ${this.inChannels}], got [${x.shape}]`);
    }
    const spatial = x.shape.slice(1, -1);
    if (spatial.some((n) => this.outputSize(n) < 1)) {
      throw new UnpairedError("BAD_OPTION", `PatchGan: input ${spatial.join("x")} is too small for ${this.nLayers} layers (each size must give >= 1 output; use fewer layers or a larger patch)`);
    }
    return tf.tidy(() => this.seq.reduce((h, l) => l.apply(h), x));
  }
}
