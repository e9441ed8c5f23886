"""Reference values for test/e2e/metrics.test.ts, computed independently with scipy and
scikit-image: distance transforms (scipy.ndimage.distance_transform_edt with sampling),
surfaces (binary_erosion with a face-connected structure, outside = background), ASSD, HD95,
boundary ASSD, Dice, SSIM, PSNR and MAE.

Usage: metrics_ref.py DIR. DIR/cases.json lists the cases; arrays are raw little-endian files
in DIR, x fastest (so they reshape to numpy's C order as shape[::-1]). Writes DIR/results.json
and, for "edt" cases and SSIM maps, raw float64 files next to it."""
import json
import os
import sys

import numpy as np
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

out_dir = sys.argv[1]
cases = json.load(open(os.path.join(out_dir, "cases.json")))


def load(name, dtype, shape):
    return np.fromfile(os.path.join(out_dir, name), dtype=dtype).reshape(shape[::-1])


def surface(mask):
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure=structure, border_value=0)


def interface(labels, a, b):
    """Voxels of a with a face neighbour b, and of b with a face neighbour a (no wrap-around)."""
    out = np.zeros(labels.shape, dtype=bool)
    for axis in range(labels.ndim):
        n = labels.shape[axis]
        lo = [slice(None)] * labels.ndim
        hi = [slice(None)] * labels.ndim
        lo[axis] = slice(0, n - 1)
        hi[axis] = slice(1, n)
        lo, hi = tuple(lo), tuple(hi)
        x, y = labels[lo], labels[hi]
        touch = ((x == a) & (y == b)) | ((x == b) & (y == a))
        out[lo] |= touch
        out[hi] |= touch
    return out


def set_distances(sa, sb, sampling):
    if not sa.any() and not sb.any():
        return 0.0, 0.0
    if not sa.any() or not sb.any():
        return float("nan"), float("nan")
    da = ndimage.distance_transform_edt(~sb, sampling=sampling)[sa]
    db = ndimage.distance_transform_edt(~sa, sampling=sampling)[sb]
    pooled = np.concatenate([da, db])
    return float(pooled.mean()), float(np.percentile(pooled, 95))


def dice(a, b):
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else float(2 * (a & b).sum() / s)


results = []
for i, c in enumerate(cases):
    shape = c["shape"]
    sampling = c["spacing"][::-1]
    if c["kind"] == "edt":
        mask = load(c["mask"], np.uint8, shape) != 0
        d = ndimage.distance_transform_edt(~mask, sampling=sampling)
        name = f"{i}_edt.f64"
        d.astype("<f8").tofile(os.path.join(out_dir, name))
        results.append({"edt": name})
    elif c["kind"] == "segmentation":
        pred = load(c["pred"], np.uint8, shape)
        truth = load(c["truth"], np.uint8, shape)
        rows = []
        for label in c["labels"]:
            a, b = pred == label, truth == label
            assd, hd95 = set_distances(surface(a), surface(b), sampling)
            rows.append({"label": label, "dice": dice(a, b), "assd": assd, "hd95": hd95})
        ba, _ = set_distances(interface(pred, *c["boundary"]), interface(truth, *c["boundary"]), sampling)
        results.append({"rows": rows, "boundaryAssd": ba})
    elif c["kind"] == "image":
        a = load(c["a"], "<f4", shape).astype(np.float64)
        b = load(c["b"], "<f4", shape).astype(np.float64)
        r = c["dataRange"]
        mssim, smap = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=r, full=True)
        name = f"{i}_ssim.f64"
        smap.astype("<f8").tofile(os.path.join(out_dir, name))
        a32 = load(c["a"], "<f4", shape)
        b32 = load(c["b"], "<f4", shape)
        mssim32 = structural_similarity(a32, b32, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=r)
        results.append({
            "ssim": float(mssim),
            "ssimFloat32": float(mssim32),
            "ssimMap": name,
            "psnr": float(peak_signal_noise_ratio(a, b, data_range=r)),
            "mae": float(np.abs(a - b).mean()),
        })
    else:
        raise SystemExit(f"unknown case kind {c['kind']}")



def no_nan(x):
    """JSON has no NaN: write null (the test reads it back as NaN)."""
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, dict):
        return {k: no_nan(v) for k, v in x.items()}
    if isinstance(x, list):
        return [no_nan(v) for v in x]
    return x


json.dump(no_nan(results), open(os.path.join(out_dir, "results.json"), "w"), allow_nan=False)
