// "Unified" (the IntraStyler paper's baseline from CrossMoDA 2023): one CUT generator whose last
// two decoder norms are DIN driven by a one-hot code of the named target sub-domain (site), with
// one discriminator per sub-domain so that each code is pushed towards its own site's images.
import { tf } from "../engine/tf.js";
import { UnpairedError } from "../util/errors.js";
import { CutTrainer, cutDefaults, cutProblems, type CutConfig } from "./cut.js";
import type { DatasetFacts, MethodSpec } from "./spec.js";
import type { TrainBatch, Trainer, TranslateOptions } from "./trainer.js";

export interface SiteConfig extends CutConfig {
  method: "unified" | "multinets";
  /** The named target sub-domains (from the manifest). */
  sites: string[];
}

/**
 * The site-conditioned methods' dataset option: the target sub-domains with training subjects
 * (`sites` when the user gives none), at least `min` of them.
 */
function sitesFromDataset(method: SiteConfig["method"], min: number) {
  return ({ dataset, targetSites }: DatasetFacts, overrides: Readonly<Record<string, unknown>>): Record<string, unknown> => {
    if (targetSites.length < min) {
      throw new UnpairedError("BAD_CONFIG", `${method} needs named target sub-domains, and ${dataset.id} has ${targetSites.length} (${targetSites.join(", ") || "none"}) among its target training subjects`);
    }
    return { sites: overrides["sites"] ?? targetSites };
  };
}

/** The spec of a site-conditioned method (unified, multinets): CUT's defaults, the sites from the dataset, the first site in previews. */
export function siteSpec(name: SiteConfig["method"], summary: string, minSites: number, create: (c: SiteConfig) => Trainer): MethodSpec<SiteConfig> {
  return {
    name,
    role: "translator",
    summary,
    defaults: (profile, dims) => ({ ...cutDefaults(name, profile, dims), method: name, sites: [] }),
    problems: cutProblems,
    fromDataset: sitesFromDataset(name, minSites),
    preview: (c) => ({ site: c.sites[0]! }),
    create,
  };
}

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

export const unifiedSpec = siteSpec("unified", "Unified (CrossMoDA 2023): one CUT generator conditioned on a one-hot site code, one discriminator per site", 2, (c) => new UnifiedTrainer(c));
