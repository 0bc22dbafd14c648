/**
 * ImageNet-size banks: k-NN cosine scoring and the Mahalanobis fit (class means + shared covariance, float64)
 * over an N × 1664 bank of random features stored as an advood features Arrow file, against PyTorch 2.x from the
 * reference venv doing the same work on the same file (bench/torch/bank_ref.py: torch.mm + topk; float64
 * index_add + mm for the covariance), each side in its own fresh process at the same thread count, so each
 * peak RSS is that side's own. The bank's bytes are printed beside the peaks: bounded memory means a peak of one
 * bank plus a constant, never two banks.
 *
 *   npx tsx bench/banks.ts                         N = 100k rows (BENCH_BANK_ROWS), 1000 queries, 2 threads
 *   BENCH_BANK_ROWS=1281167 npx tsx bench/banks.ts ImageNet-1k's train set: 8.5 GB of float32 per side
 *
 * Other knobs: BENCH_BANK_QUERIES (1000), BENCH_BANK_CLASSES (1000), BENCH_BANK_THREADS (2), BENCH_BANK_PARTS
 * ('knn,gaussian'; at full size the float64 fit alone takes about half an hour here, so 'knn' runs it alone).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../src/core/seeded-random.js';
import type { FeatureSet } from '../src/data/feature-set.js';
import { readFeatureFile, writeFeatureFile, type FeatureFile } from '../src/data/feature-file.js';
import { KnnCosineDetector } from '../src/detectors/knn-cosine.js';
import { MahalanobisDetector } from '../src/detectors/mahalanobis.js';
import { initBackend } from '../src/runtime/backend.js';
import type { BenchRow } from './bench-row.js';
import { torchPython } from './torch-python.js';

const DIM = 1664;
const K = 1;
const COMPARED_SCORES = 50;
const SELF = fileURLToPath(import.meta.url);
const REFERENCE = fileURLToPath(new URL('./torch/bank_ref.py', import.meta.url));

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return value;
}

const settings = () => ({
  rows: positiveEnv('BENCH_BANK_ROWS', 100_000),
  queries: positiveEnv('BENCH_BANK_QUERIES', 1000),
  classes: positiveEnv('BENCH_BANK_CLASSES', 1000),
  threads: positiveEnv('BENCH_BANK_THREADS', 2),
  parts: (process.env.BENCH_BANK_PARTS ?? 'knn,gaussian').split(',').filter((part): part is 'knn' | 'gaussian' => part === 'knn' || part === 'gaussian'),
});

/** Each bank is made in a child, so this process never holds one while the measured sides run. */
function writeBankInChild(path: string, rows: number, classes: number): void {
  execFileSync(process.execPath, ['--import=tsx', SELF, '--write-bank', path, String(rows), String(classes)], { stdio: ['ignore', 'inherit', 'inherit'] });
}

interface SideRun {
  seconds: number;
  scores: number[];
  peakRssBytes: number;
  readSeconds?: number;
  backend?: string;
  version?: string;
}

/** This process's peak RSS (VmHWM: getrusage's maxRSS survives exec on Linux and would be the parent's). */
function peakRssBytes(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

/** Row r: uniform noise around its class centre (labels r mod classes), so the class means differ. */
function writeBank(path: string, rows: number, classes: number): void {
  const random = new SeededRandom(7);
  const centres = Float32Array.from({ length: classes * DIM }, () => random.next() - 0.5);
  const vectors = new Float32Array(rows * DIM);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const label = r % classes;
    labels[r] = label;
    for (let d = 0; d < DIM; d++) vectors[r * DIM + d] = centres[label * DIM + d]! + random.next() - 0.5;
  }
  const ids = Array.from({ length: rows }, (_, r) => `bank/${r}`);
  const file: FeatureFile = {
    ids,
    labels,
    classNames: Array.from({ length: classes }, (_, c) => `class-${c}`),
    dim: DIM,
    vectors,
    sourcePaths: ids,
    sourceSha256: ids.map(() => '0'.repeat(64)),
    provenance: { encoderId: 'bench', weightsSha256: '0'.repeat(64), kind: 'pre-projection', preprocess: { mode: 'clip', size: 224, background: [0, 0, 0] }, sourceName: 'bench', sourceFingerprint: 'bench' },
    failures: [],
  } as FeatureFile;
  writeFeatureFile(path, file);
}

function readQueries(path: string): FeatureSet {
  const bytes = readFileSync(path);
  const vectors = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
  const rows = vectors.length / DIM;
  return { ids: Array.from({ length: rows }, (_, i) => `q${i}`), labels: new Int32Array(rows).fill(-1), classNames: [], dim: DIM, vectors };
}

/** Child mode: one advood side, reading the bank through the features-file reader (the feature cache's path). */
async function advoodChild(mode: string, dir: string): Promise<void> {
  const backend = await initBackend({ request: process.env.BENCH_BANK_BACKEND ?? 'auto' });
  const queries = readQueries(join(dir, 'queries.f32'));
  let started = performance.now();
  const bank = readFeatureFile(join(dir, 'bank.arrow'));
  const readSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  let scores: Float64Array;
  if (mode === 'knn') {
    const detector = new KnnCosineDetector({ k: K });
    detector.fit({ train: bank });
    scores = detector.score(queries);
  } else {
    const detector = new MahalanobisDetector();
    await detector.fit({ train: bank });
    const seconds = (performance.now() - started) / 1000;
    const first = { ...queries, ids: queries.ids.slice(0, COMPARED_SCORES), labels: queries.labels.subarray(0, COMPARED_SCORES), vectors: queries.vectors.subarray(0, COMPARED_SCORES * DIM) };
    const run: SideRun = { seconds, scores: Array.from(detector.score(first)), peakRssBytes: peakRssBytes(), readSeconds, backend: backend.chosen };
    process.stdout.write(`${JSON.stringify(run)}\n`);
    return;
  }
  const seconds = (performance.now() - started) / 1000;
  const run: SideRun = { seconds, scores: Array.from(scores.subarray(0, COMPARED_SCORES)), peakRssBytes: peakRssBytes(), readSeconds, backend: `${backend.chosen} (${backend.threads || 'default'} threads)` };
  process.stdout.write(`${JSON.stringify(run)}\n`);
}

function lastJsonLine(output: string): SideRun {
  return JSON.parse(output.trim().split('\n').at(-1)!) as SideRun;
}

function runAdvood(mode: string, dir: string, threads: number): SideRun {
  const env = { ...process.env, TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: '1' };
  return lastJsonLine(execFileSync(process.execPath, ['--import=tsx', SELF, '--child', mode, dir], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 }));
}

function runTorch(mode: string, dir: string, threads: number): SideRun {
  const args = mode === 'knn' ? [REFERENCE, 'knn', join(dir, 'bank.arrow'), join(dir, 'queries.f32'), String(K), String(threads)] : [REFERENCE, 'gaussian', join(dir, 'bank.arrow'), join(dir, 'queries.f32'), String(threads)];
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  return lastJsonLine(execFileSync(torchPython(), args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 }));
}

/** Largest |a − b| / max(1, |b|) over the compared scores. */
function maxRelativeDifference(a: number[], b: number[]): number {
  let max = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) max = Math.max(max, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return max;
}

const mib = (bytes: number) => bytes / 1024 ** 2;

export async function benchBanks(): Promise<BenchRow[]> {
  const { rows, queries, classes, threads, parts } = settings();
  const dir = mkdtempSync(join(tmpdir(), 'advood-bench-banks-'));
  try {
    // Enough rows beside D for a positive definite covariance on both sides (PyTorch's Cholesky does not shrink).
    const small = Math.max(2 * (DIM + classes), Math.round(rows / 10));
    if (rows <= small) throw new Error(`BENCH_BANK_ROWS must exceed ${small} (2 × (D + classes)) for the smaller run beside it`);
    writeBankInChild(join(dir, 'bank.arrow'), rows, classes);
    const smallDir = join(dir, 'small');
    mkdirSync(smallDir);
    writeBankInChild(join(smallDir, 'bank.arrow'), small, classes);
    const random = new SeededRandom(11);
    const queryValues = Float32Array.from({ length: queries * DIM }, () => random.next() - 0.5);
    writeFileSync(join(dir, 'queries.f32'), queryValues);
    writeFileSync(join(smallDir, 'queries.f32'), queryValues);
    const bankMiB = mib(rows * DIM * 4);
    const size = `${rows.toLocaleString('en-US')} × ${DIM}`;
    const torchName = (run: SideRun) => `PyTorch ${run.version}, ${threads} threads`;
    const rowsOut: BenchRow[] = [];
    for (const mode of parts) {
      const ours = runAdvood(mode, dir, threads);
      const theirs = runTorch(mode, dir, threads);
      // The 10× smaller bank beside it: the peak's growth per bank byte is 1 when the bank is held once.
      const oursSmall = runAdvood(mode, smallDir, threads);
      const theirsSmall = runTorch(mode, smallDir, threads);
      const grownBytes = (rows - small) * DIM * 4;
      const growth = (big: SideRun, little: SideRun) => ((big.peakRssBytes - little.peakRssBytes) / grownBytes).toFixed(2);
      const agreement = `max relative score difference on ${COMPARED_SCORES} queries ${maxRelativeDifference(ours.scores, theirs.scores).toExponential(1)}`;
      const memory =
        `bank ${bankMiB.toFixed(0)} MiB; at ${small.toLocaleString('en-US')} rows advood ${mib(oursSmall.peakRssBytes).toFixed(0)} MiB, PyTorch ${mib(theirsSmall.peakRssBytes).toFixed(0)} MiB; ` +
        `peak growth per bank byte advood ${growth(ours, oursSmall)}, PyTorch ${growth(theirs, theirsSmall)} (1.00 = the bank held once)`;
      if (mode === 'knn') {
        rowsOut.push(
          {
            name: `k-NN cosine over a ${size} bank (features file, streamed in blocks), ${queries} queries, k=${K}`,
            unit: 'queries/s',
            advood: queries / ours.seconds,
            reference: queries / theirs.seconds,
            referenceName: `${torchName(theirs)}: torch.mm + topk over blocks of the memory-mapped file`,
            note: `advood on ${ours.backend}, fit + score ${ours.seconds.toFixed(2)} s (file read ${ours.readSeconds!.toFixed(1)} s, not counted); ${agreement}`,
          },
          { name: `k-NN over a ${size} bank, peak RSS of the process`, unit: 'MiB', advood: mib(ours.peakRssBytes), reference: mib(theirs.peakRssBytes), referenceName: torchName(theirs), note: memory },
        );
      } else {
        rowsOut.push(
          {
            name: `Mahalanobis fit (class means + shared covariance + Cholesky, float64), ${size}, ${classes} classes`,
            unit: 's',
            advood: ours.seconds,
            reference: theirs.seconds,
            referenceName: `${torchName(theirs)}: float64 index_add + mm over blocks`,
            note: `advood's float64 kernel runs in JS on one thread (tfjs has no float64 products); ${agreement}`,
          },
          { name: `Mahalanobis fit on ${size}, peak RSS of the process`, unit: 'MiB', advood: mib(ours.peakRssBytes), reference: mib(theirs.peakRssBytes), referenceName: torchName(theirs), note: memory },
        );
      }
    }
    return rowsOut;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const child = process.argv.indexOf('--child');
  const bank = process.argv.indexOf('--write-bank');
  if (bank > 0) {
    writeBank(process.argv[bank + 1]!, Number(process.argv[bank + 2]), Number(process.argv[bank + 3]));
  } else if (child > 0) {
    await advoodChild(process.argv[child + 1]!, process.argv[child + 2]!);
  } else {
    for (const row of await benchBanks()) {
      console.log(`${row.name}: advood ${row.advood.toFixed(2)} ${row.unit}, ${row.referenceName} ${row.reference.toFixed(2)} ${row.unit}, ratio advood/reference = ${(row.advood / row.reference).toFixed(2)}`);
      if (row.note) console.log(`  ${row.note}`);
    }
  }
}
