// Intensity augmentation: each style perturbation against an independent computation, the
// random versions' seeding and firing rates, and the composable training transforms.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../lib/util/random.js";
import { UnpairedError } from "../lib/util/errors.js";
import { makeLabelVolume, makeVolume, voxelIndex, type LabelArray } from "../lib/volume/volume.js";
import { flipAxes } from "../lib/volume/orient.js";
import { type BorderMode, gaussianKernel1d, gaussianSmooth, gaussianSmoothVolume } from "../lib/data/gaussian.js";
import {
  type Sample,
  CONTRAST_EPS,
  STYLE_PERTURBATIONS,
  addGaussianNoise,
  adjustContrast,
  applyBiasField,
  applyStylePerturbation,
  biasFieldLog,
  biasFieldTerms,
  compose,
  randomAdjustContrast,
  randomBiasField,
  randomFlip,
  randomGaussianNoise,
  randomGaussianSmooth,
  randomIntensityScale,
  randomIntensityShift,
  randomStyle,
  randomStyleNegative,
  randomStylePerturbation,
  randomStylePerturbationVolume,
  styleNegatives,
  trainingAugmentation,
} from "../lib/data/augment.js";

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.range(lo, hi));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  const d = maxAbsDiff(a, b);
  assert.ok(d <= tol, `${what}: max |diff| ${d} > ${tol}`);
}

const isBadOption = (e: unknown) => e instanceof UnpairedError && e.code === "BAD_OPTION";

// ---- contrast

test("adjustContrast matches hand-computed gamma values", () => {
  // min 0, max 4: out = (x / (4 + eps))^gamma * 4.
  const x = Float32Array.from([0, 1, 2, 4]);
  const sq = adjustContrast(x, [2, 2], 2);
  const r = 4 + CONTRAST_EPS;
  assertClose(sq, [0, 4 * (1 / r) ** 2, 4 * (2 / r) ** 2, 4 * (4 / r) ** 2], 1e-6, "gamma 2");
  assertClose(sq, [0, 0.25, 1, 4], 1e-5, "gamma 2 by hand");
  assertClose(adjustContrast(x, [2, 2], 0.5), [0, 2, Math.SQRT2 * 2, 4], 1e-5, "gamma 0.5 by hand");
  // A shifted range: [-1, 1] -> ((x + 1) / 2)^gamma * 2 - 1; the ends stay put.
  const y = Float32Array.from([-1, 0, 0.5, 1]);
  assertClose(adjustContrast(y, [4, 1], 3), [-1, 2 * 0.5 ** 3 - 1, 2 * 0.75 ** 3 - 1, 1], 1e-5, "gamma 3 on [-1, 1]");
  // gamma 1 is the identity; a constant image comes back unchanged.
  assertClose(adjustContrast(y, [4, 1], 1), y, 1e-6, "gamma 1");
  assert.deepEqual([...adjustContrast(new Float32Array(6).fill(0.3), [3, 2], 1.4)], [...new Float32Array(6).fill(0.3)]);
  assert.throws(() => adjustContrast(x, [2, 2], 0), isBadOption);
  assert.throws(() => adjustContrast(x, [3, 2], 1), (e) => e instanceof UnpairedError && e.code === "BAD_VOLUME");
});

// ---- bias field

test("bias field terms: C(degree + dims, dims) monomials of total degree <= degree", () => {
  assert.equal(biasFieldTerms(2, 3).length, 10);
  assert.equal(biasFieldTerms(3, 3).length, 20);
  assert.equal(biasFieldTerms(3, 2).length, 10);
  assert.equal(biasFieldTerms(2, 1).length, 3);
  for (const dims of [2, 3]) {
    const terms = biasFieldTerms(dims, 3);
    assert.ok(terms.every((e) => e.length === dims && e.reduce((a, b) => a + b) <= 3));
    assert.equal(new Set(terms.map((e) => e.join(","))).size, terms.length, "no duplicates");
  }
  assert.deepEqual(biasFieldTerms(3, 3).slice(0, 5), [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 0, 3], [0, 1, 0]]);
  const rng = new Rng(1);
  assert.equal(randomBiasField(new Float32Array(27).fill(1), [3, 3, 3], rng).coeffs.length, 20);
  assert.equal(randomBiasField(new Float32Array(9).fill(1), [3, 3], rng).coeffs.length, 10);
  assert.throws(() => applyBiasField(new Float32Array(9), [3, 3], [0.1, 0.2]), isBadOption);
});

test("bias field, 3x3 by hand: only the x coefficient set", () => {
  const terms = biasFieldTerms(2, 3);
  const coeffs = terms.map((e) => (e[0] === 1 && e[1] === 0 ? 0.1 : 0));
  const x = Float32Array.from([1, 1, 1, 2, 2, 2, -1, -1, -1]); // rows y = 0, 1, 2
  const e = Math.exp;
  const want = [e(-0.1), 1, e(0.1), 2 * e(-0.1), 2, 2 * e(0.1), -e(-0.1), -1, -e(0.1)];
  for (const basis of ["legendre", "monomial"] as const) {
    assertClose(applyBiasField(x, [3, 3], coeffs, { basis }), want, 1e-6, `x term (${basis})`);
  }
  // Only the y coefficient: the field varies down the rows instead.
  const cy = terms.map((t) => (t[0] === 0 && t[1] === 1 ? 0.2 : 0));
  assertClose(biasFieldLog([3, 3], cy), [-0.2, -0.2, -0.2, 0, 0, 0, 0.2, 0.2, 0.2], 1e-12, "y term");
});

test("bias field bases: x^2 as a Legendre P2 and as a monomial; a 3D product term", () => {
  const terms = biasFieldTerms(2, 3);
  const c = terms.map((e) => (e[0] === 2 && e[1] === 0 ? 0.2 : 0));
  // x = -1, 0, 1: P2 = (3x^2 - 1) / 2 = 1, -1/2, 1; x^2 = 1, 0, 1.
  assertClose(biasFieldLog([3, 1], c, { basis: "legendre" }), [0.2, -0.1, 0.2], 1e-12, "P2");
  assertClose(biasFieldLog([3, 1], c, { basis: "monomial" }), [0.2, 0, 0.2], 1e-12, "x^2");
  // P3(x) = (5x^3 - 3x) / 2 at x = -1, -1/3, 1/3, 1.
  const c3 = terms.map((e) => (e[0] === 3 ? 1 : 0));
  const p3 = (t: number) => (5 * t ** 3 - 3 * t) / 2;
  assertClose(biasFieldLog([4, 1], c3), [-1, -1 / 3, 1 / 3, 1].map(p3), 1e-12, "P3");
  // xyz on a 3x3x3 grid (linear in each axis, so both bases agree).
  const t3 = biasFieldTerms(3, 3);
  const cxyz = t3.map((e) => (e[0] === 1 && e[1] === 1 && e[2] === 1 ? 0.5 : 0));
  const p = biasFieldLog([3, 3, 3], cxyz);
  for (let z = 0; z < 3; z++)
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 3; x++) assert.ok(Math.abs(p[voxelIndex([3, 3, 3], x, y, z)]! - 0.5 * (x - 1) * (y - 1) * (z - 1)) < 1e-12);
});

// ---- Gaussian smoothing

/** Independent reference kernel: sampled Gaussian, radius floor(4 sigma + 0.5), normalised. */
function refKernel(sigma: number): number[] {
  const r = Math.floor(4 * sigma + 0.5);
  if (r === 0) return [1];
  const k: number[] = [];
  for (let i = -r; i <= r; i++) k.push(Math.exp(-(i * i) / (2 * sigma * sigma)));
  const s = k.reduce((a, b) => a + b, 0);
  return k.map((w) => w / s);
}

/** Independent border rule: walk outwards and bounce (or clamp, or give null) step by step. */
function refIndex(i: number, n: number, mode: BorderMode): number | null {
  if (mode === "zeros") return i >= 0 && i < n ? i : null;
  if (mode === "edge") return Math.min(n - 1, Math.max(0, i));
  // Build the extended sequence explicitly, far enough either way.
  const seq: number[] = [];
  const period = mode === "reflect" ? [...Array(n).keys(), ...[...Array(n).keys()].reverse()] : n === 1 ? [0] : [...Array(n).keys(), ...[...Array(n - 2).keys()].map((k) => n - 2 - k)];
  while (seq.length < Math.abs(i) + 2 * n + 2) seq.push(...period);
  if (i >= 0) return seq[i]!;
  // Left of 0 mirrors the right side: reflect repeats a[0], mirror does not.
  const left = mode === "reflect" ? -i - 1 : -i;
  return seq[left]!;
}

/** Brute force: the full 3D (non-separable) kernel product, summed voxel by voxel. */
function bruteSmooth3d(x: Float32Array, shape: number[], sigma: number[], mode: BorderMode): Float64Array {
  const [nx, ny, nz] = shape as [number, number, number];
  const [kx, ky, kz] = sigma.map(refKernel) as [number[], number[], number[]];
  const [rx, ry, rz] = [kx, ky, kz].map((k) => (k.length - 1) / 2) as [number, number, number];
  const out = new Float64Array(x.length);
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let xx = 0; xx < nx; xx++) {
        let acc = 0;
        for (let c = -rz; c <= rz; c++) {
          const sz = refIndex(z + c, nz, mode);
          if (sz === null) continue;
          for (let b = -ry; b <= ry; b++) {
            const sy = refIndex(y + b, ny, mode);
            if (sy === null) continue;
            for (let a = -rx; a <= rx; a++) {
              const sx = refIndex(xx + a, nx, mode);
              if (sx === null) continue;
              acc += kx[a + rx]! * ky[b + ry]! * kz[c + rz]! * x[sx + nx * (sy + ny * sz)]!;
            }
          }
        }
        out[xx + nx * (y + ny * z)] = acc;
      }
  return out;
}

test("gaussianKernel1d: sampled kernel as defined; erf kernel close to it", () => {
  for (const s of [0.5, 0.8, 1.5]) assertClose(gaussianKernel1d(s), refKernel(s), 1e-12, `sigma ${s}`);
  const erf = gaussianKernel1d(1.2, { kernel: "erf" });
  assert.equal(erf.length, refKernel(1.2).length);
  assert.ok(Math.abs(erf.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  // The erf kernel is a slightly wider Gaussian (the box adds 1/12 of variance).
  assertClose(erf, refKernel(Math.sqrt(1.2 * 1.2 + 1 / 12)), 2e-3, "erf ~ sampled(sqrt(s^2 + 1/12))");
  // erf taps against Simpson integration of the Gaussian density over each unit voxel.
  for (const sg of [0.6, 1.2]) {
    const k = gaussianKernel1d(sg, { kernel: "erf" });
    const r = (k.length - 1) / 2;
    const pdf = (t: number) => Math.exp(-(t * t) / (2 * sg * sg)) / (sg * Math.sqrt(2 * Math.PI));
    const mass = (a: number, b: number) => {
      const m = 200;
      const h = (b - a) / m;
      let acc = pdf(a) + pdf(b);
      for (let j = 1; j < m; j++) acc += (j % 2 ? 4 : 2) * pdf(a + j * h);
      return (acc * h) / 3;
    };
    const want = Array.from({ length: k.length }, (_, j) => mass(j - r - 0.5, j - r + 0.5));
    const tot = want.reduce((a, b) => a + b, 0);
    assertClose(k, want.map((w) => w / tot), 1e-7, `erf taps, sigma ${sg}`);
  }
  assert.deepEqual([...gaussianKernel1d(0)], [1]);
});

test("gaussianSmooth equals a brute-force 3D convolution (every border mode)", () => {
  const shape = [9, 7, 3]; // z shorter than the kernel: the borders reflect more than once
  const x = randomArray(prod(shape), 11);
  const copy = Float32Array.from(x);
  const sigma = [0.7, 1.3, 1.1];
  for (const border of ["reflect", "mirror", "edge", "zeros"] as const) {
    const got = gaussianSmooth(x, shape, sigma, { border });
    assertClose(got, bruteSmooth3d(x, shape, sigma, border), 2e-6, `border ${border}`);
  }
  assert.deepEqual(x, copy, "input unchanged");
  // 2D too, default border (reflect).
  const x2 = randomArray(48, 12);
  const got2 = gaussianSmooth(x2, [8, 6], [1.5, 0.6]);
  assertClose(got2, bruteSmooth3d(x2, [8, 6, 1], [1.5, 0.6, 0], "reflect"), 2e-6, "2D");
});

test("gaussianSmooth: a constant stays constant, mass is kept, sigma -> 0 is the identity", () => {
  const shape = [6, 5, 4];
  const n = prod(shape);
  const c = new Float32Array(n).fill(0.7);
  for (const border of ["reflect", "mirror", "edge"] as const) {
    const s = gaussianSmooth(c, shape, [1.2, 0.9, 1.4], { border });
    assertClose(s, c, 1e-6, `constant (${border})`);
    const sum = s.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 0.7 * n) < 1e-4 * n, `sum kept (${border})`);
  }
  // Zero padding darkens the border of a constant image (MONAI's behaviour), not the centre.
  const z = gaussianSmooth(new Float32Array(15 * 15).fill(1), [15, 15], 1, { border: "zeros" });
  assert.ok(z[0]! < 0.5 && Math.abs(z[voxelIndex([15, 15], 7, 7)]! - 1) < 1e-6);
  // An impulse well inside keeps its mass.
  const imp = new Float32Array(21 * 21 * 21);
  imp[voxelIndex([21, 21, 21], 10, 10, 10)] = 1;
  const si = gaussianSmooth(imp, [21, 21, 21], 1.5);
  assert.ok(Math.abs(si.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  // sigma -> 0
  const x = randomArray(n, 3);
  assert.deepEqual(gaussianSmooth(x, shape, 0), x);
  assert.deepEqual(gaussianSmooth(x, shape, 0.1), x); // radius rounds to 0
  assertClose(gaussianSmooth(x, shape, 0.2), x, 1e-4, "sigma 0.2");
  const v = makeVolume(x, shape, [0.5, 0.5, 2]);
  const sv = gaussianSmoothVolume(v, 1);
  assert.deepEqual(sv.spacing, [0.5, 0.5, 2]);
  assert.deepEqual(sv.data, gaussianSmooth(x, shape, 1));
  assert.throws(() => gaussianSmooth(x, shape, [1, 1]), isBadOption);
  assert.throws(() => gaussianSmooth(x, shape, -1), isBadOption);
  assert.throws(() => gaussianSmooth(x, shape, 1, { border: "wrap" as BorderMode }), isBadOption);
});

// ---- noise

test("Gaussian noise: sample mean and std match; the seed replays the field", () => {
  const n = 200_000;
  const x = new Float32Array(n).fill(0.5);
  const y = addGaussianNoise(x, [400, 500], 0.3, 42);
  let m = 0;
  for (const v of y) m += v - 0.5;
  m /= n;
  let s2 = 0;
  for (const v of y) s2 += (v - 0.5 - m) ** 2;
  const sd = Math.sqrt(s2 / (n - 1));
  assert.ok(Math.abs(m) < 0.005, `mean ${m}`);
  assert.ok(Math.abs(sd - 0.3) < 0.003, `std ${sd}`);
  assert.deepEqual(addGaussianNoise(x, [400, 500], 0.3, 42), y);
  assert.notDeepEqual(addGaussianNoise(x, [400, 500], 0.3, 43), y);
  assert.ok(x.every((v) => v === 0.5), "input unchanged");
  const r = randomGaussianNoise(x.subarray(0, 1000), [1000, 1], new Rng(5));
  assert.ok(r.std >= 0 && r.std < 0.4);
  assert.deepEqual(addGaussianNoise(x.subarray(0, 1000), [1000, 1], r.std, r.seed), r.data);
});

// ---- random versions

test("random perturbations: same seed -> same output, another seed differs, input unchanged", () => {
  const shape = [8, 6, 4];
  const x = randomArray(prod(shape), 7);
  const copy = Float32Array.from(x);
  const runs = [
    (rng: Rng) => randomAdjustContrast(x, shape, rng).data,
    (rng: Rng) => randomBiasField(x, shape, rng).data,
    (rng: Rng) => randomGaussianSmooth(x, shape, rng).data,
    (rng: Rng) => randomGaussianNoise(x, shape, rng).data,
    (rng: Rng) => randomStylePerturbation(x, shape, rng, { p: 1 }).data,
    (rng: Rng) => randomStyleNegative(x, shape, rng).data,
  ];
  for (const [i, f] of runs.entries()) {
    const a = f(new Rng(100));
    assert.deepEqual(f(new Rng(100)), a, `run ${i}: same seed`);
    assert.ok(maxAbsDiff(f(new Rng(101)), a) > 0, `run ${i}: other seed`);
  }
  assert.deepEqual(x, copy, "input unchanged");
  // Drawn parameters lie in their ranges.
  const rng = new Rng(8);
  for (let k = 0; k < 50; k++) {
    const g = randomAdjustContrast(x, shape, rng).gamma;
    assert.ok(g >= 0.5 && g < 1.5);
    const s = randomGaussianSmooth(x, shape, rng).sigma;
    assert.ok(s.length === 3 && s.every((v) => v >= 0.5 && v < 1.5));
  }
  const { coeffs } = randomBiasField(x, shape, rng);
  assert.ok(coeffs.every((c) => c >= 1e-5 && c < 0.1));
});

test("style perturbation: the record replays the output; p = 1 fires all in order", () => {
  const shape = [10, 8, 3];
  const x = randomArray(prod(shape), 9);
  const rng = new Rng(21);
  for (let k = 0; k < 30; k++) {
    const { data, record } = randomStylePerturbation(x, shape, rng);
    assert.deepEqual(applyStylePerturbation(x, shape, record), data);
    if (record.fired.length === 0) assert.deepEqual(data, x);
  }
  const all = randomStylePerturbation(x, shape, new Rng(3), { p: 1 });
  assert.deepEqual(all.record.fired, [...STYLE_PERTURBATIONS]);
  const r = all.record;
  let want = adjustContrast(x, shape, r.contrast!.gamma);
  want = applyBiasField(want, shape, r.bias!.coeffs);
  want = gaussianSmooth(want, shape, r.smooth!.sigma);
  want = addGaussianNoise(want, shape, r.noise!.std, r.noise!.seed);
  assert.deepEqual(all.data, want);
  // p = 0: nothing fires, and the output is a copy.
  const none = randomStylePerturbation(x, shape, new Rng(3), { p: 0 });
  assert.deepEqual(none.record.fired, []);
  assert.notEqual(none.data, x);
  assert.deepEqual(none.data, x);
  // Per-name probabilities and ranges.
  const only = randomStylePerturbation(x, shape, new Rng(4), { p: { contrast: 1, bias: 0, smooth: 0, noise: 0 }, gamma: [2, 2] });
  assert.deepEqual(only.record.fired, ["contrast"]);
  assert.deepEqual(only.data, adjustContrast(x, shape, 2));
  assert.throws(() => randomStylePerturbation(x, shape, rng, { p: 1.5 }), isBadOption);
  assert.throws(() => randomStylePerturbation(x, shape, rng, { gamma: [1.5, 0.5] }), isBadOption);
  assert.throws(() => randomStylePerturbation(x, shape, rng, { p: 0, atLeastOne: true }), isBadOption);
});

test("style perturbation firing rates: each ~p independently; atLeastOne never leaves the input", () => {
  const shape = [4, 4];
  const x = randomArray(16, 2);
  const N = 4000;
  const count = (atLeastOne: boolean) => {
    const rng = new Rng(atLeastOne ? 77 : 76);
    const fired = new Map(STYLE_PERTURBATIONS.map((n) => [n, 0]));
    let none = 0;
    let unchanged = 0;
    for (let k = 0; k < N; k++) {
      const { data, record } = randomStylePerturbation(x, shape, rng, { atLeastOne });
      for (const n of record.fired) fired.set(n, fired.get(n)! + 1);
      if (record.fired.length === 0) none++;
      if (maxAbsDiff(data, x) === 0) unchanged++;
    }
    return { fired, none, unchanged };
  };
  // Bounds of 6 binomial standard deviations around the expectation.
  const within = (k: number, p: number, what: string) => {
    const mu = N * p;
    const sd = Math.sqrt(N * p * (1 - p));
    assert.ok(Math.abs(k - mu) < 6 * sd, `${what}: ${k} of ${N}, expected ${mu.toFixed(0)} +- ${(6 * sd).toFixed(0)}`);
  };
  const plain = count(false);
  for (const [n, k] of plain.fired) within(k, 0.25, n);
  within(plain.none, 0.75 ** 4, "none fired");
  assert.equal(plain.unchanged, plain.none);
  const forced = count(true);
  const q = 0.25 / (1 - 0.75 ** 4);
  for (const [n, k] of forced.fired) within(k, q, `${n} (atLeastOne)`);
  assert.equal(forced.none, 0);
  assert.equal(forced.unchanged, 0);
  // styleNegatives: count negatives, none identical to the positive.
  const negs = styleNegatives(x, shape, new Rng(1));
  assert.equal(negs.length, 12);
  assert.ok(negs.every((n) => n.record.fired.length > 0 && maxAbsDiff(n.data, x) > 0));
});

// ---- training augmentation

function labelledSample(shape: number[]): Sample {
  const n = prod(shape);
  const image = makeVolume(Float32Array.from({ length: n }, (_, i) => i), shape);
  const label = makeLabelVolume(Uint8Array.from({ length: n }, (_, i) => i % 251), shape);
  return { image, label };
}

// Flips come from lib/volume's flipAxes; its voxels are checked here as augmentation uses them.
const flipArray = <T extends Float32Array | Uint8Array | Uint16Array | Int32Array>(data: T, shape: number[], axis: number): T =>
  (data instanceof Float32Array ? flipAxes(makeVolume(data, shape), [axis]).data : flipAxes(makeLabelVolume(data as LabelArray, shape), [axis]).data) as T;

test("flips mirror one axis; twice is the identity", () => {
  const shape = [4, 3, 2];
  const d = Float32Array.from({ length: 24 }, (_, i) => i);
  for (let axis = 0; axis < 3; axis++) {
    const f = flipArray(d, shape, axis);
    for (let z = 0; z < 2; z++)
      for (let y = 0; y < 3; y++)
        for (let x = 0; x < 4; x++) {
          const src = [x, y, z];
          src[axis] = shape[axis]! - 1 - src[axis]!;
          assert.equal(f[voxelIndex(shape, x, y, z)], d[voxelIndex(shape, src[0]!, src[1]!, src[2]!)]);
        }
    assert.deepEqual(flipArray(f, shape, axis), d);
  }
  const lab = Uint16Array.from([1, 2, 3, 4, 5, 6]);
  const fl = flipArray(lab, [3, 2], 1);
  assert.ok(fl instanceof Uint16Array);
  assert.deepEqual([...fl], [4, 5, 6, 1, 2, 3]);
});

test("randomFlip flips image and labels together; p = 0.5 flips about half the time", () => {
  const shape = [5, 4, 3];
  const s = labelledSample(shape);
  const imgCopy = Float32Array.from(s.image.data);
  const always = randomFlip({ axes: [0, 2], p: 1 })(s, new Rng(1));
  assert.deepEqual(always.image.data, flipArray(flipArray(s.image.data, shape, 0), shape, 2));
  assert.deepEqual(always.label!.data, flipArray(flipArray(s.label!.data, shape, 0), shape, 2));
  assert.deepEqual(randomFlip({ p: 0 })(s, new Rng(1)).image.data, s.image.data);
  const t = randomFlip({ axes: [0, 1, 2] });
  const rng = new Rng(2);
  let flippedX = 0;
  const N = 400;
  for (let k = 0; k < N; k++) {
    const o = t(s, rng);
    // The label stays the label of the same voxel: image value i always carries label i % 251.
    for (let i = 0; i < o.image.data.length; i++) assert.equal(o.label!.data[i], o.image.data[i]! % 251);
    if (o.image.data[0]! % 5 === 4) flippedX++;
  }
  assert.ok(Math.abs(flippedX - N / 2) < 6 * Math.sqrt(N / 4), `x flipped ${flippedX} of ${N}`);
  assert.deepEqual(s.image.data, imgCopy, "input unchanged");
  assert.throws(() => randomFlip({ axes: [2], p: 1 })(labelledSample([3, 3]), new Rng(1)), isBadOption);
});

test("intensity scale and shift stay in their ranges; compose applies in order from one rng", () => {
  const shape = [6, 6];
  const s = labelledSample(shape);
  const x = s.image.data;
  const rng = new Rng(9);
  for (let k = 0; k < 50; k++) {
    const sc = randomIntensityScale()(s, rng).image.data;
    const f = sc[1]! / x[1]!;
    assert.ok(f >= 0.9 - 1e-6 && f <= 1.1 + 1e-6);
    assertClose(sc, Array.from(x, (v) => v * f), 1e-4, "one factor");
    const sh = randomIntensityShift()(s, rng).image.data;
    const d = sh[0]! - x[0]!;
    assert.ok(Math.abs(d) <= 0.1 + 1e-6);
    assertClose(sh, Array.from(x, (v) => v + d), 1e-5, "one offset");
  }
  // compose == applying the parts in turn with the same stream.
  const parts = [randomFlip({ axes: [0, 1] }), randomIntensityScale(), randomIntensityShift(), randomStyle({ p: 0.5 })];
  const a = compose(parts)(s, new Rng(5));
  const r2 = new Rng(5);
  let b = s;
  for (const p of parts) b = p(b, r2);
  assert.deepEqual(a.image.data, b.image.data);
  assert.deepEqual(a.label!.data, b.label!.data);
  assert.equal(compose([])(s, new Rng(1)), s);
  const aug = trainingAugmentation();
  assert.deepEqual(aug(s, new Rng(6)).image.data, aug(s, new Rng(6)).image.data);
  assert.deepEqual(s.image.data, x);
  // The Volume form keeps geometry and draws like the array form.
  const v = makeVolume(randomArray(60, 1), [5, 4, 3], [0.4, 0.4, 1]);
  const pv = randomStylePerturbationVolume(v, new Rng(3), { p: 1 });
  assert.deepEqual(pv.volume.spacing, [0.4, 0.4, 1]);
  assert.deepEqual(pv.volume.data, randomStylePerturbation(v.data, v.shape, new Rng(3), { p: 1 }).data);
});
