// Volume operations of the data layer: crop/pad, label boxes and ROI crops, resampling, axis
// permutes/flips and canonical reorientation, percentile and non-zero normalisation, slices and
// random patches. Hand-computed small cases, plus world-position invariance wherever voxels move.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { UnpairedError, type ErrorCode } from "../lib/util/errors.js";
import { Rng } from "../lib/util/random.js";
import { makeLabelVolume, makeVolume, voxelIndex, type Affine, type LabelVolume, type Volume } from "../lib/volume/volume.js";
import { applyAffine, multiplyAffines, translateAffine, type AnyVolume } from "../lib/volume/geometry.js";
import { boundingBox, centerCropOrPad, cropAroundLabel, cropOrPad, labelCentroid } from "../lib/volume/crop.js";
import { resampleToShape, resampleToSpacing } from "../lib/volume/resample.js";
import {
  axisCodes,
  axisDirections,
  canonicalTransform,
  flipAxes,
  orientationOf,
  permuteAxes,
  permuteFlipAxes,
  reorientToCanonical,
} from "../lib/volume/orient.js";
import { nonZeroNormalise, nonZeroStats, percentile, percentileNormalise, percentiles } from "../lib/volume/normalise.js";
import { extractSlice, randomLabelVoxel, randomPatch, sliceAtLabel, slicesAlong } from "../lib/volume/slices.js";

// ---------------------------------------------------------------------------------------------
// Fixtures and checks

/** An oblique, sheared, translated voxel-to-world map: nothing in it is an identity by accident. */
const OBLIQUE: Affine = [
  [0.9, 0.1, 0.2, 5],
  [-0.2, 1.1, 0.1, -3],
  [0.05, -0.1, 2.0, 12],
  [0, 0, 0, 1],
];

/** The 3x4x2 ramp: value = x + 10y + 100z, so every voxel names its own coordinates. */
function ramp(affine: Affine = OBLIQUE, spacing = [1, 1, 2]): Volume {
  const data = new Float32Array(24);
  for (let z = 0; z < 2; z++) for (let y = 0; y < 4; y++) for (let x = 0; x < 3; x++) data[voxelIndex([3, 4, 2], x, y, z)] = x + 10 * y + 100 * z;
  return makeVolume(data, [3, 4, 2], spacing, affine);
}

/** A 2D ramp [4, 3]: value = x + 10y. */
function ramp2d(affine: Affine = OBLIQUE): Volume {
  const data = new Float32Array(12);
  for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) data[x + 4 * y] = x + 10 * y;
  return makeVolume(data, [4, 3], [1, 1], affine);
}

function at(vol: AnyVolume, v: readonly number[]): number {
  return vol.data[voxelIndex(vol.shape, v[0]!, v[1]!, v[2] ?? 0)]!;
}

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
}

/** World position of voxel `va` of `a` equals that of voxel `vb` of `b`. */
function sameWorld(a: AnyVolume, va: readonly number[], b: AnyVolume, vb: readonly number[], what: string): void {
  const wa = applyAffine(a.affine, va);
  const wb = applyAffine(b.affine, vb);
  for (let r = 0; r < 3; r++) close(wa[r]!, wb[r]!, 1e-9, `${what}: world[${r}] of [${va}] vs [${vb}]`);
}

function throwsCode(f: () => unknown, code: ErrorCode, pattern?: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof UnpairedError, `expected an UnpairedError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

/** Random voxel coordinates inside `shape`. */
function randomVoxel(rng: Rng, shape: readonly number[]): number[] {
  return shape.map((n) => rng.int(n));
}

function inverse(a: Affine): Affine {
  // 3x3 inverse by cofactors, then the translation.
  const m = a;
  const c = (r0: number, c0: number, r1: number, c1: number) => m[r0]![c0]! * m[r1]![c1]! - m[r0]![c1]! * m[r1]![c0]!;
  const det = m[0]![0]! * c(1, 1, 2, 2) - m[0]![1]! * c(1, 0, 2, 2) + m[0]![2]! * c(1, 0, 2, 1);
  const inv3 = [
    [c(1, 1, 2, 2), -c(0, 1, 2, 2), c(0, 1, 1, 2)],
    [-c(1, 0, 2, 2), c(0, 0, 2, 2), -c(0, 0, 1, 2)],
    [c(1, 0, 2, 1), -c(0, 0, 2, 1), c(0, 0, 1, 1)],
  ].map((r) => r.map((v) => v / det));
  const t = [0, 1, 2].map((r) => -(inv3[r]![0]! * m[0]![3]! + inv3[r]![1]! * m[1]![3]! + inv3[r]![2]! * m[2]![3]!));
  return [...inv3.map((r, i) => [...r, t[i]!]), [0, 0, 0, 1]];
}

// ---------------------------------------------------------------------------------------------

describe("geometry helpers", () => {
  test("applyAffine, multiplyAffines and translateAffine by hand", () => {
    assert.deepEqual(applyAffine(OBLIQUE, [1, 2, 3]), [0.9 + 0.2 + 0.6 + 5, -0.2 + 2.2 + 0.3 - 3, 0.05 - 0.2 + 6 + 12]);
    assert.deepEqual(applyAffine(OBLIQUE, [1, 2]), applyAffine(OBLIQUE, [1, 2, 0]));
    const t = translateAffine(OBLIQUE, [1, 2, 3]);
    assert.deepEqual(t.map((r) => r.slice(0, 3)), OBLIQUE.map((r) => r.slice(0, 3)));
    assert.deepEqual([t[0]![3], t[1]![3], t[2]![3]], applyAffine(OBLIQUE, [1, 2, 3]));
    const scale: Affine = [
      [2, 0, 0, 1],
      [0, 3, 0, 0],
      [0, 0, 4, 0],
      [0, 0, 0, 1],
    ];
    assert.deepEqual(multiplyAffines(scale, scale), [
      [4, 0, 0, 3],
      [0, 9, 0, 0],
      [0, 0, 16, 0],
      [0, 0, 0, 1],
    ]);
  });
});

describe("cropOrPad / centerCropOrPad", () => {
  test("a box inside the volume: values and origin", () => {
    const v = ramp();
    const c = cropOrPad(v, [1, 1, 0], [2, 2, 2]);
    assert.deepEqual(c.shape, [2, 2, 2]);
    assert.deepEqual([...c.data], [11, 12, 21, 22, 111, 112, 121, 122]);
    assert.deepEqual(c.spacing, v.spacing);
    assert.deepEqual(applyAffine(c.affine, [0, 0, 0]), applyAffine(v.affine, [1, 1, 0]));
    assert.ok(c.data instanceof Float32Array);
  });

  test("a box running outside on both sides is padded with padValue", () => {
    const c = cropOrPad(ramp(), [-1, 2, 1], [3, 3, 1], -5);
    assert.deepEqual([...c.data], [-5, 120, 121, -5, 130, 131, -5, -5, -5]);
    const far = cropOrPad(ramp(), [10, 0, 0], [2, 1, 1], 7);
    assert.deepEqual([...far.data], [7, 7]);
  });

  test("labels keep their array type and values; 2D boxes work", () => {
    const l = makeLabelVolume(Uint16Array.from([1, 2, 3, 400, 5, 6]), [3, 2]);
    const c = cropOrPad(l, [1, 0], [3, 3], 9);
    assert.ok(c.data instanceof Uint16Array);
    assert.deepEqual([...c.data], [2, 3, 9, 5, 6, 9, 9, 9, 9]);
    const d = cropOrPad(ramp2d(), [2, 1], [2, 2]);
    assert.deepEqual([...d.data], [12, 13, 22, 23]);
    sameWorld(d, [1, 1], ramp2d(), [3, 2], "2D crop");
  });

  test("every kept voxel keeps its value and world position", () => {
    const rng = new Rng("crop");
    const v = ramp();
    for (let t = 0; t < 20; t++) {
      const start = [rng.intRange(-2, 2), rng.intRange(-2, 3), rng.intRange(-1, 1)];
      const size = [rng.intRange(1, 5), rng.intRange(1, 5), rng.intRange(1, 3)];
      const c = cropOrPad(v, start, size, -1);
      for (let k = 0; k < 10; k++) {
        const p = randomVoxel(rng, size);
        const q = p.map((x, a) => x + start[a]!);
        sameWorld(c, p, v, q, "crop");
        const inside = q.every((x, a) => x >= 0 && x < v.shape[a]!);
        assert.equal(at(c, p), inside ? at(v, q) : -1);
      }
    }
  });

  test("centre crop/pad: the odd voxel goes at the end", () => {
    const v = ramp();
    const c = centerCropOrPad(v, [1, 2, 4]);
    // starts: trunc(2/2) = 1, trunc(2/2) = 1, trunc(-2/2) = -1
    assert.deepEqual([...c.data], [0, 0, 11, 21, 111, 121, 0, 0]);
    sameWorld(c, [0, 0, 0], v, [1, 1, -1], "centre crop");
    // 2D: x 4 -> 3 crops from the end (start 0), y 3 -> 4 pads at the end (start 0).
    const d = centerCropOrPad(ramp2d(), [3, 4], -1);
    assert.deepEqual([...d.data], [0, 1, 2, 10, 11, 12, 20, 21, 22, -1, -1, -1]);
    sameWorld(d, [0, 0], ramp2d(), [0, 0], "2D centre crop");
    const e = centerCropOrPad(ramp2d(), [2, 5], -1);
    // x: start trunc(2/2) = 1; y: start trunc(-2/2) = -1
    assert.deepEqual([...e.data], [-1, -1, 1, 2, 11, 12, 21, 22, -1, -1]);
  });

  test("bad sizes and starts are BAD_OPTION", () => {
    throwsCode(() => cropOrPad(ramp(), [0, 0], [1, 1, 1]), "BAD_OPTION");
    throwsCode(() => cropOrPad(ramp(), [0, 0, 0], [1, 0, 1]), "BAD_OPTION");
    throwsCode(() => cropOrPad(ramp(), [0, 0.5, 0], [1, 1, 1]), "BAD_OPTION");
    throwsCode(() => centerCropOrPad(ramp(), [2, 2]), "BAD_OPTION");
    throwsCode(() => cropOrPad(makeLabelVolume(new Uint8Array(4), [2, 2]), [0, 0], [3, 3], -1), "BAD_OPTION", /Uint8Array/);
    throwsCode(() => cropOrPad(makeLabelVolume(new Uint8Array(4), [2, 2]), [0, 0], [3, 3], 0.5), "BAD_OPTION");
    assert.equal(cropOrPad(makeLabelVolume(new Int32Array(4), [2, 2]), [0, 0], [3, 3], -1).data[8], -1);
  });
});

describe("label boxes and ROI crops", () => {
  // 6x5x4 labels: label 3 at (1..2, 1..2, 1) (a 2x2 square), label 5 at (5, 4, 3), label 3 again at (4, 1, 1).
  function labels(): LabelVolume {
    const shape = [6, 5, 4];
    const d = new Uint8Array(120);
    for (const [x, y, z] of [
      [1, 1, 1],
      [2, 1, 1],
      [1, 2, 1],
      [2, 2, 1],
      [4, 1, 1],
    ]) d[voxelIndex(shape, x!, y!, z!)] = 3;
    d[voxelIndex(shape, 5, 4, 3)] = 5;
    return makeLabelVolume(d, shape, [1, 1, 1], OBLIQUE);
  }
  function image(): Volume {
    const d = new Float32Array(120).map((_, i) => i);
    return makeVolume(d, [6, 5, 4], [1, 1, 1], OBLIQUE);
  }

  test("boundingBox and labelCentroid by hand; absent -> null", () => {
    assert.deepEqual(boundingBox(labels(), 3), { start: [1, 1, 1], end: [5, 3, 2], size: [4, 2, 1], count: 5 });
    assert.deepEqual(boundingBox(labels(), [3, 5]), { start: [1, 1, 1], end: [6, 5, 4], size: [5, 4, 3], count: 6 });
    assert.equal(boundingBox(labels(), 7), null);
    assert.deepEqual(labelCentroid(labels(), 3), [(1 + 2 + 1 + 2 + 4) / 5, (1 + 1 + 2 + 2 + 1) / 5, 1]);
    assert.deepEqual(labelCentroid(labels(), 5), [5, 4, 3]);
    assert.equal(labelCentroid(labels(), [7, 8]), null);
    const l2 = makeLabelVolume(Uint8Array.from([0, 0, 0, 0, 2, 2, 0, 0, 0, 2, 0, 0]), [4, 3]);
    assert.deepEqual(boundingBox(l2, 2), { start: [0, 1], end: [2, 3], size: [2, 2], count: 3 });
    assert.deepEqual(labelCentroid(l2, 2), [(0 + 1 + 1) / 3, (1 + 1 + 2) / 3]);
    throwsCode(() => boundingBox(labels(), []), "BAD_OPTION");
  });

  test("a fixed-size crop around a label, identical for image and labels", () => {
    // label 5 alone: centroid (5, 4, 3), size 3 -> start = round(c - 1) = (4, 3, 2): runs 1 past the end.
    const r = cropAroundLabel(image(), labels(), 5, [3, 3, 3], { padValue: -1, labelPadValue: 9 });
    assert.deepEqual(r.start, [4, 3, 2]);
    assert.deepEqual(r.centre, [5, 4, 3]);
    assert.equal(at(r.labels, [1, 1, 1]), 5);
    assert.equal(at(r.image, [1, 1, 1]), voxelIndex([6, 5, 4], 5, 4, 3));
    assert.equal(at(r.image, [2, 0, 0]), -1);
    assert.equal(at(r.labels, [2, 0, 0]), 9);
    assert.equal(at(r.image, [0, 0, 0]), voxelIndex([6, 5, 4], 4, 3, 2));
    sameWorld(r.image, [0, 0, 0], image(), [4, 3, 2], "ROI image");
    sameWorld(r.labels, [0, 0, 0], image(), [4, 3, 2], "ROI labels");
    assert.ok(r.labels.data instanceof Uint8Array);
  });

  test("centroid vs bounding-box centre, halves round up, keepInside", () => {
    // label 3: centroid (2, 1.4, 1), box centre (2.5, 1.5, 1).
    const a = cropAroundLabel(image(), labels(), 3, [2, 2, 1]);
    assert.deepEqual(a.start, [Math.round(2 - 0.5), Math.round(1.4 - 0.5), 1]);
    assert.deepEqual(a.start, [2, 1, 1]);
    const b = cropAroundLabel(image(), labels(), 3, [2, 2, 1], { centre: "box" });
    assert.deepEqual(b.centre, [2.5, 1.5, 1]);
    assert.deepEqual(b.start, [2, 1, 1]);
    const c = cropAroundLabel(image(), labels(), 3, [3, 3, 2], { centre: "box" });
    assert.deepEqual(c.start, [Math.round(1.5), Math.round(0.5), Math.round(0.5)]);
    assert.deepEqual(c.start, [2, 1, 1]);
    // Near the far corner: exact centring runs out; keepInside shifts the box back in.
    const d = cropAroundLabel(image(), labels(), 5, [4, 4, 4]);
    assert.deepEqual(d.start, [Math.round(5 - 1.5), Math.round(4 - 1.5), Math.round(3 - 1.5)]);
    const e = cropAroundLabel(image(), labels(), 5, [4, 4, 4], { keepInside: true });
    assert.deepEqual(e.start, [2, 1, 0]);
    assert.equal(e.labels.data.filter((v) => v === 5).length, 1);
    // A box larger than the volume is centred on the volume when keepInside.
    const f = cropAroundLabel(image(), labels(), 5, [8, 5, 4], { keepInside: true });
    assert.deepEqual(f.start, [-1, 0, 0]);
  });

  test("2D ROI crop", () => {
    const img = ramp2d();
    const lab = makeLabelVolume(Uint8Array.from([0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0]), [4, 3], [1, 1], OBLIQUE);
    const r = cropAroundLabel(img, lab, 3, [3, 1]);
    assert.deepEqual(r.start, [1, 1]);
    assert.deepEqual([...r.image.data], [11, 12, 13]);
    assert.deepEqual([...r.labels.data], [0, 3, 0]);
  });

  test("absent label and mismatched shapes are clear BAD_VOLUME errors", () => {
    throwsCode(() => cropAroundLabel(image(), labels(), 4, [2, 2, 2]), "BAD_VOLUME", /label 4 does not occur/);
    throwsCode(() => cropAroundLabel(ramp(), labels(), 3, [2, 2, 2]), "BAD_VOLUME", /shapes differ/);
    throwsCode(() => cropAroundLabel(image(), labels(), 3, [2, 2]), "BAD_OPTION");
    throwsCode(() => cropAroundLabel(image(), labels(), 3, [2, 2, 2], { centre: "middle" as "box" }), "BAD_OPTION");
  });
});

describe("resample", () => {
  test("1D-like profile by hand: up and down, clamped at the borders", () => {
    const v = makeVolume(Float32Array.from([0, 10, 20, 30]), [4, 1], [1, 1], [
      [1, 0, 0, 100],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ]);
    const down = resampleToSpacing(v, [2, 1]);
    assert.deepEqual(down.shape, [2, 1]);
    assert.deepEqual([...down.data], [5, 25]);
    assert.deepEqual(down.spacing, [2, 1]);
    assert.deepEqual(applyAffine(down.affine, [0, 0]), [100.5, 0, 0]);
    assert.equal(down.affine[0]![0], 2);
    const up = resampleToSpacing(v, [0.5, 1]);
    assert.deepEqual(up.shape, [8, 1]);
    assert.deepEqual([...up.data], [0, 2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 30]);
    assert.deepEqual(applyAffine(up.affine, [0, 0]), [99.75, 0, 0]);
    assert.deepEqual(up.spacing, [0.5, 1]);
  });

  test("rounded sizes: the spacing recorded is the one actually used", () => {
    const v = makeVolume(new Float32Array(5 * 3), [5, 3], [1, 2]);
    const r = resampleToSpacing(v, [2, 2]);
    assert.deepEqual(r.shape, [3, 3]); // round(2.5) = 3
    close(r.spacing[0]!, 5 / 3, 1e-12, "spacing");
    assert.equal(r.spacing[1], 2);
    // Same physical extent: first and last voxel edges line up.
    close(applyAffine(r.affine, [-0.5, 0])[0], applyAffine(v.affine, [-0.5, 0])[0], 1e-12, "left edge");
    close(applyAffine(r.affine, [2.5, 0])[0], applyAffine(v.affine, [4.5, 0])[0], 1e-12, "right edge");
    assert.deepEqual(resampleToSpacing(v, [100, 100]).shape, [1, 1]);
  });

  test("trilinear reproduces a linear ramp exactly away from clamped borders, at the right world positions", () => {
    const shape = [8, 6, 4];
    const f = (x: number, y: number, z: number) => 2 * x + 3 * y - 5 * z + 1;
    const d = new Float32Array(8 * 6 * 4);
    for (let z = 0; z < 4; z++) for (let y = 0; y < 6; y++) for (let x = 0; x < 8; x++) d[voxelIndex(shape, x, y, z)] = f(x, y, z);
    const v = makeVolume(d, shape, [1, 2, 1.5], OBLIQUE);
    const r = resampleToSpacing(v, [0.7, 1, 3]);
    assert.deepEqual(r.shape, [Math.round(8 / 0.7), 12, 2]);
    const inv = inverse(v.affine);
    let checked = 0;
    for (let z = 0; z < r.shape[2]!; z++) {
      for (let y = 0; y < r.shape[1]!; y++) {
        for (let x = 0; x < r.shape[0]!; x++) {
          // The old continuous coordinate, found through world space (independent of the grid formula).
          const c = applyAffine(inv, applyAffine(r.affine, [x, y, z]));
          const inside = c.every((ci, a) => ci >= -1e-9 && ci <= shape[a]! - 1 + 1e-9);
          const clamped = c.map((ci, a) => Math.min(Math.max(ci, 0), shape[a]! - 1));
          close(at(r, [x, y, z]), f(clamped[0]!, clamped[1]!, clamped[2]!), 2e-4, `ramp at [${x},${y},${z}]`);
          if (inside) checked++;
        }
      }
    }
    assert.ok(checked > 100, `${checked} interior voxels checked`);
    // And the formula itself: new voxel i sits at old (i + 0.5)·n/n' - 0.5.
    const n2 = r.shape[0]!;
    sameWorld(r, [3, 0, 0], v, [(3 + 0.5) * (8 / n2) - 0.5, 0.5 * (6 / 12) - 0.5, 0.5 * 2 - 0.5], "grid");
    close(r.spacing[0]!, (8 / n2) * 1, 1e-12, "x spacing");
    assert.deepEqual(r.spacing.slice(1), [1, 3]);
  });

  test("bilinear ramp in 2D and resampleToShape", () => {
    const v = ramp2d(); // x + 10y on [4, 3]
    const r = resampleToShape(v, [8, 5]);
    assert.deepEqual(r.spacing, [0.5, 0.6]);
    for (let y = 0; y < 5; y++) {
      for (let x = 0; x < 8; x++) {
        const cx = Math.min(Math.max((x + 0.5) * 0.5 - 0.5, 0), 3);
        const cy = Math.min(Math.max((y + 0.5) * 0.6 - 0.5, 0), 2);
        close(at(r, [x, y]), cx + 10 * cy, 1e-5, `2D [${x},${y}]`);
        sameWorld(r, [x, y], v, [(x + 0.5) * 0.5 - 0.5, (y + 0.5) * 0.6 - 0.5], "2D world");
      }
    }
    const s = resampleToShape(ramp(), [6, 2, 2]);
    assert.deepEqual(s.shape, [6, 2, 2]);
    assert.deepEqual(s.spacing, [0.5, 2, 2]);
    assert.deepEqual(resampleToShape(ramp(), [3, 4, 2]).data, ramp().data);
  });

  test("nearest for labels: by hand, keeps values and array type; linear labels refused", () => {
    const l = makeLabelVolume(Uint8Array.from([1, 2, 3, 4]), [4, 1]);
    const up = resampleToShape(l, [8, 1]);
    assert.ok(up.data instanceof Uint8Array);
    assert.deepEqual([...up.data], [1, 1, 2, 2, 3, 3, 4, 4]);
    assert.deepEqual([...resampleToShape(l, [2, 1]).data], [2, 4]); // old 0.5, 2.5 round up
    const rng = new Rng("labels");
    const d = new Int32Array(9 * 7 * 5).map(() => rng.pick([0, 3, 7, -2]));
    const big = makeLabelVolume(d, [9, 7, 5], [1, 1, 1], OBLIQUE);
    const r = resampleToSpacing(big, [0.6, 1.7, 0.9]);
    assert.ok(r.data instanceof Int32Array);
    assert.ok(new Set(r.data).size >= 3 && [...new Set(r.data)].every((x) => [0, 3, 7, -2].includes(x)));
    // Each new voxel holds the label of the old voxel nearest its world position.
    const inv = inverse(big.affine);
    for (let t = 0; t < 50; t++) {
      const p = randomVoxel(rng, r.shape);
      const c = applyAffine(inv, applyAffine(r.affine, p)).map((ci, a) => Math.min(Math.max(Math.round(ci), 0), big.shape[a]! - 1));
      assert.equal(at(r, p), at(big, c));
    }
    throwsCode(() => resampleToShape(l, [8, 1], { mode: "linear" }), "BAD_OPTION", /nearest/);
    const img = resampleToShape(ramp2d(), [8, 3], { mode: "nearest" });
    assert.deepEqual([...img.data.slice(0, 8)], [0, 0, 1, 1, 2, 2, 3, 3]);
    throwsCode(() => resampleToSpacing(ramp(), [1, 1]), "BAD_OPTION");
    throwsCode(() => resampleToSpacing(ramp(), [1, 0, 1]), "BAD_OPTION");
  });
});

describe("axes: permute, flip, orientation codes, canonical reorientation", () => {
  test("flipAxes by hand, with the origin at the old last voxel", () => {
    const v = ramp();
    const f = flipAxes(v, [0]);
    assert.deepEqual([...f.data.slice(0, 6)], [2, 1, 0, 12, 11, 10]);
    assert.deepEqual([f.affine[0]![0], f.affine[1]![0], f.affine[2]![0]], [-0.9, 0.2, -0.05]);
    assert.deepEqual(applyAffine(f.affine, [0, 0, 0]), applyAffine(v.affine, [2, 0, 0]));
    const g = flipAxes(v, [0, 2]);
    assert.equal(at(g, [0, 0, 0]), 102);
    assert.equal(at(g, [2, 3, 1]), 30);
    const h = flipAxes(ramp2d(), [1]);
    assert.deepEqual([...h.data], [20, 21, 22, 23, 10, 11, 12, 13, 0, 1, 2, 3]);
    const l = flipAxes(makeLabelVolume(Uint8Array.from([1, 2, 3]), [3, 1]), [0]);
    assert.ok(l.data instanceof Uint8Array);
    assert.deepEqual([...l.data], [3, 2, 1]);
    assert.deepEqual(flipAxes(flipAxes(v, [1]), [1]).affine, v.affine);
    throwsCode(() => flipAxes(v, [0, 0]), "BAD_OPTION");
    throwsCode(() => flipAxes(v, [3]), "BAD_OPTION");
  });

  test("permuteAxes by hand", () => {
    const p = permuteAxes(ramp(), [2, 0, 1]); // new (i, j, k) = old (x = j, y = k, z = i)
    assert.deepEqual(p.shape, [2, 3, 4]);
    assert.deepEqual(p.spacing, [2, 1, 1]);
    assert.deepEqual([...p.data.slice(0, 6)], [0, 100, 1, 101, 2, 102]);
    assert.equal(at(p, [1, 2, 3]), 2 + 30 + 100);
    throwsCode(() => permuteAxes(ramp(), [0, 0, 1]), "BAD_OPTION");
  });

  test("permute/flip/reorient keep every voxel's value at its world position", () => {
    const rng = new Rng("axes");
    const v = ramp();
    for (const [perm, flip] of [
      [[1, 0, 2], [true, false, true]],
      [[2, 1, 0], [false, true, false]],
      [[0, 1, 2], [true, true, true]],
    ] as [number[], boolean[]][]) {
      const t = permuteFlipAxes(v, perm, flip);
      for (let k = 0; k < 10; k++) {
        const p = randomVoxel(rng, t.shape);
        const q = [0, 0, 0];
        perm.forEach((a, j) => (q[a] = flip[j] ? v.shape[a]! - 1 - p[j]! : p[j]!));
        assert.equal(at(t, p), at(v, q));
        sameWorld(t, p, v, q, `perm ${perm} flip ${flip}`);
      }
    }
  });

  test("axisCodes like nibabel's aff2axcodes", () => {
    const eye: Affine = [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    assert.equal(axisCodes(eye), "RAS");
    assert.equal(axisCodes([[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "LPS");
    // nibabel's docstring example: ('B', 'R', 'U') with labels (L,R), (B,F), (D,U).
    assert.equal(axisCodes([[0, 1, 0, 10], [-1, 0, 0, 20], [0, 0, 1, 30], [0, 0, 0, 1]]), "PRS");
    assert.equal(axisCodes(OBLIQUE), "RAS");
    // 20 degrees about z, with zooms, still closest to RAS; 60 degrees swaps x and y.
    const rot = (deg: number): Affine => {
      const c = Math.cos((deg * Math.PI) / 180);
      const s = Math.sin((deg * Math.PI) / 180);
      return [[2 * c, -3 * s, 0, 0], [2 * s, 3 * c, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 1]];
    };
    assert.equal(axisCodes(rot(20)), "RAS");
    assert.equal(axisCodes(rot(60)), "ALS");
    // An exact 45-degree tie: axis 0 takes x (first on ties, like numpy's argmax); x is then used up,
    // so axis 1 takes y even though its |x| entry is as large.
    assert.equal(axisCodes([[1, -1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "RAS");
    assert.equal(axisCodes([[1, 1, 0, 0], [-1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "RAS");
    assert.equal(axisCodes([[-1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "LAS");
    // Typical DICOM-derived NIfTI of an axial scan stored with flipped rows: "LIA"-style permutation.
    assert.equal(axisCodes([[-0.8, 0, 0, 0], [0, 0, 0.8, 0], [0, -3, 0, 0], [0, 0, 0, 1]]), "LIA");
    assert.equal(axisCodes(eye, 2), "RA");
    assert.equal(axisCodes([[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]], 2), "SR");
    assert.equal(axisCodes([[0, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], 2), "S?");
    assert.equal(axisCodes([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), "R?S");
    assert.deepEqual(axisDirections(eye, 2), [
      { worldAxis: 0, sign: 1 },
      { worldAxis: 1, sign: 1 },
    ]);
    assert.equal(orientationOf(ramp2d()), "RA");
  });

  test("reorientToCanonical by hand: PLS -> RAS", () => {
    // i points -y (P) in 2 mm, j points -x (L) in 1 mm, k points +z (S) in 3 mm.
    const pls: Affine = [
      [0, -1, 0, 4],
      [-2, 0, 0, 5],
      [0, 0, 3, 6],
      [0, 0, 0, 1],
    ];
    const v = ramp(pls, [2, 1, 3]);
    assert.equal(orientationOf(v), "PLS");
    assert.deepEqual(canonicalTransform(pls), { perm: [1, 0, 2], flip: [true, true, false] });
    const c = reorientToCanonical(v);
    assert.equal(orientationOf(c), "RAS");
    assert.deepEqual(c.shape, [4, 3, 2]);
    assert.deepEqual(c.spacing, [1, 2, 3]);
    // new (i, j, k) = old (x = 2 - j, y = 3 - i, z = k)
    assert.deepEqual([...c.data.slice(0, 4)], [32, 22, 12, 2]);
    assert.equal(at(c, [3, 2, 1]), 100);
    assert.deepEqual(c.affine, [
      [1, 0, 0, 4 - 3],
      [0, 2, 0, 5 - 4],
      [0, 0, 3, 6],
      [0, 0, 0, 1],
    ]);
    sameWorld(c, [0, 0, 0], v, [2, 3, 0], "new origin");
    // Already canonical: same data, a copy.
    const again = reorientToCanonical(c);
    assert.deepEqual(again.data, c.data);
    assert.notEqual(again.data, c.data);
  });

  test("reorientToCanonical of oblique, permuted affines: RAS result, world positions kept", () => {
    const rng = new Rng("reorient");
    const bases: Affine[] = [
      [[0.1, 0, -1.2, 3], [-0.9, 0.05, 0, 2], [0, 2.1, 0.1, -7], [0, 0, 0, 1]],
      [[-1, 0.2, 0, 0], [0, 0, -1, 0], [0.1, -1.5, 0, 0], [0, 0, 0, 1]],
      OBLIQUE,
    ];
    for (const aff of bases) {
      const v = ramp(aff);
      const c = reorientToCanonical(v);
      assert.equal(orientationOf(c), "RAS");
      const { perm, flip } = canonicalTransform(aff);
      for (let k = 0; k < 15; k++) {
        const p = randomVoxel(rng, c.shape);
        const q = [0, 0, 0];
        perm.forEach((a, j) => (q[a] = flip[j] ? v.shape[a]! - 1 - p[j]! : p[j]!));
        assert.equal(at(c, p), at(v, q));
        sameWorld(c, p, v, q, `reorient ${axisCodes(aff)}`);
      }
    }
    throwsCode(() => reorientToCanonical(ramp([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])), "BAD_VOLUME", /singular/);
  });

  test("2D reorientation orders and flips only the in-plane axes", () => {
    // A coronal slice stored as (i -> S, j -> L): canonical is (R, S).
    const aff: Affine = [
      [0, -1, 0, 0],
      [0, 0, 1, 0],
      [2, 0, 0, 0],
      [0, 0, 0, 1],
    ];
    const v = ramp2d(aff); // [4, 3], x + 10y
    assert.equal(orientationOf(v), "SL");
    const c = reorientToCanonical(v);
    assert.equal(orientationOf(c), "RS");
    assert.deepEqual(c.shape, [3, 4]);
    assert.deepEqual(c.spacing, [1, 1]);
    // new (i, j) = old (x = j, y = 2 - i)
    assert.deepEqual([...c.data], [20, 10, 0, 21, 11, 1, 22, 12, 2, 23, 13, 3]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) sameWorld(c, [i, j], v, [j, 2 - i], "2D reorient");
  });
});

describe("normalisation", () => {
  /** numpy.percentile's default, the plain way: sort a JS array, interpolate. */
  function plainPercentile(values: ArrayLike<number>, q: number): number {
    const s = Array.from(values).sort((a, b) => a - b);
    const h = (q / 100) * (s.length - 1);
    const lo = Math.floor(h);
    const hi = Math.min(lo + 1, s.length - 1);
    return s[lo]! + (s[hi]! - s[lo]!) * (h - lo);
  }

  test("percentile by hand", () => {
    const d = [4, 1, 3, 2];
    assert.equal(percentile(d, 50), 2.5);
    assert.equal(percentile(d, 0), 1);
    assert.equal(percentile(d, 100), 4);
    assert.equal(percentile(d, 25), 1.75);
    assert.equal(percentile(Float32Array.from([7]), 99.9), 7);
    assert.deepEqual(percentiles(Float32Array.from([5, 5, 5, 1]), [0, 50, 100]), [1, 5, 5]);
    throwsCode(() => percentile([], 50), "BAD_VOLUME");
    throwsCode(() => percentile([1, NaN], 50), "BAD_VOLUME", /NaN/);
    throwsCode(() => percentile([1, 2], 101), "BAD_OPTION");
  });

  test("percentiles match a plain sort-and-interpolate on random data with many duplicates", () => {
    const rng = new Rng("percentile");
    const qs = [0, 0.1, 1, 25, 50, 63.7, 75, 99, 99.9, 100];
    for (const n of [1, 2, 3, 10, 101, 1000, 10007]) {
      const d = new Float32Array(n);
      for (let i = 0; i < n; i++) d[i] = rng.chance(0.4) ? 0 : rng.chance(0.5) ? Math.round(rng.range(-5, 5)) : rng.normal() * 100;
      const got = percentiles(d, qs);
      qs.forEach((q, i) => close(got[i]!, plainPercentile(d, q), 1e-9 * Math.max(1, Math.abs(got[i]!)), `n=${n} q=${q}`));
      const asNumbers = Array.from(d);
      close(percentile(asNumbers, 37), plainPercentile(d, 37), 1e-9 * 100, `number[] n=${n}`);
    }
    // The input is not reordered.
    const d = Float32Array.from([3, 1, 2]);
    percentile(d, 50);
    assert.deepEqual([...d], [3, 1, 2]);
  });

  test("selection stays fast on a large, mostly-zero volume", () => {
    const n = 120 * 120 * 78;
    const d = new Float32Array(n);
    const rng = new Rng("big");
    for (let i = 0; i < n; i++) if (i % 5 === 0) d[i] = rng.uniform() * 1000;
    const t0 = performance.now();
    const [p0, p50, p999] = percentiles(d, [0, 50, 99.9]) as [number, number, number];
    const ms = performance.now() - t0;
    assert.equal(p0, 0);
    assert.equal(p50, 0);
    assert.ok(p999 > 990 && p999 < 1000, `p99.9 ${p999}`);
    assert.ok(ms < 1000, `percentiles took ${ms} ms`);
  });

  test("percentileNormalise: clip to [p_lo, p_hi], map to [-1, 1]; constant -> 0", () => {
    const v = makeVolume(Float32Array.from({ length: 11 }, (_, i) => i), [11, 1], [1, 1], OBLIQUE);
    const n = percentileNormalise(v, { upper: 90 }); // p_lo = 0, p_hi = 9
    const expected = Array.from({ length: 11 }, (_, i) => -1 + (Math.min(i, 9) * 2) / 9);
    n.data.forEach((x, i) => close(x, expected[i]!, 1e-6, `value ${i}`));
    assert.deepEqual(n.affine, v.affine);
    assert.deepEqual(n.shape, v.shape);
    const w = makeVolume(Float32Array.from({ length: 1001 }, (_, i) => i), [1001, 1]);
    const m = percentileNormalise(w); // p_hi = percentile 99.9 = 999
    assert.equal(m.data[0], -1);
    assert.equal(m.data[999], 1);
    assert.equal(m.data[1000], 1);
    close(m.data[500]!, -1 + 1000 / 999, 1e-6, "middle");
    const r = percentileNormalise(w, { lower: 10, upper: 90, range: [0, 1] });
    assert.equal(r.data[0], 0);
    close(r.data[500]!, 0.5, 1e-6, "custom range");
    const c = percentileNormalise(makeVolume(new Float32Array(24).fill(3.5), [3, 4, 2]));
    assert.ok(c.data.every((x) => x === 0));
    throwsCode(() => percentileNormalise(w, { lower: 60, upper: 40 }), "BAD_OPTION");
  });

  test("nonZeroNormalise: z-score and mean over non-zero voxels, zeros stay zero", () => {
    const v = makeVolume(Float32Array.from([0, 2, 4, 0, 6, 0]), [3, 2]);
    assert.deepEqual(nonZeroStats(v.data), { count: 3, mean: 4, std: Math.sqrt(8 / 3) });
    const z = nonZeroNormalise(v);
    const s = Math.sqrt(8 / 3);
    [0, -2 / s, 0, 0, 2 / s, 0].forEach((e, i) => close(z.data[i]!, e, 1e-6, `z ${i}`));
    const m = nonZeroNormalise(v, { mode: "mean" });
    assert.deepEqual([...m.data], [0, 0.5, 1, 0, 1.5, 0]);
    const rng = new Rng("nz");
    const d = new Float32Array(2000).map(() => (rng.chance(0.5) ? 0 : 50 + 20 * rng.normal()));
    const big = nonZeroNormalise(makeVolume(d, [10, 20, 10]));
    const st = nonZeroStats(big.data);
    close(st.mean, 0, 1e-5, "mean after");
    close(st.std, 1, 1e-5, "std after");
    assert.ok(big.data.every((x, i) => (d[i] === 0) === (x === 0)));
    assert.ok(nonZeroNormalise(makeVolume(new Float32Array(6), [3, 2])).data.every((x) => x === 0));
    assert.ok(nonZeroNormalise(makeVolume(Float32Array.from([0, 5, 5]), [3, 1])).data.every((x) => x === 0));
    throwsCode(() => nonZeroNormalise(makeVolume(Float32Array.from([0, -1, 1]), [3, 1]), { mode: "mean" }), "BAD_VOLUME");
    throwsCode(() => nonZeroNormalise(v, { mode: "max" as "mean" }), "BAD_OPTION");
  });
});

describe("slices and patches", () => {
  test("extractSlice along each axis: values, spacing and world positions", () => {
    const v = ramp();
    const z1 = extractSlice(v, 2, 1);
    assert.deepEqual(z1.shape, [3, 4]);
    assert.deepEqual(z1.spacing, [1, 1]);
    assert.deepEqual([...z1.data], [100, 101, 102, 110, 111, 112, 120, 121, 122, 130, 131, 132]);
    const x2 = extractSlice(v, 0, 2);
    assert.deepEqual(x2.shape, [4, 2]);
    assert.deepEqual(x2.spacing, [1, 2]);
    assert.deepEqual([...x2.data], [2, 12, 22, 32, 102, 112, 122, 132]);
    const y3 = extractSlice(v, 1, 3);
    assert.deepEqual(y3.shape, [3, 2]);
    assert.deepEqual([...y3.data], [30, 31, 32, 130, 131, 132]);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) sameWorld(x2, [i, j], v, [2, i, j], "x slice");
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) sameWorld(y3, [i, j], v, [i, 3, j], "y slice");
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) sameWorld(z1, [i, j], v, [i, j, 1], "z slice");
    // The slice's third column is the through-plane direction: (i, j, k) is the 3D voxel index + k.
    sameWorld(x2, [1, 1, 1], v, [3, 1, 1], "through-plane");
    const l = extractSlice(makeLabelVolume(new Uint8Array(24).fill(4), [3, 4, 2]), 1, 0);
    assert.ok(l.data instanceof Uint8Array);
    assert.deepEqual([...l.data], [4, 4, 4, 4, 4, 4]);
    throwsCode(() => extractSlice(v, 2, 2), "BAD_OPTION");
    throwsCode(() => extractSlice(v, 3, 0), "BAD_OPTION");
    throwsCode(() => extractSlice(ramp2d(), 0, 0), "BAD_VOLUME");
  });

  test("slicesAlong and sliceAtLabel", () => {
    const v = ramp();
    const all = slicesAlong(v, 1);
    assert.equal(all.length, 4);
    all.forEach((s, k) => assert.deepEqual(s, extractSlice(v, 1, k)));
    const d = new Uint8Array(24);
    d[voxelIndex([3, 4, 2], 0, 2, 1)] = 3;
    d[voxelIndex([3, 4, 2], 1, 3, 1)] = 3;
    const lab = makeLabelVolume(d, [3, 4, 2], [1, 1, 2], OBLIQUE);
    const s = sliceAtLabel(v, lab, 3, 1); // centroid y = 2.5 -> slice 3
    assert.equal(s.index, 3);
    assert.deepEqual([...s.image.data], [30, 31, 32, 130, 131, 132]);
    assert.deepEqual([...s.labels.data], [0, 0, 0, 0, 3, 0]);
    assert.equal(sliceAtLabel(v, lab, 3, 2).index, 1);
    throwsCode(() => sliceAtLabel(v, lab, 9, 2), "BAD_VOLUME", /does not occur/);
    throwsCode(() => sliceAtLabel(ramp2d(), lab, 3, 2), "BAD_VOLUME", /shapes differ/);
  });

  function bigPair(): { image: Volume; labels: LabelVolume } {
    const shape = [10, 8, 6];
    const image = makeVolume(new Float32Array(480).map((_, i) => i), shape, [1, 1, 1], OBLIQUE);
    const labels = makeLabelVolume(new Uint8Array(480).map((_, i) => i % 251), shape, [1, 1, 1], OBLIQUE);
    return { image, labels };
  }

  test("randomLabelVoxel by hand", () => {
    const d = new Uint8Array(24);
    d[voxelIndex([3, 4, 2], 2, 1, 1)] = 4;
    const l = makeLabelVolume(d, [3, 4, 2]);
    assert.deepEqual(randomLabelVoxel(new Rng(1), l, 4), [2, 1, 1]);
    assert.equal(randomLabelVoxel(new Rng(1), l, 5), null);
    d[voxelIndex([3, 4, 2], 0, 3, 0)] = 6;
    const seen = new Set<string>();
    const rng = new Rng(2);
    for (let t = 0; t < 40; t++) seen.add(String(randomLabelVoxel(rng, l, [4, 6])));
    assert.deepEqual([...seen].sort(), ["0,3,0", "2,1,1"]);
  });

  test("random patches: inside when they fit, aligned across volumes, seeded, all positions reachable", () => {
    const { image, labels } = bigPair();
    const rng = new Rng("patch");
    const seen = [new Set<number>(), new Set<number>(), new Set<number>()];
    for (let t = 0; t < 200; t++) {
      const p = randomPatch(rng, image, [labels, labels], [4, 3, 6]);
      assert.equal(p.foreground, false);
      p.start.forEach((s, a) => {
        assert.ok(s >= 0 && s <= image.shape[a]! - [4, 3, 6][a]!);
        seen[a]!.add(s);
      });
      assert.deepEqual(p.image.shape, [4, 3, 6]);
      assert.equal(p.image.data[0], voxelIndex(image.shape, p.start[0]!, p.start[1]!, p.start[2]!));
      assert.ok(p.image.data.every((x, i) => x % 251 === p.labels[0]!.data[i] && x % 251 === p.labels[1]!.data[i]));
      sameWorld(p.image, [1, 2, 3], image, [p.start[0]! + 1, p.start[1]! + 2, p.start[2]! + 3], "patch");
      assert.deepEqual(p.labels[0]!.affine, p.image.affine);
    }
    assert.deepEqual(seen.map((s) => s.size), [7, 6, 1]);
    const a = randomPatch(new Rng(5), image, [labels], [3, 3, 3]);
    const b = randomPatch(new Rng(5), image, [labels], [3, 3, 3]);
    assert.deepEqual(a.start, b.start);
    assert.deepEqual(a.image.data, b.image.data);
  });

  test("a patch larger than the volume pads around it (2D)", () => {
    const v = ramp2d(); // [4, 3]
    const rng = new Rng("pad");
    const starts = new Set<string>();
    for (let t = 0; t < 60; t++) {
      const p = randomPatch(rng, v, [], [6, 3], { padValue: -1 });
      assert.ok(p.start[0]! >= -2 && p.start[0]! <= 0 && p.start[1] === 0);
      starts.add(String(p.start));
      assert.equal(p.image.data.filter((x) => x === -1).length, 6);
      assert.equal(p.image.data.reduce((s, x) => s + (x === -1 ? 0 : x), 0), v.data.reduce((s, x) => s + x, 0));
      sameWorld(p.image, [2, 1], v, [2 + p.start[0]!, 1], "padded patch");
    }
    assert.equal(starts.size, 3);
  });

  test("foreground oversampling: always with p = 1, about p of the time otherwise", () => {
    const shape = [10, 8, 6];
    const d = new Uint8Array(480);
    d[voxelIndex(shape, 9, 0, 5)] = 2;
    const labels = makeLabelVolume(d, shape);
    const image = makeVolume(new Float32Array(480), shape);
    const rng = new Rng("fg");
    for (let t = 0; t < 50; t++) {
      const p = randomPatch(rng, image, [labels], [3, 3, 3], { foregroundProbability: 1, foregroundLabels: [2] });
      assert.equal(p.foreground, true);
      assert.equal(p.labels[0]!.data.filter((x) => x === 2).length, 1);
    }
    let forced = 0;
    let contains = 0;
    const trials = 600;
    for (let t = 0; t < trials; t++) {
      const p = randomPatch(rng, image, [labels], [3, 3, 3], { foregroundProbability: 0.33, foregroundLabels: 2 });
      if (p.foreground) forced++;
      if (p.labels[0]!.data.includes(2)) contains++;
    }
    assert.ok(forced / trials > 0.26 && forced / trials < 0.4, `forced ${forced}/${trials}`);
    assert.ok(contains >= forced && contains < forced + 30, `contains ${contains}, forced ${forced}`);
    // A label that is absent falls back to a uniform position.
    const q = randomPatch(rng, image, [labels], [3, 3, 3], { foregroundProbability: 1, foregroundLabels: 7 });
    assert.equal(q.foreground, false);
    throwsCode(() => randomPatch(rng, image, [labels], [3, 3, 3], { foregroundProbability: 0.5 }), "BAD_OPTION");
    throwsCode(() => randomPatch(rng, image, [], [3, 3, 3], { foregroundProbability: 0.5, foregroundLabels: 2 }), "BAD_OPTION");
    throwsCode(() => randomPatch(rng, image, [labels], [3, 3, 3], { foregroundProbability: 2, foregroundLabels: 2 }), "BAD_OPTION");
  });

  test("2D patches of a 3D volume, across a chosen axis", () => {
    const { image, labels } = bigPair();
    const rng = new Rng("2d");
    for (let t = 0; t < 20; t++) {
      const p = randomPatch(rng, image, [labels], [4, 5]);
      assert.deepEqual(p.image.shape, [4, 5]);
      assert.equal(p.start.length, 3);
      assert.equal(p.image.data[0], voxelIndex(image.shape, p.start[0]!, p.start[1]!, p.start[2]!));
      sameWorld(p.image, [3, 4], image, [p.start[0]! + 3, p.start[1]! + 4, p.start[2]!], "2D patch");
      assert.deepEqual(p.labels[0]!.shape, [4, 5]);
      const q = randomPatch(rng, image, [labels], [4, 5], { sliceAxis: 0 }); // a y-z patch
      assert.deepEqual(q.image.shape, [4, 5]);
      assert.equal(at(q.image, [1, 2]), voxelIndex(image.shape, q.start[0]!, q.start[1]! + 1, q.start[2]! + 2));
      sameWorld(q.image, [1, 2], image, [q.start[0]!, q.start[1]! + 1, q.start[2]! + 2], "y-z patch");
    }
    throwsCode(() => randomPatch(rng, image, [labels], [4]), "BAD_OPTION");
    throwsCode(() => randomPatch(rng, image, [makeLabelVolume(new Uint8Array(12), [4, 3])], [2, 2, 2]), "BAD_VOLUME");
  });
});
