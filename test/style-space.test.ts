// lib/analysis's style-space analysis (IntraStyler Fig. 4) against computations written plainly
// here: silhouette by its formula and by hand, adjusted Rand index by hand, PCA's explained
// variance from the covariance's eigenvalues (closed form in 2D, power iteration beyond),
// K-means and chooseK on separated Gaussian blobs, typicality by brute force, SLERP's geometry,
// and embedStyles leaving no tensor behind.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../lib/engine/index.js";
import { StyleEncoder } from "../lib/models/styleEncoder.js";
import { asTensorFor } from "../lib/inference/translate.js";
import { UnpairedError } from "../lib/util/errors.js";
import { Rng } from "../lib/util/random.js";
import { makeVolume } from "../lib/volume/volume.js";
import { embedStyles } from "../lib/analysis/embed.js";
import { pca, pcaProject } from "../lib/analysis/pca.js";
import { kMeans } from "../lib/analysis/kmeans.js";
import { chooseK, pairwiseDistances, silhouetteSamples, silhouetteScore } from "../lib/analysis/silhouette.js";
import { exemplars, typicality } from "../lib/analysis/typiclust.js";
import { adjustedRandIndex, contingencyTable } from "../lib/analysis/rand.js";
import { slerp, slerpPath } from "../lib/analysis/slerp.js";
import { analyseStyleSpace, clusterAgreement } from "../lib/analysis/styleSpace.js";
import { liveCounts, seeded, startSuiteEngine } from "./helpers.js";

before(startSuiteEngine);

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
const isUnpaired = (re: RegExp) => (e: unknown) => e instanceof UnpairedError && e.code === "BAD_CONFIG" && re.test(e.message);
const dist = (a: readonly number[], b: readonly number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));
const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const norm = (a: readonly number[]) => Math.sqrt(dot(a, a));

function randomVectors(n: number, d: number, seed: number): number[][] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => r.normal()));
}

/** n points around each of `k` centres 5 apart (unit-free), sd 0.1, in d dims; shuffled. */
function blobs(k: number, per: number, d: number, seed: number): { x: number[][]; truth: number[] } {
  const r = new Rng(seed);
  const centres = Array.from({ length: k }, () => Array.from({ length: d }, () => r.range(-10, 10)));
  // Push centres apart so every pair is well separated.
  for (let a = 0; a < k; a++) centres[a]![a % d]! += 30 * (a + 1);
  const rows: { v: number[]; c: number }[] = [];
  for (let c = 0; c < k; c++) for (let i = 0; i < per; i++) rows.push({ v: centres[c]!.map((m) => m + 0.1 * r.normal()), c });
  const shuffled = r.shuffled(rows);
  return { x: shuffled.map((s) => s.v), truth: shuffled.map((s) => s.c) };
}

// ---------------------------------------------------------------------------------------------

describe("silhouette", () => {
  /** The textbook formula, one sample at a time, nothing shared with the library. */
  function bruteSilhouette(x: number[][], labels: number[]): number[] {
    return x.map((xi, i) => {
      const own = x.filter((_, j) => j !== i && labels[j] === labels[i]);
      if (own.length === 0) return 0;
      const a = own.reduce((s, y) => s + dist(xi, y), 0) / own.length;
      let b = Infinity;
      for (const l of new Set(labels)) {
        if (l === labels[i]) continue;
        const other = x.filter((_, j) => labels[j] === l);
        b = Math.min(b, other.reduce((s, y) => s + dist(xi, y), 0) / other.length);
      }
      return (b - a) / Math.max(a, b);
    });
  }

  test("hand-worked: points 0, 1, 4, 5 in two clusters give 47/63; 0, 1, 10 with a singleton give 161/270", () => {
    close(silhouetteScore([[0], [1], [4], [5]], [0, 0, 1, 1]), 47 / 63, 1e-12, "two pairs");
    const s = silhouetteSamples([[0], [1], [10]], ["a", "a", "b"]);
    close(s[0]!, 9 / 10, 1e-12, "s(0)");
    close(s[1]!, 8 / 9, 1e-12, "s(1)");
    assert.equal(s[2], 0, "a singleton cluster's sample scores 0");
    close(silhouetteScore([[0], [1], [10]], ["a", "a", "b"]), 161 / 270, 1e-12, "mean");
  });

  test("matches the formula on random data and labels (with a singleton), with and without a distance matrix", () => {
    const x = randomVectors(40, 5, 3);
    const r = new Rng(9);
    const labels = x.map(() => r.int(4));
    labels[7] = 9; // a singleton cluster
    const want = bruteSilhouette(x, labels);
    const got = silhouetteSamples(x, labels);
    const viaMatrix = silhouetteSamples(x, labels, { distances: pairwiseDistances(x) });
    want.forEach((w, i) => {
      close(got[i]!, w, 1e-12, `s(${i})`);
      close(viaMatrix[i]!, w, 1e-12, `s(${i}) via matrix`);
    });
    assert.equal(got[7], 0);
    close(silhouetteScore(x, labels), want.reduce((a, b) => a + b, 0) / want.length, 1e-12, "score");
  });

  test("needs 2 to n - 1 clusters", () => {
    assert.throws(() => silhouetteScore([[0], [1], [2]], [0, 0, 0]), isUnpaired(/2 to n - 1/));
    assert.throws(() => silhouetteScore([[0], [1], [2]], [0, 1, 2]), isUnpaired(/2 to n - 1/));
  });
});

describe("adjusted Rand index", () => {
  test("hand-worked cases", () => {
    close(adjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2]), 4 / 7, 1e-12, "[0,0,1,1] vs [0,0,1,2]");
    close(adjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1]), 4 / 7, 1e-12, "symmetric");
    close(adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1]), -0.5, 1e-12, "worse than chance");
    close(adjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3]), 0, 1e-12, "one cluster vs all singletons");
    assert.equal(adjustedRandIndex([1, 1, 1], [5, 5, 5]), 1, "both one cluster");
    assert.equal(adjustedRandIndex([1, 2, 3], ["a", "b", "c"]), 1, "both all singletons");
  });

  test("1 for the same partition under any renaming, strings or numbers", () => {
    assert.equal(adjustedRandIndex([0, 0, 1, 1, 2, 2, 2], ["ldn", "ldn", "etz", "etz", "ukm", "ukm", "ukm"]), 1);
    assert.equal(adjustedRandIndex([3, 3, 7, 7, 1], [0, 0, 2, 2, 9]), 1);
  });

  test("near 0 for independent random labellings", () => {
    const r = new Rng(4);
    const a = Array.from({ length: 3000 }, () => r.int(5));
    const b = Array.from({ length: 3000 }, () => r.int(4));
    const ari = adjustedRandIndex(a, b);
    assert.ok(Math.abs(ari) < 0.01, `ARI ${ari}`);
  });

  test("contingency table", () => {
    const t = contingencyTable(["a", "a", "b", "b", "b"], [1, 2, 2, 2, 1]);
    assert.deepEqual(t.rows, ["a", "b"]);
    assert.deepEqual(t.columns, [1, 2]);
    assert.deepEqual(t.counts, [[1, 1], [1, 2]]);
    assert.throws(() => contingencyTable([1, 2], [1]), isUnpaired(/same samples/));
  });
});

describe("PCA", () => {
  /** Sample covariance (divisor n - 1). */
  function covariance(x: number[][]): number[][] {
    const n = x.length;
    const d = x[0]!.length;
    const m = Array.from({ length: d }, (_, j) => x.reduce((s, v) => s + v[j]!, 0) / n);
    return Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => x.reduce((s, v) => s + (v[a]! - m[a]!) * (v[b]! - m[b]!), 0) / (n - 1)));
  }

  /** Eigenvalues (largest first) of a symmetric PSD matrix by power iteration with deflation. */
  function eigenvalues(c: number[][], count: number): { values: number[]; vectors: number[][] } {
    const d = c.length;
    const m = c.map((r) => r.slice());
    const values: number[] = [];
    const vectors: number[][] = [];
    for (let e = 0; e < count; e++) {
      let v = Array.from({ length: d }, (_, i) => 1 + i * 0.37);
      let lambda = 0;
      for (let it = 0; it < 5000; it++) {
        const w = m.map((row) => dot(row, v));
        const nw = norm(w);
        if (nw === 0) break;
        v = w.map((x) => x / nw);
        lambda = nw;
      }
      values.push(lambda);
      vectors.push(v);
      for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) m[a]![b]! -= lambda * v[a]! * v[b]!;
    }
    return { values, vectors };
  }

  test("2D: explained variance is the covariance's closed-form eigenvalues over their sum", () => {
    const r = new Rng(5);
    const x = Array.from({ length: 60 }, () => {
      const u = r.normal();
      const w = r.normal();
      return [3 * u + 0.5 * w, 1.2 * u - 0.8 * w + 2];
    });
    const [[a, b], [, c]] = covariance(x) as [[number, number], [number, number]];
    const mid = (a + c) / 2;
    const rad = Math.sqrt(((a - c) / 2) ** 2 + b * b);
    const l1 = mid + rad;
    const l2 = mid - rad;
    const p = pca(x, { components: 2 });
    close(p.explainedVarianceRatio[0]!, l1 / (l1 + l2), 1e-10, "PC1 ratio");
    close(p.explainedVarianceRatio[1]!, l2 / (l1 + l2), 1e-10, "PC2 ratio");
    close(p.cumulativeVarianceRatio[1]!, 1, 1e-12, "cumulative");
    close(p.variance[0]!, l1, 1e-9, "PC1 variance");
    // The coordinates' sample variance along each axis is that axis' eigenvalue.
    const v0 = p.coordinates.reduce((s, q) => s + q[0]! ** 2, 0) / (x.length - 1);
    close(v0, l1, 1e-9, "variance of PC1 coordinates");
  });

  test("8D (and more dimensions than samples): ratios match power iteration; axes are unit, sign-fixed, orthogonal", () => {
    for (const [n, d] of [[50, 8], [12, 30]] as const) {
      const r = new Rng(n);
      const scales = Array.from({ length: d }, (_, j) => 4 / (j + 1));
      const x = Array.from({ length: n }, () => scales.map((s) => s * r.normal()));
      const cov = covariance(x);
      const total = cov.reduce((s, row, j) => s + row[j]!, 0);
      const ref = eigenvalues(cov, 3);
      const p = pca(x, { components: 3 });
      for (let c = 0; c < 3; c++) {
        close(p.explainedVarianceRatio[c]!, ref.values[c]! / total, 1e-7, `${n}x${d} ratio ${c}`);
        close(Math.abs(dot(p.axes[c]!, ref.vectors[c]!)), 1, 1e-6, `${n}x${d} axis ${c} direction`);
        close(norm(p.axes[c]!), 1, 1e-12, "unit axis");
        const big = p.axes[c]!.reduce((m, v) => (Math.abs(v) > Math.abs(m) ? v : m), 0);
        assert.ok(big > 0, "largest entry of each axis is positive");
      }
      close(dot(p.axes[0]!, p.axes[1]!), 0, 1e-10, "orthogonal axes");
      assert.deepEqual(pcaProject(p, x.slice(0, 2)), p.coordinates.slice(0, 2));
    }
  });

  test("identical vectors explain nothing; bad component counts are refused", () => {
    assert.deepEqual(pca([[1, 2], [1, 2], [1, 2]]).explainedVarianceRatio, [0, 0]);
    assert.throws(() => pca([[1, 2], [3, 4]], { components: 3 }), isUnpaired(/components/));
    assert.throws(() => pca([[1, 2]]), isUnpaired(/at least 2/));
  });
});

describe("K-means", () => {
  test("recovers well-separated Gaussian blobs (ARI 1), centroids are means, inertia adds up, seeded", () => {
    const { x, truth } = blobs(4, 15, 6, 11);
    const r = kMeans(x, 4, { seed: 3 });
    assert.equal(adjustedRandIndex(r.labels, truth), 1);
    assert.equal(r.labels[0], 0, "labels numbered by first appearance");
    assert.deepEqual(r.sizes, [15, 15, 15, 15]);
    let inertia = 0;
    for (let c = 0; c < 4; c++) {
      const members = x.filter((_, i) => r.labels[i] === c);
      const mean = members[0]!.map((_, j) => members.reduce((s, v) => s + v[j]!, 0) / members.length);
      mean.forEach((m, j) => close(r.centroids[c]![j]!, m, 1e-9, `centroid ${c}[${j}]`));
      inertia += members.reduce((s, v) => s + dist(v, mean) ** 2, 0);
    }
    close(r.inertia, inertia, 1e-9, "inertia");
    assert.ok(r.converged);
    assert.deepEqual(kMeans(x, 4, { seed: 3 }), r, "same seed, same result");
    assert.deepEqual(kMeans(x, 4, { rng: new Rng(3) }).labels, r.labels);
  });

  test("keeps the best of several restarts", () => {
    const x = randomVectors(60, 3, 2);
    // Ten single starts drawn from one stream are exactly the ten restarts of that seed.
    const stream = new Rng(0);
    const one = Array.from({ length: 10 }, () => kMeans(x, 5, { rng: stream, restarts: 1 }).inertia);
    const many = kMeans(x, 5, { seed: 0, restarts: 10 }).inertia;
    assert.equal(many, Math.min(...one));
    assert.ok(new Set(one.map((v) => v.toFixed(9))).size > 1, `the starts differ: ${one}`);
  });

  test("refuses k beyond the distinct vectors", () => {
    assert.throws(() => kMeans([[0], [0], [1]], 3), isUnpaired(/distinct/));
    assert.throws(() => kMeans([[0], [1]], 3), isUnpaired(/k must be/));
    assert.throws(() => kMeans([[0], [1]], 1, { restarts: 0 }), isUnpaired(/restarts/));
  });
});

describe("chooseK", () => {
  test("picks the true k on separated blobs and reports every k", () => {
    for (const k of [3, 5]) {
      const { x, truth } = blobs(k, 10, 5, 20 + k);
      const c = chooseK(x, { seed: 1, restarts: 4 });
      assert.equal(c.k, k);
      assert.deepEqual(c.byK.map((s) => s.k), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.equal(adjustedRandIndex(c.clustering.labels, truth), 1);
      assert.equal(c.silhouette, Math.max(...c.byK.map((s) => s.silhouette)));
      close(c.silhouette, silhouetteScore(x, c.clustering.labels), 1e-12, "score of the kept partition");
    }
  });

  test("clamps kMax to n - 1 and refuses ranges it cannot search", () => {
    const x = randomVectors(6, 2, 1);
    assert.deepEqual(chooseK(x, { restarts: 2 }).byK.map((s) => s.k), [2, 3, 4, 5]);
    assert.throws(() => chooseK(x, { kMin: 6 }), isUnpaired(/kMax|kMin/));
    assert.throws(() => chooseK(x, { kMin: 1 }), isUnpaired(/kMin/));
  });
});

describe("typicality (TypiClust)", () => {
  /** Plainly: squared distances to the other members, K = min(kMax, floor(m / 2)) smallest, 1 / (mean + 1e-5). */
  function bruteTypicality(x: number[][], labels: number[], kMax: number): number[] {
    return x.map((xi, i) => {
      const others = x.filter((_, j) => j !== i && labels[j] === labels[i]).map((y) => dist(xi, y) ** 2).sort((a, b) => a - b);
      const K = Math.min(kMax, Math.floor((others.length + 1) / 2));
      if (K === 0) return 0;
      return 1 / (others.slice(0, K).reduce((a, b) => a + b, 0) / K + 1e-5);
    });
  }

  test("matches brute force for several K, including a one-member cluster", () => {
    const x = randomVectors(70, 4, 6);
    const r = new Rng(8);
    const labels = x.map(() => r.int(3));
    labels[5] = 7;
    for (const kMax of [1, 3, 20, 30]) {
      const got = typicality(x, labels, { neighbours: kMax });
      const want = bruteTypicality(x, labels, kMax);
      want.forEach((w, i) => close(got.typicality[i]!, w, 1e-9 * Math.max(1, w), `K<=${kMax} sample ${i}`));
      assert.equal(got.neighbours[5], 0);
      assert.equal(got.typicality[5], 0);
    }
  });

  test("exemplars: the most typical member per cluster, ordered by label or size", () => {
    const x = randomVectors(40, 3, 7);
    const labels = x.map((_, i) => (i < 5 ? 2 : i < 25 ? 0 : 1));
    const t = bruteTypicality(x, labels, 20);
    const ex = exemplars(x, labels);
    assert.deepEqual(ex.map((e) => e.label), [0, 1, 2]);
    for (const e of ex) {
      const members = labels.map((l, i) => (l === e.label ? i : -1)).filter((i) => i >= 0);
      const best = members.reduce((b, i) => (t[i]! > t[b]! ? i : b), members[0]!);
      assert.equal(e.index, best, `cluster ${e.label}`);
      assert.equal(e.size, members.length);
    }
    assert.deepEqual(exemplars(x, labels, { order: "size" }).map((e) => e.label), [0, 1, 2]);
    const single = exemplars([[0, 0], [1, 1], [1, 1.1]], ["s", "p", "p"]);
    assert.deepEqual(single.map((e) => [e.label, e.index]), [["p", 1], ["s", 0]]);
  });
});

describe("SLERP", () => {
  const v0 = [1, 0, 0];
  const v1 = [Math.cos(1), Math.sin(1), 0]; // theta = 1 rad
  const angle = (a: number[], b: number[]) => Math.acos(Math.min(1, Math.max(-1, dot(a, b) / (norm(a) * norm(b)))));

  test("endpoints, unit length, and the angle to v0 linear in t (extrapolation included)", () => {
    slerp(v0, v1, 0).forEach((v, i) => close(v, v0[i]!, 1e-15, "t = 0"));
    slerp(v0, v1, 1).forEach((v, i) => close(v, v1[i]!, 1e-15, "t = 1"));
    const ts = [-0.25, 0, 0.1, 0.5, 0.9, 1, 1.25, 1.5];
    const path = slerpPath(v0, v1, ts);
    ts.forEach((t, i) => {
      const p = path[i]!;
      close(norm(p), 1, 1e-15, `|slerp(${t})|`);
      close(angle(p, v0), Math.abs(t) * 1, 1e-12, `angle to v0 at t = ${t}`);
      close(angle(p, v1), Math.abs(1 - t) * 1, 1e-12, `angle to v1 at t = ${t}`);
      close(p[2]!, 0, 1e-15, "stays in the v0-v1 plane");
    });
  });

  test("high-dimensional unit styles: the formula itself, and inputs normalised first", () => {
    const a = randomVectors(1, 256, 1)[0]!;
    const b = randomVectors(1, 256, 2)[0]!;
    const ua = a.map((v) => v / norm(a));
    const ub = b.map((v) => v / norm(b));
    const theta = Math.acos(dot(ua, ub));
    const t = 0.3;
    const want = ua.map((v, i) => (Math.sin((1 - t) * theta) * v + Math.sin(t * theta) * ub[i]!) / Math.sin(theta));
    slerp(a, b, t).forEach((v, i) => close(v, want[i]!, 1e-14, `component ${i}`));
  });

  test("nearly parallel vectors fall back to linear interpolation; opposite or zero vectors are refused", () => {
    const w = [1, 1e-9, 0];
    for (const t of [0, 0.5, 1.25]) {
      const p = slerp(v0, w, t);
      close(norm(p), 1, 1e-15, "unit");
      const lin = [1, t * 1e-9, 0].map((v) => v / norm([1, t * 1e-9, 0]));
      p.forEach((v, i) => close(v, lin[i]!, 1e-15, `linear fallback at t = ${t}`));
    }
    const same = slerp(v0, v0, 0.7);
    assert.deepEqual(same, v0);
    assert.throws(() => slerp(v0, [-1, 0, 0], 0.5), isUnpaired(/opposite/));
    assert.throws(() => slerp(v0, [0, 0, 0], 0.5), isUnpaired(/zero vector/));
    assert.throws(() => slerp(v0, [1, 0], 0.5), isUnpaired(/one length/));
  });
});

describe("style-space analysis", () => {
  test("blobs on the sphere: k, exemplars, ARI against known sites, PCA map", () => {
    const { x, truth } = blobs(3, 12, 16, 31);
    const unit = x.map((v) => v.map((c) => c / norm(v)));
    const sites = truth.map((c) => ["ldn", "etz", "ukm"][c]!);
    const s = analyseStyleSpace(unit, { seed: 2, restarts: 3, kRange: [2, 6] });
    assert.equal(s.k, 3);
    assert.deepEqual(s.silhouetteByK.map((q) => q.k), [2, 3, 4, 5, 6]);
    assert.equal(s.coordinates.length, unit.length);
    assert.equal(s.coordinates[0]!.length, 2);
    assert.ok(s.cumulativeVariance[1]! > 0.9, `3 blobs lie in a plane: ${s.cumulativeVariance}`);
    assert.equal(s.exemplars.length, 3);
    s.exemplars.forEach((e, c) => assert.equal(s.labels[e], c, "exemplar c belongs to cluster c"));
    const ex = exemplars(unit, s.labels, { neighbours: 30 });
    assert.deepEqual(ex.map((e) => e.index), s.exemplars);
    const agree = clusterAgreement(s.labels, sites);
    assert.equal(agree.ari, 1);
    assert.equal(agree.table.counts.length, 3);
    assert.deepEqual(analyseStyleSpace(unit, { seed: 2, restarts: 3, kRange: [2, 6] }), s, "deterministic");
    assert.throws(() => analyseStyleSpace(unit, { kRange: [2] as unknown as [number, number] }), isUnpaired(/kRange/));
    assert.throws(() => analyseStyleSpace(unit.slice(0, 5), { kRange: [5, 20] }), isUnpaired(/kRange starts at 5 clusters/));
    assert.throws(() => analyseStyleSpace(unit, { pcaComponents: 0 }), isUnpaired(/pcaComponents/));
    assert.throws(() => analyseStyleSpace(unit, { typicalityNeighbours: 0 }), isUnpaired(/typicalityNeighbours/));
  });
});

describe("embedStyles", () => {
  test("2D patches and volumes in batches: unit vectors, the same as one at a time, no tensor left", () => {
    const enc = new StyleEncoder({ dims: 2, inChannels: 1, base: 4, styleDim: 8 }, new Rng(3));
    const patches = [0, 1, 2, 3, 4].map((s) => ({ data: seeded(16 * 16, s + 1).map((v) => v * (s + 1)), shape: [16, 16] }));
    const vol = makeVolume(seeded(16 * 16 * 3, 9), [16, 16, 3]);
    const before = liveCounts();
    let calls = 0;
    const styles = embedStyles(enc, [...patches, vol], { batchSize: 2, onBatch: () => calls++ });
    assert.deepEqual(liveCounts(), before, "no tensor or buffer left behind");
    assert.equal(calls, 3, "batches of 2, 2, 2");
    assert.equal(styles.length, 6);
    for (const s of styles) {
      assert.equal(s.length, 8);
      close(norm(s), 1, 1e-14, "unit");
    }
    // One at a time, through the encoder directly; the volume as translate's asTensorFor feeds it.
    const single = [...patches.map((p) => tf.tensor(p.data, [1, 16, 16, 1])), asTensorFor(vol, 2)];
    single.forEach((x, i) => {
      const y = enc.apply(x);
      const want = Array.from(y.dataSync());
      want.forEach((v, j) => close(styles[i]![j]!, v, 1e-5, `image ${i} component ${j}`));
      tf.dispose([x, y]);
    });
    assert.throws(() => embedStyles(enc, patches, { batchSize: 0 }), isUnpaired(/batchSize/));
    assert.throws(() => embedStyles(enc, [{ data: new Float32Array(16 * 16 * 2), shape: [16, 16, 2] }]), isUnpaired(/channel/));
    assert.deepEqual(liveCounts(), before, "errors leave nothing behind either");
    enc.dispose();
  });

  test("3D encoder on volumes of two sizes", () => {
    const enc = new StyleEncoder({ dims: 3, inChannels: 1, base: 2, styleDim: 4 }, new Rng(4));
    const vols = [makeVolume(seeded(8 * 8 * 8, 1), [8, 8, 8]), makeVolume(seeded(8 * 8 * 8, 2), [8, 8, 8]), makeVolume(seeded(12 * 8 * 8, 3), [12, 8, 8])];
    const before = liveCounts();
    const styles = embedStyles(enc, vols, { batchSize: 4 });
    assert.deepEqual(liveCounts(), before);
    vols.forEach((v, i) => {
      const x = asTensorFor(v, 3);
      const y = enc.apply(x);
      Array.from(y.dataSync()).forEach((w, j) => close(styles[i]![j]!, w, 1e-5, `volume ${i} component ${j}`));
      tf.dispose([x, y]);
    });
    assert.throws(() => embedStyles(enc, [makeVolume(seeded(64, 1), [8, 8])]), isUnpaired(/2D volume/));
    enc.dispose();
  });
});
