"""Timing shared by the PyTorch reference benchmarks: one warm-up call, then wall-clock ms of each run."""
import statistics
import time


def time_runs(fn, runs):
    """Milliseconds of `runs` calls of `fn` after one untimed warm-up (allocation, lazy init)."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def median_ms(fn, runs):
    return statistics.median(time_runs(fn, runs))
