// SynDiff (Ozbey et al. 2023): unpaired translation by adversarial diffusion, in 2D. Two
// non-diffusive generators (ResNet, CycleGAN-style, with PatchGAN discriminators) give each real
// image an estimate of its counterpart in the other domain; two diffusive generators, one per
// domain, denoise a noisy image of their domain in T = 4 large steps, conditioned on that
// estimate, and time-conditioned discriminators judge their steps (x_t given x_{t+1}).
//
// Networks ("A" the source domain, "B" the target; checkpoint names):
//   G_nd_AB, G_nd_BA   non-diffusive generators A->B and B->A (ResNet)
//   D_nd_A, D_nd_B     PatchGANs judging images of domain A and of domain B
//   G_diff_A, G_diff_B diffusive generators predicting x_0 of domain A (conditioned on a B image)
//                      and of domain B (conditioned on an A image)
//   D_diff_A, D_diff_B time-conditioned discriminators on (x_t, x_{t+1}) pairs of A and of B
//   ema.<G>            exponential moving averages of the four generators (decay emaDecay),
//                      saved with the weights; translate() uses ema.G_diff_*
// One step, as the reference orders it: the discriminators first (softplus GAN losses; R1 on the
// diffusive ones' real x_t every r1Every-th step, weighted r1Gamma / 2), then the generators
// (softplus GAN losses of both kinds + lambdaCycle * cycle L1 + lambdaL1 * L1 between each
// diffusive x_0 and the real image it denoises), then the EMA update. Adam (0.5, 0.9) with lr
// (generators) and lrD (discriminators). Everything random (t, Gaussian noise, z) is drawn from
// the trainer's Rng, which checkpoints save, so a resumed run continues bit for bit.
//
// Translation A->B (reverse: B->A) runs the reverse process with the EMA diffusive generator of
// the target domain: x_T from N(0, 1), then for t = T-1..0: x_0 = G(concat(x_{t+1}, source), t, z),
// x_t ~ q(x_t | x_0, x_{t+1}). Its noise and z come from a fresh Rng seeded by "syndiff:<seed>:
// translate" on every call (not the training Rng), so translate() is a pure function of the
// trainer's weights and its input, and calling it never changes the training trajectory.
import { tf } from "../engine/tf.js";
import { softplus } from "../losses/common.js";
import { discriminatorLoss, generatorLoss, r1Penalty } from "../losses/gan.js";
import { l1Loss } from "../losses/reconstruction.js";
import { DiffusionGenerator } from "../models/diffusionGenerator.js";
import { PatchGan } from "../models/patchGan.js";
import { ResnetGenerator } from "../models/resnetGenerator.js";
import { TimeDiscriminator } from "../models/timeDiscriminator.js";
import type { Module } from "../nn/module.js";
import { UnpairedError } from "../util/errors.js";
import { Rng, type RngState } from "../util/random.js";
import { TrainerBase } from "./base.js";
import { translatorDefaults, type Profile, type TranslatorConfig } from "./config.js";
import type { MethodSpec } from "./spec.js";
import { qSamplePair, samplePosterior, vpSchedule, type VpSchedule } from "./diffusionSchedule.js";
import type { StepLosses, TrainBatch, TranslateOptions, Translator } from "./trainer.js";

/**
 * SynDiff (Ozbey et al. 2023), 2D only: the non-diffusive pair is the kit's ResNet generator and
 * PatchGAN (ngf, ndf, blocks, discriminatorLayers of TranslatorConfig), `lr` is the generators'
 * rate (lr_g) and `lrD` the discriminators' (lr_d).
 */
export interface SynDiffConfig extends TranslatorConfig {
  method: "syndiff";
  /** Diffusion steps T and the VP schedule's beta range. */
  timesteps: number;
  betaMin: number;
  betaMax: number;
  lrD: number;
  /** Diffusive generator: base channels, channel multiplier per level, residual blocks per level. */
  diffChannels: number;
  diffChannelMult: number[];
  diffResBlocks: number;
  /** Latent z size, its embedding size and the mapping's extra dense layers. */
  nz: number;
  zEmbDim: number;
  mappingLayers: number;
  /** Time-conditioned discriminator: base channels, downsampling blocks, time embedding size. */
  diffNdf: number;
  diffDiscriminatorLevels: number;
  tEmbDim: number;
  /** R1 weight (the penalty enters as gamma / 2 per discriminator) and lazy regularisation:
   * the penalty is applied on steps whose count (from 0) is a multiple of r1Every (1: every step). */
  r1Gamma: number;
  r1Every: number;
  /** Weights of the cycle L1 and of the L1 between the diffusive x_0 and the real image. */
  lambdaCycle: number;
  lambdaL1: number;
  /** Decay of the generators' exponential moving average (the EMA weights translate). */
  emaDecay: number;
}

/** Names of the generators whose EMA is kept. */
const GENERATORS = ["G_nd_AB", "G_nd_BA", "G_diff_A", "G_diff_B"] as const;
const DISCRIMINATORS = ["D_nd_A", "D_nd_B", "D_diff_A", "D_diff_B"] as const;

/** ema <- decay * ema + (1 - decay) * live, parameter by parameter (same layout). */
export function emaUpdate(ema: Module, live: Module, decay: number): void {
  const e = ema.namedParameters();
  const l = live.namedParameters();
  tf.tidy(() => e.forEach(([, v], i) => v.assign(tf.add(tf.mul(v, decay), tf.mul(l[i]![1], 1 - decay)))));
}

/** mean(softplus(-x)) for real, mean(softplus(x)) for fake: the non-saturating GAN term. */
const nonSaturating = (logits: tf.Tensor, real: boolean): tf.Scalar => tf.tidy(() => tf.mean(softplus(real ? tf.neg(logits) : logits)) as tf.Scalar);

export class SynDiffTrainer extends TrainerBase<SynDiffConfig> implements Translator {
  readonly role = "translator";
  readonly schedule: VpSchedule;
  readonly G_nd_AB: ResnetGenerator;
  readonly G_nd_BA: ResnetGenerator;
  readonly D_nd_A: PatchGan;
  readonly D_nd_B: PatchGan;
  readonly G_diff_A: DiffusionGenerator;
  readonly G_diff_B: DiffusionGenerator;
  readonly D_diff_A: TimeDiscriminator;
  readonly D_diff_B: TimeDiscriminator;
  /** Steps taken (the reference's global_step: decides the lazy R1 steps). */
  private steps = 0;

  constructor(cfg: SynDiffConfig) {
    super(cfg);
    if (cfg.patch.length !== 2) {
      throw new UnpairedError("BAD_CONFIG", `syndiff is 2D: patch [${cfg.patch}] asks for 3D networks; give a 2-entry patch (2D slices of 3D data work)`);
    }
    this.schedule = vpSchedule({ timesteps: cfg.timesteps, betaMin: cfg.betaMin, betaMax: cfg.betaMax });
    const g = { dims: 2 as const, inChannels: cfg.inChannels, outChannels: cfg.inChannels, ngf: cfg.ngf, blocks: cfg.blocks, upsample: cfg.upsample, antialias: cfg.antialias, init: this.init };
    const d = { dims: 2 as const, inChannels: cfg.inChannels, ndf: cfg.ndf, nLayers: cfg.discriminatorLayers, init: this.init };
    const diffG = () => ({
      inChannels: 2 * cfg.inChannels,
      outChannels: cfg.inChannels,
      channels: cfg.diffChannels,
      channelMult: cfg.diffChannelMult,
      resBlocks: cfg.diffResBlocks,
      nz: cfg.nz,
      zEmbDim: cfg.zEmbDim,
      mappingLayers: cfg.mappingLayers,
    });
    const diffD = { imageChannels: cfg.inChannels, ndf: cfg.diffNdf, levels: cfg.diffDiscriminatorLevels, tEmbDim: cfg.tEmbDim };
    const build = {
      G_nd_AB: (r: Rng) => new ResnetGenerator(g, r),
      G_nd_BA: (r: Rng) => new ResnetGenerator(g, r),
      G_diff_A: (r: Rng) => new DiffusionGenerator(diffG(), r),
      G_diff_B: (r: Rng) => new DiffusionGenerator(diffG(), r),
    };
    this.G_nd_AB = this.net("G_nd_AB", build.G_nd_AB(this.netRng("G_nd_AB")));
    this.G_nd_BA = this.net("G_nd_BA", build.G_nd_BA(this.netRng("G_nd_BA")));
    this.G_diff_A = this.net("G_diff_A", build.G_diff_A(this.netRng("G_diff_A")));
    this.G_diff_B = this.net("G_diff_B", build.G_diff_B(this.netRng("G_diff_B")));
    this.D_nd_A = this.net("D_nd_A", new PatchGan(d, this.netRng("D_nd_A")));
    this.D_nd_B = this.net("D_nd_B", new PatchGan(d, this.netRng("D_nd_B")));
    this.D_diff_A = this.net("D_diff_A", new TimeDiscriminator(diffD, this.netRng("D_diff_A")));
    this.D_diff_B = this.net("D_diff_B", new TimeDiscriminator(diffD, this.netRng("D_diff_B")));
    // The averages start equal to the generators (same builder, same Rng) and are never trained.
    for (const name of GENERATORS) this.net(`ema.${name}`, build[name](this.netRng(name)));
    this.adam("G", [...GENERATORS], cfg.lr, [cfg.beta1, cfg.beta2]);
    this.adam("D", [...DISCRIMINATORS], cfg.lrD, [cfg.beta1, cfg.beta2]);
  }

  private ema(name: "G_diff_A" | "G_diff_B"): DiffusionGenerator {
    return this.nets[`ema.${name}`] as DiffusionGenerator;
  }

  /** N(0, 1) values of a shape, from `rng`. */
  private static gaussian(rng: Rng, shape: number[]): tf.Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = rng.normal();
    return tf.tensor(data, shape, "float32");
  }

  /**
   * What one half of a step needs for one domain, drawn from the trainer's Rng in a fixed order:
   * steps t (b of 0..T-1), the pair (x_t, x_{t+1}) of the real images, z, and the posterior's noise.
   */
  private diffusionDraws(real: tf.Tensor): { t: number[]; xt: tf.Tensor; xNext: tf.Tensor; z: tf.Tensor; noise: tf.Tensor } {
    const b = real.shape[0]!;
    const t = Array.from({ length: b }, () => this.rng.int(this.cfg.timesteps));
    const nT = SynDiffTrainer.gaussian(this.rng, real.shape);
    const nNext = SynDiffTrainer.gaussian(this.rng, real.shape);
    const { xt, xNext } = qSamplePair(this.schedule, real, t, nT, nNext);
    const z = SynDiffTrainer.gaussian(this.rng, [b, this.cfg.nz]);
    const noise = SynDiffTrainer.gaussian(this.rng, real.shape);
    tf.dispose([nT, nNext]);
    return { t, xt, xNext, z, noise };
  }

  async step(batch: TrainBatch): Promise<StepLosses> {
    const c = this.cfg;
    const realA = this.sourceImages(batch.source);
    const realB = this.images(batch.target);
    if (realA.rank !== 4 || realB.rank !== 4) {
      tf.dispose([realA, realB]);
      throw new UnpairedError("BAD_OPTION", `syndiff: batches must be 2D [batch, height, width, 1], got [${batch.source.shape}] and [${batch.target.shape}]`);
    }
    const held: tf.Tensor[] = [realA, realB];
    try {
      // --- Discriminators, on fakes made without a tape (values only).
      const dA = this.diffusionDraws(realA);
      const dB = this.diffusionDraws(realB);
      held.push(dA.xt, dA.xNext, dA.z, dA.noise, dB.xt, dB.xNext, dB.z, dB.noise);
      const fakes = tf.tidy(() => {
        const fakeB = this.G_nd_AB.apply(realA);
        const fakeA = this.G_nd_BA.apply(realB);
        // Each diffusive generator denoises its own domain, conditioned on the other domain's estimate.
        const x0A = this.G_diff_A.apply(tf.concat([dA.xNext, fakeB], 3), dA.t, dA.z);
        const x0B = this.G_diff_B.apply(tf.concat([dB.xNext, fakeA], 3), dB.t, dB.z);
        return {
          fakeA,
          fakeB,
          posA: samplePosterior(this.schedule, x0A, dA.xNext, dA.t, dA.noise),
          posB: samplePosterior(this.schedule, x0B, dB.xNext, dB.t, dB.noise),
        };
      });
      held.push(fakes.fakeA, fakes.fakeB, fakes.posA, fakes.posB);
      const regularise = c.r1Gamma > 0 && this.steps % c.r1Every === 0;
      const lossesD = this.minimize(this.opts["D"]!, this.variables([...DISCRIMINATORS]), (parts) => {
        parts["D_diff_A"] = tf.add(nonSaturating(this.D_diff_A.apply(dA.xt, dA.t, dA.xNext), true), nonSaturating(this.D_diff_A.apply(fakes.posA, dA.t, dA.xNext), false));
        parts["D_diff_B"] = tf.add(nonSaturating(this.D_diff_B.apply(dB.xt, dB.t, dB.xNext), true), nonSaturating(this.D_diff_B.apply(fakes.posB, dB.t, dB.xNext), false));
        parts["D_nd_A"] = discriminatorLoss(this.D_nd_A.apply(realA), this.D_nd_A.apply(fakes.fakeA), "nonsaturating", 1);
        parts["D_nd_B"] = discriminatorLoss(this.D_nd_B.apply(realB), this.D_nd_B.apply(fakes.fakeB), "nonsaturating", 1);
        const terms = [parts["D_diff_A"], parts["D_diff_B"], parts["D_nd_A"], parts["D_nd_B"]];
        if (regularise) {
          // R1 on the real x_t, the pair's x_{t+1} held fixed.
          parts["R1_A"] = r1Penalty(dA.xt, (x) => this.D_diff_A.apply(x, dA.t, dA.xNext));
          parts["R1_B"] = r1Penalty(dB.xt, (x) => this.D_diff_B.apply(x, dB.t, dB.xNext));
          terms.push(tf.mul(tf.add(parts["R1_A"], parts["R1_B"]), c.r1Gamma / 2));
        }
        return tf.addN(terms) as tf.Scalar;
      });
      // Steps without the (lazy) penalty report it as 0: it added nothing to their loss.
      if (!regularise) Object.assign(lossesD, { R1_A: 0, R1_B: 0 });

      // --- Generators: fresh steps, pairs, z and noise.
      const gA = this.diffusionDraws(realA);
      const gB = this.diffusionDraws(realB);
      held.push(gA.xt, gA.xNext, gA.z, gA.noise, gB.xt, gB.xNext, gB.z, gB.noise);
      const lossesG = this.minimize(this.opts["G"]!, this.variables([...GENERATORS]), (parts) => {
        const fakeA = this.G_nd_BA.apply(realB);
        const fakeB = this.G_nd_AB.apply(realA);
        const recB = this.G_nd_AB.apply(fakeA);
        const recA = this.G_nd_BA.apply(fakeB);
        const x0A = this.G_diff_A.apply(tf.concat([gA.xNext, fakeB], 3), gA.t, gA.z);
        const x0B = this.G_diff_B.apply(tf.concat([gB.xNext, fakeA], 3), gB.t, gB.z);
        const posA = samplePosterior(this.schedule, x0A, gA.xNext, gA.t, gA.noise);
        const posB = samplePosterior(this.schedule, x0B, gB.xNext, gB.t, gB.noise);
        parts["G_diff_A"] = nonSaturating(this.D_diff_A.apply(posA, gA.t, gA.xNext), true);
        parts["G_diff_B"] = nonSaturating(this.D_diff_B.apply(posB, gB.t, gB.xNext), true);
        parts["G_nd_BA"] = generatorLoss(this.D_nd_A.apply(fakeA), "nonsaturating");
        parts["G_nd_AB"] = generatorLoss(this.D_nd_B.apply(fakeB), "nonsaturating");
        parts["cycle_A"] = tf.mul(l1Loss(recA, realA), c.lambdaCycle);
        parts["cycle_B"] = tf.mul(l1Loss(recB, realB), c.lambdaCycle);
        parts["L1_A"] = tf.mul(l1Loss(x0A, realA), c.lambdaL1);
        parts["L1_B"] = tf.mul(l1Loss(x0B, realB), c.lambdaL1);
        return tf.addN(Object.values(parts)) as tf.Scalar;
      });
      for (const name of GENERATORS) emaUpdate(this.nets[`ema.${name}`]!, this.nets[name]!, c.emaDecay);
      this.steps++;
      return { ...lossesD, ...lossesG };
    } finally {
      tf.dispose(held);
    }
  }

  /**
   * x [b, h, w, 1] of the source domain (reverse: of the target domain) -> its translation
   * [b, h, w, 1], by T reverse steps of the EMA diffusive generator (seeded noise, see the header).
   */
  translate(x: tf.Tensor, opts: TranslateOptions = {}): tf.Tensor {
    if (x.rank !== 4) throw new UnpairedError("BAD_OPTION", `syndiff translates 2D images [batch, height, width, 1], got [${x.shape}]`);
    const gen = this.ema(opts.reverse ? "G_diff_A" : "G_diff_B");
    const rng = new Rng(`syndiff:${this.cfg.seed}:translate`);
    const b = x.shape[0]!;
    return tf.tidy(() => {
      // The source side as the networks see it (invertSource): the condition going forward, the result going back.
      const cond = opts.reverse ? x : this.sourceSide(x);
      let xt = SynDiffTrainer.gaussian(rng, x.shape);
      for (let step = this.cfg.timesteps - 1; step >= 0; step--) {
        const t = Array.from({ length: b }, () => step);
        const x0 = gen.apply(tf.concat([xt, cond], 3), t, SynDiffTrainer.gaussian(rng, [b, this.cfg.nz]));
        xt = samplePosterior(this.schedule, x0, xt, t, SynDiffTrainer.gaussian(rng, x.shape));
      }
      return opts.reverse ? this.sourceSide(xt) : xt;
    });
  }

  override extraState(): { rng: RngState; [key: string]: unknown } {
    return { ...super.extraState(), steps: this.steps };
  }

  override loadExtraState(s: { rng: RngState; [key: string]: unknown }): void {
    super.loadExtraState(s);
    if (typeof s["steps"] !== "number") throw new UnpairedError("BAD_CHECKPOINT", "syndiff: the checkpoint's extra state has no step count");
    this.steps = s["steps"];
  }
}

/** SynDiff's defaults: 2D networks always (2D data, or 2D slices of 3D data). */
function synDiffDefaults(profile: Profile, dims: 2 | 3): SynDiffConfig {
  const b = translatorDefaults("syndiff", profile, dims);
  // 2D networks always: 2D data, or 2D slices of 3D data. smoke wires, quick fits a CPU, paper
  // is the reference's training command (256x256, ch_mult 1 1 2 2 4 4, lazy_reg 10).
  const patch = { smoke: [32, 32], quick: [64, 64], paper: [256, 256] }[profile];
  const sizes = {
    smoke: { blocks: 2, diffChannels: 8, diffChannelMult: [1, 2], diffResBlocks: 1, nz: 8, zEmbDim: 16, diffNdf: 8, diffDiscriminatorLevels: 2, tEmbDim: 16, r1Every: 1 },
    quick: { blocks: 6, diffChannels: 16, diffChannelMult: [1, 2, 2], diffResBlocks: 1, nz: 32, zEmbDim: 64, diffNdf: 16, diffDiscriminatorLevels: 3, tEmbDim: 64, r1Every: 10 },
    paper: { blocks: 6, diffChannels: 64, diffChannelMult: [1, 1, 2, 2, 4, 4], diffResBlocks: 2, nz: 100, zEmbDim: 256, diffNdf: 64, diffDiscriminatorLevels: 6, tEmbDim: 256, r1Every: 10 },
  }[profile];
  return {
    ...b,
    method: "syndiff",
    patch,
    gan: "nonsaturating",
    lr: 1.6e-4,
    lrD: 1e-4,
    beta1: 0.5,
    beta2: 0.9,
    timesteps: 4,
    betaMin: 0.1,
    betaMax: 20,
    mappingLayers: 3,
    r1Gamma: 1,
    lambdaCycle: 0.5,
    lambdaL1: 0.5,
    emaDecay: 0.999,
    ...sizes,
  };
}

/** What keeps a SynDiff configuration from building: 3D patches, sizes its networks cannot halve. */
function synDiffProblems(c: SynDiffConfig): string[] {
  if (c.patch.length !== 2) return [`syndiff is 2D: patch [${c.patch}] asks for 3D networks; give a 2-entry patch (2D slices of 3D data work)`];
  const out: string[] = [];
  const f = Math.max(4, 2 ** (c.diffChannelMult.length - 1), 2 ** c.diffDiscriminatorLevels);
  if (c.patch.some((n) => n % f !== 0)) out.push(`patch [${c.patch}] must be multiples of ${f} (the ResNet generator, ${c.diffChannelMult.length - 1} generator and ${c.diffDiscriminatorLevels} discriminator halvings)`);
  if (!(Number.isInteger(c.timesteps) && c.timesteps >= 1)) out.push(`timesteps must be a whole number >= 1`);
  if (!(Number.isInteger(c.r1Every) && c.r1Every >= 1)) out.push(`r1Every must be a whole number >= 1`);
  if (!(c.emaDecay >= 0 && c.emaDecay < 1)) out.push(`emaDecay must lie in [0, 1)`);
  if (c.diffChannels < 4) out.push(`diffChannels must be >= 4 (group norm takes groups of 4 channels)`);
  return out;
}

export const synDiffSpec: MethodSpec<SynDiffConfig> = {
  name: "syndiff",
  role: "translator",
  bothWays: true,
  summary: "SynDiff (Ozbey et al. 2023): adversarial diffusion in 2D, non-diffusive generators giving each diffusive one its condition",
  defaults: synDiffDefaults,
  problems: synDiffProblems,
  create: (c) => new SynDiffTrainer(c),
};
