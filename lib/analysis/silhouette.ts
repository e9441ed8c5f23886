// The silhouette score of a clustering (Rousseeuw 1987; written here, the ml.js family has
// none) and the choice of the number of clusters k by the best silhouette over a range of k, as
// the IntraStyler analysis picks the number of style clusters in the target domain.
import { UnpairedError } from "../util/errors.js";
import { Rng } from "../util/random.js";
import { kMeans, type KMeansResult } from "./kmeans.js";
import { checkLabels, checkVectors, distinctCount, groupByLabel, type Vectors } from "./vectors.js";

/** Pairwise Euclidean distances of vectors [n][d] as a row-major n x n Float64Array. */
export function pairwiseDistances(vectors: Vectors): Float64Array {
  const d = checkVectors(vectors, "pairwiseDistances: vectors", 1);
  const n = vectors.length;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = vectors[i]!;
    for (let j = i + 1; j < n; j++) {
      const b = vectors[j]!;
      let s = 0;
      for (let c = 0; c < d; c++) {
        const t = a[c]! - b[c]!;
        s += t * t;
      }
      out[i * n + j] = out[j * n + i] = Math.sqrt(s);
    }
  }
  return out;
}

/** Euclidean distances from vector i to every vector, into `out` [n]. */
function distancesFrom(vectors: Vectors, i: number, out: Float64Array): void {
  const a = vectors[i]!;
  for (let j = 0; j < vectors.length; j++) {
    const b = vectors[j]!;
    let s = 0;
    for (let c = 0; c < a.length; c++) {
      const t = a[c]! - b[c]!;
      s += t * t;
    }
    out[j] = Math.sqrt(s);
  }
}

/** Up to this many vectors chooseK keeps the n x n distance matrix (8 n^2 bytes, 72 MB here). */
const MATRIX_LIMIT = 3000;

export interface SilhouetteOptions {
  /** Distances from pairwiseDistances(vectors), to reuse them across clusterings (else each
   * row is computed when needed: less memory, d times more work). */
  distances?: Float64Array;
}

/**
 * Silhouette of each sample [n]: s(i) = (b - a) / max(a, b), with Euclidean distances, where a is
 * the mean distance from i to the other members of its cluster and b the smallest mean distance
 * from i to the members of another cluster. A sample alone in its cluster gets s = 0 (its a is
 * undefined; Rousseeuw's convention, as scikit-learn); so does a sample with a = b = 0 (duplicates).
 * Labels may be any values; at least 2 and at most n - 1 distinct labels are needed (else the
 * score is undefined), as scikit-learn requires.
 */
export function silhouetteSamples<L>(vectors: Vectors, labels: readonly L[], opts: SilhouetteOptions = {}): number[] {
  checkVectors(vectors, "silhouette: vectors", 2);
  const n = vectors.length;
  checkLabels(labels, n, "silhouette: labels");
  const groups = [...groupByLabel(labels).values()];
  if (groups.length < 2 || groups.length > n - 1) {
    throw new UnpairedError("BAD_CONFIG", `silhouette: needs from 2 to n - 1 = ${n - 1} clusters, got ${groups.length}; the score is undefined otherwise`);
  }
  const dist = opts.distances;
  if (dist && dist.length !== n * n) throw new UnpairedError("BAD_CONFIG", `silhouette: distances must be ${n} x ${n} (from pairwiseDistances(vectors)), got ${dist.length} entries`);
  const clusterOf = new Int32Array(n);
  groups.forEach((g, c) => g.forEach((i) => (clusterOf[i] = c)));
  const sums = new Float64Array(groups.length);
  const out = new Array<number>(n);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (dist) row.set(dist.subarray(i * n, (i + 1) * n));
    else distancesFrom(vectors, i, row);
    sums.fill(0);
    for (let j = 0; j < n; j++) sums[clusterOf[j]!]! += row[j]!;
    const own = clusterOf[i]!;
    const size = groups[own]!.length;
    if (size === 1) {
      out[i] = 0;
      continue;
    }
    const a = sums[own]! / (size - 1);
    let b = Infinity;
    for (let c = 0; c < groups.length; c++) if (c !== own) b = Math.min(b, sums[c]! / groups[c]!.length);
    const m = Math.max(a, b);
    out[i] = m > 0 ? (b - a) / m : 0;
  }
  return out;
}

/** The silhouette score: the mean of silhouetteSamples over all samples, in [-1, 1]. */
export function silhouetteScore<L>(vectors: Vectors, labels: readonly L[], opts: SilhouetteOptions = {}): number {
  const s = silhouetteSamples(vectors, labels, opts);
  return s.reduce((a, b) => a + b, 0) / s.length;
}

export interface ChooseKOptions {
  /** Smallest k tried (default 2; the reference searches 5..20). */
  kMin?: number;
  /** Largest k tried (default 12), clamped to n - 1 and to the number of distinct vectors. */
  kMax?: number;
  /** Seed of the K-means restarts (default 0); every k uses its own stream forked from it. */
  seed?: number | string;
  /** K-means restarts per k (default 10). */
  restarts?: number;
}

export interface KScore {
  k: number;
  /** Silhouette score of the K-means partition with k clusters; NaN when undefined (it had fewer than 2 clusters). */
  silhouette: number;
  /** K-means inertia (for an elbow plot next to the silhouette). */
  inertia: number;
}

export interface ChooseKResult {
  /** The k with the best silhouette (the smallest such k on ties). */
  k: number;
  /** Its silhouette score. */
  silhouette: number;
  /** Every tried k with its score, k ascending (for the figure's silhouette-vs-k plot). */
  byK: KScore[];
  /** The K-means partition for the chosen k. */
  clustering: KMeansResult;
}

/**
 * Runs K-means for every k in [kMin, kMax] and picks the k with the best silhouette score (the
 * IntraStyler analysis' choice of the number of style clusters). Needs at least 3 vectors.
 */
export function chooseK(vectors: Vectors, opts: ChooseKOptions = {}): ChooseKResult {
  checkVectors(vectors, "chooseK: vectors", 3);
  const n = vectors.length;
  const kMin = opts.kMin ?? 2;
  const asked = opts.kMax ?? 12;
  if (!Number.isInteger(kMin) || kMin < 2) throw new UnpairedError("BAD_CONFIG", `chooseK: kMin must be a whole number >= 2 (the silhouette needs two clusters), got ${kMin}`);
  if (!Number.isInteger(asked) || asked < kMin) throw new UnpairedError("BAD_CONFIG", `chooseK: kMax must be a whole number >= kMin (${kMin}), got ${asked}`);
  const distinct = distinctCount(vectors);
  const kMax = Math.min(asked, n - 1, distinct);
  if (kMax < kMin) {
    throw new UnpairedError("BAD_CONFIG", `chooseK: kMin = ${kMin} clusters need more than ${kMin} vectors (at least ${kMin} distinct); got ${n} vectors, ${distinct} distinct. Lower kMin or embed more images`);
  }
  const root = new Rng(opts.seed ?? 0);
  const distances = n <= MATRIX_LIMIT ? pairwiseDistances(vectors) : undefined;
  const byK: KScore[] = [];
  let best: { k: number; silhouette: number; clustering: KMeansResult } | undefined;
  for (let k = kMin; k <= kMax; k++) {
    const clustering = kMeans(vectors, k, { rng: root.fork(`k=${k}`), ...(opts.restarts !== undefined ? { restarts: opts.restarts } : {}) });
    const clusters = clustering.sizes.length;
    const silhouette = clusters >= 2 && clusters <= n - 1 ? silhouetteScore(vectors, clustering.labels, distances ? { distances } : {}) : NaN;
    byK.push({ k, silhouette, inertia: clustering.inertia });
    if (!Number.isNaN(silhouette) && (!best || silhouette > best.silhouette)) best = { k, silhouette, clustering };
  }
  if (!best) throw new UnpairedError("BAD_CONFIG", `chooseK: no k in ${kMin}..${kMax} gave two or more clusters; the vectors barely differ`);
  return { ...best, byK };
}
