// CUT and FastCUT (Park et al. 2020): one generator G: A->B trained with a GAN loss and PatchNCE
// between input and output patches (plus PatchNCE identity on target images for CUT);
// discriminator step first, then the generator with the patch MLP head, as the reference. The
// same trainer is "nodiverse" (plain CUT to the whole target domain) and the base of the
// conditioned variants (intrastyler, unified), which supply a condition for the generator.
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";
import { detach } from "../losses/common.js";
import { discriminatorLoss, generatorLoss } from "../losses/gan.js";
import { patchNceLosses } from "../losses/patchNce.js";
import { PatchGan } from "../models/patchGan.js";
import { PatchNceHead, type PatchSample } from "../models/patchNceHead.js";
import { ConditionalResnetGenerator, ResnetGenerator, type ResnetGeneratorOptions } from "../models/resnetGenerator.js";
import { TrainerBase } from "./base.js";
import { translatorDefaults, type Profile, type TranslatorConfig } from "./config.js";
import type { MethodSpec } from "./spec.js";
import type { StepLosses, TrainBatch, TranslateOptions, Translator } from "./trainer.js";

export interface CutConfig extends TranslatorConfig {
  method: "cut" | "fastcut" | "nodiverse" | "intrastyler" | "unified" | "multinets";
  lambdaGAN: number;
  lambdaNCE: number;
  nceIdt: boolean;
  nceLayers: number[];
  numPatches: number;
  nceTau: number;
  /** FastCUT's flip-equivariance augmentation. */
  flipEquivariance: boolean;
}

/** The CUT family's defaults (cut, nodiverse, and the base of fastcut and the conditioned methods): the reference CUT's options. */
export function cutDefaults(method: CutConfig["method"], profile: Profile, dims: 2 | 3): CutConfig {
  const b = translatorDefaults(method, profile, dims);
  return {
    ...b,
    method,
    blocks: Math.max(b.blocks, 5), // PatchNCE taps residual block 5
    // The reference CUT generator is anti-aliased (blur-pool down/upsampling); its PatchNCE
    // layer numbers 0,4,8,12,16 index that layout's module list.
    antialias: true,
    init: "xavier",
    lambdaGAN: 1,
    lambdaNCE: 1,
    nceIdt: true,
    nceLayers: [0, 4, 8, 12, 16],
    numPatches: profile === "smoke" ? 32 : 256,
    nceTau: 0.07,
    flipEquivariance: false,
  };
}

/** What keeps a CUT-family config from building. */
export function cutProblems(c: CutConfig): string[] {
  return c.nceLayers.some((l) => l === 16) && c.blocks < 5 ? [`nceLayers include 16 (residual block 5) but blocks is ${c.blocks}`] : [];
}

type Generator = ResnetGenerator | ConditionalResnetGenerator;

export class CutTrainer<C extends CutConfig = CutConfig> extends TrainerBase<C> implements Translator {
  readonly role = "translator";
  readonly G: Generator;
  readonly F: PatchNceHead;
  /** One discriminator, or one per named sub-domain (unified). */
  readonly D: PatchGan[];

  constructor(cfg: C, opts: { conditionDim?: number; discriminators?: number } = {}) {
    super(cfg);
    const dims = this.netDims;
    const g: ResnetGeneratorOptions = {
      dims,
      inChannels: cfg.inChannels,
      outChannels: cfg.inChannels,
      ngf: cfg.ngf,
      blocks: cfg.blocks,
      upsample: cfg.antialias && cfg.upsample === "transpose" ? "blur" : cfg.upsample,
      antialias: cfg.antialias,
      init: this.init,
    };
    this.G = this.net(
      "G",
      opts.conditionDim ? new ConditionalResnetGenerator({ ...g, conditionDim: opts.conditionDim }, this.netRng("G")) : new ResnetGenerator(g, this.netRng("G")),
    );
    this.F = this.net("F", new PatchNceHead({ channels: this.G.featureChannels(cfg.nceLayers), init: this.init }, this.netRng("F")));
    const d = { dims, inChannels: cfg.inChannels, ndf: cfg.ndf, nLayers: cfg.discriminatorLayers, init: this.init };
    const nd = opts.discriminators ?? 1;
    this.D = Array.from({ length: nd }, (_, i) => this.net(nd === 1 ? "D" : `D_${i}`, new PatchGan(d, this.netRng(nd === 1 ? "D" : `D_${i}`))));
    this.buildExtraNets();
    this.adam("G", ["G", "F"]);
    this.adam("D", this.D.map((_, i) => (nd === 1 ? "D" : `D_${i}`)));
    this.buildExtraOptimizers();
  }

  /** Optimisers beyond G and D (intrastyler's style encoder has its own). */
  protected buildExtraOptimizers(): void {}

  /** Builds networks beyond G, F and D (called from the constructor, before the optimisers). */
  protected buildExtraNets(): void {}

  /** The generator's condition for a batch (none for plain CUT). Called inside tapes. */
  protected condition(_batch: TrainBatch, _realB: tf.Tensor): tf.Tensor | undefined {
    return undefined;
  }

  /** Which discriminator judges sample i of the batch. */
  protected discriminatorFor(_batch: TrainBatch, _i: number): number {
    return 0;
  }

  /** Extra generator-side losses (intrastyler's style terms), added to the total. */
  protected extraGeneratorLosses(_batch: TrainBatch, _fakeB: tf.Tensor, _cond: tf.Tensor | undefined, _parts: Record<string, tf.Scalar>): tf.Scalar | undefined {
    return undefined;
  }

  protected generate(x: tf.Tensor, cond: tf.Tensor | undefined): tf.Tensor {
    if (this.G instanceof ConditionalResnetGenerator) {
      if (!cond) throw new Error(`${this.method}: the generator needs a condition`);
      return this.G.apply(x, cond);
    }
    return this.G.apply(x);
  }

  /**
   * A GAN loss of a batch against its discriminators: the whole batch with the one D, or each
   * sample i with its own (then `i` is given to `f`) and the terms averaged.
   */
  private perSample(batch: TrainBatch, x: tf.Tensor, f: (d: PatchGan, xi: tf.Tensor, i?: number) => tf.Scalar): tf.Scalar {
    if (this.D.length === 1) return f(this.D[0]!, x);
    const b = x.shape[0]!;
    const terms = Array.from({ length: b }, (_, i) => f(this.D[this.discriminatorFor(batch, i)]!, tf.slice(x, i, 1), i));
    return tf.div(tf.addN(terms), b) as tf.Scalar;
  }

  /** Flips the width axis (FastCUT's flip-equivariance augmentation). */
  private flipW(x: tf.Tensor): tf.Tensor {
    return tf.reverse(x, x.rank - 2);
  }

  async step(batch: TrainBatch): Promise<StepLosses> {
    const c = this.cfg;
    const realA = this.sourceImages(batch.source);
    const realB = this.images(batch.target);
    const b = realA.shape[0]!;
    const flipped = c.flipEquivariance && this.rng.chance(0.5);
    const input = tf.tidy(() => {
      const x = c.nceIdt ? tf.concat([realA, realB], 0) : tf.clone(realA);
      return flipped ? this.flipW(x) : x;
    });
    // Condition each generated image with its target sample's condition (both halves alike).
    const condFor = (cond: tf.Tensor | undefined) => (cond && c.nceIdt ? tf.concat([cond, cond], 0) : cond);
    // Discriminator step on a fake made without a tape (the reference detaches it).
    const fakeB0 = tf.tidy(() => tf.slice(this.generate(input, condFor(this.condition(batch, realB))), 0, b));
    const lossesD = this.minimize(this.opts["D"]!, this.D.flatMap((d) => d.parameters()), (parts) => {
      parts["D"] = this.perSample(batch, fakeB0, (d, x, i) => discriminatorLoss(d.apply(i === undefined ? realB : tf.slice(realB, i, 1)), d.apply(x), c.gan));
      return parts["D"];
    });
    // Keys: features of the real images, projected, without a tape (PatchNCE detaches them).
    const layers = c.nceLayers;
    const keysOf = (x: tf.Tensor): PatchSample => {
      let out: PatchSample | undefined;
      tf.tidy(() => {
        out = this.F.sample(this.G.encode(x, layers), c.numPatches, this.rng);
        out.projected.forEach((t) => tf.keep(t));
      });
      return out!;
    };
    const keysA = keysOf(realA);
    const keysB = c.nceIdt ? keysOf(realB) : undefined;
    const lossesG = this.minimize(this.opts["G"]!, this.variables(["G", "F"]), (parts) => {
      const cond = this.condition(batch, realB);
      let fake = this.generate(input, condFor(cond));
      if (flipped) fake = this.flipW(fake);
      const fakeB = tf.slice(fake, 0, b);
      parts["G_GAN"] = tf.mul(this.perSample(batch, fakeB, (d, x) => generatorLoss(d.apply(x), c.gan)), c.lambdaGAN);
      const nce = (out: tf.Tensor, keys: PatchSample) => {
        const q = this.F.sample(this.G.encode(out, layers), c.numPatches, this.rng, keys.ids);
        return tf.mul(patchNceLosses(q.projected as tf.Tensor2D[], keys.projected as tf.Tensor2D[], { batchSize: b, tau: c.nceTau }).total, c.lambdaNCE) as tf.Scalar;
      };
      parts["NCE"] = nce(fakeB, keysA);
      let total: tf.Scalar;
      if (keysB) {
        parts["NCE_Y"] = nce(tf.slice(fake, b, b), keysB);
        total = tf.add(parts["G_GAN"], tf.mul(tf.add(parts["NCE"], parts["NCE_Y"]), 0.5));
      } else {
        total = tf.add(parts["G_GAN"], parts["NCE"]);
      }
      const extra = this.extraGeneratorLosses(batch, fakeB, cond ? detach(cond) : undefined, parts);
      return extra ? tf.add(total, extra) : total;
    });
    tf.dispose([realA, realB, input, fakeB0, ...keysA.projected, ...(keysB?.projected ?? [])]);
    return { ...lossesD, ...lossesG };
  }

  translate(x: tf.Tensor, opts: TranslateOptions = {}): tf.Tensor {
    if (opts.reverse) throw new UnpairedError("BAD_OPTION", `${this.method} translates one way only (source -> target); --reverse needs a method that learns both directions (cyclegan, syndiff)`);
    return tf.tidy(() => this.generate(this.sourceSide(x), this.translationCondition(x, opts)));
  }

  /** The condition used when translating (none for plain CUT). */
  protected translationCondition(_x: tf.Tensor, _opts: TranslateOptions): tf.Tensor | undefined {
    return undefined;
  }
}

const cutFamily = (name: "cut" | "fastcut" | "nodiverse", summary: string, own: Partial<CutConfig> = {}): MethodSpec<CutConfig> => ({
  name,
  role: "translator",
  summary,
  defaults: (profile, dims) => ({ ...cutDefaults(name, profile, dims), ...own }),
  problems: cutProblems,
  create: (c) => new CutTrainer(c),
});

export const cutSpec = cutFamily("cut", "CUT (Park et al. 2020): one generator, GAN + PatchNCE between input and output patches, PatchNCE identity on target images");
/** FastCUT: no identity PatchNCE, lambdaNCE 10 and the flip-equivariance augmentation instead. */
export const fastCutSpec = cutFamily("fastcut", "FastCUT (Park et al. 2020): CUT without the identity PatchNCE, lambdaNCE 10, flip-equivariance augmentation", { lambdaNCE: 10, nceIdt: false, flipEquivariance: true });
export const noDiverseSpec = cutFamily("nodiverse", "NoDiverse (the IntraStyler paper's baseline): plain CUT into the whole target domain, its sub-domains pooled");
