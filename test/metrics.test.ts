// Segmentation and image-quality metrics of lib/analysis: the exact distance transform and the
// surface-distance metrics against brute force on small random volumes with anisotropic
// spacing, analytic cases (shifted cubes, concentric spheres), the documented empty cases,
// hand-worked Dice, PSNR/MAE closed forms, and SSIM against a slow direct implementation of the
// same definition (scikit-image's, see lib/analysis/imageQuality.ts).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { edt, edtSquared } from "../lib/analysis/edt.js";
import { interfaceMask, labelSurface, maskIndices, surfaceMask } from "../lib/analysis/surface.js";
import { dice } from "../lib/analysis/overlap.js";
import { assd, boundaryAssd, hd95, segmentationMetrics, surfaceDistances } from "../lib/analysis/surfaceDistance.js";
import { mae, mse, psnr, ssim, ssimMap } from "../lib/analysis/imageQuality.js";
import { UnpairedError, type ErrorCode } from "../lib/util/errors.js";
import { Rng } from "../lib/util/random.js";
import { makeLabelVolume, makeVolume } from "../lib/volume/volume.js";

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const throwsCode = (f: () => unknown, code: ErrorCode, pattern: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof UnpairedError && e.code === code && pattern.test(e.message));

/** Voxel coordinates [x, y, z] of flat index i (z = 0 in 2D). */
function coords(i: number, shape: readonly number[]): [number, number, number] {
  const nx = shape[0]!;
  const ny = shape[1]!;
  return [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))];
}

const dist = (p: number[], q: number[], spacing: readonly number[]) => Math.hypot(...spacing.map((s, a) => (p[a]! - q[a]!) * s));

/** Brute force: distance from every voxel to the nearest nonzero voxel, over all pairs. */
function bruteEdt(mask: Uint8Array, shape: number[], spacing: number[]): Float64Array {
  const feats = [...mask.keys()].filter((i) => mask[i]).map((i) => coords(i, shape));
  return Float64Array.from(mask, (_, i) => {
    const p = coords(i, shape);
    let best = Infinity;
    for (const q of feats) best = Math.min(best, dist(p, q, spacing));
    return best;
  });
}

/** Brute force surface: inside voxels with a face neighbour outside the structure or the volume. */
function bruteSurface(inside: (i: number) => boolean, shape: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < count(shape); i++) {
    if (!inside(i)) continue;
    const p = coords(i, shape);
    let surface = false;
    for (let a = 0; a < shape.length; a++) {
      for (const step of [-1, 1]) {
        const q = [...p];
        q[a]! += step;
        if (q[a]! < 0 || q[a]! >= shape[a]!) surface = true;
        else if (!inside(q[0]! + shape[0]! * (q[1]! + shape[1]! * q[2]!))) surface = true;
      }
    }
    if (surface) out.push(i);
  }
  return out;
}

/** Brute force interface of labels a and b. */
function bruteInterface(labels: Uint8Array, shape: number[], a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l !== a && l !== b) continue;
    const other = l === a ? b : a;
    const p = coords(i, shape);
    let touch = false;
    for (let ax = 0; ax < shape.length; ax++) {
      for (const step of [-1, 1]) {
        const q = [...p];
        q[ax]! += step;
        if (q[ax]! >= 0 && q[ax]! < shape[ax]! && labels[q[0]! + shape[0]! * (q[1]! + shape[1]! * q[2]!)] === other) touch = true;
      }
    }
    if (touch) out.push(i);
  }
  return out;
}

/** Brute force pooled surface distances of two point sets (flat indices). */
function brutePooled(sa: number[], sb: number[], shape: number[], spacing: number[]): number[] {
  const pa = sa.map((i) => coords(i, shape));
  const pb = sb.map((i) => coords(i, shape));
  const nearest = (p: number[], set: number[][]) => Math.min(...set.map((q) => dist(p, q, spacing)));
  return [...pa.map((p) => nearest(p, pb)), ...pb.map((p) => nearest(p, pa))];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** numpy.percentile's default (linear interpolation between order statistics). */
function percentileLinear(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = (q / 100) * (s.length - 1);
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
}

const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** Random labels 0..3 with blobs: each voxel copies a random earlier neighbour often, so structures are ragged but connected. */
function blobLabels(shape: number[], rng: Rng, p0: number): Uint8Array {
  const out = new Uint8Array(count(shape));
  for (let i = 0; i < out.length; i++) {
    if (i > 0 && rng.chance(0.6)) out[i] = out[i - (rng.chance(0.5) || i < shape[0]! ? 1 : shape[0]!)]!;
    else out[i] = rng.chance(p0) ? 0 : 1 + rng.int(3);
  }
  return out;
}

describe("edt", () => {
  test("equals the brute-force distance on random 2D and 3D masks with anisotropic spacing", () => {
    const rng = new Rng("metrics:edt");
    for (let t = 0; t < 60; t++) {
      const shape = t % 2 ? [1 + rng.int(9), 1 + rng.int(8), 1 + rng.int(7)] : [1 + rng.int(14), 1 + rng.int(12)];
      const spacing = shape.map(() => rng.range(0.2, 2.5));
      const mask = Uint8Array.from({ length: count(shape) }, () => (rng.chance([0.01, 0.08, 0.4][t % 3]!) ? 1 + rng.int(3) : 0));
      const ours = edt(mask, shape, spacing);
      const ref = bruteEdt(mask, shape, spacing);
      for (let i = 0; i < ref.length; i++) {
        if (ref[i] === Infinity) assert.equal(ours[i], Infinity);
        else near(ours[i]!, ref[i]!, 1e-12, `[${shape}] voxel ${i}`);
      }
      const sq = edtSquared(mask, shape, spacing);
      for (let i = 0; i < ref.length; i++) if (ref[i] !== Infinity) near(sq[i]!, ref[i]! ** 2, 1e-12, `squared [${shape}] voxel ${i}`);
    }
  });

  test("no feature voxel gives Infinity everywhere, all features give 0; out is reused; bad input throws", () => {
    assert.ok(edt(new Uint8Array(24), [2, 3, 4]).every((v) => v === Infinity));
    assert.ok(edt(new Uint8Array(12).fill(1), [3, 4], [0.5, 2]).every((v) => v === 0));
    const out = new Float64Array(6).fill(-1);
    const r = edt(Uint8Array.from([0, 0, 1, 0, 0, 0]), [3, 2], [2, 3], { out, squared: true });
    assert.equal(r, out);
    assert.deepEqual([...r], [16, 4, 0, 25, 13, 9]);
    throwsCode(() => edt(new Uint8Array(5), [2, 3]), "BAD_VOLUME", /mask has 5 voxels/);
    throwsCode(() => edt(new Uint8Array(6), [2, 3], [1, -1]), "BAD_VOLUME", /spacing/);
    throwsCode(() => edt(new Uint8Array(6), [2, 3], [1, 1], { out: new Float64Array(2) }), "BAD_CONFIG", /out/);
  });
});

describe("surfaces", () => {
  test("surface and interface masks equal brute force; the volume's edge counts as background", () => {
    const rng = new Rng("metrics:surface");
    for (const shape of [[9, 7, 6], [13, 11], [5, 4, 1], [1, 6, 5]]) {
      const labels = blobLabels(shape, rng, 0.3);
      for (const l of [1, 2, 3]) {
        assert.deepEqual([...maskIndices(labelSurface(labels, shape, l))], bruteSurface((i) => labels[i] === l, shape), `[${shape}] label ${l}`);
      }
      const nonzero = surfaceMask(labels, shape);
      assert.deepEqual([...maskIndices(nonzero)], bruteSurface((i) => labels[i] !== 0, shape));
      assert.deepEqual([...maskIndices(interfaceMask(labels, shape))], bruteInterface(labels, shape, 1, 2));
      assert.deepEqual([...maskIndices(interfaceMask(labels, shape, 3, 1))], bruteInterface(labels, shape, 3, 1));
    }
    // A full 4x4 square: its 12 edge voxels are surface, the 4 inner ones are not.
    assert.deepEqual([...surfaceMask(new Uint8Array(16).fill(1), [4, 4])], [1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
    throwsCode(() => interfaceMask(new Uint8Array(4), [2, 2], 1, 1), "BAD_CONFIG", /two different labels/);
  });
});

describe("surface distances", () => {
  test("ASSD, HD95 and the boundary ASSD equal brute-force all-pairs values", () => {
    const rng = new Rng("metrics:assd");
    for (const [shape, spacing] of [
      [[10, 9, 7], [0.41, 0.41, 1]],
      [[8, 11, 6], [1.3, 0.6, 0.9]],
      [[16, 13], [0.7, 1.9]],
      [[6, 1, 9], [0.5, 1, 2]],
    ] as [number[], number[]][]) {
      for (let rep = 0; rep < 2; rep++) {
        const truth = blobLabels(shape, rng, 0.4);
        const pred = blobLabels(shape, rng, 0.4);
        const P = makeLabelVolume(pred, shape, spacing);
        const T = makeLabelVolume(truth, shape, spacing);
        for (const l of [1, 2, 3]) {
          const pooled = brutePooled(bruteSurface((i) => pred[i] === l, shape), bruteSurface((i) => truth[i] === l, shape), shape, spacing);
          near(assd(P, T, { label: l }), mean(pooled), 1e-12, `[${shape}] label ${l} assd`);
          near(hd95(P, T, { label: l }), percentileLinear(pooled, 95), 1e-12, `[${shape}] label ${l} hd95`);
        }
        const pooled = brutePooled(bruteInterface(pred, shape, 1, 2), bruteInterface(truth, shape, 1, 2), shape, spacing);
        near(boundaryAssd(P, T), mean(pooled), 1e-12, `[${shape}] boundary`);
        // Binary masks: every nonzero voxel is the structure.
        const anyPooled = brutePooled(bruteSurface((i) => pred[i] !== 0, shape), bruteSurface((i) => truth[i] !== 0, shape), shape, spacing);
        near(assd(P, T), mean(anyPooled), 1e-12, `[${shape}] nonzero assd`);
        // The directional lists: one entry per surface voxel, in voxel order.
        const d = surfaceDistances(P, T, { label: 2 });
        assert.equal(d.predToTruth.length, bruteSurface((i) => pred[i] === 2, shape).length);
        assert.equal(d.truthToPred.length, bruteSurface((i) => truth[i] === 2, shape).length);
      }
    }
  });

  test("two cubes shifted by k voxels along x: closed-form ASSD, HD95 and Dice", () => {
    for (const [dims, L, k, s] of [
      [3, 2, 2, 0.7],
      [3, 4, 3, 0.41],
      [3, 5, 7, 1.5],
      [2, 6, 5, 0.3],
      [2, 3, 9, 2],
    ] as [2 | 3, number, number, number][]) {
      const shape = dims === 3 ? [L + k + 6, L + 4, L + 4] : [L + k + 6, L + 4];
      const spacing = dims === 3 ? [s, 0.9, 1.3] : [s, 1.1];
      const cube = (shift: number) => {
        const m = new Uint8Array(count(shape));
        for (let i = 0; i < m.length; i++) {
          const [x, y, z] = coords(i, shape);
          if (x >= 3 + shift && x < 3 + shift + L && y >= 2 && y < 2 + L && (dims === 2 || (z >= 2 && z < 2 + L))) m[i] = 1;
        }
        return { data: m, shape, spacing };
      };
      // Every surface voxel in column i of the cube (i = 0..L-1) is (k - i) s from the other
      // cube's near face (valid for k >= L - 1); column counts: full faces at both ends, the
      // ring of the cross-section in between.
      const face = dims === 3 ? L * L : L;
      const ring = dims === 3 ? L * L - Math.max(0, L - 2) ** 2 : Math.min(L, 2);
      const dists: number[] = [];
      for (let i = 0; i < L; i++) for (let c = 0; c < (i === 0 || i === L - 1 ? face : ring); c++) dists.push((k - i) * s, (k - i) * s);
      const [a, b] = [cube(0), cube(k)];
      near(assd(a, b), mean(dists), 1e-12, `${dims}D L ${L} k ${k} assd`);
      near(hd95(a, b), percentileLinear(dists, 95), 1e-12, `${dims}D L ${L} k ${k} hd95`);
      near(dice(a, b, 1)[0]!, Math.max(0, (L - k) / L), 1e-15, `${dims}D L ${L} k ${k} dice`);
    }
    // Overlapping cubes: Dice = (L - k) / L.
    const shape = [20, 10, 10];
    const cube = (shift: number) => makeLabelVolume(Uint8Array.from({ length: 2000 }, (_, i) => {
      const [x, y, z] = coords(i, shape);
      return x >= 2 + shift && x < 10 + shift && y >= 1 && y < 9 && z >= 1 && z < 9 ? 2 : 0;
    }), shape);
    near(dice(cube(0), cube(3), [2])[0]!, 5 / 8, 1e-15, "overlap dice");
  });

  test("a sphere against a larger concentric sphere: ASSD and HD95 ≈ the difference of the radii", () => {
    for (const [spacing, r1, r2] of [
      [[1, 1, 1], 6, 10],
      [[0.5, 0.5, 1], 4, 6.5],
      [[0.41, 0.41, 1], 3, 7],
    ] as [number[], number, number][]) {
      const shape = spacing.map((s) => Math.ceil((2 * r2 + 4) / s));
      const ball = (r: number) => makeLabelVolume(Uint8Array.from({ length: count(shape) }, (_, i) => {
        const p = coords(i, shape);
        return Math.hypot(...p.map((c, a) => (c - (shape[a]! - 1) / 2) * spacing[a]!)) <= r ? 1 : 0;
      }), shape, spacing);
      const [a, b] = [ball(r1), ball(r2)];
      // Surface voxels lie within one voxel (the coarsest spacing) inside the true sphere.
      const tol = Math.max(...spacing);
      const d = assd(a, b);
      assert.ok(Math.abs(d - (r2 - r1)) <= tol, `spacing [${spacing}]: assd ${d} vs ${r2 - r1}`);
      const h = hd95(a, b);
      assert.ok(h >= d && Math.abs(h - (r2 - r1)) <= tol, `spacing [${spacing}]: hd95 ${h} vs ${r2 - r1}`);
      assert.ok(Math.abs(assd(b, a) - d) < 1e-12, "assd is symmetric");
    }
  });

  test("empty cases: both empty -> Dice 1, ASSD 0, HD95 0; one empty -> Dice 0 and NaN or the penalty", () => {
    const shape = [6, 5, 4];
    const empty = makeLabelVolume(new Uint8Array(120), shape, [0.5, 0.5, 1]);
    const some = makeLabelVolume(new Uint8Array(120), shape, [0.5, 0.5, 1]);
    some.data[31] = 1;
    some.data[32] = 2;
    assert.equal(assd(empty, empty), 0);
    assert.equal(hd95(empty, empty), 0);
    assert.ok(Number.isNaN(assd(some, empty)));
    assert.ok(Number.isNaN(hd95(empty, some, { label: 2 })));
    assert.equal(assd(some, empty, { emptyPenalty: 50 }), 50);
    assert.equal(hd95(empty, some, { emptyPenalty: 0 }), 0);
    assert.deepEqual(dice(empty, empty, [1, 2]), [1, 1]);
    assert.deepEqual(dice(some, empty, [1, 2, 3]), [0, 0, 1]);
    const d = surfaceDistances(some, empty);
    assert.deepEqual([d.predEmpty, d.truthEmpty, d.truthToPred.length], [false, true, 0]);
    assert.ok(d.predToTruth.length === 2 && d.predToTruth.every((v) => v === Infinity));
    // Boundary: the interface of 1 and 2 exists in `some` only.
    assert.equal(boundaryAssd(empty, empty), 0);
    assert.ok(Number.isNaN(boundaryAssd(some, empty)));
    assert.equal(boundaryAssd(empty, some, { emptyPenalty: 7 }), 7);
    const m = segmentationMetrics(some, empty, { labels: [1, 2, 3], names: ["intra", "extra", "cochlea"], emptyPenalty: 9 });
    assert.deepEqual(
      m.rows.map((r) => [r.name, r.dice, r.assd, r.hd95, r.predVoxels, r.truthVoxels]),
      [["intra", 0, 9, 9, 1, 0], ["extra", 0, 9, 9, 1, 0], ["cochlea", 1, 0, 0, 0, 0]],
    );
    assert.equal(m.boundaryAssd, 9);
    assert.deepEqual(m.spacing, [0.5, 0.5, 1]);
  });
});

describe("segmentationMetrics and dice", () => {
  test("hand-worked Dice per label", () => {
    // pred  1 1 2 0 | truth 1 0 2 2
    //       3 3 0 1 |       3 1 0 1
    const shape = [4, 2];
    const pred = { data: Uint8Array.from([1, 1, 2, 0, 3, 3, 0, 1]), shape };
    const truth = { data: Uint8Array.from([1, 0, 2, 2, 3, 1, 0, 1]), shape };
    // label 1: |P| 3, |T| 3, both 2 -> 4/6; label 2: 1, 2, 1 -> 2/3; label 3: 2, 1, 1 -> 2/3; label 4: absent -> 1.
    const d = dice(pred, truth, [1, 2, 3, 4]);
    [4 / 6, 2 / 3, 2 / 3, 1].forEach((v, i) => near(d[i]!, v, 1e-15, `label ${i + 1}`));
    assert.deepEqual(dice(pred, pred, 3), [1]);
  });

  test("rows per label with names, boundary by default for labels 1 and 2, checks on the inputs", () => {
    const rng = new Rng("metrics:rows");
    const shape = [12, 10, 8];
    const spacing = [0.41, 0.41, 1];
    const T = makeLabelVolume(blobLabels(shape, rng, 0.5), shape, spacing);
    const P = makeLabelVolume(blobLabels(shape, rng, 0.5), shape, spacing);
    const m = segmentationMetrics(P, T, { labels: [1, 2, 3] });
    assert.deepEqual(m.rows.map((r) => r.name), ["1", "2", "3"]);
    assert.deepEqual(m.boundary, [1, 2]);
    m.rows.forEach((r) => {
      near(r.dice, dice(P, T, r.label)[0]!, 0, "dice");
      near(r.assd, assd(P, T, { label: r.label }), 0, "assd");
      near(r.hd95, hd95(P, T, { label: r.label }), 0, "hd95");
    });
    near(m.boundaryAssd!, boundaryAssd(P, T), 0, "boundary");
    assert.equal(segmentationMetrics(P, T, { labels: [3] }).boundaryAssd, null);
    assert.equal(segmentationMetrics(P, T, { labels: [1, 2], boundary: null }).boundaryAssd, null);
    near(segmentationMetrics(P, T, { labels: [3], boundary: [2, 3] }).boundaryAssd!, boundaryAssd(P, T, { labels: [2, 3] }), 0, "boundary 2/3");
    // Spacing: the volume's by default, options.spacing overrides it.
    const iso = segmentationMetrics(P, T, { labels: [1], spacing: [1, 1, 1] });
    near(iso.rows[0]!.assd, assd({ data: P.data, shape }, { data: T.data, shape }, { label: 1 }), 0, "spacing override");
    throwsCode(() => dice(P, makeLabelVolume(new Uint8Array(960), [12, 10, 8].reverse()), 1), "BAD_VOLUME", /pred has shape \[12,10,8\] but truth has \[8,10,12\]/);
    throwsCode(() => assd(P, makeLabelVolume(T.data, shape, [1, 1, 1])), "BAD_VOLUME", /spacing/);
    throwsCode(() => assd({ data: P.data, shape: [12, 10, 7] }, T), "BAD_VOLUME", /960 voxels/);
    throwsCode(() => segmentationMetrics(P, T, { labels: [1, 2], names: ["a"] }), "BAD_CONFIG", /one name per label/);
    throwsCode(() => segmentationMetrics(P, T, { labels: [] }), "BAD_CONFIG", /labels/);
    throwsCode(() => assd(P, T, { emptyPenalty: -1 }), "BAD_CONFIG", /emptyPenalty/);
    throwsCode(() => assd(P, T, { spacing: [1, 1] }), "BAD_CONFIG", /spacing/);
    throwsCode(() => boundaryAssd(P, T, { labels: [1, 1] }), "BAD_CONFIG", /boundary labels/);
  });
});

/** The SSIM definition written out directly: a full Gaussian window per voxel, reflect index. */
function slowSsim(a: Float32Array, b: Float32Array, shape: number[], R: number): number {
  const r = 5;
  const g = Array.from({ length: 2 * r + 1 }, (_, j) => Math.exp(-((j - r) ** 2) / (2 * 1.5 * 1.5)));
  const gs = g.reduce((x, y) => x + y, 0);
  const w = g.map((v) => v / gs);
  const refl = (i: number, n: number) => (i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i);
  const [nx, ny, nz = 1] = shape as [number, number, number?];
  const is3d = shape.length === 3;
  const C1 = (0.01 * R) ** 2;
  const C2 = (0.03 * R) ** 2;
  let sum = 0;
  let n = 0;
  for (let z = is3d ? r : 0; z < (is3d ? nz - r : 1); z++) {
    for (let y = r; y < ny - r; y++) {
      for (let x = r; x < nx - r; x++) {
        let mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
        for (let k = is3d ? -r : 0; k <= (is3d ? r : 0); k++) {
          for (let j = -r; j <= r; j++) {
            for (let i = -r; i <= r; i++) {
              const wt = w[i + r]! * w[j + r]! * (is3d ? w[k + r]! : 1);
              const idx = refl(x + i, nx) + nx * (refl(y + j, ny) + ny * refl(z + k, nz));
              const u = a[idx]!;
              const v = b[idx]!;
              mx += wt * u;
              my += wt * v;
              sxx += wt * u * u;
              syy += wt * v * v;
              sxy += wt * u * v;
            }
          }
        }
        const vx = sxx - mx * mx;
        const vy = syy - my * my;
        const cxy = sxy - mx * my;
        sum += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
        n++;
      }
    }
  }
  return sum / n;
}

describe("image quality", () => {
  test("PSNR and MAE closed forms", () => {
    const x = makeVolume(Float32Array.from({ length: 60 }, (_, i) => Math.sin(i)), [5, 4, 3]);
    const y = makeVolume(Float32Array.from(x.data, (v) => v + 0.25), [5, 4, 3]);
    near(mae(x, y), 0.25, 1e-6, "mae");
    near(mse(x, y), 0.0625, 1e-6, "mse");
    near(psnr(x, y, { dataRange: 2 }), 20 * Math.log10(2 / 0.25), 1e-5, "psnr");
    assert.equal(psnr(x, x, { dataRange: 1 }), Infinity);
    assert.equal(mae(x, x), 0);
    // Alternating errors +e / -e: MAE e, MSE e².
    const z = { data: Float64Array.from({ length: 8 }, (_, i) => (i % 2 ? 0.5 : -0.5)), shape: [4, 2] };
    const zero = { data: new Float64Array(8), shape: [4, 2] };
    assert.equal(mae(z, zero), 0.5);
    assert.equal(psnr(zero, z, { dataRange: 1 }), 10 * Math.log10(1 / 0.25));
    throwsCode(() => psnr(x, y, {} as { dataRange: number }), "BAD_CONFIG", /dataRange/);
    throwsCode(() => mae(x, makeVolume(new Float32Array(60), [3, 4, 5])), "BAD_VOLUME", /shapes/);
  });

  test("SSIM of identical images is 1; SSIM equals a direct implementation of the definition in 2D and 3D", () => {
    const rng = new Rng("metrics:ssim");
    for (const [shape, R] of [
      [[20, 17], 1],
      [[11, 30], 2],
      [[13, 12, 11], 1],
      [[14, 11, 12], 255],
    ] as [number[], number][]) {
      const a = Float32Array.from({ length: count(shape) }, (_, i) => R * (0.5 + 0.3 * Math.sin(i * 0.37) * Math.cos(i * 0.011) + 0.1 * rng.normal()));
      const b = Float32Array.from(a, (v) => v + R * 0.08 * rng.normal());
      const A = { data: a, shape };
      const B = { data: b, shape };
      near(ssim(A, A, { dataRange: R }), 1, 1e-12, `[${shape}] identical`);
      const ours = ssim(A, B, { dataRange: R });
      near(ours, slowSsim(a, b, shape, R), 1e-10, `[${shape}] direct`);
      assert.ok(ours > 0 && ours < 1);
      const full = ssimMap(A, B, { dataRange: R });
      assert.equal(full.map.length, count(shape));
      assert.equal(full.ssim, ours);
    }
    const flat = { data: new Float32Array(144).fill(0.3), shape: [12, 12] };
    assert.equal(ssim(flat, flat, { dataRange: 1 }), 1);
    throwsCode(() => ssim({ data: new Float32Array(100), shape: [10, 10] }, { data: new Float32Array(100), shape: [10, 10] }, { dataRange: 1 }), "BAD_VOLUME", /at least 11 voxels/);
    throwsCode(() => ssim(flat, flat, { dataRange: 0 }), "BAD_CONFIG", /dataRange/);
  });
});
