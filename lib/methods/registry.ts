// Every method's spec by name, and what is generic over them: resolving a config from a profile,
// the user's overrides and the dataset (unknown options and wrong types are errors naming the
// option), building a trainer, and the questions the training run asks of a method (warm-up
// steps, source labels, loader options, batch extras, previews). Adding a method is one spec file
// and one line here.
import { selectSubjects, type Dataset } from "../data/manifest.js";
import { UnpairedError } from "../util/errors.js";
import { commonProblems, METHODS, PROFILES, type CommonConfig, type MethodConfig, type MethodName, type Profile } from "./config.js";
import { cutSpec, fastCutSpec, noDiverseSpec } from "./cut.js";
import { cycleGanSpec } from "./cyclegan.js";
import { intraStylerSpec } from "./intrastyler.js";
import { multiNetsSpec } from "./multinets.js";
import { segmenterSpec } from "./segmenter.js";
import type { MethodSpec } from "./spec.js";
import { synDiffSpec } from "./syndiff.js";
import type { Trainer } from "./trainer.js";
import { unifiedSpec } from "./unified.js";

/** The spec of every method (the mapped type makes a missing one a compile error). */
export const METHOD_SPECS: { readonly [K in MethodName]: MethodSpec } = {
  cyclegan: cycleGanSpec,
  cut: cutSpec,
  fastcut: fastCutSpec,
  intrastyler: intraStylerSpec,
  unified: unifiedSpec,
  multinets: multiNetsSpec,
  nodiverse: noDiverseSpec,
  segmenter: segmenterSpec,
  syndiff: synDiffSpec,
};

/** A method's spec; an unknown name is a BAD_CONFIG error listing the methods. */
export function methodSpec(method: string): MethodSpec {
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new UnpairedError("BAD_CONFIG", `unknown method "${method}"; choose one of ${METHODS.join(", ")}`);
  }
  return METHOD_SPECS[method as MethodName];
}

/** The default configuration of a method for a profile and data dimensionality. */
export function defaultConfig(method: MethodName, profile: Profile, dims: 2 | 3): MethodConfig {
  return methodSpec(method).defaults(profile, dims) as MethodConfig;
}

/**
 * Merges user overrides into the profile's defaults. Unknown keys and values of the wrong type
 * are BAD_CONFIG errors naming the option, so a typo never silently trains with a default.
 */
export function resolveConfig(method: string, profile: string, dims: 2 | 3, overrides: Record<string, unknown> = {}): MethodConfig {
  const spec = methodSpec(method);
  if (!(PROFILES as readonly string[]).includes(profile)) {
    throw new UnpairedError("BAD_CONFIG", `unknown profile "${profile}"; choose one of ${PROFILES.join(", ")}`);
  }
  const d = spec.defaults(profile as Profile, dims) as unknown as Record<string, unknown>;
  const problems: string[] = [];
  const out: Record<string, unknown> = { ...d };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in d)) {
      problems.push(`unknown option "${k}" for ${method}`);
      continue;
    }
    const want = d[k];
    const ok = Array.isArray(want) ? Array.isArray(v) && v.every((x) => typeof x === typeof (want[0] ?? x)) : typeof v === typeof want;
    if (!ok) problems.push(`option "${k}" should be ${Array.isArray(want) ? "a list" : `a ${typeof want}`}, got ${JSON.stringify(v)}`);
    else out[k] = v;
  }
  if (problems.length) throw new UnpairedError("BAD_CONFIG", `${method}: ${problems.join("; ")}`);
  const c = out as unknown as MethodConfig;
  problems.push(...commonProblems(c), ...(spec.problems?.(c) ?? []));
  if (problems.length) throw new UnpairedError("BAD_CONFIG", `${method}: ${problems.join("; ")}`);
  if ("discriminatorLayers" in c) {
    // A PatchGAN needs its smallest patch side / 2^layers >= 3 (two k4 s1 convs follow the
    // stride-2 ones); thin 3D patches (e.g. 8 slices) get fewer layers rather than an error.
    const fit = Math.max(1, Math.floor(Math.log2(Math.min(...c.patch) / 3)));
    if (c.discriminatorLayers > fit) c.discriminatorLayers = fit;
  }
  return c;
}

/** The target sub-domains (sites) that actually have training subjects. */
function targetSites(d: Dataset): string[] {
  return [...new Set(selectSubjects(d, { role: "target", split: "train" }).map((s) => s.site))];
}

/** Resolves a method's config against a dataset, with every mismatch named before work starts. */
export function configFor(method: string, profile: Profile, d: Dataset, overrides: Record<string, unknown> = {}): MethodConfig {
  const spec = methodSpec(method);
  const extra = { ...overrides, ...(spec.fromDataset?.({ dataset: d, targetSites: targetSites(d) }, overrides) ?? {}) };
  const cfg = resolveConfig(method, profile, d.dimensions, extra);
  if (needsSourceLabels(cfg) && selectSubjects(d, { role: "source", split: "train", trainingLabels: true }).length === 0) {
    throw new UnpairedError("BAD_CONFIG", `${method} trains on source labels, and ${d.id} has no source training subjects with labels marked for training`);
  }
  spec.fitDataset?.(cfg, d);
  return cfg;
}

/** Builds the trainer of a resolved configuration. */
export function createTrainer(cfg: MethodConfig): Trainer {
  return methodSpec(cfg.method).create(cfg);
}

/** Whether a method's steps train on source labels (the segmenter; cyclegan with shape consistency). */
export function needsSourceLabels(c: CommonConfig): boolean {
  return methodSpec(c.method).needsSourceLabels?.(c) ?? false;
}

/** Steps before the learning-rate schedule's own constant phase: IntraStyler's encoder warm-up. */
export function warmupSteps(c: CommonConfig): number {
  return methodSpec(c.method).warmupSteps?.(c) ?? 0;
}

/** Total steps of a configuration (warm-up included). */
export function totalSteps(c: CommonConfig): number {
  return warmupSteps(c) + c.constantSteps + c.decaySteps;
}

/** Whether a method's translator also translates target -> source. */
export function translatesBothWays(method: string): boolean {
  const s = methodSpec(method);
  return s.role === "translator" && s.bothWays === true;
}
