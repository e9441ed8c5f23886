// The IntraStyler paper's style-space analysis (Fig. 4) in one call: the style vectors of all
// target images mapped to 2D by PCA, clustered by K-means with k chosen by the best silhouette,
// each cluster's most typical member (TypiClust) as its exemplar, and the clusters' agreement
// with known sub-domains (acquisition sites) by the adjusted Rand index.
import { UnpairedError } from "../util/errors.js";
import { pca } from "./pca.js";
import { adjustedRandIndex, contingencyTable, type ContingencyTable, type Label } from "./rand.js";
import { chooseK, type KScore } from "./silhouette.js";
import { typicality as typicalityOf } from "./typiclust.js";
import { checkLabels, checkVectors, distinctCount, type Vectors } from "./vectors.js";

export interface StyleSpaceOptions {
  /** Seed of the K-means restarts (default 0): the same vectors and seed give the same result. */
  seed?: number | string;
  /** Numbers of clusters tried, [kMin, kMax] (default [2, 12]; the reference searches [5, 20]). kMax is clamped to n - 1. */
  kRange?: readonly [number, number];
  /** K-means restarts per k (default 10). */
  restarts?: number;
  /** Largest K of the typicality's nearest neighbours (default 30, IntraStyler's; TypiClust uses 20). */
  typicalityNeighbours?: number;
  /** PCA components of the map (default 2). */
  pcaComponents?: number;
}

export interface StyleSpace {
  /** Each vector in the PCA map [n][pcaComponents] (display only: clustering uses the full vectors). */
  coordinates: number[][];
  /** Share of the style variance each map axis explains [pcaComponents]. */
  explainedVariance: number[];
  /** Running sum of explainedVariance. */
  cumulativeVariance: number[];
  /** The chosen number of clusters (best silhouette). */
  k: number;
  /** Its silhouette score. */
  silhouette: number;
  /** Silhouette (and K-means inertia) of every k tried, k ascending. */
  silhouetteByK: KScore[];
  /** Cluster of each vector [n], 0..k-1, numbered by first appearance. */
  labels: number[];
  /** Members per cluster [k]. */
  clusterSizes: number[];
  /** Index of each cluster's exemplar (its most typical member), by cluster label 0..k-1. */
  exemplars: number[];
  /** Typicality of every vector within its cluster [n] (0 for a one-member cluster). */
  typicality: number[];
}

/**
 * Analyses style vectors [n][K] (n >= 3, from embedStyles): clusters them in the full style space,
 * as the reference does (K-means and silhouette on the vectors themselves, PCA only for the map),
 * and picks one exemplar per cluster.
 */
export function analyseStyleSpace(vectors: Vectors, opts: StyleSpaceOptions = {}): StyleSpace {
  checkVectors(vectors, "analyseStyleSpace: vectors", 3);
  const n = vectors.length;
  const bad = (option: string, rule: string, got: unknown) => new UnpairedError("BAD_CONFIG", `analyseStyleSpace: ${option} ${rule}; got ${JSON.stringify(got)}`);
  const kRange = opts.kRange ?? [2, 12];
  if (!(Array.isArray(kRange) && kRange.length === 2 && kRange.every(Number.isInteger) && kRange[0] >= 2 && kRange[1] >= kRange[0])) {
    throw bad("kRange", "must be [kMin, kMax], whole numbers with 2 <= kMin <= kMax, e.g. [2, 12] (the reference searches [5, 20])", opts.kRange);
  }
  const [kMin, kMax] = kRange;
  const distinct = distinctCount(vectors);
  if (Math.min(n - 1, distinct) < kMin) {
    throw bad("kRange", `starts at ${kMin} clusters, which needs more than ${kMin} vectors, at least ${kMin} of them distinct (there are ${n}, ${distinct} distinct); lower kRange[0] or embed more images`, kRange);
  }
  const components = opts.pcaComponents ?? 2;
  if (!Number.isInteger(components) || components < 1 || components > Math.min(n, vectors[0]!.length)) {
    throw bad("pcaComponents", `must be a whole number from 1 to min(vectors, style dimensions) = ${Math.min(n, vectors[0]!.length)}`, opts.pcaComponents);
  }
  const neighbours = opts.typicalityNeighbours ?? 30;
  if (!Number.isInteger(neighbours) || neighbours < 1) throw bad("typicalityNeighbours", "must be a whole number >= 1 (IntraStyler uses 30, TypiClust 20)", opts.typicalityNeighbours);
  if (opts.restarts !== undefined && !(Number.isInteger(opts.restarts) && opts.restarts >= 1)) throw bad("restarts", "must be a whole number >= 1 (default 10)", opts.restarts);
  const map = pca(vectors, { components });
  const chosen = chooseK(vectors, {
    kMin,
    kMax,
    seed: opts.seed ?? 0,
    ...(opts.restarts !== undefined ? { restarts: opts.restarts } : {}),
  });
  const labels = chosen.clustering.labels;
  const typ = typicalityOf(vectors, labels, { neighbours });
  // The most typical member of each cluster (lowest index on ties), as typiclust's exemplars().
  const exemplars = chosen.clustering.sizes.map(() => -1);
  labels.forEach((l, i) => {
    const e = exemplars[l]!;
    if (e < 0 || typ.typicality[i]! > typ.typicality[e]!) exemplars[l] = i;
  });
  return {
    coordinates: map.coordinates,
    explainedVariance: map.explainedVarianceRatio,
    cumulativeVariance: map.cumulativeVarianceRatio,
    k: chosen.k,
    silhouette: chosen.silhouette,
    silhouetteByK: chosen.byK,
    labels,
    clusterSizes: chosen.clustering.sizes,
    exemplars,
    typicality: typ.typicality,
  };
}

export interface ClusterAgreement {
  /** Adjusted Rand index of the clusters against the known labels (1 = the same partition, ~0 = chance). */
  ari: number;
  /** Clusters (rows) x known labels (columns). */
  table: ContingencyTable;
}

/** How well clusters [n] match known labels [n] (e.g. the phantoms' true site or style). */
export function clusterAgreement(labels: readonly Label[], known: readonly Label[]): ClusterAgreement {
  checkLabels(known, labels.length, "clusterAgreement: known");
  return { ari: adjustedRandIndex(labels, known), table: contingencyTable(labels, known) };
}
