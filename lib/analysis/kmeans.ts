// K-means clustering of style vectors (ml-kmeans): k-means++ starts seeded from the kit's Rng,
// several restarts, the partition with the lowest inertia kept. The IntraStyler analysis
// clusters the target images' styles with it to find the target's sub-domains.
import { kmeans as mlKmeans } from "ml-kmeans";
import { UnpairedError } from "../util/errors.js";
import { Rng } from "../util/random.js";
import { checkVectors, distinctCount, squaredDistance, type Vectors } from "./vectors.js";

export interface KMeansOptions {
  /** Seed of the restarts' k-means++ draws (default 0); ignored when `rng` is given. */
  seed?: number | string;
  /** A stream to draw the restarts' seeds from (it advances); overrides `seed`. */
  rng?: Rng;
  /** Independent k-means++ starts; the lowest inertia wins (default 10, as scikit-learn's n_init). */
  restarts?: number;
  /** Lloyd iterations per start (default 300, as scikit-learn). */
  maxIterations?: number;
  /**
   * A start has converged when no centroid moves by more than this squared distance. Default:
   * 1e-4 x the mean per-feature variance of the data (scikit-learn's relative tol), so the
   * criterion does not depend on the scale of the vectors.
   */
  tolerance?: number;
}

export interface KMeansResult {
  /**
   * Cluster of each vector [n], 0..k-1, numbered in order of first appearance (the cluster of
   * vector 0 is 0, the next new cluster met is 1, ...), so equal partitions get equal labels.
   */
  labels: number[];
  /** Centroid of each cluster [k][d] (the mean of its members). */
  centroids: number[][];
  /** Members per cluster [k]. */
  sizes: number[];
  /** Sum over vectors of the squared distance to their centroid. */
  inertia: number;
  /** Lloyd iterations of the kept start. */
  iterations: number;
  /** Whether the kept start converged before maxIterations. */
  converged: boolean;
}

/**
 * K-means of vectors [n][d] into k clusters (1 <= k <= number of distinct vectors).
 *
 * Each restart runs ml-kmeans with its k-means++ start (scikit-learn's greedy variant) seeded by
 * a 32-bit number drawn from the Rng, so the same seed gives the same partition. ml-kmeans keeps
 * the old centroid of a cluster that loses every member; such a start counts as worse than any
 * start without empty clusters, and empty clusters are dropped from the kept result (k may then
 * shrink; it never did on data with at least k distinct vectors in the tests).
 */
export function kMeans(vectors: Vectors, k: number, opts: KMeansOptions = {}): KMeansResult {
  const d = checkVectors(vectors, "kMeans: vectors", 1);
  const n = vectors.length;
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new UnpairedError("BAD_CONFIG", `kMeans: k must be a whole number from 1 to the number of vectors (${n}), got ${k}`);
  }
  const distinct = distinctCount(vectors);
  if (k > distinct) {
    throw new UnpairedError("BAD_CONFIG", `kMeans: k = ${k} but only ${distinct} of the ${n} vectors are distinct; ask for at most ${distinct} clusters`);
  }
  const restarts = opts.restarts ?? 10;
  const maxIterations = opts.maxIterations ?? 300;
  for (const [name, v] of [["restarts", restarts], ["maxIterations", maxIterations]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new UnpairedError("BAD_CONFIG", `kMeans: ${name} must be a whole number >= 1, got ${v}`);
  }
  const tolerance = opts.tolerance ?? 1e-4 * meanVariance(vectors, d);
  if (!(tolerance >= 0)) throw new UnpairedError("BAD_CONFIG", `kMeans: tolerance must be a number >= 0, got ${opts.tolerance}`);
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const data = vectors.map((v) => Array.from(v));

  let best: { result: KMeansResult; empty: number } | undefined;
  for (let r = 0; r < restarts; r++) {
    const seed = rng.nextUint32();
    const run = mlKmeans(data, k, { initialization: "kmeans++", seed, maxIterations, tolerance });
    const candidate = canonical(data, run.clusters, run.centroids, k);
    candidate.result.iterations = run.iterations;
    candidate.result.converged = run.converged;
    if (!best || candidate.empty < best.empty || (candidate.empty === best.empty && candidate.result.inertia < best.result.inertia)) best = candidate;
  }
  return best!.result;
}

/** Relabels clusters by first appearance, drops empty ones, and computes sizes and inertia. */
function canonical(data: number[][], clusters: number[], centroids: number[][], k: number): { result: KMeansResult; empty: number } {
  const rename = new Map<number, number>();
  const labels = clusters.map((c) => {
    let l = rename.get(c);
    if (l === undefined) {
      l = rename.size;
      rename.set(c, l);
    }
    return l;
  });
  const kept: number[][] = new Array(rename.size);
  for (const [old, l] of rename) kept[l] = centroids[old]!.slice();
  const sizes = new Array<number>(rename.size).fill(0);
  let inertia = 0;
  labels.forEach((l, i) => {
    sizes[l]!++;
    inertia += squaredDistance(data[i]!, kept[l]!);
  });
  return { result: { labels, centroids: kept, sizes, inertia, iterations: 0, converged: false }, empty: k - rename.size };
}

function meanVariance(vectors: Vectors, d: number): number {
  const n = vectors.length;
  let total = 0;
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (const v of vectors) m += v[j]!;
    m /= n;
    let s = 0;
    for (const v of vectors) s += (v[j]! - m) ** 2;
    total += s / n;
  }
  return total / d;
}
