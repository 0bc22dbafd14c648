/** Timing helpers shared by the benchmarks: medians over repeated runs, with the spread kept for the report. */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

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
