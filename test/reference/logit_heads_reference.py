"""Logit-head OOD scores written from the papers' formulas in numpy, independent of advood's code
(src/detectors/shared/logit-scores.ts): MSP (Hendrycks & Gimpel 2017), energy (Liu et al. 2020, T·logsumexp(z/T)),
max-logit (Hendrycks et al. 2022) and GEN (Liu, Lochman & Zach, CVPR 2023, eq. 6: minus the sum over the M largest
softmax probabilities of p^gamma (1 - p)^gamma, gamma = 0.1, M = 100).

usage: python logit_heads_reference.py IN.json OUT.json
IN: {"logits": [[...], ...], "temperature": T}; OUT: {"msp": [...], "energy": [...], "max-logit": [...], "gen": [...]}
"""
import json
import sys

import numpy as np


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def main():
    with open(sys.argv[1]) as f:
        given = json.load(f)
    logits = np.asarray(given["logits"], dtype=np.float64)
    t = float(given["temperature"])
    p = softmax(logits / t)
    m = min(100, logits.shape[1])
    top = np.sort(p, axis=1)[:, -m:]
    gamma = 0.1
    out = {
        "msp": p.max(axis=1).tolist(),
        "energy": (t * np.log(np.exp(logits / t - (logits / t).max(axis=1, keepdims=True)).sum(axis=1)) + logits.max(axis=1)).tolist(),
        "max-logit": logits.max(axis=1).tolist(),
        "gen": (-(top**gamma * (1 - top) ** gamma).sum(axis=1)).tolist(),
    }
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


main()
