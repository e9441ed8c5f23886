// IntraStyler (Liu et al.): CUT with a style encoder E and dynamic instance norm in the last two
// decoder norms: G(x, s) with s = E(exemplar). Trained with L_CUT + lambda_c * style contrastive
// InfoNCE (query crop vs another crop of the same target image vs N perturbed copies) + lambda_s
// * style consistency (1 - cos(E(G(x, s)), s)). Each source image is translated into the style of
// the target image drawn with it. Translate with an exemplar image or any unit style vector
// (e.g. a SLERP of two exemplars' vectors).
import { tf } from "../engine/tf.js";
import { styleConsistencyLoss, styleContrastiveLoss } from "../losses/style.js";
import { StyleEncoder } from "../models/styleEncoder.js";
import { UnpairedError } from "../util/errors.js";
import type { IntraStylerConfig } from "./config.js";
import { CutTrainer } from "./cut.js";
import type { TrainBatch, TranslateOptions } from "./trainer.js";

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
    this.net("E", new StyleEncoder({ dims: this.netDims, inChannels: c.inChannels, base: c.styleBase, styleDim: c.styleDim, init: this.init }, this.netRng("E")));
  }

  protected override extraGeneratorNets(): string[] {
    return ["E"];
  }

  /** The style of each target sample: E(real target) [b, K]. */
  protected override condition(_batch: TrainBatch, realB: tf.Tensor): tf.Tensor {
    return this.E.apply(realB);
  }

  protected override extraGeneratorLosses(batch: TrainBatch, fakeB: tf.Tensor, style: tf.Tensor | undefined, parts: Record<string, tf.Scalar>): tf.Scalar | undefined {
    const c = this.cfg;
    const terms: tf.Scalar[] = [];
    if (c.lambdaConsistency > 0 && style) {
      parts["style_consistency"] = tf.mul(styleConsistencyLoss(this.E.apply(fakeB), style), c.lambdaConsistency) as tf.Scalar;
      terms.push(parts["style_consistency"]);
    }
    const stack = batch.extra?.["style"];
    if (c.lambdaContrastive > 0) {
      if (!stack) throw new UnpairedError("BAD_OPTION", "intrastyler: each batch needs extra.style, the style-contrastive stack [2 + N, ...] (query, positive, negatives)");
      const e = this.E.apply(tf.tensor(stack.data, stack.shape, "float32"));
      const n = e.shape[0]! - 2;
      parts["style_contrastive"] = tf.mul(
        styleContrastiveLoss(tf.slice(e, 0, 1), tf.slice(e, 1, 1), tf.slice(e, 2, n), { tau: c.styleTau }),
        c.lambdaContrastive,
      ) as tf.Scalar;
      terms.push(parts["style_contrastive"]);
    }
    return terms.length ? (tf.addN(terms) as tf.Scalar) : undefined;
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
