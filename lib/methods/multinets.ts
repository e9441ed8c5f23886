// "MultiNets" (the IntraStyler paper's baseline): one independent CUT per named target
// sub-domain (site); a step trains the network of each target sample's site, and translation
// is routed by the site asked for. Networks and optimisers are saved as "<site>/<name>".
import { tf } from "../engine/tf.js";
import type { Module } from "../nn/module.js";
import type { Optimizer } from "../optim/optimizer.js";
import { UnpairedError } from "../util/errors.js";
import type { RngState } from "../util/random.js";
import { CutTrainer, type CutConfig } from "./cut.js";
import { siteSpec, type SiteConfig } from "./unified.js";
import type { StepLosses, TrainBatch, TrainingFace, TranslateOptions, Translator } from "./trainer.js";
import type { Batch } from "../data/loader.js";

export class MultiNetsTrainer implements TrainingFace, Translator {
  readonly method = "multinets";
  readonly role = "translator";
  readonly nets: Map<string, CutTrainer>;

  constructor(readonly cfg: SiteConfig) {
    if (cfg.sites.length < 1) throw new UnpairedError("BAD_CONFIG", "multinets needs the named target sub-domains (sites) from the manifest");
    this.nets = new Map(cfg.sites.map((site, i) => [site, new CutTrainer({ ...cfg, method: "cut", seed: cfg.seed * 101 + i } as CutConfig)]));
  }

  get config(): Record<string, unknown> {
    return { ...this.cfg } as unknown as Record<string, unknown>;
  }

  private net(site: string): CutTrainer {
    const n = this.nets.get(site);
    if (!n) throw new UnpairedError("BAD_OPTION", `multinets: unknown site "${site}"; it has networks for ${this.cfg.sites.join(", ")}`);
    return n;
  }

  /** Rows i of a batch. */
  private rows(b: Batch, idx: number[]): Batch {
    const per = b.images.length / b.shape[0]!;
    const images = new Float32Array(per * idx.length);
    idx.forEach((r, k) => images.set(b.images.subarray(r * per, (r + 1) * per), k * per));
    return { images, shape: [idx.length, ...b.shape.slice(1)], subjects: idx.map((r) => b.subjects[r]!) };
  }

  async step(batch: TrainBatch): Promise<StepLosses> {
    const bySite = new Map<string, number[]>();
    batch.target.subjects.forEach((s, i) => bySite.set(s.site, [...(bySite.get(s.site) ?? []), i]));
    const out: StepLosses = {};
    for (const [site, idx] of bySite) {
      const l = await this.net(site).step({ source: this.rows(batch.source, idx), target: this.rows(batch.target, idx) });
      for (const [k, v] of Object.entries(l)) out[`${site}/${k}`] = v;
    }
    return out;
  }

  translate(x: tf.Tensor, opts: TranslateOptions = {}): tf.Tensor {
    if (!opts.site) throw new UnpairedError("BAD_OPTION", `multinets translates into a named site; give one of ${this.cfg.sites.join(", ")}`);
    if (opts.reverse) throw new UnpairedError("BAD_OPTION", "multinets translates one way only (source -> target); --reverse needs a method that learns both directions (cyclegan, syndiff)");
    return this.net(opts.site).translate(x);
  }

  modules(): Record<string, Module> {
    const out: Record<string, Module> = {};
    for (const [site, t] of this.nets) for (const [k, m] of Object.entries(t.modules())) out[`${site}/${k}`] = m;
    return out;
  }

  optimizers(): Record<string, Optimizer> {
    const out: Record<string, Optimizer> = {};
    for (const [site, t] of this.nets) for (const [k, o] of Object.entries(t.optimizers())) out[`${site}/${k}`] = o;
    return out;
  }

  extraState(): { rng: RngState; [key: string]: unknown } {
    const per: Record<string, unknown> = {};
    for (const [site, t] of this.nets) per[site] = t.extraState();
    return { rng: (per[this.cfg.sites[0]!] as { rng: RngState }).rng, sites: per };
  }

  loadExtraState(s: { rng: RngState; [key: string]: unknown }): void {
    const per = s["sites"] as Record<string, { rng: RngState }>;
    for (const [site, t] of this.nets) t.loadExtraState(per[site]!);
  }

  setLearningRateFactor(f: number): void {
    for (const t of this.nets.values()) t.setLearningRateFactor(f);
  }

  dispose(): void {
    for (const t of this.nets.values()) t.dispose();
  }
}

export const multiNetsSpec = siteSpec("multinets", "MultiNets: one independent CUT per named target site, translation routed by the site asked for", 1, (c) => new MultiNetsTrainer(c));
