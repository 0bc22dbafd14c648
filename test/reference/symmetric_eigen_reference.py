"""numpy.linalg.eigh (LAPACK syevd) of symmetric matrices, the reference for advood's own eigensolver
(src/core/symmetric-eigen.ts). Eigenvalues sorted descending, as advood returns them.

usage: python symmetric_eigen_reference.py IN.json OUT.json
IN: {"matrices": [[[...], ...], ...]}; OUT: {"values": [[...], ...], "vectors": [[[row = eigenvector], ...], ...]}
"""
import json
import sys

import numpy as np


def main():
    with open(sys.argv[1]) as f:
        given = json.load(f)
    values, vectors = [], []
    for m in given["matrices"]:
        w, v = np.linalg.eigh(np.asarray(m, dtype=np.float64))
        order = np.argsort(-w)
        values.append(w[order].tolist())
        vectors.append(v[:, order].T.tolist())
    with open(sys.argv[2], "w") as f:
        json.dump({"values": values, "vectors": vectors}, f)


main()
