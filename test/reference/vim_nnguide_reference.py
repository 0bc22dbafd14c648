"""ViM and NNGuide written from the papers and their official code in numpy, independent of advood's
(src/detectors/vim.ts, src/detectors/nnguide.ts).

ViM (Wang et al., CVPR 2022; haoqiwang/vim benchmark.py): u = -pinv(w) b with w = W^T [classes x dim];
covariance of X - u taken as centred (EmpiricalCovariance(assume_centered=True)); NS = eigenvectors beyond the top D;
alpha = mean max logit / mean ||(X - u) NS|| over train; score = logsumexp(l(x)) - alpha ||(x - u) NS||.
mode "mcm-vim": x = unit(projected), W = unit(text)^T / T, b = 0.

NNGuide (Park et al., ICCV 2023; roomo7time/nnguide ood_detectors/nnguide.py): logits of the probe
((x - mean)/std) W + b; bank = unit(train) * logsumexp(train logits); score = logsumexp(logits(x)) * mean of the
k largest unit(x) . bank_j.

usage: python vim_nnguide_reference.py IN.json OUT.json; IN: {"mode": "vim" | "mcm-vim" | "nnguide", ...}; OUT: {"scores": [...]}
"""
import json
import sys

import numpy as np


def logsumexp(z):
    m = z.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def vim(train, queries, W, b, D):
    u = -np.matmul(np.linalg.pinv(W.T), b)
    centred = train - u
    cov = centred.T @ centred / len(train)
    values, vectors = np.linalg.eigh(cov)
    NS = vectors[:, np.argsort(-values)[D:]]
    alpha = (train @ W + b).max(axis=1).mean() / np.linalg.norm(centred @ NS, axis=1).mean()
    return logsumexp(queries @ W + b) - alpha * np.linalg.norm((queries - u) @ NS, axis=1)


def main():
    with open(sys.argv[1]) as f:
        g = json.load(f)
    a = lambda key: np.asarray(g[key], dtype=np.float64)
    if g["mode"] == "vim":
        scores = vim(a("train"), a("queries"), a("weights"), a("bias"), g["D"])
    elif g["mode"] == "mcm-vim":
        text = unit(a("text"))
        scores = vim(unit(a("train")), unit(a("queries")), text.T / g["temperature"], np.zeros(len(text)), g["D"])
    else:
        logits = lambda x: ((x - a("mean")) / a("std")) @ a("weights") + a("bias")
        train = a("train")
        bank = unit(train) * logsumexp(logits(train))[:, None]
        queries = a("queries")
        products = unit(queries) @ bank.T
        guidance = np.sort(products, axis=1)[:, -g["k"]:].mean(axis=1)
        scores = logsumexp(logits(queries)) * guidance
    with open(sys.argv[2], "w") as f:
        json.dump({"scores": scores.tolist()}, f)


main()
