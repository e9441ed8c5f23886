// The histology phantom ("axon-phantom"): 2D fields of myelinated axon cross-sections, rendered
// as labelled TEM (source) and three target microscopies of increasing dissimilarity.
import { UnpairedError } from "../../util/errors.js";
import { Rng } from "../../util/random.js";
import { makeLabelVolume, makeVolume, type LabelVolume, type Volume } from "../../volume/volume.js";
import { addNoise, clampInPlace, coverage, fastNormals, gaussianBlur, makeGrid, smoothField } from "./draw.js";

export const AXON_PHANTOM_ID = "axon-phantom";

/** Labels: 0 background, 1 axon (axoplasm), 2 myelin. */
export const AXON_LABELS = Object.freeze({ background: 0, axon: 1, myelin: 2 });

/**
 * The source ("tem", labelled) and the targets in order of increasing dissimilarity: TEM of
 * another species (other sizes and contrast), SEM (inverted contrast, other texture) and
 * bright-field light microscopy (blur, low contrast, a greyed stain cast, other noise).
 */
export const AXON_DOMAINS = ["tem", "tem-species2", "sem", "brightfield"] as const;
export type AxonDomain = (typeof AXON_DOMAINS)[number];

export interface AxonPhantomConfig {
  seed: number;
  /** [nx, ny] pixels. */
  shape: [number, number];
  /** Pixel size in micrometres (the volumes store mm, as NIfTI does). */
  pixelUm: number;
  /** Images per domain. */
  count: number;
  /** Fraction of each domain's images in the test split (the last ones). */
  testFraction: number;
}

export const DEFAULT_AXON_PHANTOM_CONFIG: Readonly<AxonPhantomConfig> = Object.freeze({
  seed: 0,
  shape: Object.freeze([128, 128]) as [number, number],
  pixelUm: 0.1,
  count: 40,
  testFraction: 0.25,
});

export type AxonPhantomOptions = Partial<AxonPhantomConfig>;

/** One fibre: centre and radii in pixels. */
export interface AxonFibre {
  x: number;
  y: number;
  /** Mean radius of the axon (inner boundary of the myelin). */
  innerRadius: number;
  /** Mean radius of the fibre (outer boundary of the myelin); equals innerRadius when unmyelinated. */
  outerRadius: number;
  myelinated: boolean;
  /** Whether the whole fibre lies inside the image. */
  inside: boolean;
}

export interface AxonSample {
  /** e.g. "axon-phantom_sem_0007". */
  id: string;
  domain: AxonDomain;
  index: number;
  split: "train" | "test";
  /** [nx, ny] float32 in [0, 1]. */
  image: Volume;
  /** [nx, ny] uint8: 0 background, 1 axon, 2 myelin. */
  label: LabelVolume;
  /** True for every target domain: its labels are for evaluation only. */
  labelHeldOut: boolean;
  fibres: AxonFibre[];
}

/** Geometry of one field: fibres, per-pixel fractions and labels. */
export interface AxonField {
  shape: [number, number];
  fibres: AxonFibre[];
  /** Fraction of each pixel that is axoplasm / myelin (the rest is background). */
  axon: Float32Array;
  myelin: Float32Array;
  label: Uint8Array;
}

/** Fills in defaults and checks a configuration. */
export function axonPhantomConfig(options: AxonPhantomOptions = {}): AxonPhantomConfig {
  const c = { ...DEFAULT_AXON_PHANTOM_CONFIG, ...options };
  const shape = [...c.shape];
  if (!Number.isFinite(c.seed)) throw new UnpairedError("BAD_OPTION", `axon phantom: seed must be a finite number, got ${c.seed}`);
  if (shape.length !== 2 || !shape.every((n) => Number.isInteger(n) && n >= 16)) {
    throw new UnpairedError("BAD_OPTION", `axon phantom: shape must be two whole numbers >= 16 ([nx, ny]), got [${shape}]`);
  }
  if (!(c.pixelUm > 0)) throw new UnpairedError("BAD_OPTION", `axon phantom: pixelUm must be positive, got ${c.pixelUm}`);
  if (!Number.isInteger(c.count) || c.count < 0) throw new UnpairedError("BAD_OPTION", `axon phantom: count must be a whole number >= 0, got ${c.count}`);
  if (!(c.testFraction >= 0 && c.testFraction <= 1)) throw new UnpairedError("BAD_OPTION", `axon phantom: testFraction must lie in [0, 1], got ${c.testFraction}`);
  return { seed: c.seed, shape: shape as [number, number], pixelUm: c.pixelUm, count: c.count, testFraction: c.testFraction };
}

function checkDomain(domain: string): AxonDomain {
  if (!(AXON_DOMAINS as readonly string[]).includes(domain)) {
    throw new UnpairedError("BAD_OPTION", `axon phantom: unknown domain "${domain}"; choose one of ${AXON_DOMAINS.join(", ")}`);
  }
  return domain as AxonDomain;
}

/** The id of image `index` of a domain, e.g. "axon-phantom_sem_0007". */
export function axonSampleId(domain: AxonDomain, index: number): string {
  return `${AXON_PHANTOM_ID}_${domain}_${String(index).padStart(4, "0")}`;
}

/** The split of image `index` of a domain: the last round(count * testFraction) are test. */
export function axonSplit(index: number, config: AxonPhantomConfig): "train" | "test" {
  const test = Math.round(config.count * config.testFraction);
  return index >= config.count - test ? "test" : "train";
}

// ---- geometry -------------------------------------------------------------------------------

/** Per-domain tissue statistics (micrometres). The second species has smaller, thinner-myelinated axons. */
const GEOMETRY: Record<AxonDomain, { medianDiameterUm: number; gRatio: number; unmyelinated: number }> = {
  tem: { medianDiameterUm: 1.2, gRatio: 0.63, unmyelinated: 0.08 },
  "tem-species2": { medianDiameterUm: 0.9, gRatio: 0.69, unmyelinated: 0.12 },
  sem: { medianDiameterUm: 1.2, gRatio: 0.63, unmyelinated: 0.08 },
  brightfield: { medianDiameterUm: 1.2, gRatio: 0.63, unmyelinated: 0.08 },
};

interface FibreShape extends AxonFibre {
  /** Outer boundary: r(theta) = outerRadius * (1 + e cos 2(theta - p2) + a3 cos 3(theta - p3)). */
  e: number;
  p2: number;
  a3: number;
  p3: number;
  /** Myelin thickness varies around the fibre by (1 + tv cos(theta - pt)). */
  tv: number;
  pt: number;
}

/** Packs non-overlapping fibres by random sequential addition, largest first. */
function packFibres(rng: Rng, domain: AxonDomain, config: AxonPhantomConfig): FibreShape[] {
  const [nx, ny] = config.shape;
  const g = GEOMETRY[domain];
  const px = config.pixelUm;
  const area = nx * ny;
  // Candidates: enough for a dense field; whatever does not fit is dropped.
  const candidates: { inner: number; outer: number; myelinated: boolean }[] = [];
  let covered = 0;
  while (covered < 1.5 * area && candidates.length < 2000) {
    const myelinated = !rng.chance(g.unmyelinated);
    let d: number;
    let outer: number;
    if (myelinated) {
      d = Math.min(3.5, Math.max(0.4, g.medianDiameterUm * Math.exp(0.4 * rng.normal())));
      const gr = Math.min(0.78, Math.max(0.52, g.gRatio + 0.04 * rng.normal()));
      // At least 1.6 px of myelin, so that every ring closes on the pixel grid.
      outer = Math.max(d / 2 / gr / px, d / 2 / px + 1.6);
    } else {
      d = rng.range(0.25, 0.7);
      outer = d / 2 / px;
    }
    const inner = d / 2 / px;
    candidates.push({ inner, outer, myelinated });
    covered += Math.PI * outer * outer;
  }
  candidates.sort((a, b) => b.outer - a.outer);
  const placed: FibreShape[] = [];
  const gap = 1.0;
  for (const c of candidates) {
    const e = rng.range(0, 0.12);
    const a3 = rng.range(0, 0.04);
    const reach = c.outer * (1 + e + a3);
    for (let attempt = 0; attempt < 30; attempt++) {
      const x = rng.range(-0.4 * reach, nx - 1 + 0.4 * reach);
      const y = rng.range(-0.4 * reach, ny - 1 + 0.4 * reach);
      let ok = true;
      for (const p of placed) {
        const pr = p.outerRadius * (1 + p.e + p.a3);
        const dx = p.x - x;
        const dy = p.y - y;
        if (dx * dx + dy * dy < (pr + reach + gap) ** 2) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      placed.push({
        x,
        y,
        innerRadius: c.inner,
        outerRadius: c.outer,
        myelinated: c.myelinated,
        inside: x - reach >= 0 && y - reach >= 0 && x + reach <= nx - 1 && y + reach <= ny - 1,
        e,
        p2: rng.range(0, Math.PI),
        a3,
        p3: rng.range(0, 2 * Math.PI),
        tv: rng.range(0, 0.25),
        pt: rng.range(0, 2 * Math.PI),
      });
      break;
    }
  }
  return placed;
}

function rasteriseFibres(fibres: FibreShape[], shape: [number, number]): AxonField {
  const [nx, ny] = shape;
  const axon = new Float32Array(nx * ny);
  const myelin = new Float32Array(nx * ny);
  const label = new Uint8Array(nx * ny);
  for (const f of fibres) {
    const reach = f.outerRadius * (1 + f.e + f.a3) + 2;
    const i0 = Math.max(0, Math.floor(f.x - reach));
    const i1 = Math.min(nx - 1, Math.ceil(f.x + reach));
    const j0 = Math.max(0, Math.floor(f.y - reach));
    const j1 = Math.min(ny - 1, Math.ceil(f.y + reach));
    const thickness = f.outerRadius - f.innerRadius;
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        const dx = i - f.x;
        const dy = j - f.y;
        const r = Math.hypot(dx, dy);
        const th = Math.atan2(dy, dx);
        const rOut = f.outerRadius * (1 + f.e * Math.cos(2 * (th - f.p2)) + f.a3 * Math.cos(3 * (th - f.p3)));
        const rIn = f.myelinated ? Math.max(0.5, rOut - thickness * (1 + f.tv * Math.cos(th - f.pt))) : rOut;
        const aOut = coverage(r - rOut, 1);
        if (aOut <= 0) continue;
        const aIn = coverage(r - rIn, 1);
        const p = j * nx + i;
        axon[p] = aIn;
        myelin[p] = aOut - aIn;
        label[p] = r < rIn ? AXON_LABELS.axon : r < rOut ? AXON_LABELS.myelin : 0;
      }
    }
  }
  const out: AxonFibre[] = fibres.map(({ x, y, innerRadius, outerRadius, myelinated, inside }) => ({ x, y, innerRadius, outerRadius, myelinated, inside }));
  return { shape: [nx, ny], fibres: out, axon, myelin, label };
}

const sampleSeed = (seed: number, domain: AxonDomain, index: number) => `axon:${seed}:${domain}:${index}`;

/** The geometry of image `index` of `domain`. */
export function axonField(domain: AxonDomain, index: number, config?: AxonPhantomOptions): AxonField {
  const cfg = axonPhantomConfig(config);
  checkDomain(domain);
  if (!Number.isInteger(index) || index < 0) throw new UnpairedError("BAD_OPTION", `axon phantom: index must be a whole number >= 0, got ${index}`);
  const rng = new Rng(`${sampleSeed(cfg.seed, domain, index)}:geometry`);
  return rasteriseFibres(packFibres(rng, domain, cfg), cfg.shape);
}

// ---- appearance -----------------------------------------------------------------------------

/** Renders a field as `domain` would image it; `seed` fixes textures and noise. Values in [0, 1]. */
export function renderAxonField(field: AxonField, domain: AxonDomain, seed: string): Float32Array {
  checkDomain(domain);
  const rng = new Rng(seed);
  const shape = field.shape;
  const grid = makeGrid(shape, [1, 1]);
  const n = grid.n;
  const coarse = smoothField(rng.fork("coarse"), grid, 24);
  const medium = smoothField(rng.fork("medium"), grid, 6);
  const fine = smoothField(rng.fork("fine"), grid, 2);
  const white = fastNormals(rng.fork("grain"), n);
  let img: Float32Array = new Float32Array(n);
  const mix = (i: number, bg: number, ax: number, my: number) => {
    const a = field.axon[i]!;
    const m = field.myelin[i]!;
    return (1 - a - m) * bg + a * ax + m * my;
  };
  switch (domain) {
    case "tem":
    case "tem-species2": {
      const sp = domain === "tem-species2";
      // Background: neuropil / extracellular grain; axoplasm light with small dark organelles; myelin dark.
      const [bgL, axL, myL] = sp ? [0.46, 0.82, 0.2] : [0.56, 0.78, 0.12];
      for (let i = 0; i < n; i++) {
        const organelle = fine[i]! > 1.6 ? 0.22 * Math.min(1, fine[i]! - 1.6) : 0;
        const bg = bgL + 0.05 * medium[i]! + 0.04 * white[i]!;
        const ax = axL + 0.03 * medium[i]! - organelle;
        const my = myL + 0.03 * fine[i]!;
        img[i] = mix(i, bg, ax, my);
      }
      img = gaussianBlur(img, shape, sp ? [0.8, 0.8] : [0.5, 0.5]);
      addNoise(img, rng.fork("noise"), sp ? 0.05 : 0.035, "gaussian", false);
      for (let i = 0; i < n; i++) img[i] = img[i]! + (sp ? 0.02 : 0.015) * coarse[i]!;
      break;
    }
    case "sem": {
      // Back-scattered SEM: contrast inverted (myelin bright), coarse blotchy background, signal-dependent noise.
      for (let i = 0; i < n; i++) {
        const bg = 0.34 + 0.08 * medium[i]! + 0.05 * fine[i]!;
        const ax = 0.2 + 0.04 * fine[i]!;
        const my = 0.84 + 0.04 * medium[i]!;
        img[i] = mix(i, bg, ax, my);
      }
      img = gaussianBlur(img, shape, [0.7, 0.7]);
      const noise = fastNormals(rng.fork("noise"), n);
      for (let i = 0; i < n; i++) img[i] = img[i]! + 0.07 * Math.sqrt(Math.max(0, img[i]!)) * noise[i]!;
      break;
    }
    case "brightfield": {
      // Osmium-stained light microscopy: blurred, low contrast, a grey stain cast and uneven illumination.
      for (let i = 0; i < n; i++) {
        const bg = 0.66 + 0.03 * medium[i]!;
        const ax = 0.72 + 0.02 * fine[i]!;
        const my = 0.4 + 0.03 * medium[i]!;
        img[i] = mix(i, bg, ax, my);
      }
      img = gaussianBlur(img, shape, [1.8, 1.8]);
      const speckle = fastNormals(rng.fork("noise"), n);
      for (let i = 0; i < n; i++) {
        const cast = 0.22 + 0.6 * img[i]!;
        img[i] = cast * (1 + 0.06 * coarse[i]!) + 0.012 * white[i]! + 0.02 * speckle[i]! * cast;
      }
      break;
    }
  }
  clampInPlace(img, 0, 1);
  return img;
}

/** Image `index` of `domain`. `renderAs` images the same geometry as another domain would (paired ground truth). */
export function axonSample(domain: AxonDomain, index: number, config?: AxonPhantomOptions, options: { renderAs?: AxonDomain } = {}): AxonSample {
  const cfg = axonPhantomConfig(config);
  checkDomain(domain);
  if (!Number.isInteger(index) || index < 0 || index >= cfg.count) {
    throw new UnpairedError("BAD_OPTION", `axon phantom: index ${index} is outside 0..${cfg.count - 1}`);
  }
  const field = axonField(domain, index, cfg);
  const look = options.renderAs ?? domain;
  const data = renderAxonField(field, look, `${sampleSeed(cfg.seed, domain, index)}:render:${look}`);
  const spacing = [cfg.pixelUm / 1000, cfg.pixelUm / 1000];
  return {
    id: axonSampleId(domain, index),
    domain,
    index,
    split: axonSplit(index, cfg),
    image: makeVolume(data, cfg.shape, spacing),
    label: makeLabelVolume(field.label, cfg.shape, spacing),
    labelHeldOut: domain !== "tem",
    fibres: field.fibres,
  };
}

/** Every image of the given domains (all four by default), domain by domain. */
export function* axonSamples(config?: AxonPhantomOptions, domains: readonly AxonDomain[] = AXON_DOMAINS): Generator<AxonSample, void, undefined> {
  const cfg = axonPhantomConfig(config);
  for (const d of domains) for (let i = 0; i < cfg.count; i++) yield axonSample(d, i, cfg);
}
