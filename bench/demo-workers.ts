/**
 * End-to-end `advood demo` wall time, and whether local parallelism pays: the same demo with `--workers 2`
 * (two single-threaded wasm processes, each a shard, merged) against `--workers 1`, in the same run.
 *
 * Run: npx tsx bench/demo-workers.ts   (BENCH_DEMO=quick for the CI-sized demo)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './bench-row.js';

const CLI = fileURLToPath(new URL('../bin/advood.mjs', import.meta.url));

function demoSeconds(workers: number, quick: boolean): number {
  const out = mkdtempSync(join(tmpdir(), `advood-bench-demo-${workers}-`));
  try {
    const start = performance.now();
    execFileSync(process.execPath, [CLI, 'demo', '--out', out, '--workers', String(workers), ...(quick ? ['--quick'] : [])], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return (performance.now() - start) / 1000;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export async function benchDemoWorkers(): Promise<BenchRow[]> {
  const quick = process.env.BENCH_DEMO === 'quick';
  const one = demoSeconds(1, quick);
  const two = demoSeconds(2, quick);
  return [
    {
      name: `advood demo${quick ? ' --quick' : ''} end to end, --workers 2`,
      unit: 's',
      advood: two,
      reference: one,
      referenceName: 'the same demo with --workers 1',
      note: `--workers 1 took ${one.toFixed(0)} s of wall time (the demo's end-to-end time); ratio < 1 means 2 worker processes beat 1`,
    },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const row of await benchDemoWorkers()) console.log(`${row.name}: ${row.advood.toFixed(1)} s vs ${row.reference.toFixed(1)} s → ${(row.advood / row.reference).toFixed(2)}`);
}
