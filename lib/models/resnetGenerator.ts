// The CycleGAN ResNet generator (c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-out) in 2D and
// 3D, with CUT's anti-aliased variant, encoder feature taps for PatchNCE, and a conditional
// variant whose last two decoder norms are DIN (IntraStyler's style vector, Unified's site code).
//
// Layout and names. The generator is one module list, numbered as the reference's nn.Sequential
// (`self.model`) numbers it, parameter-free layers included, so parameters are named as in the
// reference's state_dict (`model.1.weight`, `model.10.conv_block.1.weight`, ...) and `encode`'s
// layer indices are the reference's `nce_layers`. CycleGAN layout (antialias false):
//   0 ReflectionPad(3)   1 conv 7 in->ngf   2 norm   3 ReLU
//   4 conv 3 s2 p1 ngf->2ngf   5 norm   6 ReLU   7 conv 3 s2 p1 2ngf->4ngf   8 norm   9 ReLU
//   10 .. 10+n-1 residual blocks (4ngf)
//   then per upsampling: [ConvTranspose k3 s2 p1 op1 | BlurUpsample + conv 3 | UpsampleConv], norm, ReLU
//   ReflectionPad(3), conv 7 ngf->out (always with bias), Tanh.
// Anti-aliased layout (CUT's default): each downsampling is conv 3 s1 p1, norm, ReLU, BlurDownsample
// (4 entries), so the entries are 0 pad, 1 conv7, 2 norm, 3 ReLU, 4 conv, 5 norm, 6 ReLU, 7 blur,
// 8 conv, 9 norm, 10 ReLU, 11 blur, 12.. residual blocks.
// Hence CUT's nce_layers 0,4,8,12,16 tap, in the anti-aliased layout: the padded input (0), the
// two downsampling convs' outputs before their norms (4, 8), residual blocks 1 and 5 (12, 16).
// In the CycleGAN layout the same numbers tap what the reference taps with --no_antialias: the
// padded input, the first stride-2 conv, the norm after the second stride-2 conv, residual
// blocks 3 and 7; `nceLayers()` gives the indices of the described features in either layout.
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";
import type { Rng } from "../util/random.js";
import { makeNorm, type NormKind } from "../nn/blocks.js";
import { BlurDownsample, BlurUpsample, Conv, ConvTranspose, DynamicInstanceNorm, padSpatial, UpsampleConv } from "../nn/layers.js";
import { Lambda, Layer, Module, type Dims, type InitSpec, type Tensor } from "../nn/module.js";
import { Slots } from "./containers.js";

/** How the decoder doubles the size: transposed conv (CycleGAN), BlurUpsample + conv (CUT's
 * anti-aliased decoder), or nearest upsampling + conv ("resize-conv", no checkerboard). */
export type UpsampleKind = "transpose" | "blur" | "resize-conv";

export interface ResnetGeneratorOptions {
  dims: Dims;
  inChannels: number;
  outChannels: number;
  /** Filters of the first conv (default 64). */
  ngf?: number;
  /** Residual blocks (default 9; the reference's 6 for small images). */
  blocks?: number;
  /** Norm after each conv (default "instance": no affine, as the references). */
  norm?: NormKind;
  /** CUT's anti-aliased downsampling (conv s1 + norm + ReLU + BlurDownsample); default false. */
  antialias?: boolean;
  /** Decoder upsampling; default "blur" when antialias, else "transpose". */
  upsample?: UpsampleKind;
  /** Bias on the convs followed by a norm (default true: the references set use_bias = True
   * with InstanceNorm). The last conv always has a bias. */
  useBias?: boolean;
  init?: InitSpec;
}

/** CUT's PatchNCE layers (`--nce_layers 0,4,8,12,16`), as indices into the module list. */
export const CUT_NCE_LAYERS: readonly number[] = [0, 4, 8, 12, 16];

/** One entry of the module list. */
export interface ResnetLayerInfo {
  index: number;
  /** What the entry is ("reflection pad 3", "conv 3 s2", "residual block 1", ...). */
  label: string;
  /** Channels of its output. */
  channels: number;
  /** Input size / output size along each spatial axis (1, 2 or 4; the padded input is 1). */
  scale: number;
  /** Whether `encode` can tap it (encoder entries: up to the last residual block). */
  encoder: boolean;
}

interface Step extends ResnetLayerInfo {
  run: (h: Tensor, cond: Tensor | undefined) => Tensor;
}

const relu = new Lambda("relu", (x) => tf.relu(x));

/** The reference's ResnetBlock: x + [pad 1, conv 3, norm, ReLU, pad 1, conv 3, norm](x), with its
 * parameter names (`conv_block.1` and `conv_block.5` the convs, `.2` and `.6` affine norms). */
export class ResnetBlock extends Layer {
  readonly convBlock: Slots;
  private readonly seq: Layer[];
  constructor(dims: Dims, channels: number, rng: Rng, opts: { norm?: NormKind; useBias?: boolean; init?: InitSpec } = {}) {
    super();
    this.convBlock = this.child("conv_block", new Slots());
    const conv = () => new Conv(dims, channels, channels, 3, rng, { padding: 1, padMode: "reflect", bias: opts.useBias ?? true, ...(opts.init ? { init: opts.init } : {}) });
    const c1 = this.convBlock.add(1, conv());
    const n1 = makeNorm(opts.norm ?? "instance", dims, channels, rng);
    if (n1) this.convBlock.add(2, n1);
    const c2 = this.convBlock.add(5, conv());
    const n2 = makeNorm(opts.norm ?? "instance", dims, channels, rng);
    if (n2) this.convBlock.add(6, n2);
    this.seq = [c1, ...(n1 ? [n1] : []), relu, c2, ...(n2 ? [n2] : [])];
  }
  apply(x: Tensor): Tensor {
    return tf.tidy(() => tf.add(x, this.seq.reduce((h, l) => l.apply(h), x)));
  }
}

/** The shared body of the plain and the conditional generator. */
export abstract class ResnetGeneratorBase extends Module {
  readonly model: Slots;
  readonly dims: Dims;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly ngf: number;
  readonly blocks: number;
  readonly norm: NormKind;
  readonly antialias: boolean;
  readonly upsample: UpsampleKind;
  readonly useBias: boolean;
  /** Length of the condition vector (DIN generators), else null. */
  readonly conditionDim: number | null;
  private readonly steps: Step[] = [];
  /** Index of the first residual block in the module list. */
  readonly firstBlockIndex: number;
  /** Indices of the two downsampling convs (stride 2, or stride 1 before the blur pool). */
  readonly downConvIndices: number[] = [];

  protected constructor(opts: ResnetGeneratorOptions, rng: Rng, conditionDim: number | null) {
    super();
    const { dims, inChannels, outChannels } = opts;
    const ngf = opts.ngf ?? 64;
    const blocks = opts.blocks ?? 9;
    for (const [name, v, min] of [["inChannels", inChannels, 1], ["outChannels", outChannels, 1], ["ngf", ngf, 1], ["blocks", blocks, 0]] as const) {
      if (!Number.isInteger(v) || v < min) throw new UnpairedError("BAD_OPTION", `ResnetGenerator: ${name} must be a whole number >= ${min}, got ${v}`);
    }
    if (conditionDim !== null && (!Number.isInteger(conditionDim) || conditionDim < 1)) {
      throw new UnpairedError("BAD_OPTION", `ConditionalResnetGenerator: conditionDim must be a whole number >= 1, got ${conditionDim}`);
    }
    this.dims = dims;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.ngf = ngf;
    this.blocks = blocks;
    this.conditionDim = conditionDim;
    this.norm = opts.norm ?? "instance";
    this.antialias = opts.antialias ?? false;
    this.upsample = opts.upsample ?? (this.antialias ? "blur" : "transpose");
    this.useBias = opts.useBias ?? true;
    const init = opts.init ? { init: opts.init } : {};
    const model = (this.model = this.child("model", new Slots()));

    let scale = 1;
    const push = (label: string, channels: number, run: Step["run"], encoder: boolean) =>
      this.steps.push({ index: this.steps.length, label, channels, scale, encoder, run });
    const next = () => this.steps.length;
    const addNorm = (channels: number, encoder: boolean, dynamic: boolean) => {
      if (dynamic && conditionDim !== null) {
        const din = model.add(next(), new DynamicInstanceNorm(dims, channels, conditionDim, rng, init));
        push("DIN", channels, (h, c) => din.apply(h, c!), encoder);
        return;
      }
      const n = makeNorm(this.norm, dims, channels, rng);
      if (n) model.add(next(), n);
      push(n ? `norm (${this.norm})` : "identity (no norm)", channels, (h) => (n ? n.apply(h) : h), encoder);
    };
    const addConv = (label: string, cin: number, cout: number, k: number, o: { stride?: number; padding?: number; bias?: boolean }, encoder: boolean) => {
      const conv = model.add(next(), new Conv(dims, cin, cout, k, rng, { bias: this.useBias, ...o, ...init }));
      push(label, cout, (h) => conv.apply(h), encoder);
    };
    const reluStep = (channels: number, encoder: boolean) => push("ReLU", channels, (h) => tf.relu(h), encoder);

    // c7s1-ngf
    push("reflection pad 3", inChannels, (h) => padSpatial(h, dims, 3, "reflect"), true);
    addConv("conv 7", inChannels, ngf, 7, {}, true);
    addNorm(ngf, true, false);
    reluStep(ngf, true);
    // d(2ngf), d(4ngf)
    for (let i = 0; i < 2; i++) {
      const cin = ngf * 2 ** i;
      this.downConvIndices.push(next());
      if (this.antialias) {
        addConv("conv 3 s1 (before blur pool)", cin, 2 * cin, 3, { padding: 1 }, true);
        addNorm(2 * cin, true, false);
        reluStep(2 * cin, true);
        scale *= 2;
        const blur = new BlurDownsample(dims);
        push("blur downsample", 2 * cin, (h) => blur.apply(h), true);
      } else {
        scale *= 2;
        addConv("conv 3 s2", cin, 2 * cin, 3, { stride: 2, padding: 1 }, true);
        addNorm(2 * cin, true, false);
        reluStep(2 * cin, true);
      }
    }
    // R(4ngf) x blocks
    this.firstBlockIndex = next();
    for (let b = 0; b < blocks; b++) {
      const block = model.add(next(), new ResnetBlock(dims, 4 * ngf, rng, { norm: this.norm, useBias: this.useBias, ...init }));
      push(`residual block ${b + 1}`, 4 * ngf, (h) => block.apply(h), true);
    }
    // u(2ngf), u(ngf); the last two decoder norms are DIN in the conditional generator.
    for (let i = 0; i < 2; i++) {
      const cin = ngf * 2 ** (2 - i);
      const cout = cin / 2;
      scale /= 2;
      if (this.upsample === "transpose") {
        const up = model.add(next(), new ConvTranspose(dims, cin, cout, 3, rng, { stride: 2, padding: 1, outputPadding: 1, bias: this.useBias, ...init }));
        push("conv transpose 3 s2 p1 op1", cout, (h) => up.apply(h), false);
      } else if (this.upsample === "blur") {
        const blur = new BlurUpsample(dims);
        push("blur upsample", cin, (h) => blur.apply(h), false);
        addConv("conv 3", cin, cout, 3, { padding: 1 }, false);
      } else {
        const up = model.add(next(), new UpsampleConv(dims, cin, cout, rng, { bias: this.useBias, ...init }));
        push("nearest x2 + conv 3 (reflect)", cout, (h) => up.apply(h), false);
      }
      addNorm(cout, false, true);
      reluStep(cout, false);
    }
    // c7s1-out
    push("reflection pad 3", ngf, (h) => padSpatial(h, dims, 3, "reflect"), false);
    addConv("conv 7", ngf, outChannels, 7, { bias: true }, false);
    push("tanh", outChannels, (h) => tf.tanh(h), false);
  }

  /** The module list: index, what, output channels and scale, whether encode can tap it. */
  describeLayers(): ResnetLayerInfo[] {
    return this.steps.map(({ run: _run, ...info }) => info);
  }

  /** Output channels of the given module-list entries (what a PatchNCE head is built for). */
  featureChannels(layers: readonly number[]): number[] {
    this.checkLayers(layers);
    return layers.map((l) => this.steps[l]!.channels);
  }

  /**
   * The entries that hold the features CUT's description names, in this generator's layout:
   * the padded input, the two downsampling convs (before their norms), residual blocks 1 and
   * min(5, blocks). In the anti-aliased layout with >= 5 blocks this is CUT_NCE_LAYERS.
   */
  nceLayers(): number[] {
    const out = [0, ...this.downConvIndices];
    if (this.blocks > 0) out.push(this.firstBlockIndex);
    if (this.blocks > 1) out.push(this.firstBlockIndex + Math.min(5, this.blocks) - 1);
    return out;
  }

  private checkLayers(layers: readonly number[]): void {
    const last = this.firstBlockIndex + this.blocks - 1;
    if (layers.length === 0) throw new UnpairedError("BAD_OPTION", "ResnetGenerator.encode: name at least one layer");
    for (const l of layers) {
      if (!Number.isInteger(l) || l < 0 || l > last) {
        throw new UnpairedError("BAD_OPTION", `ResnetGenerator.encode: layer ${l} is not an encoder entry (0..${last} in this layout; see describeLayers())`);
      }
    }
    if (new Set(layers).size !== layers.length) throw new UnpairedError("BAD_OPTION", `ResnetGenerator.encode: layers [${layers}] repeat an entry`);
  }

  /** Inputs must be [batch, spatial.., inChannels] with every spatial size a multiple of 4 and
   * at least 8 (two halvings, then reflection padding by 1 in the residual blocks). */
  protected checkInput(x: Tensor): void {
    const what = this.constructor.name;
    if (x.rank !== this.dims + 2 || x.shape[x.rank - 1] !== this.inChannels) {
      throw new UnpairedError("BAD_OPTION", `${what}: expected [batch, ${this.dims === 3 ? "depth, " : ""}height, width, ${this.inChannels}], got [${x.shape}]`);
    }
    const spatial = x.shape.slice(1, -1);
    if (spatial.some((n) => n % 4 !== 0 || n < 8)) {
      throw new UnpairedError("BAD_OPTION", `${what}: every spatial size must be a multiple of 4 and at least 8 (the generator halves twice and doubles back), got ${spatial.join("x")}`);
    }
  }

  /**
   * Encoder features at the given module-list entries (see the header), in the order asked;
   * stops after the deepest one. The tensors are new; the caller disposes them.
   */
  encode(x: Tensor, layers: readonly number[]): Tensor[] {
    this.checkLayers(layers);
    this.checkInput(x);
    const stop = Math.max(...layers);
    return tf.tidy(() => {
      const found = new Map<number, Tensor>();
      let h = x;
      for (let i = 0; i <= stop; i++) {
        h = this.steps[i]!.run(h, undefined);
        if (layers.includes(i)) found.set(i, h);
      }
      return layers.map((l) => found.get(l)!);
    });
  }

  protected forward(x: Tensor, cond: Tensor | undefined): Tensor {
    this.checkInput(x);
    return tf.tidy(() => this.steps.reduce((h, s) => s.run(h, cond), x));
  }
}

/** The CycleGAN / CUT ResNet generator: apply(x) maps [batch, s.., in] to [batch, s.., out] in (-1, 1). */
export class ResnetGenerator extends ResnetGeneratorBase {
  constructor(opts: ResnetGeneratorOptions, rng: Rng) {
    super(opts, rng, null);
  }
  apply(x: Tensor): Tensor {
    return this.forward(x, undefined);
  }
}

export interface ConditionalResnetGeneratorOptions extends ResnetGeneratorOptions {
  /** Length of the condition: 256 for IntraStyler's style vector, the number of sub-domains for
   * Unified's one-hot code. */
  conditionDim: number;
}

/** The ResNet generator whose last two decoder norms are DIN driven by a condition vector
 * (IntraStyler's DynSynHead; Unified's site-conditioned generator). */
export class ConditionalResnetGenerator extends ResnetGeneratorBase {
  constructor(opts: ConditionalResnetGeneratorOptions, rng: Rng) {
    super(opts, rng, opts.conditionDim);
  }
  /** x [batch, s.., in]; cond [batch, conditionDim] (or [1, conditionDim] for the whole batch). */
  apply(x: Tensor, cond: Tensor): Tensor {
    if (cond.rank !== 2 || cond.shape[1] !== this.conditionDim || (cond.shape[0] !== 1 && cond.shape[0] !== x.shape[0])) {
      throw new UnpairedError("BAD_OPTION", `ConditionalResnetGenerator: the condition must be [${x.shape[0]} or 1, ${this.conditionDim}], got [${cond.shape}]`);
    }
    return this.forward(x, cond);
  }
}
