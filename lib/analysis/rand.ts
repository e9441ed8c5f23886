// Agreement between two labellings of the same samples: the contingency table and the adjusted
// Rand index (Hubert & Arabie 1985), e.g. style clusters against the known acquisition sites.
import { UnpairedError } from "../util/errors.js";

export type Label = string | number;

export interface ContingencyTable<A extends Label = Label, B extends Label = Label> {
  /** Distinct labels of the first labelling, in order of first appearance. */
  rows: A[];
  /** Distinct labels of the second labelling, in order of first appearance. */
  columns: B[];
  /** counts[r][c]: samples labelled rows[r] by the first and columns[c] by the second. */
  counts: number[][];
}

/** The contingency table of two labellings of the same n samples (any label values; 1 and "1" differ). */
export function contingencyTable<A extends Label, B extends Label>(a: readonly A[], b: readonly B[]): ContingencyTable<A, B> {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) {
    throw new UnpairedError("BAD_CONFIG", `contingencyTable: the two labellings must label the same samples; got ${Array.isArray(a) ? a.length : typeof a} and ${Array.isArray(b) ? b.length : typeof b} labels`);
  }
  const rowIndex = new Map<A, number>();
  const colIndex = new Map<B, number>();
  const counts: number[][] = [];
  for (let i = 0; i < a.length; i++) {
    let r = rowIndex.get(a[i]!);
    if (r === undefined) {
      r = rowIndex.size;
      rowIndex.set(a[i]!, r);
      counts.push(new Array<number>(colIndex.size).fill(0));
    }
    let c = colIndex.get(b[i]!);
    if (c === undefined) {
      c = colIndex.size;
      colIndex.set(b[i]!, c);
      for (const row of counts) row.push(0);
    }
    counts[r]![c]!++;
  }
  return { rows: [...rowIndex.keys()], columns: [...colIndex.keys()], counts };
}

const pairs = (m: number): number => (m * (m - 1)) / 2;

/**
 * Adjusted Rand index of two labellings of the same samples: 1 for the same partition (whatever
 * the label names), about 0 for independent random labellings, negative for worse than chance.
 * ARI = (sum_ij C(n_ij, 2) - E) / ((sum_i C(a_i, 2) + sum_j C(b_j, 2)) / 2 - E), with
 * E = sum_i C(a_i, 2) sum_j C(b_j, 2) / C(n, 2). When the denominator is 0 (both labellings put
 * everything in one cluster, or both make every sample its own cluster, or n < 2) the two
 * partitions agree and the index is 1, as scikit-learn's adjusted_rand_score.
 */
export function adjustedRandIndex(a: readonly Label[], b: readonly Label[]): number {
  const { counts } = contingencyTable(a, b);
  const n = a.length;
  let index = 0;
  const rowSums = counts.map((row) => row.reduce((s, v) => s + v, 0));
  const colSums = counts.length ? counts[0]!.map((_, c) => counts.reduce((s, row) => s + row[c]!, 0)) : [];
  for (const row of counts) for (const v of row) index += pairs(v);
  const sumA = rowSums.reduce((s, v) => s + pairs(v), 0);
  const sumB = colSums.reduce((s, v) => s + pairs(v), 0);
  const total = pairs(n);
  if (total === 0) return 1;
  const expected = (sumA * sumB) / total;
  const max = (sumA + sumB) / 2;
  if (max === expected) return 1;
  return (index - expected) / (max - expected);
}
