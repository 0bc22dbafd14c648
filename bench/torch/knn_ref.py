"""Brute-force k-NN cosine reference for bench/knn.ts: the same bank and queries (float32 files written by the
bench), scored as mean top-k exp(cos) with numpy (BLAS matmul) and with torch.mm. Prints JSON timings."""
import json
import sys
import time

import numpy as np

bank_path, query_path, dim, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bank = np.fromfile(bank_path, dtype=np.float32).reshape(-1, dim)
queries = np.fromfile(query_path, dtype=np.float32).reshape(-1, dim)


def numpy_scores():
    b = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    sims = q @ b.T
    top = -np.partition(-sims, k - 1, axis=1)[:, :k]
    return np.exp(top.astype(np.float64)).mean(axis=1)


def torch_scores():
    import torch
    b = torch.nn.functional.normalize(torch.from_numpy(bank), dim=1)
    q = torch.nn.functional.normalize(torch.from_numpy(queries), dim=1)
    top = torch.mm(q, b.T).topk(k, dim=1).values
    return top.double().exp().mean(dim=1).numpy()


out = {}
for name, fn in (("numpy", numpy_scores), ("torch", torch_scores)):
    try:
        start = time.perf_counter()
        scores = fn()
        out[name] = {"seconds": time.perf_counter() - start, "scores": scores[:50].tolist()}
    except ImportError as error:
        out[name] = {"error": str(error)}
json.dump(out, sys.stdout)
