// Principal component analysis of style vectors (ml-pca): the 2D map of the IntraStyler
// paper's Fig. 4 and how much of the style variance each principal component explains.
import { PCA } from "ml-pca";
import { UnpairedError } from "../util/errors.js";
import { checkVectors, type Vectors } from "./vectors.js";

export interface PcaOptions {
  /** Principal components to keep (default 2, the figure's map). At most min(n, d). */
  components?: number;
}

/** A fitted PCA: enough to project further vectors into the same map. */
export interface PcaModel {
  /** Mean of the fitted vectors [d] (PCA centres, it does not scale). */
  mean: number[];
  /** The kept principal axes, unit vectors [components][d], largest variance first. */
  axes: number[][];
}

export interface PcaResult extends PcaModel {
  /** The fitted vectors in the principal axes: [n][components]. */
  coordinates: number[][];
  /** Variance along each kept axis [components] (sample variance, divisor n - 1). */
  variance: number[];
  /**
   * Share of the total variance explained by each kept component [components], as
   * scikit-learn's explained_variance_ratio_: the total counts every component, kept or not.
   * All zeros when the vectors are identical (no variance to explain).
   */
  explainedVarianceRatio: number[];
  /** Running sum of explainedVarianceRatio [components]. */
  cumulativeVarianceRatio: number[];
}

/**
 * Fits PCA to vectors [n][d] (n >= 2) and projects them onto the first `components` axes.
 *
 * The sign of a principal axis is arbitrary (an SVD may return v or -v); here every axis is
 * flipped so that its largest-magnitude entry is positive, so the map does not mirror from one
 * run or library version to the next.
 */
export function pca(vectors: Vectors, opts: PcaOptions = {}): PcaResult {
  const d = checkVectors(vectors, "pca: vectors", 2);
  const n = vectors.length;
  const components = opts.components ?? 2;
  const most = Math.min(n, d);
  if (!Number.isInteger(components) || components < 1 || components > most) {
    throw new UnpairedError("BAD_CONFIG", `pca: components must be a whole number from 1 to min(vectors, dimensions) = ${most}, got ${components}`);
  }
  const model = new PCA(vectors as number[][], { center: true, scale: false, method: "SVD" });
  const eigen = model.getEigenvalues();
  const total = eigen.reduce((a, b) => a + Math.max(b, 0), 0);
  const U = model.getEigenvectors(); // [d][min(n, d)], axes as columns
  const axes: number[][] = [];
  for (let c = 0; c < components; c++) {
    const axis = U.getColumn(c);
    let big = 0;
    for (const v of axis) if (Math.abs(v) > Math.abs(big)) big = v;
    axes.push(big < 0 ? axis.map((v) => -v) : axis);
  }
  const mean = new Array<number>(d).fill(0);
  for (const v of vectors) for (let j = 0; j < d; j++) mean[j]! += v[j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const result: PcaModel = { mean, axes };
  const variance = eigen.slice(0, components).map((v) => Math.max(v, 0));
  const explainedVarianceRatio = variance.map((v) => (total > 0 ? v / total : 0));
  const cumulativeVarianceRatio: number[] = [];
  explainedVarianceRatio.reduce((acc, r) => {
    cumulativeVarianceRatio.push(acc + r);
    return acc + r;
  }, 0);
  return { ...result, coordinates: pcaProject(result, vectors), variance, explainedVarianceRatio, cumulativeVarianceRatio };
}

/** Projects vectors [m][d] into a fitted PCA's axes: [m][components]. */
export function pcaProject(model: PcaModel, vectors: Vectors): number[][] {
  const d = model.mean.length;
  checkVectors(vectors, "pcaProject: vectors", 0);
  return vectors.map((v, i) => {
    if (v.length !== d) throw new UnpairedError("BAD_CONFIG", `pcaProject: the PCA was fitted to ${d}-component vectors; vector ${i} has ${v.length}`);
    return model.axes.map((axis) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (v[j]! - model.mean[j]!) * axis[j]!;
      return s;
    });
  });
}
