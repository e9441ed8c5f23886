// Toy domain pairs A/B for the CycleGAN lecture: a grey-level "colour" change, a texture change
// (smooth <-> striped blobs) and a geometric change (circles <-> squares), 2D in [0, 1].
import { UnpairedError } from "../../util/errors.js";
import { Rng } from "../../util/random.js";
import { makeLabelVolume, makeVolume, type LabelVolume, type Volume } from "../../volume/volume.js";
import { addNoise, clampInPlace, coverage } from "./draw.js";

export const TOY_PHANTOM_ID = "toy-phantom";

/**
 * - "colour": the same kind of scene under two grey-level mappings (A dark objects on a light
 *   ground, B light objects on a dark ground through a non-linear "tint" curve). The kit's
 *   images are single-channel, so the lecture's colour change is a change of grey mapping; a
 *   pixel-wise mapping solves it.
 * - "texture": smooth shaded blobs (A) against blobs filled with stripes (B); same geometry
 *   statistics, so CycleGAN can learn it.
 * - "geometry": circles (A) against squares (B) of the same area; no pixel-local mapping turns
 *   one into the other, the lecture's failure case.
 */
export const TOY_KINDS = ["colour", "texture", "geometry"] as const;
export type ToyKind = (typeof TOY_KINDS)[number];
export type ToyDomain = "A" | "B";

export interface ToyPhantomConfig {
  seed: number;
  /** [nx, ny] pixels. */
  shape: [number, number];
  /** Images per domain. */
  count: number;
  /** Fraction of each domain's images in the test split (the last ones). */
  testFraction: number;
}

export const DEFAULT_TOY_PHANTOM_CONFIG: Readonly<ToyPhantomConfig> = Object.freeze({
  seed: 0,
  shape: Object.freeze([64, 64]) as [number, number],
  count: 64,
  testFraction: 0.25,
});

export type ToyPhantomOptions = Partial<ToyPhantomConfig>;

/** One object of a scene, in pixels. */
export interface ToyObject {
  x: number;
  y: number;
  /** Radius of a circle / blob; a square has the same area (half-side r * sqrt(pi) / 2). */
  r: number;
  /** Blob elongation (1 = round) and orientation, in radians. */
  aspect: number;
  angle: number;
  /** Stripe period (pixels) and direction for striped blobs. */
  period: number;
  stripeAngle: number;
}

export interface ToySample {
  /** e.g. "toy-phantom_texture_B_0003". */
  id: string;
  toy: ToyKind;
  domain: ToyDomain;
  index: number;
  split: "train" | "test";
  /** [nx, ny] float32 in [0, 1]. */
  image: Volume;
  /** [nx, ny] uint8: 0 background, k for the k-th object. */
  mask: LabelVolume;
  objects: ToyObject[];
}

/** Fills in defaults and checks a configuration. */
export function toyPhantomConfig(options: ToyPhantomOptions = {}): ToyPhantomConfig {
  const c = { ...DEFAULT_TOY_PHANTOM_CONFIG, ...options };
  const shape = [...c.shape];
  if (!Number.isFinite(c.seed)) throw new UnpairedError("BAD_OPTION", `toy phantom: seed must be a finite number, got ${c.seed}`);
  if (shape.length !== 2 || !shape.every((n) => Number.isInteger(n) && n >= 16)) {
    throw new UnpairedError("BAD_OPTION", `toy phantom: shape must be two whole numbers >= 16 ([nx, ny]), got [${shape}]`);
  }
  if (!Number.isInteger(c.count) || c.count < 0) throw new UnpairedError("BAD_OPTION", `toy phantom: count must be a whole number >= 0, got ${c.count}`);
  if (!(c.testFraction >= 0 && c.testFraction <= 1)) throw new UnpairedError("BAD_OPTION", `toy phantom: testFraction must lie in [0, 1], got ${c.testFraction}`);
  return { seed: c.seed, shape: shape as [number, number], count: c.count, testFraction: c.testFraction };
}

function checkKind(toy: string): ToyKind {
  if (!(TOY_KINDS as readonly string[]).includes(toy)) {
    throw new UnpairedError("BAD_OPTION", `toy phantom: unknown toy "${toy}"; choose one of ${TOY_KINDS.join(", ")}`);
  }
  return toy as ToyKind;
}

/** 1 to 4 non-overlapping objects; sizes scale with the image. */
function scene(rng: Rng, toy: ToyKind, shape: [number, number]): ToyObject[] {
  const [nx, ny] = shape;
  const size = Math.min(nx, ny);
  const wanted = rng.intRange(1, 4);
  const objects: ToyObject[] = [];
  for (let attempt = 0; attempt < 200 && objects.length < wanted; attempt++) {
    const r = size * rng.range(0.08, 0.2);
    const aspect = toy === "geometry" ? 1 : rng.range(1, 1.6);
    const reach = r * Math.sqrt(aspect) * (toy === "geometry" ? Math.SQRT2 : 1);
    const x = rng.range(reach + 1, nx - 2 - reach);
    const y = rng.range(reach + 1, ny - 2 - reach);
    const angle = rng.range(0, Math.PI);
    const period = rng.range(4, 7) * (size / 64);
    const stripeAngle = rng.range(0, Math.PI);
    if (objects.some((o) => Math.hypot(o.x - x, o.y - y) < reach + o.r * Math.sqrt(o.aspect) * (toy === "geometry" ? Math.SQRT2 : 1) + 2)) continue;
    objects.push({ x, y, r, aspect, angle, period, stripeAngle });
  }
  return objects;
}

/** Signed distance (pixels) and normalised radius (0 centre, 1 edge) of a pixel to an object. */
function shapeDistance(o: ToyObject, i: number, j: number, square: boolean): [number, number] {
  const dx = i - o.x;
  const dy = j - o.y;
  if (square) {
    const h = (o.r * Math.sqrt(Math.PI)) / 2;
    const d = Math.max(Math.abs(dx), Math.abs(dy));
    return [d - h, d / h];
  }
  // An ellipse of the circle's area: semi-axes r * sqrt(aspect) and r / sqrt(aspect).
  const c = Math.cos(o.angle);
  const s = Math.sin(o.angle);
  const u = (dx * c + dy * s) / Math.sqrt(o.aspect);
  const v = (-dx * s + dy * c) * Math.sqrt(o.aspect);
  const q = Math.hypot(u, v);
  return [q - o.r, q / o.r];
}

const sampleSeed = (seed: number, toy: ToyKind, domain: ToyDomain, index: number) => `toy:${seed}:${toy}:${domain}:${index}`;

/** The A and B grey mappings of the "colour" toy, on the scene value s (0 ground, 0.55..1 objects). */
export const colourMapA = (s: number): number => 0.88 - 0.7 * s;
export const colourMapB = (s: number): number => 0.08 + 0.82 * s ** 0.6 + 0.06 * Math.sin(2 * Math.PI * s);

/** Renders objects the way `domain` of `toy` draws them. */
function render(toy: ToyKind, domain: ToyDomain, objects: ToyObject[], shape: [number, number], rng: Rng): { image: Float32Array; mask: Uint8Array } {
  const [nx, ny] = shape;
  const image = new Float32Array(nx * ny);
  const mask = new Uint8Array(nx * ny);
  const square = toy === "geometry" && domain === "B";
  const ground = toy === "colour" ? 0 : 0.15;
  image.fill(ground);
  objects.forEach((o, k) => {
    const reach = o.r * Math.sqrt(o.aspect) * Math.SQRT2 + 2;
    const i0 = Math.max(0, Math.floor(o.x - reach));
    const i1 = Math.min(nx - 1, Math.ceil(o.x + reach));
    const j0 = Math.max(0, Math.floor(o.y - reach));
    const j1 = Math.min(ny - 1, Math.ceil(o.y + reach));
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        const [d, rho] = shapeDistance(o, i, j, square);
        const a = coverage(d, 1);
        if (a <= 0) continue;
        const p = j * nx + i;
        if (d < 0) mask[p] = k + 1;
        // Dome shading: brightest in the middle.
        const dome = Math.sqrt(Math.max(0, 1 - Math.min(1, rho) ** 2));
        let v: number;
        if (toy === "colour") v = 0.55 + 0.45 * dome;
        else if (toy === "texture" && domain === "B") {
          const t = ((i - o.x) * Math.cos(o.stripeAngle) + (j - o.y) * Math.sin(o.stripeAngle)) / o.period;
          v = 0.5 + 0.32 * Math.tanh(3 * Math.sin(2 * Math.PI * t));
        } else if (toy === "texture") v = 0.6 + 0.25 * dome;
        else v = 0.8; // geometry: flat shapes, so only the outline differs
        image[p] = (1 - a) * image[p]! + a * v;
      }
    }
  });
  if (toy === "colour") {
    const map = domain === "A" ? colourMapA : colourMapB;
    for (let p = 0; p < image.length; p++) image[p] = map(image[p]!);
  }
  addNoise(image, rng, 0.015, "gaussian", false);
  clampInPlace(image, 0, 1);
  return { image, mask };
}

/**
 * Image `index` of `domain` of `toy`. `renderAs` draws the same scene as the other domain would
 * (the paired answer a translation should give; for "geometry" the square of the same size).
 */
/** The id of image `index` of a toy's domain, e.g. "toy-phantom_texture_B_0003". */
export function toySampleId(toy: ToyKind, domain: ToyDomain, index: number): string {
  return `${TOY_PHANTOM_ID}_${toy}_${domain}_${String(index).padStart(4, "0")}`;
}

/** The split of image `index`: the last round(count * testFraction) are test. */
export function toySplit(index: number, config: ToyPhantomConfig): "train" | "test" {
  return index >= config.count - Math.round(config.count * config.testFraction) ? "test" : "train";
}

export function toySample(toy: ToyKind, domain: ToyDomain, index: number, config?: ToyPhantomOptions, options: { renderAs?: ToyDomain } = {}): ToySample {
  const cfg = toyPhantomConfig(config);
  checkKind(toy);
  if (domain !== "A" && domain !== "B") throw new UnpairedError("BAD_OPTION", `toy phantom: domain must be "A" or "B", got "${domain}"`);
  if (!Number.isInteger(index) || index < 0 || index >= cfg.count) {
    throw new UnpairedError("BAD_OPTION", `toy phantom: index ${index} is outside 0..${cfg.count - 1}`);
  }
  const base = sampleSeed(cfg.seed, toy, domain, index);
  const objects = scene(new Rng(`${base}:scene`), toy, cfg.shape);
  const look = options.renderAs ?? domain;
  const { image, mask } = render(toy, look, objects, cfg.shape, new Rng(`${base}:render:${look}`));
  return {
    id: toySampleId(toy, domain, index),
    toy,
    domain,
    index,
    split: toySplit(index, cfg),
    image: makeVolume(image, cfg.shape),
    mask: makeLabelVolume(mask, cfg.shape),
    objects,
  };
}

/** Every image of a toy: domain A, then domain B. */
export function* toySamples(toy: ToyKind, config?: ToyPhantomOptions): Generator<ToySample, void, undefined> {
  const cfg = toyPhantomConfig(config);
  for (const d of ["A", "B"] as const) for (let i = 0; i < cfg.count; i++) yield toySample(toy, d, i, cfg);
}
