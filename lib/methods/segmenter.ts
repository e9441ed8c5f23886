// The segmenter every strategy shares: an nnU-Net-style U-Net trained with soft Dice +
// cross-entropy on images and their training labels (source images, or their translations),
// nnU-Net-like foreground oversampling in the loader; translate() returns class probabilities.
import { tf } from "../engine/tf.js";
import { diceCeLoss } from "../losses/segmentation.js";
import { UNet } from "../models/unet.js";
import { TrainerBase } from "./base.js";
import type { SegmenterConfig } from "./config.js";
import type { StepLosses, TrainBatch } from "./trainer.js";

export class SegmenterTrainer extends TrainerBase<SegmenterConfig> {
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
  translate(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.softmax(this.net_.apply(x)));
  }
}
