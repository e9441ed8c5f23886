// The real-MRI recipe's measures: histogram matching (the baseline) against analytic cases, and
// the masked SSIM / MAE scoring against the unmasked metrics they reduce to.
import { test } from "node:test";
import assert from "node:assert/strict";
import { histogramMatch } from "../lib/analysis/histogramMatch.js";
import { maskedCorrelation, maskedMae, maskedSsim, ssim, ssimMap, mae } from "../lib/analysis/imageQuality.js";
import { maskedPercentileScale, nonZeroMask, scoreScaled, scoreTranslation } from "../lib/analysis/translationScore.js";
import { UnpairedError } from "../lib/util/errors.js";
import { Rng } from "../lib/util/random.js";

test("histogramMatch: distinct values take the reference's value at the same rank", () => {
  const rng = new Rng(1);
  const source = rng.shuffled(Array.from({ length: 50 }, (_, i) => i * 0.5 - 3));
  const reference = Array.from({ length: 50 }, () => rng.normal() * 4 + 10);
  const sortedRef = [...reference].sort((a, b) => a - b);
  const out = histogramMatch(source, reference);
  const rank = (v: number) => [...source].sort((a, b) => a - b).indexOf(v);
  source.forEach((v, i) => assert.ok(Math.abs(out[i]! - sortedRef[rank(v)]!) < 1e-5, `voxel ${i}`));
  // Matching an image to itself changes nothing.
  const self = histogramMatch(source, source);
  source.forEach((v, i) => assert.ok(Math.abs(self[i]! - v) < 1e-6));
});

test("histogramMatch: a reference of another length is interpolated between its quantiles; ties stay tied", () => {
  // Source quantiles 1/4, 2/4, 3/4, 4/4 of the values 0, 1, 2, 3; reference 0..8 (quantiles k/9).
  const out = histogramMatch([3, 0, 2, 1], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  // numpy.interp(q, [1/9 .. 9/9], [0 .. 8]) = 9 q - 1.
  assert.deepEqual(Array.from(out, (v) => Math.round(v * 1e5) / 1e5), [8, 1.25, 5.75, 3.5]);
  const tied = histogramMatch([5, 5, 1, 9], [10, 20, 30, 40]);
  assert.equal(tied[0], tied[1]);
  assert.ok(tied[2]! < tied[0]! && tied[0]! < tied[3]!);
});

test("histogramMatch: invert, mask and background; monotone within the mask", () => {
  const rng = new Rng(2);
  const source = Float32Array.from({ length: 400 }, () => rng.range(0, 100));
  const mask = Uint8Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? 0 : 1));
  const reference = Array.from({ length: 300 }, () => rng.range(-1, 1));
  const out = histogramMatch(source, reference, { mask, invert: true, background: -7 });
  const inside = [...source.keys()].filter((i) => mask[i]);
  for (let i = 0; i < 400; i++) if (!mask[i]) assert.equal(out[i], -7);
  // Inverted: a brighter source voxel gets a darker (or equal) value.
  const order = [...inside].sort((a, b) => source[a]! - source[b]!);
  for (let k = 1; k < order.length; k++) assert.ok(out[order[k]!]! <= out[order[k - 1]!]! + 1e-6);
  assert.ok(Math.min(...inside.map((i) => out[i]!)) >= -1 && Math.max(...inside.map((i) => out[i]!)) <= 1);
  assert.throws(() => histogramMatch(source, reference, { mask: new Uint8Array(3) }), UnpairedError);
  assert.throws(() => histogramMatch(source, reference, { mask: new Uint8Array(400) }), /selects no source voxel/);
  assert.throws(() => histogramMatch(source, []), /reference holds no intensities/);
});

function images(shape: number[], seed: number) {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i / 7) + 0.2 * rng.normal());
  const b = Float32Array.from(a, (v) => 0.8 * v + 0.3 * rng.normal());
  return { a: { data: a, shape }, b: { data: b, shape } };
}

test("maskedSsim and maskedMae: a full mask gives the unmasked map's mean and MAE; the interior box gives ssim()", () => {
  const shape = [24, 20, 16];
  const { a, b } = images(shape, 3);
  const n = a.data.length;
  const all = new Uint8Array(n).fill(1);
  const map = ssimMap(a, b, { dataRange: 4 }).map;
  const mapMean = map.reduce((s, v) => s + v, 0) / n;
  assert.ok(Math.abs(maskedSsim(a, b, all, { dataRange: 4 }) - mapMean) < 1e-12);
  assert.ok(Math.abs(maskedMae(a, b, all) - mae(a, b)) < 1e-9);
  // ssim() averages the map after cropping 5 voxels from every edge: the same as masking that box.
  const inner = new Uint8Array(n);
  for (let z = 5; z < 16 - 5; z++) for (let y = 5; y < 20 - 5; y++) for (let x = 5; x < 24 - 5; x++) inner[x + 24 * (y + 20 * z)] = 1;
  assert.ok(Math.abs(maskedSsim(a, b, inner, { dataRange: 4 }) - ssim(a, b, { dataRange: 4 })) < 1e-12);
  assert.throws(() => maskedSsim(a, b, new Uint8Array(n), { dataRange: 4 }), /selects no voxel/);
});

test("maskedCorrelation: +1 and -1 for linear maps, a hand-computed value, only the masked voxels count", () => {
  const shape = [4, 3, 2];
  const { a } = images(shape, 5);
  const all = new Uint8Array(a.data.length).fill(1);
  assert.ok(Math.abs(maskedCorrelation(a, { data: Float32Array.from(a.data, (v) => 3 * v + 7), shape }, all) - 1) < 1e-9);
  assert.ok(Math.abs(maskedCorrelation(a, { data: Float32Array.from(a.data, (v) => 2 - 0.5 * v), shape }, all) + 1) < 1e-9);
  // x = 1, 2, 3 and y = 1, 3, 2 on the first three voxels: cov 1/3, var 2/3 each, r = 0.5.
  const x = new Float32Array(24);
  const y = new Float32Array(24).fill(100);
  x.set([1, 2, 3]);
  y.set([1, 3, 2]);
  const first3 = Uint8Array.from({ length: 24 }, (_, i) => (i < 3 ? 1 : 0));
  assert.ok(Math.abs(maskedCorrelation({ data: x, shape }, { data: y, shape }, first3) - 0.5) < 1e-9);
  assert.ok(Number.isNaN(maskedCorrelation({ data: x, shape }, { data: new Float32Array(24), shape }, first3)), "constant image: NaN");
});

test("scoreTranslation: invariant to each image's gain and offset, perfect for the truth itself, -1 outside the mask", () => {
  const shape = [20, 22, 14];
  const { a, b } = images(shape, 4);
  const mask = Uint8Array.from(a.data, (_, i) => (i % 20 > 2 && i % 20 < 17 ? 1 : 0));
  const rescaled = { data: Float32Array.from(a.data, (v) => 250 * v + 1000), shape };
  const self = scoreTranslation(rescaled, a, mask);
  assert.ok(self.ssim > 0.999999 && self.mae < 1e-5, `self ${JSON.stringify(self)}`);
  const s1 = scoreTranslation(b, a, mask);
  const s2 = scoreTranslation({ data: Float32Array.from(b.data, (v) => 3 * v - 5), shape }, a, mask);
  assert.ok(Math.abs(s1.ssim - s2.ssim) < 1e-5 && Math.abs(s1.mae - s2.mae) < 1e-5);
  assert.ok(s1.ssim < 0.95);
  assert.equal(s1.voxels, mask.reduce((x, v) => x + v, 0));
  // scoreScaled on images already put on the scoring scale gives the same score.
  assert.deepEqual(scoreScaled({ data: maskedPercentileScale(b, mask), shape }, { data: maskedPercentileScale(a, mask), shape }, mask), s1);
  assert.throws(() => scoreScaled(b, { data: a.data.slice(0, 20), shape: [20] }, mask), /different grids/);
  const scaled = maskedPercentileScale(a, mask);
  for (let i = 0; i < mask.length; i++) if (!mask[i]) assert.equal(scaled[i], -1);
  assert.throws(() => scoreTranslation({ data: new Float32Array(10), shape: [10] }, a, mask), /different grids/);
  assert.deepEqual(Array.from(nonZeroMask({ data: [0, 2, -1, 0.5], shape: [4] })), [0, 1, 0, 1]);
});
