"""PyTorch reference for bench/banks.ts, run in its own process so its peak RSS is its own.

  bank_ref.py knn BANK.arrow QUERIES.f32 K THREADS       torch.mm + topk, the bank streamed in blocks
  bank_ref.py gaussian BANK.arrow QUERIES.f32 THREADS    class means + shared covariance in float64, blockwise

The bank is the advood features Arrow file the advood side reads, memory-mapped with pyarrow (so its pages count
in this process's RSS only as they are touched) and cast / normalised one block at a time: the same bounded-memory
shape as advood's, with torch doing the products. Prints one JSON line: seconds, the first 50 scores, peak RSS.
"""
import json
import re
import sys
import time

import numpy as np
import pyarrow as pa
import torch

BLOCK_ROWS = 16384


def peak_rss_bytes():
    # VmHWM, not getrusage: ru_maxrss survives exec on Linux and would report the parent's peak.
    with open("/proc/self/status") as status:
        return int(re.search(r"^VmHWM:\s+(\d+) kB$", status.read(), re.M).group(1)) * 1024


def open_bank(path):
    table = pa.ipc.open_file(pa.memory_map(path)).read_all()
    dim = table.schema.field("feature").type.list_size
    labels = table.column("label").to_numpy(zero_copy_only=False)
    chunks = [chunk.flatten().to_numpy(zero_copy_only=True).reshape(-1, dim) for chunk in table.column("feature").chunks]
    return chunks, labels, dim


def blocks(chunks):
    """Consecutive [≤ BLOCK_ROWS × D] float32 blocks of the bank, with their first row."""
    pending, rows, start = [], 0, 0
    for chunk in chunks:
        pending.append(chunk)
        rows += len(chunk)
        if rows >= BLOCK_ROWS:
            yield start, torch.from_numpy(np.concatenate(pending))
            start += rows
            pending, rows = [], 0
    if pending:
        yield start, torch.from_numpy(np.concatenate(pending))


def knn(path, queries_path, k):
    chunks, _, dim = open_bank(path)
    queries = torch.from_numpy(np.fromfile(queries_path, dtype=np.float32).reshape(-1, dim))
    started = time.perf_counter()
    q = torch.nn.functional.normalize(queries, dim=1)
    top = torch.full((len(q), k), -float("inf"))
    for _, block in blocks(chunks):
        b = torch.nn.functional.normalize(block, dim=1)
        top = torch.cat([top, torch.mm(q, b.T).topk(k, dim=1).values], dim=1).topk(k, dim=1).values
    scores = top.double().exp().mean(dim=1)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "scores": scores[:50].tolist()}


def gaussian(path, queries_path):
    chunks, labels, dim = open_bank(path)
    queries = torch.from_numpy(np.fromfile(queries_path, dtype=np.float32).reshape(-1, dim)[:50]).double()
    started = time.perf_counter()
    labels = torch.from_numpy(labels.astype(np.int64))
    classes = int(labels.max()) + 1
    sums = torch.zeros(classes, dim, dtype=torch.float64)
    for start, block in blocks(chunks):
        sums.index_add_(0, labels[start : start + len(block)], block.double())
    counts = torch.bincount(labels, minlength=classes).double()
    means = sums / counts[:, None]
    weights = 1 / (counts - 1) / classes
    covariance = torch.zeros(dim, dim, dtype=torch.float64)
    for start, block in blocks(chunks):
        rows = labels[start : start + len(block)]
        centred = block.double() - means[rows]
        covariance += (centred * weights[rows][:, None]).T @ centred
    cholesky = torch.linalg.cholesky(covariance)
    whitened_means = torch.linalg.solve_triangular(cholesky, means.T, upper=False).T
    seconds = time.perf_counter() - started
    whitened = torch.linalg.solve_triangular(cholesky, queries.T, upper=False).T
    scores = -(torch.cdist(whitened, whitened_means) ** 2).min(dim=1).values
    return {"seconds": seconds, "scores": scores.tolist()}


def main():
    mode = sys.argv[1]
    torch.set_num_threads(int(sys.argv[-1]))
    if mode == "knn":
        out = knn(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        out = gaussian(sys.argv[2], sys.argv[3])
    out.update({"peakRssBytes": peak_rss_bytes(), "threads": torch.get_num_threads(), "version": torch.__version__})
    print(json.dumps(out))


main()
