"""Numpy reference for advood's (relative) Mahalanobis, following the authors' compute_maha_vals:
per-class np.cov (ddof 1) averaged over classes, explicit inverse, -min_c MD_c and -min_c (MD_c - MD_0).
Reads JSON {train, labels, queries} on stdin; writes {"maha": [...], "relative": [...]}."""
import json
import sys

import numpy as np

request = json.load(sys.stdin)
x = np.asarray(request["train"], dtype=np.float64)
y = np.asarray(request["labels"])
q = np.asarray(request["queries"], dtype=np.float64)
classes = [c for c in sorted(set(y.tolist())) if (y == c).sum() > 1]
means = [x[y == c].mean(0) for c in classes]
inv = np.linalg.inv(np.mean([np.cov(x[y == c].T) for c in classes], axis=0))
inv0 = np.linalg.inv(np.cov(x.T))
mean0 = x.mean(0)
md = np.stack([np.einsum("ij,jk,ik->i", q - m, inv, q - m) for m in means])
md0 = np.einsum("ij,jk,ik->i", q - mean0, inv0, q - mean0)
json.dump({"maha": (-md.min(0)).tolist(), "relative": (-(md - md0).min(0)).tolist()}, sys.stdout)
