// Typicality (TypiClust, Hacohen et al. 2022): how dense the neighbourhood of a sample is within
// its cluster, and the most typical member of each cluster, which the IntraStyler analysis takes
// as that style cluster's exemplar.
import { UnpairedError } from "../util/errors.js";
import { checkLabels, checkVectors, groupByLabel, squaredDistance, type Vectors } from "./vectors.js";

export interface TypicalityOptions {
  /**
   * Largest number of nearest neighbours K (default 20, TypiClust's; IntraStyler uses 30). A
   * cluster of m members uses K = min(neighbours, floor(m / 2)), as both references do.
   */
  neighbours?: number;
  /**
   * Distance to the neighbours: "squaredL2" (default; the references' faiss IndexFlatL2 returns
   * squared distances) or "l2".
   */
  distance?: "squaredL2" | "l2";
}

export interface TypicalityResult {
  /**
   * typicality(x) = 1 / (mean distance from x to its K nearest neighbours in its cluster + 1e-5),
   * per sample [n]. A member of a one-sample cluster has no neighbour (K = 0): its typicality is
   * 0, the value an infinitely distant neighbourhood would give, i.e. an isolated sample counts
   * as atypical (the references would produce NaN from a mean over nothing).
   */
  typicality: number[];
  /** The K used for each sample [n] (0 for one-sample clusters). */
  neighbours: number[];
}

/**
 * Typicality of every sample of vectors [n][d] within its cluster (`labels` [n], any values).
 * Neighbours are the other members of the sample's own cluster; the sample itself is excluded.
 */
export function typicality<L>(vectors: Vectors, labels: readonly L[], opts: TypicalityOptions = {}): TypicalityResult {
  checkVectors(vectors, "typicality: vectors", 1);
  const n = vectors.length;
  checkLabels(labels, n, "typicality: labels");
  const kMax = opts.neighbours ?? 20;
  if (!Number.isInteger(kMax) || kMax < 1) throw new UnpairedError("BAD_CONFIG", `typicality: neighbours must be a whole number >= 1 (TypiClust uses 20, IntraStyler 30), got ${kMax}`);
  const kind = opts.distance ?? "squaredL2";
  if (kind !== "squaredL2" && kind !== "l2") throw new UnpairedError("BAD_CONFIG", `typicality: distance must be "squaredL2" or "l2", got ${String(kind)}`);
  const typ = new Array<number>(n).fill(0);
  const used = new Array<number>(n).fill(0);
  for (const members of groupByLabel(labels).values()) {
    const K = Math.min(kMax, Math.floor(members.length / 2));
    if (K === 0) continue;
    const dists = new Float64Array(members.length - 1);
    for (const i of members) {
      let c = 0;
      for (const j of members) {
        if (j === i) continue;
        const s = squaredDistance(vectors[i]!, vectors[j]!);
        dists[c++] = kind === "l2" ? Math.sqrt(s) : s;
      }
      dists.sort();
      let sum = 0;
      for (let q = 0; q < K; q++) sum += dists[q]!;
      typ[i] = 1 / (sum / K + 1e-5);
      used[i] = K;
    }
  }
  return { typicality: typ, neighbours: used };
}

export interface ExemplarOptions extends TypicalityOptions {
  /**
   * Order of the returned clusters: "label" (default; ascending label, numbers numerically,
   * strings by code unit) or "size" (largest cluster first, ties by label).
   */
  order?: "label" | "size";
}

export interface Exemplar<L> {
  /** The cluster's label. */
  label: L;
  /** Index (into vectors) of the cluster's most typical member: its exemplar. */
  index: number;
  /** The exemplar's typicality. */
  typicality: number;
  /** Members of the cluster. */
  size: number;
}

/**
 * The exemplar of every cluster: its most typical member (the lowest index on ties; the only
 * member of a one-sample cluster). One entry per cluster, ordered by `order`.
 */
export function exemplars<L extends string | number>(vectors: Vectors, labels: readonly L[], opts: ExemplarOptions = {}): Exemplar<L>[] {
  const order = opts.order ?? "label";
  if (order !== "label" && order !== "size") throw new UnpairedError("BAD_CONFIG", `exemplars: order must be "label" or "size", got ${String(order)}`);
  const { typicality: typ } = typicality(vectors, labels, opts);
  const out: Exemplar<L>[] = [];
  for (const [label, members] of groupByLabel(labels)) {
    let index = members[0]!;
    for (const i of members) if (typ[i]! > typ[index]!) index = i;
    out.push({ label, index, typicality: typ[index]!, size: members.length });
  }
  const byLabel = (a: Exemplar<L>, b: Exemplar<L>) =>
    typeof a.label === "number" && typeof b.label === "number" ? a.label - b.label : String(a.label) < String(b.label) ? -1 : String(a.label) > String(b.label) ? 1 : 0;
  return out.sort(order === "size" ? (a, b) => b.size - a.size || byLabel(a, b) : byLabel);
}
