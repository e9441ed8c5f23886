"""Peer for `npm run bench -- metrics`: per-label ASSD of two uint8 label volumes with scipy, the
way Python evaluation code computes it (medpy, MONAI and the challenge scripts all do this):
surface = mask & ~binary_erosion(mask) (face-connected, outside = background), then
distance_transform_edt(~surface, sampling=spacing) of each surface read at the other surface,
both directions pooled. Also times distance_transform_edt of one whole volume, and the same ASSD
cropped to the structures' bounding box (the shortcut the kit takes). Prints JSON.

Usage: assd.py DIR WARMUP REPS, DIR holding pred.u8, truth.u8 and meta.json (shape x-fastest,
spacing, labels)."""
import json
import os
import sys
import time

import numpy as np
import scipy
from scipy import ndimage

out_dir, warmup, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
meta = json.load(open(os.path.join(out_dir, "meta.json")))
shape = meta["shape"][::-1]  # numpy C order: [z, y, x]
sampling = meta["spacing"][::-1]
pred = np.fromfile(os.path.join(out_dir, "pred.u8"), dtype=np.uint8).reshape(shape)
truth = np.fromfile(os.path.join(out_dir, "truth.u8"), dtype=np.uint8).reshape(shape)
structure = ndimage.generate_binary_structure(3, 1)


def surface(mask):
    return mask & ~ndimage.binary_erosion(mask, structure=structure, border_value=0)


def assd_label(p, t, label, crop):
    a, b = p == label, t == label
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return float("nan")
    if crop:
        idx = np.argwhere(a | b)
        lo, hi = idx.min(0), idx.max(0) + 1
        box = tuple(slice(l, h) for l, h in zip(lo, hi))
        a, b = a[box], b[box]
    sa, sb = surface(a), surface(b)
    da = ndimage.distance_transform_edt(~sb, sampling=sampling)[sa]
    db = ndimage.distance_transform_edt(~sa, sampling=sampling)[sb]
    return float(np.concatenate([da, db]).mean())


def timed(f):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        value = f()
        times.append((time.perf_counter() - t0) * 1000)
    return times, value


labels = meta["labels"]
full_ms, values = timed(lambda: [assd_label(pred, truth, l, False) for l in labels])
crop_ms, crop_values = timed(lambda: [assd_label(pred, truth, l, True) for l in labels])
edt_mask = surface(truth != 0)
edt_ms, d = timed(lambda: ndimage.distance_transform_edt(~edt_mask, sampling=sampling))
print(json.dumps({
    "scipy": scipy.__version__,
    "assdMs": full_ms,
    "assd": values,
    "croppedMs": crop_ms,
    "croppedAssd": crop_values,
    "edtMs": edt_ms,
    "edtSum": float(d.sum()),
}))
