"""Peer for the NIfTI end-to-end test: reads each file named on the command line with nibabel
and writes, for file i, OUT/i.f32 (first volume as float32, x fastest) and one JSON summary."""
import json
import sys

import nibabel as nib
import numpy as np

out = sys.argv[1]
summary = []
for i, path in enumerate(sys.argv[2:]):
    img = nib.load(path)
    data = img.get_fdata(dtype=np.float32)
    if data.ndim > 3:
        data = data.reshape(data.shape[:3] + (-1,), order="F")[..., 0]
    np.asfortranarray(data).ravel(order="F").astype("<f4").tofile(f"{out}/{i}.f32")
    hdr = img.header
    summary.append({
        "path": path,
        "shape": [int(n) for n in data.shape],
        "zooms": [float(z) for z in hdr.get_zooms()[: data.ndim]],
        "affine": img.affine.tolist(),
        "sform_code": int(hdr["sform_code"]),
        "qform_code": int(hdr["qform_code"]),
        "qform": hdr.get_qform().tolist(),
        "dtype": str(hdr.get_data_dtype()),
    })
json.dump(summary, open(f"{out}/summary.json", "w"))
