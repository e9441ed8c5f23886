// The ear MRI phantom ("crossmoda-phantom"): CrossMoDA-like 3D crops around the cochlea with a
// vestibular schwannoma, as labelled ceT1 (source) and T2 (target) images from scanner styles.
import { UnpairedError } from "../../util/errors.js";
import { Rng } from "../../util/random.js";
import { makeLabelVolume, makeVolume, type LabelVolume, type Volume } from "../../volume/volume.js";
import {
  Capsule,
  Ellipsoid,
  boxAround,
  coverage,
  frameAlong,
  rasterise,
  voxelRange,
  type Box,
  makeGrid,
  smoothField,
  splatTube,
  vadd,
  vaxpy,
  vdot,
  vrotate,
  vscale,
  vsub,
  vunit,
  type Grid,
  type Vec3,
} from "./draw.js";
import { EAR_SITES, applyScannerStyle, earStyle, jitterStyle, stylesOfSite, type EarModality, type EarSite, type ScannerStyle } from "./styles.js";

export const EAR_PHANTOM_ID = "crossmoda-phantom";

/** CrossMoDA labels. */
export const EAR_LABELS = Object.freeze({ background: 0, intraMeatal: 1, extraMeatal: 2, cochlea: 3 });

export interface EarPhantomCounts {
  /** Labelled ceT1 training subjects. */
  source: number;
  /** Unlabelled T2 training subjects (their labels are generated but held out). */
  target: number;
  /** Labelled T2 test subjects. */
  targetTest: number;
}

export interface EarPhantomConfig {
  seed: number;
  /** [nx, ny, nz] voxels. The anatomy is laid out in mm around the middle, so keep >= ~20 mm in-plane. */
  shape: [number, number, number];
  /** Voxel size in mm. */
  spacing: [number, number, number];
  counts: EarPhantomCounts;
}

export const DEFAULT_EAR_PHANTOM_CONFIG: Readonly<EarPhantomConfig> = Object.freeze({
  seed: 0,
  shape: Object.freeze([64, 64, 32]) as [number, number, number],
  spacing: Object.freeze([0.41, 0.41, 1]) as [number, number, number],
  counts: Object.freeze({ source: 60, target: 60, targetTest: 24 }),
});

export type EarDomain = "source" | "target";

/** What a subject is, without its pixels. */
export interface EarSubjectInfo {
  /** Position in the listing: source subjects, then target train, then target test. */
  index: number;
  /** Position within its domain (target test continues after target train); with the seed it fixes the anatomy. */
  domainIndex: number;
  /** e.g. "crossmoda-phantom_etz_0007_ceT1" (crossmoda2023_{site}_{n}_{ceT1|T2}). */
  id: string;
  /** e.g. "crossmoda-phantom_etz_0007_Label". */
  labelId: string;
  domain: EarDomain;
  modality: EarModality;
  /** The named sub-dataset. */
  site: EarSite;
  /** The scanner that really made the image (the mixed sub-dataset "ukm" holds two). */
  trueStyle: string;
  split: "train" | "test";
  /** True for unlabelled target training subjects: the label exists for analysis only, never for methods. */
  labelHeldOut: boolean;
}

export interface EarSubject extends EarSubjectInfo {
  /** [nx, ny, nz] float32, MRI-like positive intensities (0 to about 1000-2500, by site). */
  image: Volume;
  /** [nx, ny, nz] uint8: 0 background, 1 intra-meatal VS, 2 extra-meatal VS, 3 cochlea. */
  label: LabelVolume;
}

/** Tissues of the anatomy, in painting order of their first appearance. */
export const EAR_TISSUES = ["csf", "brain", "bone", "labyrinth", "nerve", "vessel", "tumour", "cyst"] as const;
export type EarTissue = (typeof EAR_TISSUES)[number];
const CSF = 0;
const BRAIN = 1;
const BONE = 2;
const LABYRINTH = 3;
const NERVE = 4;
const VESSEL = 5;
const TUMOUR = 6;
const CYST = 7;

/** Tissue intensity (0..1000) per modality and texture amplitudes (medium, fine field). */
const TISSUE_CONTRAST: Record<EarModality, readonly number[]> = {
  //      csf  brain bone lab  nerve vessel tumour cyst
  ceT1: [110, 430, 35, 140, 400, 750, 820, 220],
  T2: [920, 300, 40, 880, 200, 60, 560, 800],
};
const TEXTURE_MEDIUM = [0.03, 0.06, 0.35, 0.02, 0.03, 0.05, 0.1, 0.04];
const TEXTURE_FINE = [0.02, 0.04, 0.25, 0.02, 0.03, 0.05, 0.06, 0.03];

/** The sampled anatomy of one subject, in mm (independent of the grid). */
export interface EarAnatomyPlan {
  /** Bone face: points p with boneNormal . p > boneOffset are temporal bone. */
  boneNormal: Vec3;
  boneOffset: number;
  cisternWidth: number;
  /** Porus (opening) and fundus (end) of the internal auditory canal, its axis and radii. */
  porus: Vec3;
  fundus: Vec3;
  canalAxis: Vec3;
  canalRadius: number;
  cochleaCentre: Vec3;
  hasExtraMeatal: boolean;
  /** Mean radius of the extra-meatal part (0 without one). */
  extraMeatalRadius: number;
  /** Extent of the intra-meatal part along the canal, mm from the porus. */
  intraMeatalRange: [number, number];
  hasCyst: boolean;
  hasVessel: boolean;
  /** Spacing of the cerebellar folia (mm). */
  foliaPeriod: number;
}

/** Tissue fractions (partial volume) and labels of one subject on its grid. */
export interface EarAnatomy {
  shape: number[];
  spacing: number[];
  plan: EarAnatomyPlan;
  /** Per tissue, the fraction of each voxel it fills (the fractions of a voxel sum to 1). */
  fractions: Record<EarTissue, Float32Array>;
  /** Smooth zero-mean texture fields (medium, fine) that modulate tissue intensities. */
  texture: [Float32Array, Float32Array];
  label: Uint8Array;
}

// ---- configuration --------------------------------------------------------------------------

export interface EarPhantomOptions {
  seed?: number;
  shape?: readonly number[];
  spacing?: readonly number[];
  counts?: Partial<EarPhantomCounts>;
}

/** Fills in defaults and checks a configuration (UnpairedError BAD_OPTION on nonsense). */
export function earPhantomConfig(options: EarPhantomOptions = {}): EarPhantomConfig {
  const d = DEFAULT_EAR_PHANTOM_CONFIG;
  const seed = options.seed ?? d.seed;
  const shape = [...(options.shape ?? d.shape)];
  const spacing = [...(options.spacing ?? d.spacing)];
  const counts = { ...d.counts, ...options.counts };
  if (!Number.isFinite(seed)) throw new UnpairedError("BAD_OPTION", `ear phantom: seed must be a finite number, got ${seed}`);
  if (shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n >= 4)) {
    throw new UnpairedError("BAD_OPTION", `ear phantom: shape must be three whole numbers >= 4 ([nx, ny, nz]), got [${shape}]`);
  }
  if (spacing.length !== 3 || !spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new UnpairedError("BAD_OPTION", `ear phantom: spacing must be three positive sizes in mm, got [${spacing}]`);
  }
  for (const [k, v] of Object.entries(counts)) {
    if (!Number.isInteger(v) || v < 0) throw new UnpairedError("BAD_OPTION", `ear phantom: counts.${k} must be a whole number >= 0, got ${v}`);
  }
  return { seed, shape: shape as [number, number, number], spacing: spacing as [number, number, number], counts };
}

const resolve = (c: EarPhantomConfig | EarPhantomOptions | undefined): EarPhantomConfig => earPhantomConfig(c);

/** Number of subjects in the listing. */
export function earSubjectCount(config?: EarPhantomConfig | EarPhantomOptions): number {
  const { counts } = resolve(config);
  return counts.source + counts.target + counts.targetTest;
}

/** How many source subjects fall on site number `s` under round-robin assignment. */
const perSite = (count: number, s: number) => (count > s ? Math.floor((count - 1 - s) / 3) + 1 : 0);

/** Metadata of subject `index` of the listing, without generating it. */
export function earSubjectInfo(index: number, config?: EarPhantomConfig | EarPhantomOptions): EarSubjectInfo {
  const cfg = resolve(config);
  const { source, target, targetTest } = cfg.counts;
  const total = source + target + targetTest;
  if (!Number.isInteger(index) || index < 0 || index >= total) {
    throw new UnpairedError("BAD_OPTION", `ear phantom: subject index ${index} is outside 0..${total - 1}`);
  }
  const domain: EarDomain = index < source ? "source" : "target";
  const domainIndex = domain === "source" ? index : index - source;
  const modality: EarModality = domain === "source" ? "ceT1" : "T2";
  const siteNo = domainIndex % 3;
  const site = EAR_SITES[siteNo]!;
  const withinSite = Math.floor(domainIndex / 3);
  const styles = stylesOfSite(modality, site);
  const trueStyle = styles[withinSite % styles.length]!.name;
  const split = domain === "target" && domainIndex >= target ? "test" : "train";
  // Numbers run per site, target after source, as in crossmoda2023_{site}_{n}_{modality}.
  const n = (domain === "source" ? 0 : perSite(source, siteNo)) + withinSite;
  const stem = `${EAR_PHANTOM_ID}_${site}_${String(n).padStart(4, "0")}`;
  return {
    index,
    domainIndex,
    id: `${stem}_${modality}`,
    labelId: `${stem}_Label`,
    domain,
    modality,
    site,
    trueStyle,
    split,
    labelHeldOut: domain === "target" && split === "train",
  };
}

/** The metadata of every subject, in listing order. */
export function earSubjectInfos(config?: EarPhantomConfig | EarPhantomOptions): EarSubjectInfo[] {
  const cfg = resolve(config);
  return Array.from({ length: earSubjectCount(cfg) }, (_, i) => earSubjectInfo(i, cfg));
}

// ---- anatomy --------------------------------------------------------------------------------

interface FullPlan extends EarAnatomyPlan {
  pocket: Ellipsoid;
  canalMain: Capsule;
  canalFlare: Capsule;
  cochleaPoints: Vec3[];
  cochleaRadii: number[];
  vestibule: Ellipsoid;
  sccPoints: Vec3[];
  sccRadii: number[];
  nerves: Capsule[];
  vesselPoints: Vec3[];
  vesselRadii: number[];
  intra: Capsule;
  extra: Ellipsoid | null;
  cyst: Ellipsoid | null;
}

const DEG = Math.PI / 180;

/** Samples one subject's anatomy in mm (the same for every grid). */
function planAnatomy(rng: Rng): FullPlan {
  // Temporal bone face, roughly a plane facing medially (-x), tilted a little per subject.
  const ang = rng.range(-15, 15) * DEG;
  const tilt = rng.range(-6, 6) * DEG;
  const boneNormal = vunit([Math.cos(ang) * Math.cos(tilt), Math.sin(ang) * Math.cos(tilt), Math.sin(tilt)]);
  const [, t1] = frameAlong(boneNormal, [0, 1, 0]);
  const cisternWidth = rng.range(2, 4.5);

  // Internal auditory canal: from the porus on the bone face laterally into the bone.
  let u = vrotate(boneNormal, [0, 0, 1], rng.range(-12, 12) * DEG);
  u = vunit(vrotate(u, t1, rng.range(-8, 8) * DEG));
  const [, v, w] = frameAlong(u, [0, 1, 0]); // v anterior-ish, w superior-ish
  const L = rng.range(7, 9.5);
  const rc = rng.range(1.8, 2.4);
  const rcF = rc * rng.range(0.8, 0.9);
  const flare = rng.range(0.8, 1.5);
  let porus: Vec3 = [0, 0, 0];
  let fundus = vscale(u, L);
  let canalMain = new Capsule(vaxpy(porus, -1.5, u), fundus, rc, rcF);

  // Cochlea: a conical spiral of ~2.5 turns whose base faces the fundus, anterior to it.
  const R0 = rng.range(2.0, 2.6);
  const H = rng.range(1.5, 2.3);
  const rho0 = rng.range(0.8, 1.0);
  const turns = rng.range(2.4, 2.75);
  const phase = rng.range(0, 2 * Math.PI);
  const cDir = vunit(vadd(vadd(v, vscale(u, rng.range(0.3, 0.6))), vscale(w, rng.range(-0.3, 0.1))));
  const cAxis = vunit(vadd(cDir, [rng.range(-0.15, 0.15), rng.range(-0.15, 0.15), rng.range(-0.15, 0.15)]));
  const [, e1, e2] = frameAlong(cAxis, w);
  const gap = rng.range(0.4, 0.9);
  const spiral = (centre: Vec3) => {
    const pts: Vec3[] = [];
    const radii: number[] = [];
    const steps = Math.ceil((turns * 2 * Math.PI * R0) / 0.12);
    for (let s = 0; s <= steps; s++) {
      const t = s / steps;
      const th = phase + 2 * Math.PI * turns * t;
      const R = R0 * (1 - 0.7 * t);
      pts.push(vadd(vaxpy(centre, H * t, cAxis), vadd(vscale(e1, R * Math.cos(th)), vscale(e2, R * Math.sin(th)))));
      radii.push(rho0 * (1 - 0.4 * t));
    }
    return { pts, radii };
  };
  // Push the cochlea out along cDir until a bony wall of `gap` mm separates it from the canal.
  let dist = rng.range(0.8, 1.4);
  let coch = spiral(vaxpy(fundus, dist, cDir));
  for (let iter = 0; iter < 20; iter++) {
    let clearance = Infinity;
    coch.pts.forEach((p, i) => (clearance = Math.min(clearance, canalMain.sdf(p[0], p[1], p[2]) - coch.radii[i]!)));
    if (clearance >= gap) break;
    dist += gap - clearance + 0.05;
    coch = spiral(vaxpy(fundus, dist, cDir));
  }
  let cochleaCentre = vaxpy(fundus, dist, cDir);

  // Vestibule (lateral, posterior to the cochlea) and the lateral semicircular canal.
  const rv = [rng.range(1.4, 1.9), rng.range(1.0, 1.4), rng.range(1.2, 1.6)];
  let vestC = vadd(vaxpy(fundus, rcF + rv[0]! + rng.range(0.3, 0.8), u), vadd(vscale(v, -rng.range(0.8, 1.6)), vscale(w, rng.range(-0.5, 0.5))));
  let sccC = vadd(vaxpy(vestC, rng.range(1.2, 2.0), u), vscale(v, -rng.range(1.8, 2.6)));
  const sccNormal = vunit([rng.range(-0.2, 0.2), rng.range(-0.2, 0.2), 1]);
  const [, s1, s2] = frameAlong(sccNormal, [1, 0, 0]);
  const sccR = rng.range(2.0, 2.6);
  const sccTube = rng.range(0.3, 0.42);

  // Nerves (VII/VIII bundles) from the brainstem through the cistern into the canal.
  const nerveR = [rng.range(0.4, 0.55), rng.range(0.4, 0.55)];
  const nerveOff = [rng.range(0.4, 0.6), -rng.range(0.4, 0.6)];
  const nerveW = [rng.range(-0.3, 0.3), rng.range(-0.3, 0.3)];

  // An AICA loop in the cistern (most subjects).
  const hasVessel = rng.chance(0.6);
  const vesselBase = rng.range(1.0, 2.5);
  const vesselSpan = rng.range(3, 5);
  const vesselAmp = rng.range(-1.5, 1.5);
  const vesselDepth = rng.range(-1, 1.5);
  const vesselR = rng.range(0.35, 0.5);

  // Vestibular schwannoma: intra-meatal part in the canal, extra-meatal part (most subjects) in the cistern.
  const hasExtraMeatal = rng.chance(0.75);
  const rt = rc * rng.range(0.85, 1.0);
  let intraRange: [number, number];
  if (hasExtraMeatal) {
    intraRange = [-0.5, L * rng.range(0.35, 0.95)];
  } else {
    const end = L * rng.range(0.55, 0.95);
    intraRange = [Math.max(0.2, end - rng.range(2.5, 6)), end];
  }
  const R = hasExtraMeatal ? 1.8 + 5.2 * rng.uniform() ** 1.5 : 0;
  const eAxis = vunit(vadd(vscale(u, -1), [rng.range(-0.3, 0.3), rng.range(-0.3, 0.3), rng.range(-0.2, 0.2)]));
  const eFrame = frameAlong(eAxis, vrotate(v, u, rng.range(0, Math.PI)));
  const eRadii = [R * rng.range(0.85, 1.1), R * rng.range(0.75, 1.15), R * rng.range(0.7, 1.0)];
  const eAlong = rng.range(0.35, 0.55);
  const eSide = [rng.range(-0.2, 0.2), rng.range(-0.2, 0.2)];
  const hasCyst = hasExtraMeatal && R > 4.5 && rng.chance(0.35);
  const cystOff: Vec3 = [rng.range(-0.3, 0.3), rng.range(-0.3, 0.3), rng.range(-0.3, 0.3)];
  const cystR = rng.range(0.3, 0.45);

  const foliaPeriod = rng.range(1.8, 2.8);

  // The crop is centred on the canal, between the porus and the cochlea, with some jitter, so
  // that brain, cistern, canal and cochlea all fall inside a ~26 mm field of view.
  const centre = vadd(vscale(cochleaCentre, 0.35), [rng.range(-1.5, 1.5), rng.range(-1.5, 1.5), rng.range(-1, 1)]);
  const at = (p: Vec3) => vsub(p, centre);
  porus = at(porus);
  fundus = at(fundus);
  cochleaCentre = at(cochleaCentre);
  vestC = at(vestC);
  sccC = at(sccC);
  canalMain = new Capsule(vaxpy(porus, -1.5, u), fundus, rc, rcF);
  const canalFlare = new Capsule(vaxpy(porus, -1.5, u), vaxpy(porus, 1.5, u), rc + flare, rc);
  const boneOffset = vdot(boneNormal, porus);

  const sccPoints: Vec3[] = [];
  const nScc = Math.ceil((2 * Math.PI * sccR) / 0.12);
  for (let s = 0; s < nScc; s++) {
    const th = (2 * Math.PI * s) / nScc;
    sccPoints.push(vadd(sccC, vadd(vscale(s1, sccR * Math.cos(th)), vscale(s2, sccR * Math.sin(th)))));
  }
  const nerves = [0, 1].map(
    (i) =>
      new Capsule(
        vadd(vaxpy(porus, -(cisternWidth + 2.5), u), vscale(v, nerveOff[i]! * 0.5)),
        vadd(vaxpy(fundus, -0.2, u), vadd(vscale(v, nerveOff[i]! * rcF), vscale(w, nerveW[i]! * rcF))),
        nerveR[i]!,
        nerveR[i]! * 0.8,
      ),
  );
  const vesselPoints: Vec3[] = [];
  if (hasVessel) {
    const base = vaxpy(porus, -vesselBase, u);
    const nV = Math.ceil((2.5 * vesselSpan) / 0.12);
    for (let s = 0; s <= nV; s++) {
      const q = -1 + (2 * s) / nV;
      vesselPoints.push(vadd(base, vadd(vscale(v, q * vesselSpan), vadd(vscale(w, vesselAmp * Math.cos(Math.PI * q)), vscale(u, vesselDepth * (1 - q * q))))));
    }
  }
  const intra = new Capsule(vaxpy(porus, intraRange[0], u), vaxpy(porus, intraRange[1], u), rt, rt);
  let extra: Ellipsoid | null = null;
  let cyst: Ellipsoid | null = null;
  if (hasExtraMeatal) {
    const eC = vadd(vaxpy(porus, eRadii[0]! * eAlong, eFrame[0]), vadd(vscale(eFrame[1], eSide[0]! * eRadii[1]!), vscale(eFrame[2], eSide[1]! * eRadii[2]!)));
    extra = new Ellipsoid(eC, eFrame, eRadii);
    if (hasCyst) cyst = new Ellipsoid(vaxpy(eC, R, cystOff), eFrame, eRadii.map((r) => r * cystR));
  }
  return {
    boneNormal,
    boneOffset,
    cisternWidth,
    porus,
    fundus,
    canalAxis: u,
    canalRadius: rc,
    cochleaCentre,
    hasExtraMeatal,
    extraMeatalRadius: R,
    intraMeatalRange: intraRange,
    hasCyst,
    hasVessel,
    foliaPeriod,
    pocket: new Ellipsoid(vaxpy(porus, -rng.range(1, 2), u), frameAlong(u, v), [rng.range(2.5, 4), rng.range(2.5, 4), rng.range(2, 3.5)]),
    canalMain,
    canalFlare,
    cochleaPoints: coch.pts.map(at),
    cochleaRadii: coch.radii,
    vestibule: new Ellipsoid(vestC, frameAlong(u, v), rv),
    sccPoints,
    sccRadii: sccPoints.map(() => sccTube),
    nerves,
    vesselPoints,
    vesselRadii: vesselPoints.map(() => vesselR),
    intra,
    extra,
    cyst,
  };
}

/** Renders the tissue fractions and labels of a plan onto a grid. */
function buildAnatomy(plan: FullPlan, grid: Grid, rng: Rng, shape: number[], spacing: number[]): EarAnatomy {
  const n = grid.n;
  const boneWobble = smoothField(rng.fork("bone"), grid, 6);
  const brainWobble = smoothField(rng.fork("brain"), grid, 6);
  const folia = smoothField(rng.fork("folia"), grid, 5);
  const texMed = smoothField(rng.fork("texture-medium"), grid, 3);
  const texFine = smoothField(rng.fork("texture-fine"), grid, 1.2);

  const width = 1.2 * Math.max(grid.sx, grid.sy);
  const pad = width + 0.5;
  // Distances of the small structures, computed only near them (FAR elsewhere).
  const FAR = 1e6;
  const far = () => new Float32Array(n).fill(FAR);
  const pocket = new Float32Array(n).fill(-FAR); // minus the distance to the CSF pocket at the porus
  rasterise(grid, plan.pocket, pad, pocket, true);
  const canal = far();
  rasterise(grid, plan.canalMain, pad + 2, canal);
  rasterise(grid, plan.canalFlare, pad + 2, canal);
  const cochlea = far();
  splatTube(grid, plan.cochleaPoints, plan.cochleaRadii, cochlea);
  const labyrinth = Float32Array.from(cochlea);
  splatTube(grid, plan.sccPoints, plan.sccRadii, labyrinth);
  rasterise(grid, plan.vestibule, pad, labyrinth);
  const nerve = far();
  for (const c of plan.nerves) rasterise(grid, c, pad, nerve);
  const vessel = far();
  if (plan.vesselPoints.length > 0) splatTube(grid, plan.vesselPoints, plan.vesselRadii, vessel);

  const { boneNormal, boneOffset: d0, canalAxis: u, porus: P } = plan;
  const boneSdf = (idx: number, x: number, y: number, z: number) => d0 - (boneNormal[0] * x + boneNormal[1] * y + boneNormal[2] * z) + 0.9 * boneWobble[idx]!;

  // Tumour and its labels: the intra-meatal part fills the canal (intra-only tumours end flat at
  // their medial start, so none of them lies outside the porus); the extra-meatal part stays
  // out of the bone. Voxels past the porus plane inside the canal are intra-meatal (1).
  const tumour = far();
  const cyst = far();
  const label = new Uint8Array(n);
  const intraOnly = !plan.hasExtraMeatal;
  const intraStart = plan.intraMeatalRange[0];
  const tumourBox = plan.extra ? boxAround([...corners(plan.intra.bounds(pad)), ...corners(plan.extra.bounds(pad))], 0) : plan.intra.bounds(pad);
  {
    const [i0, i1, j0, j1, k0, k1] = voxelRange(grid, tumourBox);
    const { intra, extra } = plan;
    for (let k = k0; k <= k1; k++) {
      const z = grid.zs[k]!;
      for (let j = j0; j <= j1; j++) {
        const y = grid.ys[j]!;
        for (let i = i0; i <= i1; i++) {
          const x = grid.xs[i]!;
          const idx = (k * grid.ny + j) * grid.nx + i;
          const sCanal = canal[idx]!;
          const s = (x - P[0]) * u[0] + (y - P[1]) * u[1] + (z - P[2]) * u[2];
          let sTum = FAR;
          if (sCanal < FAR) {
            sTum = Math.max(intra.sdf(x, y, z), sCanal);
            if (intraOnly) sTum = Math.max(sTum, intraStart - s);
          }
          // A lobulated surface: the ellipsoid's distance wobbles by a few tenths of a mm.
          if (extra) sTum = Math.min(sTum, Math.max(extra.sdf(x, y, z) + 0.35 * texMed[idx]!, Math.min(-boneSdf(idx, x, y, z), sCanal)));
          tumour[idx] = sTum;
          if (sTum < 0) label[idx] = s >= 0 && sCanal <= 0 ? EAR_LABELS.intraMeatal : EAR_LABELS.extraMeatal;
        }
      }
    }
    if (plan.cyst) rasterise(grid, plan.cyst, pad, cyst);
  }

  // Tissue fractions, voxel by voxel. The layers stack in this order, each over the ones before
  // with its partial-volume coverage: CSF (ground), brain, folia (CSF), bone, canal (CSF),
  // labyrinth, nerves, vessel, tumour, cyst. They are visited top down, so that what an opaque
  // layer hides is never computed: a layer with coverage a gets a share a * rest of the voxel,
  // where rest is what the layers above leave visible.
  const F = EAR_TISSUES.map(() => new Float32Array(n));
  const [fCsf, fBrain, fBone, fLab, fNerve, fVessel, fTum, fCyst] = F as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const dBrain = d0 - plan.cisternWidth;
  const foliaPeriod = plan.foliaPeriod;
  let idx = 0;
  for (let k = 0; k < grid.nz; k++) {
    const z = grid.zs[k]!;
    for (let j = 0; j < grid.ny; j++) {
      const y = grid.ys[j]!;
      for (let i = 0; i < grid.nx; i++, idx++) {
        const x = grid.xs[i]!;
        if (label[idx] === 0 && cochlea[idx]! < 0) label[idx] = EAR_LABELS.cochlea;
        let rest = 1;
        let csfShare = 0;
        const sTum = tumour[idx]!;
        const aTum = coverage(sTum, width);
        if (aTum > 0) {
          const aCyst = aTum * coverage(Math.max(cyst[idx]!, sTum), width);
          if (aCyst > 0) {
            fCyst[idx] = aCyst;
            rest = 1 - aCyst;
          }
          fTum[idx] = rest * aTum;
          rest *= 1 - aTum;
          if (rest <= 0) continue;
        }
        // Temporal bone lateral to its face (the vessel stays out of it).
        const dn = boneNormal[0] * x + boneNormal[1] * y + boneNormal[2] * z;
        const aBone = coverage(d0 - dn + 0.9 * boneWobble[idx]!, width);
        const aVessel = coverage(vessel[idx]!, width) * (1 - aBone);
        if (aVessel > 0) {
          fVessel[idx] = rest * aVessel;
          rest *= 1 - aVessel;
        }
        const aNerve = coverage(nerve[idx]!, width);
        if (aNerve > 0) {
          fNerve[idx] = rest * aNerve;
          rest *= 1 - aNerve;
        }
        const aLab = coverage(labyrinth[idx]!, width);
        if (aLab > 0) {
          fLab[idx] = rest * aLab;
          rest *= 1 - aLab;
        }
        // The canal, CSF-filled, carved through the bone.
        const aCanal = coverage(canal[idx]!, width);
        if (aCanal > 0) {
          csfShare += rest * aCanal;
          rest *= 1 - aCanal;
        }
        if (aBone > 0 && rest > 0) {
          fBone[idx] = rest * aBone;
          rest *= 1 - aBone;
        }
        if (rest > 0) {
          // Brain (cerebellum / brainstem) medial to the cistern, less a CSF pocket at the porus,
          // with its folia: thin CSF lines deep inside, roughly parallel to its surface.
          const sBrain = Math.max(dn - dBrain + brainWobble[idx]!, pocket[idx]!);
          const aBrain = coverage(sBrain, width);
          if (aBrain > 0) {
            if (sBrain < -0.5) {
              const g = Math.sin(Math.PI * ((dBrain - dn) / foliaPeriod + 0.6 * folia[idx]!)) / 0.22;
              if (g < 2.5 && g > -2.5) {
                const aFolia = aBrain * Math.min(1, (-sBrain - 0.5) / 1.5) * 0.7 * Math.exp(-g * g);
                csfShare += rest * aFolia;
                rest *= 1 - aFolia;
              }
            }
            fBrain[idx] = rest * aBrain;
            rest *= 1 - aBrain;
          }
          csfShare += rest;
        }
        if (csfShare > 0) fCsf[idx] = csfShare;
      }
    }
  }
  const fractions = Object.fromEntries(EAR_TISSUES.map((t, i) => [t, F[i]!])) as Record<EarTissue, Float32Array>;
  const summary: EarAnatomyPlan = {
    boneNormal: plan.boneNormal,
    boneOffset: plan.boneOffset,
    cisternWidth: plan.cisternWidth,
    porus: plan.porus,
    fundus: plan.fundus,
    canalAxis: plan.canalAxis,
    canalRadius: plan.canalRadius,
    cochleaCentre: plan.cochleaCentre,
    hasExtraMeatal: plan.hasExtraMeatal,
    extraMeatalRadius: plan.extraMeatalRadius,
    intraMeatalRange: plan.intraMeatalRange,
    hasCyst: plan.hasCyst,
    hasVessel: plan.hasVessel,
    foliaPeriod: plan.foliaPeriod,
  };
  return { shape, spacing, plan: summary, fractions, texture: [texMed, texFine], label };
}

const corners = (b: Box): Vec3[] => [
  [b[0], b[2], b[4]],
  [b[1], b[3], b[5]],
];

const subjectSeed = (seed: number, domain: EarDomain, domainIndex: number) => `ear:${seed}:${domain}:${domainIndex}`;

/** The anatomy (tissue fractions, labels) of subject `index` of the listing. */
export function earAnatomy(index: number, config?: EarPhantomConfig | EarPhantomOptions): EarAnatomy {
  const cfg = resolve(config);
  const info = earSubjectInfo(index, cfg);
  const base = subjectSeed(cfg.seed, info.domain, info.domainIndex);
  const plan = planAnatomy(new Rng(`${base}:anatomy`));
  return buildAnatomy(plan, makeGrid(cfg.shape, cfg.spacing), new Rng(`${base}:fields`), [...cfg.shape], [...cfg.spacing]);
}

/** The noiseless tissue-contrast image (0..1000) of an anatomy in a modality, before any scanner. */
export function earIdealImage(anatomy: EarAnatomy, modality: EarModality, rng?: Rng): Float32Array {
  const base = TISSUE_CONTRAST[modality].map((v) => (rng ? v * (1 + 0.04 * rng.normal()) : v));
  const [tm, tf] = anatomy.texture;
  const F = EAR_TISSUES.map((t) => anatomy.fractions[t]);
  const out = new Float32Array(tm.length);
  for (let i = 0; i < out.length; i++) {
    let v = 0;
    for (let t = 0; t < F.length; t++) {
      const w = F[t]![i]!;
      if (w > 0) v += w * base[t]! * (1 + TEXTURE_MEDIUM[t]! * tm[i]! + TEXTURE_FINE[t]! * tf[i]!);
    }
    out[i] = v > 0 ? v : 0;
  }
  return out;
}

/** Renders an anatomy in a modality and scanner style; `seed` fixes the per-image variation and noise. */
export function renderEar(anatomy: EarAnatomy, modality: EarModality, style: ScannerStyle, seed: string): Float32Array {
  const rng = new Rng(seed);
  const ideal = earIdealImage(anatomy, modality, rng.fork("contrast"));
  return applyScannerStyle(ideal, anatomy.shape, anatomy.spacing, jitterStyle(style, rng.fork("style")), rng.fork("scanner"));
}

/** Generates subject `index` of the listing (the same whether made alone or with all the others). */
export function earSubject(index: number, config?: EarPhantomConfig | EarPhantomOptions): EarSubject {
  const cfg = resolve(config);
  const info = earSubjectInfo(index, cfg);
  const anatomy = earAnatomy(index, cfg);
  const style = earStyle(info.trueStyle);
  const data = renderEar(anatomy, info.modality, style, `${subjectSeed(cfg.seed, info.domain, info.domainIndex)}:render:${style.name}`);
  return {
    ...info,
    image: makeVolume(data, cfg.shape, cfg.spacing),
    label: makeLabelVolume(anatomy.label, cfg.shape, cfg.spacing),
  };
}

/**
 * Subject `index`'s anatomy rendered in another modality and style, e.g. the T2 a source ceT1
 * subject would have had on the "etz-T2" scanner: paired ground truth for evaluating translations.
 */
export function earCounterpart(index: number, style: string, config?: EarPhantomConfig | EarPhantomOptions): Volume {
  const cfg = resolve(config);
  const info = earSubjectInfo(index, cfg);
  const s = earStyle(style);
  const data = renderEar(earAnatomy(index, cfg), s.modality, s, `${subjectSeed(cfg.seed, info.domain, info.domainIndex)}:render:${s.name}`);
  return makeVolume(data, cfg.shape, cfg.spacing);
}

/** Every subject in listing order (source, target train, target test), one at a time. */
export function* earSubjects(config?: EarPhantomConfig | EarPhantomOptions): Generator<EarSubject, void, undefined> {
  const cfg = resolve(config);
  const total = earSubjectCount(cfg);
  for (let i = 0; i < total; i++) yield earSubject(i, cfg);
}
