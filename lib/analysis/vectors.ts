// Small helpers shared by the style-space analysis (PCA, K-means, silhouette, typicality):
// checking that a set of vectors is a proper n x d table of finite numbers, and distances.
import { UnpairedError } from "../util/errors.js";

/** A set of n vectors of one length d, as plain rows: [n][d]. */
export type Vectors = readonly (readonly number[])[];

/**
 * Checks that `vectors` holds at least `minCount` rows of one length, all finite; returns d.
 * `what` names the caller and the argument, e.g. "chooseK: vectors".
 */
export function checkVectors(vectors: Vectors, what: string, minCount = 1): number {
  if (!Array.isArray(vectors) || vectors.length < minCount) {
    throw new UnpairedError("BAD_CONFIG", `${what}: needs at least ${minCount} vector${minCount === 1 ? "" : "s"}, got ${Array.isArray(vectors) ? vectors.length : typeof vectors}`);
  }
  if (vectors.length === 0) return 0;
  const d = vectors[0]!.length;
  if (!(d >= 1)) throw new UnpairedError("BAD_CONFIG", `${what}: vectors must have at least one component, the first one is empty`);
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i]!;
    if (v.length !== d) throw new UnpairedError("BAD_CONFIG", `${what}: every vector must have ${d} components (as the first); vector ${i} has ${v.length}`);
    for (let j = 0; j < d; j++) {
      if (!Number.isFinite(v[j])) throw new UnpairedError("BAD_CONFIG", `${what}: vector ${i} has a non-finite component ${v[j]} at ${j}; drop or fix that sample`);
    }
  }
  return d;
}

/** Checks that `labels` gives one label per vector. */
export function checkLabels(labels: readonly unknown[], n: number, what: string): void {
  if (!Array.isArray(labels) || labels.length !== n) {
    throw new UnpairedError("BAD_CONFIG", `${what}: needs one label per vector (${n}), got ${Array.isArray(labels) ? labels.length : typeof labels}`);
  }
}

/** |a - b|^2. */
export function squaredDistance(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j]! - b[j]!;
    s += t * t;
  }
  return s;
}

/** Number of distinct rows (exact equality of every component). */
export function distinctCount(vectors: Vectors): number {
  return new Set(vectors.map((v) => v.join(","))).size;
}

/** Groups sample indices by label, in order of each label's first appearance. */
export function groupByLabel<L>(labels: readonly L[]): Map<L, number[]> {
  const groups = new Map<L, number[]>();
  labels.forEach((l, i) => {
    const g = groups.get(l);
    if (g) g.push(i);
    else groups.set(l, [i]);
  });
  return groups;
}
