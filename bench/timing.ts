/** Timing helpers shared by the benchmarks: medians over repeated runs, with the spread kept for the report. */
import { median } from '../src/metrics/percentile.js';

export { median };

export interface Timing {
  median: number;
  min: number;
  max: number;
  /** Every timed run, in order. */
  runs: number[];
}

/** Times `fn` over `runs` calls after `warmUp` untimed ones (the first call pays allocation and JIT warm-up). */
export function timeRuns(fn: () => void, runs: number, warmUp = 1): Timing {
  for (let i = 0; i < warmUp; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times), runs: times };
}
