// CycleGAN (Zhu et al. 2017): generators G_A: A->B and G_B: B->A, discriminators D_A (judges
// domain B) and D_B (judges domain A); LSGAN + cycle L1 (lambda 10) + identity L1 (0.5 lambda);
// generator step first, then the discriminators on pooled fakes (pool of 50), as the reference.
// Optional shape consistency (Zhang et al. 2018) with segmentors S_A, S_B on the source labels.
import { tf } from "../engine/tf.js";
import { discriminatorLoss, generatorLoss } from "../losses/gan.js";
import { l1Loss } from "../losses/reconstruction.js";
import { diceCeLoss, shapeConsistencyLoss } from "../losses/segmentation.js";
import { PatchGan } from "../models/patchGan.js";
import { ResnetGenerator } from "../models/resnetGenerator.js";
import { UNet } from "../models/unet.js";
import { ImagePool } from "./imagePool.js";
import type { RngState } from "../util/random.js";
import { TrainerBase } from "./base.js";
import { translatorDefaults, type TranslatorConfig } from "./config.js";
import type { MethodSpec } from "./spec.js";
import type { StepLosses, TrainBatch, TranslateOptions, Translator } from "./trainer.js";

export interface CycleGanConfig extends TranslatorConfig {
  method: "cyclegan";
  lambdaA: number;
  lambdaB: number;
  /** Identity weight, relative to lambda (0.5 in the reference). */
  lambdaIdentity: number;
  poolSize: number;
  /** Shape consistency (Zhang et al. 2018): weight 0 turns it off. */
  lambdaShape: number;
  segClasses: number;
}

export class CycleGanTrainer extends TrainerBase<CycleGanConfig> implements Translator {
  readonly role = "translator";
  readonly G_A: ResnetGenerator;
  readonly G_B: ResnetGenerator;
  readonly D_A: PatchGan;
  readonly D_B: PatchGan;
  readonly S_A?: UNet;
  readonly S_B?: UNet;
  private readonly poolA: ImagePool;
  private readonly poolB: ImagePool;

  constructor(cfg: CycleGanConfig) {
    super(cfg);
    const dims = this.netDims;
    const g = { dims, inChannels: cfg.inChannels, outChannels: cfg.inChannels, ngf: cfg.ngf, blocks: cfg.blocks, upsample: cfg.upsample, antialias: cfg.antialias, init: this.init };
    const d = { dims, inChannels: cfg.inChannels, ndf: cfg.ndf, nLayers: cfg.discriminatorLayers, init: this.init };
    this.G_A = this.net("G_A", new ResnetGenerator(g, this.netRng("G_A")));
    this.G_B = this.net("G_B", new ResnetGenerator(g, this.netRng("G_B")));
    this.D_A = this.net("D_A", new PatchGan(d, this.netRng("D_A")));
    this.D_B = this.net("D_B", new PatchGan(d, this.netRng("D_B")));
    this.adam("G", ["G_A", "G_B"]);
    this.adam("D", ["D_A", "D_B"]);
    if (cfg.lambdaShape > 0) {
      const s = { dims, inChannels: cfg.inChannels, nClasses: cfg.segClasses, base: 16, depth: 3 };
      this.S_A = this.net("S_A", new UNet(s, this.netRng("S_A")));
      this.S_B = this.net("S_B", new UNet(s, this.netRng("S_B")));
      this.adam("S", ["S_A", "S_B"], 1e-3, [0.9, 0.999]);
    }
    // The pools draw from the trainer's Rng, whose state checkpoints save.
    this.poolA = new ImagePool(cfg.poolSize, this.rng);
    this.poolB = new ImagePool(cfg.poolSize, this.rng);
  }

  async step(batch: TrainBatch): Promise<StepLosses> {
    const c = this.cfg;
    const realA = this.sourceImages(batch.source);
    const realB = this.images(batch.target);
    const labelsA = this.S_A ? this.labels(batch.source) : undefined;
    const kept: { fakeA?: tf.Tensor; fakeB?: tf.Tensor } = {};
    // Generators (the discriminators' weights are not in the variable list, so they stay put).
    const lossesG = this.minimize(this.opts["G"]!, this.variables(["G_A", "G_B"]), (parts) => {
      const fakeB = this.G_A.apply(realA);
      const fakeA = this.G_B.apply(realB);
      kept.fakeB = tf.keep(fakeB);
      kept.fakeA = tf.keep(fakeA);
      parts["G_A"] = generatorLoss(this.D_A.apply(fakeB), c.gan);
      parts["G_B"] = generatorLoss(this.D_B.apply(fakeA), c.gan);
      parts["cycle_A"] = tf.mul(l1Loss(this.G_B.apply(fakeB), realA), c.lambdaA);
      parts["cycle_B"] = tf.mul(l1Loss(this.G_A.apply(fakeA), realB), c.lambdaB);
      let total = tf.addN([parts["G_A"], parts["G_B"], parts["cycle_A"], parts["cycle_B"]]) as tf.Scalar;
      if (c.lambdaIdentity > 0) {
        parts["idt_A"] = tf.mul(l1Loss(this.G_A.apply(realB), realB), c.lambdaB * c.lambdaIdentity);
        parts["idt_B"] = tf.mul(l1Loss(this.G_B.apply(realA), realA), c.lambdaA * c.lambdaIdentity);
        total = tf.addN([total, parts["idt_A"], parts["idt_B"]]) as tf.Scalar;
      }
      if (this.S_B && labelsA) {
        // The source anatomy must survive translation: S_B, trained on B-like images, segments G_A(a).
        parts["shape"] = tf.mul(shapeConsistencyLoss(this.S_B.apply(fakeB), labelsA), c.lambdaShape);
        total = tf.add(total, parts["shape"]);
      }
      return total;
    });
    // Discriminators on pooled fakes (values only: no gradient reaches the generators).
    const pooledB = this.poolB.query(kept.fakeB!);
    const pooledA = this.poolA.query(kept.fakeA!);
    const lossesD = this.minimize(this.opts["D"]!, this.variables(["D_A", "D_B"]), (parts) => {
      parts["D_A"] = discriminatorLoss(this.D_A.apply(realB), this.D_A.apply(pooledB), c.gan);
      parts["D_B"] = discriminatorLoss(this.D_B.apply(realA), this.D_B.apply(pooledA), c.gan);
      return tf.add(parts["D_A"], parts["D_B"]);
    });
    let lossesS: StepLosses = {};
    if (this.S_A && this.S_B && labelsA) {
      // Segmentors: S_A on real source images, S_B on their translations (the same labels).
      lossesS = this.minimize(this.opts["S"]!, this.variables(["S_A", "S_B"]), (parts) => {
        parts["seg_A"] = diceCeLoss(this.S_A!.apply(realA), labelsA);
        parts["seg_B"] = diceCeLoss(this.S_B!.apply(kept.fakeB!), labelsA);
        return tf.add(parts["seg_A"], parts["seg_B"]);
      });
    }
    tf.dispose([realA, realB, pooledA, pooledB, kept.fakeA!, kept.fakeB!, ...(labelsA ? [labelsA] : [])]);
    return { ...lossesG, ...lossesD, ...lossesS };
  }

  translate(x: tf.Tensor, opts: TranslateOptions = {}): tf.Tensor {
    return tf.tidy(() => (opts.reverse ? this.sourceSide(this.G_B.apply(x)) : this.G_A.apply(this.sourceSide(x))));
  }

  /** The segmentor for domain B (shape consistency only): segments translated or real target images. */
  segmentTarget(x: tf.Tensor): tf.Tensor {
    if (!this.S_B) throw new Error("cyclegan: no segmentors (lambdaShape is 0)");
    return tf.tidy(() => this.S_B!.apply(x));
  }

  override extraState(): { rng: RngState; [key: string]: unknown } {
    return { ...super.extraState(), poolA: this.poolA.state(), poolB: this.poolB.state() };
  }

  extraTensors(): Map<string, { shape: number[]; data: Float32Array }> {
    return new Map([...this.poolA.tensors("poolA"), ...this.poolB.tensors("poolB")]);
  }

  loadExtraTensors(t: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void {
    this.poolA.importState(t, "poolA");
    this.poolB.importState(t, "poolB");
  }

  override dispose(): void {
    this.poolA.dispose();
    this.poolB.dispose();
    super.dispose();
  }
}

export const cycleGanSpec: MethodSpec<CycleGanConfig> = {
  name: "cyclegan",
  role: "translator",
  bothWays: true,
  summary: "CycleGAN (Zhu et al. 2017): two generators with cycle and identity losses; shape consistency (Zhang et al. 2018) when lambdaShape > 0",
  defaults: (profile, dims) => ({ ...translatorDefaults("cyclegan", profile, dims), method: "cyclegan", lambdaA: 10, lambdaB: 10, lambdaIdentity: 0.5, poolSize: 50, lambdaShape: 0, segClasses: 4 }),
  needsSourceLabels: (c) => c.lambdaShape > 0,
  create: (c) => new CycleGanTrainer(c),
};
