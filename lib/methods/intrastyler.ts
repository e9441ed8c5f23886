// IntraStyler (Liu et al.): CUT with a style encoder E and dynamic instance norm in the last two
// decoder norms: G(x, s) with s = E(exemplar). The generator trains on L_CUT + lambda_s * style
// consistency (1 - cos(E(G(x, s)), s), or an InfoNCE against other styles: styleConsistency);
// the encoder on lambda_c * style contrastive InfoNCE
// (query crop vs another crop of the same target image vs N perturbed copies), in a step of
// its own: were E also trained by the consistency term, mapping every image to one vector would
// satisfy it, and the encoder collapsed that way in the quick profile. The first styleWarmupSteps
// steps train E alone. Each source image is translated into the style of
// the target image drawn with it. Translate with an exemplar image or any unit style vector
// (e.g. a SLERP of two exemplars' vectors).
import { tf } from "../engine/tf.js";
import { styleConsistencyLoss, styleContrastiveLoss } from "../losses/style.js";
import { StyleEncoder } from "../models/styleEncoder.js";
import { UnpairedError } from "../util/errors.js";
import type { IntraStylerConfig } from "./config.js";
import { CutTrainer } from "./cut.js";
import type { StepLosses, TrainBatch, TranslateOptions } from "./trainer.js";
import { detach } from "../losses/common.js";
import type { RngState } from "../util/random.js";

export class IntraStylerTrainer extends CutTrainer<IntraStylerConfig> {
  /** The style encoder (registered while the base constructor runs, hence a getter). */
  get E(): StyleEncoder {
    return this.nets["E"] as StyleEncoder;
  }

  constructor(cfg: IntraStylerConfig) {
    super(cfg, { conditionDim: cfg.styleDim });
  }

  protected override buildExtraNets(): void {
    const c = this.cfg;
    // He init for the encoder: with the CUT nets' xavier(0.02) its unnormalised activations shrink
    // ~60x per layer and the contrastive loss sat at chance (ln 13) for 80 steps; He init learns.
    this.net("E", new StyleEncoder({ dims: this.netDims, inChannels: c.inChannels, base: c.styleBase, styleDim: c.styleDim, norm: c.styleNorm, init: { kind: "kaiming", gain: 0 } }, this.netRng("E")));
  }

  protected override buildExtraOptimizers(): void {
    this.adam("E", ["E"]);
  }

  /** The style of each target sample: E(real target) [b, K], a constant for the generator. */
  protected override condition(_batch: TrainBatch, realB: tf.Tensor): tf.Tensor {
    return detach(this.E.apply(realB));
  }

  /** Encoder-only warm-up steps taken so far (saved with the checkpoint). */
  private warmupTaken = 0;

  override async step(batch: TrainBatch): Promise<StepLosses> {
    const c = this.cfg;
    const stack = batch.extra?.["style"];
    let lossesE: StepLosses = {};
    const warming = this.warmupTaken < c.styleWarmupSteps;
    if (warming && !(c.lambdaContrastive > 0)) throw new UnpairedError("BAD_CONFIG", "intrastyler: styleWarmupSteps trains the encoder on the style-contrastive loss, but lambdaContrastive is 0; set styleWarmupSteps=0");
    if (c.lambdaContrastive > 0) {
      if (!stack) throw new UnpairedError("BAD_OPTION", "intrastyler: each batch needs extra.style, the style-contrastive stack [2 + N, ...] (query, positive, negatives)");
      const x = tf.tensor(stack.data, stack.shape, "float32");
      lossesE = this.minimize(this.opts["E"]!, this.variables(["E"]), (parts) => {
        const e = this.E.apply(x);
        const n = e.shape[0]! - 2;
        parts["style_contrastive"] = tf.mul(styleContrastiveLoss(tf.slice(e, 0, 1), tf.slice(e, 1, 1), tf.slice(e, 2, n), { tau: c.styleTau }), c.lambdaContrastive) as tf.Scalar;
        return parts["style_contrastive"];
      });
      x.dispose();
    }
    if (warming) {
      // The encoder alone: the generator and discriminators wait until its style space means something.
      this.warmupTaken++;
      return lossesE;
    }
    return { ...(await super.step(batch)), ...lossesE };
  }

  override extraState(): { rng: RngState; [key: string]: unknown } {
    return { ...super.extraState(), styleWarmupTaken: this.warmupTaken };
  }

  override loadExtraState(s: { rng: RngState; [key: string]: unknown }): void {
    super.loadExtraState(s);
    this.warmupTaken = typeof s["styleWarmupTaken"] === "number" ? s["styleWarmupTaken"] : 0;
  }

  /** Style consistency: E judges the translation; only the generator learns from it (E is not in its optimiser). */
  protected override extraGeneratorLosses(_batch: TrainBatch, fakeB: tf.Tensor, style: tf.Tensor | undefined, parts: Record<string, tf.Scalar>): tf.Scalar | undefined {
    const c = this.cfg;
    if (!(c.lambdaConsistency > 0 && style)) return undefined;
    const encoded = this.E.apply(fakeB);
    let loss: tf.Scalar;
    if (c.styleConsistency === "contrastive") {
      const stack = _batch.extra?.["style"];
      if (!stack) throw new UnpairedError("BAD_OPTION", "intrastyler: styleConsistency \"contrastive\" takes its negatives from extra.style, the style-contrastive stack");
      const negatives = detach(this.E.apply(tf.tensor(stack.data, stack.shape, "float32")));
      loss = styleContrastiveLoss(encoded, style, negatives, { tau: c.styleTau });
    } else {
      loss = styleConsistencyLoss(encoded, style);
    }
    parts["style_consistency"] = tf.mul(loss, c.lambdaConsistency) as tf.Scalar;
    return parts["style_consistency"];
  }

  protected override translationCondition(x: tf.Tensor, opts: TranslateOptions): tf.Tensor {
    const b = x.shape[0]!;
    if (opts.style) {
      if (opts.style.rank !== 2 || opts.style.shape[1] !== this.cfg.styleDim) {
        throw new UnpairedError("BAD_OPTION", `intrastyler: a style vector is [1 or ${b}, ${this.cfg.styleDim}], got [${opts.style.shape}]`);
      }
      return opts.style;
    }
    if (!opts.exemplar) throw new UnpairedError("BAD_OPTION", "intrastyler translates with an exemplar image or a style vector; give one");
    return this.E.apply(opts.exemplar);
  }

  /** The unit style vectors of images x [b, ...] -> [b, K]. */
  embed(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.E.apply(x));
  }
}
