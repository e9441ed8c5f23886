// A U-Net segmenter in the spirit of nnU-Net's PlainConvUNet (the downstream segmentation
// network of the papers), 2D and 3D: logits for nClasses per voxel.
//
// Encoder level l (channels c_l = min(base * 2^l, maxChannels)): two [conv 3 (zero padding 1),
// InstanceNorm (affine), LeakyReLU 0.01], the first with stride 2 on every level but the first.
// Decoder, deepest first: transposed conv k2 s2 (c_{l+1} -> c_l), concatenation [upsampled,
// skip], two conv blocks (2 c_l -> c_l -> c_l); a final 1^d conv to nClasses. Names:
// encoder.stages.<l>.<0|1>.{conv,norm}.*, decoder.transpconvs.<j>.*,
// decoder.stages.<j>.<0|1>.{conv,norm}.*, decoder.seg.* (j = 0 the deepest decoder stage).
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";
import type { Rng } from "../util/random.js";
import { ConvNormAct } from "../nn/blocks.js";
import { Conv, ConvTranspose } from "../nn/layers.js";
import { Layer, Sequential, type Dims, type InitSpec, type Tensor } from "../nn/module.js";
import { Slots } from "./containers.js";

export interface UNetOptions {
  dims: Dims;
  inChannels: number;
  nClasses: number;
  /** Channels of the first level (default 32). */
  base?: number;
  /** Levels, the full-resolution one included (default 4: three downsamplings). */
  depth?: number;
  /** Cap on the channels of a level (default 320, as nnU-Net). */
  maxChannels?: number;
  /** Weight init (default He/Kaiming normal, as nnU-Net). */
  init?: InitSpec;
}

export class UNet extends Layer {
  readonly encoder: Slots;
  readonly decoder: Slots;
  readonly dims: Dims;
  readonly inChannels: number;
  readonly nClasses: number;
  readonly depth: number;
  /** Channels per level. */
  readonly levelChannels: number[];
  private readonly down: Sequential[] = [];
  private readonly ups: ConvTranspose[] = [];
  private readonly up: Sequential[] = [];
  private readonly seg: Conv;

  constructor(opts: UNetOptions, rng: Rng) {
    super();
    this.dims = opts.dims;
    this.inChannels = opts.inChannels;
    this.nClasses = opts.nClasses;
    this.depth = opts.depth ?? 4;
    const base = opts.base ?? 32;
    const cap = opts.maxChannels ?? 320;
    for (const [name, v] of [["inChannels", this.inChannels], ["nClasses", this.nClasses], ["base", base], ["depth", this.depth], ["maxChannels", cap]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new UnpairedError("BAD_OPTION", `UNet: ${name} must be a whole number >= 1, got ${v}`);
    }
    const init = opts.init ?? { kind: "kaiming", gain: 1 };
    this.levelChannels = Array.from({ length: this.depth }, (_, l) => Math.min(base * 2 ** l, cap));
    const block = (cin: number, cout: number, stride: number) =>
      new ConvNormAct(this.dims, cin, cout, 3, rng, { stride, padding: 1, norm: "instance-affine", activation: "leaky", slope: 0.01, init });

    this.encoder = this.child("encoder", new Slots());
    const encStages = this.encoder.add("stages", new Slots());
    let cin = this.inChannels;
    this.levelChannels.forEach((c, l) => {
      this.down.push(encStages.add(l, new Sequential([block(cin, c, l === 0 ? 1 : 2), block(c, c, 1)])));
      cin = c;
    });

    this.decoder = this.child("decoder", new Slots());
    const transp = this.decoder.add("transpconvs", new Slots());
    const decStages = this.decoder.add("stages", new Slots());
    for (let j = 0; j < this.depth - 1; j++) {
      const l = this.depth - 2 - j;
      const c = this.levelChannels[l]!;
      this.ups.push(transp.add(j, new ConvTranspose(this.dims, this.levelChannels[l + 1]!, c, 2, rng, { stride: 2, padding: 0, outputPadding: 0, init })));
      this.up.push(decStages.add(j, new Sequential([block(2 * c, c, 1), block(c, c, 1)])));
    }
    this.seg = this.decoder.add("seg", new Conv(this.dims, this.levelChannels[0]!, this.nClasses, 1, rng, { init }));
  }

  /** x [batch, s.., inChannels] -> logits [batch, s.., nClasses]; every spatial size must be a
   * multiple of 2^(depth - 1). */
  apply(x: Tensor): Tensor {
    if (x.rank !== this.dims + 2 || x.shape[x.rank - 1] !== this.inChannels) {
      throw new UnpairedError("BAD_OPTION", `UNet: expected [batch, ${this.dims === 3 ? "depth, " : ""}height, width, ${this.inChannels}], got [${x.shape}]`);
    }
    const f = 2 ** (this.depth - 1);
    const spatial = x.shape.slice(1, -1);
    if (spatial.some((n) => n % f !== 0)) {
      const fit = spatial.map((n) => Math.max(f, Math.round(n / f) * f)).join("x");
      throw new UnpairedError(
        "BAD_OPTION",
        `UNet: spatial size ${spatial.join("x")} is not divisible by ${f} (2^(depth-1) for depth ${this.depth}); crop or pad the input to a multiple of ${f} (e.g. ${fit}) or use fewer levels`,
      );
    }
    return tf.tidy(() => {
      const skips: Tensor[] = [];
      let h = x;
      for (const stage of this.down) {
        h = stage.apply(h);
        skips.push(h);
      }
      for (let j = 0; j < this.up.length; j++) {
        const skip = skips[this.depth - 2 - j]!;
        h = this.up[j]!.apply(tf.concat([this.ups[j]!.apply(h), skip], this.dims + 1));
      }
      return this.seg.apply(h);
    });
  }
}
