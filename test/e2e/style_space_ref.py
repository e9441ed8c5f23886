"""Peer for the style-space end-to-end test: scikit-learn's silhouette_score, adjusted_rand_score,
PCA explained_variance_ratio_, KMeans and NearestNeighbors (for TypiClust's typicality, as the
reference computes it with squared L2 distances) on the cases the kit sends.

Usage: style_space_ref.py < cases.json > results.json. cases.json is a list of
  {"kind": "silhouette", "x": [[...]], "labels": [...]}
  {"kind": "ari", "a": [...], "b": [...]}
  {"kind": "pca", "x": [[...]], "components": n}
  {"kind": "kmeans", "x": [[...]], "k": k, "seed": s}
  {"kind": "typicality", "x": [[...]], "labels": [...], "neighbours": K}
and results.json the list of {"value": ...} in the same order.
"""
import json
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.neighbors import NearestNeighbors


def typicality(x, labels, k_max):
    out = np.zeros(len(x))
    labels = np.asarray(labels)
    for label in np.unique(labels):
        idx = np.where(labels == label)[0]
        k = min(k_max, len(idx) // 2)
        if k == 0:
            continue  # the kit defines a one-member cluster's typicality as 0
        nn = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(x[idx])
        dist, ind = nn.kneighbors(x[idx])
        # Drop the sample itself (distance 0), wherever the tie-break put it.
        d2 = []
        for row_d, row_i, self_i in zip(dist, ind, range(len(idx))):
            keep = [dd for dd, ii in zip(row_d, row_i) if ii != self_i][:k]
            d2.append(np.mean(np.square(keep)))
        out[idx] = 1.0 / (np.asarray(d2) + 1e-5)
    return out


def run(case):
    kind = case["kind"]
    if kind == "silhouette":
        return float(silhouette_score(np.asarray(case["x"]), case["labels"], metric="euclidean"))
    if kind == "ari":
        return float(adjusted_rand_score(case["a"], case["b"]))
    if kind == "pca":
        pca = PCA(n_components=case["components"], svd_solver="full").fit(np.asarray(case["x"]))
        return pca.explained_variance_ratio_.tolist()
    if kind == "kmeans":
        km = KMeans(n_clusters=case["k"], n_init=10, random_state=case["seed"]).fit(np.asarray(case["x"]))
        return {"labels": km.labels_.tolist(), "inertia": float(km.inertia_)}
    if kind == "typicality":
        return typicality(np.asarray(case["x"]), case["labels"], case["neighbours"]).tolist()
    raise ValueError(f"unknown case kind {kind}")


def main():
    cases = json.load(sys.stdin)
    json.dump([{"value": run(c)} for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
