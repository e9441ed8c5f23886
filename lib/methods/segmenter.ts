// The segmenter every strategy shares: an nnU-Net-style U-Net trained with soft Dice +
// cross-entropy on images and their training labels (source images, or their translations),
// nnU-Net-like foreground oversampling in the loader; segment() returns class probabilities.
import { tf } from "../engine/tf.js";
import { diceCeLoss } from "../losses/segmentation.js";
import { UNet } from "../models/unet.js";
import { TrainerBase } from "./base.js";
import { translatorDefaults, type CommonConfig } from "./config.js";
import type { MethodSpec } from "./spec.js";
import type { Segmenter, StepLosses, TrainBatch } from "./trainer.js";

export interface SegmenterConfig extends CommonConfig {
  method: "segmenter";
  nClasses: number;
  base: number;
  depth: number;
  maxChannels: number;
  diceWeight: number;
  ceWeight: number;
  foregroundProbability: number;
}

export class SegmenterTrainer extends TrainerBase<SegmenterConfig> implements Segmenter {
  readonly role = "segmenter";
  readonly net_: UNet;

  constructor(cfg: SegmenterConfig) {
    super(cfg);
    this.net_ = this.net(
      "S",
      new UNet({ dims: this.netDims, inChannels: cfg.inChannels, nClasses: cfg.nClasses, base: cfg.base, depth: cfg.depth, maxChannels: cfg.maxChannels, init: this.init }, this.netRng("S")),
    );
    this.adam("S", ["S"]);
  }

  /** Trains on the source batch (images + training labels); the target batch is not used. */
  async step(batch: TrainBatch): Promise<StepLosses> {
    const x = this.images(batch.source);
    const y = this.labels(batch.source);
    const out = this.minimize(this.opts["S"]!, this.variables(["S"]), (parts) => {
      parts["dice_ce"] = diceCeLoss(this.net_.apply(x), y, { diceWeight: this.cfg.diceWeight, ceWeight: this.cfg.ceWeight });
      return parts["dice_ce"];
    });
    tf.dispose([x, y]);
    return out;
  }

  /** Class probabilities [b, ..., nClasses] of images x [b, ..., 1]. */
  segment(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.softmax(this.net_.apply(x)));
  }
}

export const segmenterSpec: MethodSpec<SegmenterConfig> = {
  name: "segmenter",
  role: "segmenter",
  summary: "nnU-Net-style U-Net segmenter: soft Dice + cross-entropy on source images and their training labels, foreground oversampling",
  defaults: (profile, dims) => {
    const b = translatorDefaults("segmenter", profile, dims);
    return {
      method: "segmenter",
      profile,
      seed: 0,
      dims,
      patch: b.patch,
      batchSize: profile === "smoke" ? 1 : 2,
      constantSteps: b.constantSteps,
      decaySteps: b.decaySteps,
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      inChannels: 1,
      init: "kaiming",
      initGain: 0.02,
      nClasses: 4,
      base: profile === "paper" ? 32 : profile === "quick" ? 16 : 8,
      depth: profile === "smoke" ? 2 : 4,
      maxChannels: 320,
      diceWeight: 1,
      ceWeight: 1,
      foregroundProbability: 0.33,
    };
  },
  needsSourceLabels: () => true,
  // At least one class per label the dataset names.
  fitDataset: (c, d) => {
    c.nClasses = Math.max(c.nClasses, Object.keys(d.labels).length);
  },
  // nnU-Net's foreground oversampling of patches.
  loaderOptions: (c) => ({ foregroundProbability: c.foregroundProbability }),
  create: (c) => new SegmenterTrainer(c),
};
