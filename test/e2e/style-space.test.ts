// End-to-end: the style-space analysis against scikit-learn (Debian's python3-sklearn) run by
// test/e2e/style_space_ref.py on the same random data: silhouette_score, adjusted_rand_score,
// PCA's explained_variance_ratio_, KMeans' partition and inertia on separated blobs, and
// TypiClust's typicality with sklearn's NearestNeighbors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { Rng } from "../../lib/util/random.js";
import { pca } from "../../lib/analysis/pca.js";
import { kMeans } from "../../lib/analysis/kmeans.js";
import { silhouetteScore } from "../../lib/analysis/silhouette.js";
import { typicality } from "../../lib/analysis/typiclust.js";
import { adjustedRandIndex } from "../../lib/analysis/rand.js";
import { python } from "./python.js";

type Case =
  | { kind: "silhouette"; x: number[][]; labels: number[] }
  | { kind: "ari"; a: (number | string)[]; b: (number | string)[] }
  | { kind: "pca"; x: number[][]; components: number }
  | { kind: "kmeans"; x: number[][]; k: number; seed: number }
  | { kind: "typicality"; x: number[][]; labels: number[]; neighbours: number };

function sklearn(cases: Case[]): unknown[] {
  const out = execFileSync(python(["sklearn", "numpy"]), [new URL("style_space_ref.py", import.meta.url).pathname], {
    input: JSON.stringify(cases),
    stdio: ["pipe", "pipe", "inherit"],
    maxBuffer: 64 << 20,
  });
  return (JSON.parse(out.toString("utf8")) as { value: unknown }[]).map((r) => r.value);
}

const rng = new Rng(2024);
const matrix = (n: number, d: number, scales?: number[]) => Array.from({ length: n }, () => Array.from({ length: d }, (_, j) => (scales?.[j] ?? 1) * rng.normal()));
const labelsOf = (n: number, k: number) => Array.from({ length: n }, () => rng.int(k));

function blobs(k: number, per: number, d: number): number[][] {
  const centres = Array.from({ length: k }, (_, c) => Array.from({ length: d }, (_, j) => (j === c % d ? 20 * (c + 1) : 0) + rng.range(-5, 5)));
  return centres.flatMap((m) => Array.from({ length: per }, () => m.map((v) => v + 0.2 * rng.normal())));
}

test("silhouette, ARI, PCA, K-means and typicality agree with scikit-learn", () => {
  const ours: { what: string; value: unknown; tol: number }[] = [];
  const cases: Case[] = [];
  const add = (c: Case, value: unknown, what: string, tol: number) => {
    cases.push(c);
    ours.push({ what, value, tol });
  };

  for (const [n, d, k] of [[50, 6, 4], [120, 16, 7], [30, 256, 3]] as const) {
    const x = matrix(n, d);
    const labels = labelsOf(n, k);
    labels[0] = k; // a one-sample cluster
    add({ kind: "silhouette", x, labels }, silhouetteScore(x, labels), `silhouette ${n}x${d}, ${k + 1} clusters`, 1e-12);
  }
  for (const [n, ka, kb] of [[10, 2, 3], [200, 5, 5], [1000, 8, 3]] as const) {
    const a = labelsOf(n, ka);
    const b = labelsOf(n, kb).map((v) => `site-${v}`);
    add({ kind: "ari", a, b }, adjustedRandIndex(a, b), `ARI n=${n}`, 1e-12);
  }
  const correlated = matrix(80, 10, [5, 4, 3, 2, 1, 1, 0.5, 0.5, 0.1, 0.1]);
  add({ kind: "pca", x: correlated, components: 4 }, pca(correlated, { components: 4 }).explainedVarianceRatio, "PCA 80x10", 1e-10);
  const wide = matrix(25, 256);
  add({ kind: "pca", x: wide, components: 2 }, pca(wide).explainedVarianceRatio, "PCA 25x256 (fewer samples than dimensions)", 1e-10);
  const blob = blobs(5, 20, 8);
  add({ kind: "kmeans", x: blob, k: 5, seed: 0 }, kMeans(blob, 5, { seed: 1 }), "K-means on blobs", 1e-9);
  const tx = matrix(90, 12);
  const tl = labelsOf(90, 4);
  tl[3] = 9;
  add({ kind: "typicality", x: tx, labels: tl, neighbours: 30 }, typicality(tx, tl, { neighbours: 30 }).typicality, "typicality K<=30", 1e-9);

  const theirs = sklearn(cases);
  assert.equal(theirs.length, cases.length);
  cases.forEach((c, i) => {
    const { what, value, tol } = ours[i]!;
    const ref = theirs[i];
    if (c.kind === "kmeans") {
      const mine = value as { labels: number[]; inertia: number };
      const peer = ref as { labels: number[]; inertia: number };
      assert.equal(adjustedRandIndex(mine.labels, peer.labels), 1, `${what}: same partition`);
      assert.ok(Math.abs(mine.inertia - peer.inertia) <= tol * Math.max(1, peer.inertia), `${what}: inertia ${mine.inertia} vs ${peer.inertia}`);
      return;
    }
    const a = Array.isArray(value) ? (value as number[]) : [value as number];
    const b = Array.isArray(ref) ? (ref as number[]) : [ref as number];
    assert.equal(a.length, b.length, `${what}: length`);
    a.forEach((v, j) => assert.ok(Math.abs(v - b[j]!) <= tol * Math.max(1, Math.abs(b[j]!)), `${what}[${j}]: ${v} vs scikit-learn ${b[j]}`));
  });
});
