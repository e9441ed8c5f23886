// The configuration every method shares: the method names, the three profiles (smoke: wiring
// only, quick: CPU minutes, paper: the papers' sizes), the common and translator options with
// the references' defaults, and the checks that hold for every method. Each method's own options
// live in its file (methods/<name>.ts); methods/registry.ts resolves a config from them.
import type { CycleGanConfig } from "./cyclegan.js";
import type { CutConfig } from "./cut.js";
import type { IntraStylerConfig } from "./intrastyler.js";
import type { SiteConfig } from "./unified.js";
import type { SegmenterConfig } from "./segmenter.js";
import type { SynDiffConfig } from "./syndiff.js";

export const METHODS = ["cyclegan", "cut", "fastcut", "intrastyler", "unified", "multinets", "nodiverse", "segmenter", "syndiff"] as const;
export type MethodName = (typeof METHODS)[number];
export const PROFILES = ["smoke", "quick", "paper"] as const;
export type Profile = (typeof PROFILES)[number];

/** Options every method shares. */
export interface CommonConfig {
  method: MethodName;
  profile: Profile;
  seed: number;
  dims: 2 | 3;
  /** Training patch in volume axes [nx, ny(, nz)]; 2 entries on 3D data take 2D slices. */
  patch: number[];
  batchSize: number;
  /** Optimisation steps: `constantSteps` at the base rate, then `decaySteps` decaying linearly to 0. */
  constantSteps: number;
  decaySteps: number;
  lr: number;
  beta1: number;
  beta2: number;
  inChannels: number;
  /** Initial weights: N(0, gain) ("normal", CycleGAN), xavier with gain (CUT) or kaiming (U-Net). */
  init: "normal" | "xavier" | "kaiming";
  initGain: number;
}

export interface TranslatorConfig extends CommonConfig {
  ngf: number;
  ndf: number;
  blocks: number;
  discriminatorLayers: number;
  gan: "lsgan" | "vanilla" | "nonsaturating";
  upsample: "transpose" | "resize-conv";
  antialias: boolean;
  /**
   * Turn the source's contrast round before the networks see it: every voxel above the
   * normalised background (-1) negated, in training and when translating (a translation back
   * into the source domain is turned round again). For pairs whose contrast is inverted, as T1
   * to T2 brain MRI: the translators keep their input's contrast (PatchNCE ties each output
   * patch to its input), so they start from the right side of it (`npm run bench -- real-mri`).
   */
  invertSource: boolean;
}

export type { CycleGanConfig } from "./cyclegan.js";
export type { CutConfig } from "./cut.js";
export type { IntraStylerConfig } from "./intrastyler.js";
export type { SiteConfig } from "./unified.js";
export type { SegmenterConfig } from "./segmenter.js";
export type { SynDiffConfig } from "./syndiff.js";

/** Every method's resolved configuration. */
export type MethodConfig = CycleGanConfig | CutConfig | IntraStylerConfig | SiteConfig | SegmenterConfig | SynDiffConfig;

const PROFILE_COMMON: Record<Profile, Partial<CommonConfig> & Partial<TranslatorConfig>> = {
  smoke: { constantSteps: 2, decaySteps: 2, batchSize: 1, ngf: 8, ndf: 8, blocks: 2 },
  quick: { constantSteps: 600, decaySteps: 600, batchSize: 1, ngf: 16, ndf: 32, blocks: 6 },
  paper: { constantSteps: 100_000, decaySteps: 100_000, batchSize: 1, ngf: 64, ndf: 64, blocks: 9 },
};

/** The options every method starts from (a translator's networks included), for a profile and data dimensionality. */
export function translatorDefaults(method: MethodName, profile: Profile, dims: 2 | 3): TranslatorConfig {
  // quick trains 2D slices of 3D data: a 3D step costs seconds on a 2-core CPU, a 64x64 slice a
  // fraction of that (a CUT step 0.23 s on the torch engine, one thread), and `npm run figures`
  // at the quick profile must finish within 45 minutes there; its 1200 steps (PROFILE_COMMON) are
  // what that allows.
  const patch = dims === 2 ? { smoke: [32, 32], quick: [64, 64], paper: [256, 256] }[profile] : { smoke: [16, 16, 8], quick: [64, 64], paper: [256, 144, 8] }[profile];
  return {
    method,
    profile,
    seed: 0,
    dims,
    patch,
    batchSize: 1,
    constantSteps: 2,
    decaySteps: 2,
    lr: 2e-4,
    beta1: 0.5,
    beta2: 0.999,
    inChannels: 1,
    init: "normal",
    initGain: 0.02,
    ngf: 64,
    ndf: 64,
    blocks: 9,
    discriminatorLayers: 3,
    gan: "lsgan",
    upsample: "transpose",
    antialias: false,
    invertSource: false,
    ...PROFILE_COMMON[profile],
  };
}

/** What is wrong with a resolved config whatever its method: the patch and the batch size. */
export function commonProblems(c: CommonConfig): string[] {
  const problems: string[] = [];
  if (c.patch.length !== c.dims && !(c.dims === 3 && c.patch.length === 2)) problems.push(`patch [${c.patch}] does not fit ${c.dims}D data`);
  if (!(c.batchSize >= 1 && Number.isInteger(c.batchSize))) problems.push(`batchSize must be a whole number >= 1`);
  return problems;
}
