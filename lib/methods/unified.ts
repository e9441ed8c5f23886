// "Unified" (the IntraStyler paper's baseline from CrossMoDA 2023): one CUT generator whose last
// two decoder norms are DIN driven by a one-hot code of the named target sub-domain (site), with
// one discriminator per sub-domain so that each code is pushed towards its own site's images.
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";
import type { SiteConfig } from "./config.js";
import { CutTrainer } from "./cut.js";
import type { TrainBatch, TranslateOptions } from "./trainer.js";

export class UnifiedTrainer extends CutTrainer<SiteConfig> {
  constructor(cfg: SiteConfig) {
    if (cfg.sites.length < 2) {
      throw new UnpairedError("BAD_CONFIG", `unified needs at least two named target sub-domains (sites); the manifest gives [${cfg.sites}]`);
    }
    super(cfg, { conditionDim: cfg.sites.length, discriminators: cfg.sites.length });
  }

  private siteIndex(site: string): number {
    const i = this.cfg.sites.indexOf(site);
    if (i < 0) throw new UnpairedError("BAD_OPTION", `unified: unknown site "${site}"; it knows ${this.cfg.sites.join(", ")}`);
    return i;
  }

  private oneHot(indices: number[]): tf.Tensor {
    return tf.oneHot(tf.tensor1d(indices, "int32"), this.cfg.sites.length).toFloat();
  }

  protected override condition(batch: TrainBatch): tf.Tensor {
    return this.oneHot(batch.target.subjects.map((s) => this.siteIndex(s.site)));
  }

  protected override discriminatorFor(batch: TrainBatch, i: number): number {
    return this.siteIndex(batch.target.subjects[i]!.site);
  }

  protected override translationCondition(x: tf.Tensor, opts: TranslateOptions): tf.Tensor {
    if (!opts.site) throw new UnpairedError("BAD_OPTION", `unified translates into a named site; give one of ${this.cfg.sites.join(", ")}`);
    return this.oneHot(Array(x.shape[0]!).fill(this.siteIndex(opts.site)));
  }
}
