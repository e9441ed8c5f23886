// Typed method configurations: every option of every method with the references' defaults, the
// three profiles (smoke: wiring only, quick: CPU minutes, paper: the papers' sizes) and one
// resolver that merges profile, user overrides and the dataset, rejecting unknown options.
import { UnpairedError } from "../util/errors.js";

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
}

export interface CycleGanConfig extends TranslatorConfig {
  method: "cyclegan";
  lambdaA: number;
  lambdaB: number;
  /** Identity weight, relative to lambda (0.5 in the reference). */
  lambdaIdentity: number;
  poolSize: number;
  /** Shape consistency (Zhang et al. 2018): weight 0 turns it off. */
  lambdaShape: number;
  segClasses: number;
}

export interface CutConfig extends TranslatorConfig {
  method: "cut" | "fastcut" | "nodiverse" | "intrastyler" | "unified" | "multinets";
  lambdaGAN: number;
  lambdaNCE: number;
  nceIdt: boolean;
  nceLayers: number[];
  numPatches: number;
  nceTau: number;
  /** FastCUT's flip-equivariance augmentation. */
  flipEquivariance: boolean;
}

export interface IntraStylerConfig extends CutConfig {
  method: "intrastyler";
  styleDim: number;
  styleBase: number;
  /**
   * Norm in the style encoder's conv blocks. "none" by default: instance norm removes each
   * channel's mean and variance, the very intensity statistics a scanner style consists of
   * (with it the encoder collapsed to one vector in the quick profile).
   */
  styleNorm: "none" | "instance";
  lambdaContrastive: number;
  lambdaConsistency: number;
  /**
   * The style consistency term. "cosine" (the reference): 1 - cos(E(G(x, s)), s). "contrastive":
   * InfoNCE at styleTau with s as the positive and the styles of the batch's style-contrastive
   * stack (another target image and its perturbed copies) as negatives, so the translation must
   * carry the exemplar's style rather than a nearby one; with a compressed style space (all
   * vectors within cosine ~0.99) the cosine term is satisfied by any output and gives the
   * generator almost no reason to follow the exemplar. Measured at the quick profile it did not
   * help: the own exemplar was still the closest for 50 % of translations, as with "cosine", and
   * the discriminator won outright. The generator does respond to style vectors (random unit
   * vectors change its output by ~0.12 on [-1, 1]); what limits it is the encoder placing every
   * real T2 image within cosine ~0.98 of every other.
   */
  styleConsistency: "cosine" | "contrastive";
  /**
   * Steps at the start of training that update only the style encoder, on the style-contrastive
   * loss, before the generator and discriminators join (they come on top of constantSteps +
   * decaySteps; the learning-rate schedule starts its constant phase with them). The reference
   * has none: over its ~100k joint steps the encoder is long trained by the time the style
   * consistency matters. In a CPU budget of a few hundred joint steps the encoder is still near
   * its initial weights when the generator learns what styles look like: measured at the quick
   * profile, 600 encoder steps left the contrastive loss at 2.1 (chance ln 13 = 2.56) and the
   * generator ignored the exemplar, while 1500 encoder-only steps (about a minute) give a style
   * space whose nearest neighbours share the true scanner style for over 90 % of the T2 images
   * (measured with the encoder trained alone; tmp diagnostics, not shipped).
   */
  styleWarmupSteps: number;
  negatives: number;
  styleTau: number;
  /** Crop of the style-contrastive query/positive/negatives, volume axes. */
  styleCrop: number[];
}

export interface SiteConfig extends CutConfig {
  method: "unified" | "multinets";
  /** The named target sub-domains (from the manifest). */
  sites: string[];
}

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

export type MethodConfig = CycleGanConfig | CutConfig | IntraStylerConfig | SiteConfig | SegmenterConfig | SynDiffConfig;

const PROFILE_COMMON: Record<Profile, Partial<CommonConfig> & Partial<TranslatorConfig>> = {
  smoke: { constantSteps: 2, decaySteps: 2, batchSize: 1, ngf: 8, ndf: 8, blocks: 2 },
  quick: { constantSteps: 600, decaySteps: 600, batchSize: 1, ngf: 16, ndf: 32, blocks: 6 },
  paper: { constantSteps: 100_000, decaySteps: 100_000, batchSize: 1, ngf: 64, ndf: 64, blocks: 9 },
};

function base(method: MethodName, profile: Profile, dims: 2 | 3): CommonConfig & TranslatorConfig {
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
    ...PROFILE_COMMON[profile],
  };
}

/** The default configuration of a method for a profile and data dimensionality. */
export function defaultConfig(method: MethodName, profile: Profile, dims: 2 | 3): MethodConfig {
  const b = base(method, profile, dims);
  const blocksFor = (n: number) => Math.max(n, 5); // PatchNCE taps residual block 5
  switch (method) {
    case "cyclegan":
      return { ...b, method, lambdaA: 10, lambdaB: 10, lambdaIdentity: 0.5, poolSize: 50, lambdaShape: 0, segClasses: 4 };
    case "cut":
    case "nodiverse":
    case "unified":
    case "multinets":
    case "intrastyler":
    case "fastcut": {
      const cut: CutConfig = {
        ...b,
        method,
        blocks: blocksFor(b.blocks),
        // The reference CUT generator is anti-aliased (blur-pool down/upsampling); its PatchNCE
        // layer numbers 0,4,8,12,16 index that layout's module list.
        antialias: true,
        init: "xavier",
        lambdaGAN: 1,
        lambdaNCE: method === "fastcut" ? 10 : 1,
        nceIdt: method !== "fastcut",
        nceLayers: [0, 4, 8, 12, 16],
        numPatches: profile === "smoke" ? 32 : 256,
        nceTau: 0.07,
        flipEquivariance: method === "fastcut",
      };
      if (method === "intrastyler") {
        // paper: the reference's values. quick (and smoke, which wires the same path) trains a
        // few hundred joint steps on a CPU and departs from them in three measured ways (seed 0,
        // quick, ear phantom; the share of translations whose own exemplar is the closest style,
        // chance 1/k): the encoder warms up alone (styleWarmupSteps); the contrastive temperature
        // is 0.05, since at the reference's 0.01 the encoder packs every real T2 image within
        // cosine 0.98 of every other (InfoNCE at tau 0.01 is satisfied by tiny angles), which leaves
        // the consistency term nothing to pull the generator with (own exemplar closest 1/3 at
        // k = 3, chance; 0.1: 1/2 at k = 2, chance, though 42 % of the style difference along a
        // SLERP); and the consistency weight is 10, the reference code's final value of its
        // 0 -> 1 -> 5 -> 10 ramp (with 0.05: own exemplar closest 3/4 at k = 2, 48 % of the style
        // difference reproduced along the SLERP).
        // Style crops halve the in-plane axes of the patch (and keep its slices).
        const crop = b.patch.length === 2 ? b.patch.map((n) => Math.max(8, Math.floor(n / 2))) : [b.patch[0]! / 2, b.patch[1]! / 2, b.patch[2]!].map((n) => Math.max(4, Math.floor(n)));
        return { ...cut, method, styleDim: 256, styleBase: profile === "paper" ? 64 : 16, styleNorm: "none", lambdaContrastive: 5, lambdaConsistency: profile === "paper" ? 5 : 10, styleConsistency: "cosine", styleWarmupSteps: { smoke: 2, quick: 1500, paper: 0 }[profile], negatives: profile === "smoke" ? 2 : 12, styleTau: profile === "paper" ? 0.01 : 0.05, styleCrop: crop };
      }
      if (method === "unified" || method === "multinets") return { ...cut, method, sites: [] };
      return cut;
    }
    case "syndiff": {
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
        method,
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
    case "segmenter":
      return {
        method,
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
  }
}

/**
 * Merges user overrides into the profile's defaults. Unknown keys and values of the wrong type
 * are BAD_CONFIG errors naming the option, so a typo never silently trains with a default.
 */
export function resolveConfig(method: string, profile: string, dims: 2 | 3, overrides: Record<string, unknown> = {}): MethodConfig {
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new UnpairedError("BAD_CONFIG", `unknown method "${method}"; choose one of ${METHODS.join(", ")}`);
  }
  if (!(PROFILES as readonly string[]).includes(profile)) {
    throw new UnpairedError("BAD_CONFIG", `unknown profile "${profile}"; choose one of ${PROFILES.join(", ")}`);
  }
  const d = defaultConfig(method as MethodName, profile as Profile, dims) as unknown as Record<string, unknown>;
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
  if (c.patch.length !== c.dims && !(c.dims === 3 && c.patch.length === 2)) problems.push(`patch [${c.patch}] does not fit ${c.dims}D data`);
  if (!(c.batchSize >= 1 && Number.isInteger(c.batchSize))) problems.push(`batchSize must be a whole number >= 1`);
  if ("nceLayers" in c && c.nceLayers.some((l) => l === 16) && c.blocks < 5) problems.push(`nceLayers include 16 (residual block 5) but blocks is ${c.blocks}`);
  if (c.method === "syndiff") problems.push(...synDiffProblems(c));
  if (c.method === "intrastyler" && !(Number.isInteger(warmupSteps(c)) && warmupSteps(c) >= 0)) problems.push(`styleWarmupSteps must be a whole number >= 0`);
  if (problems.length) throw new UnpairedError("BAD_CONFIG", `${method}: ${problems.join("; ")}`);
  if ("discriminatorLayers" in c) {
    // A PatchGAN needs its smallest patch side / 2^layers >= 3 (two k4 s1 convs follow the
    // stride-2 ones); thin 3D patches (e.g. 8 slices) get fewer layers rather than an error.
    const fit = Math.max(1, Math.floor(Math.log2(Math.min(...c.patch) / 3)));
    if (c.discriminatorLayers > fit) c.discriminatorLayers = fit;
  }
  return c;
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

/** Steps before the learning-rate schedule's own constant phase: IntraStyler's encoder warm-up. */
export const warmupSteps = (c: CommonConfig): number => (c.method === "intrastyler" ? (c as IntraStylerConfig).styleWarmupSteps : 0);

/** Total steps of a configuration (warm-up included). */
export const totalSteps = (c: CommonConfig): number => warmupSteps(c) + c.constantSteps + c.decaySteps;
