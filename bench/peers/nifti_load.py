"""Peer for `npm run bench -- nifti`: times nibabel loading a .nii.gz to float32, the way a
PyTorch data pipeline does (nib.load(path).get_fdata(dtype=np.float32)). Prints JSON."""
import json
import sys
import time

import nibabel as nib
import numpy as np

path, warmup, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for _ in range(warmup):
    nib.load(path).get_fdata(dtype=np.float32)
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    data = nib.load(path).get_fdata(dtype=np.float32)
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"ms": times, "nibabel": nib.__version__, "sum": float(data.astype(np.float64).sum())}))
