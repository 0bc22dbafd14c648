/**
 * k-NN cosine scoring throughput: advood's blocked tfjs detector (src/detectors/knn-cosine.ts) on a 50k × 1024
 * bank with 2k queries, against brute force on the same data in the same run — numpy (BLAS matmul +
 * partition) and torch.mm + topk in the reference venv's PyTorch 2.x (bench/torch/knn_ref.py). The faster of the two
 * is the reference. Also checks that the first 50 scores agree.
 *
 * Run: npx tsx bench/knn.ts [--backend wasm]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeatureSet } from '../src/data/feature-set.js';
import { KnnCosineDetector } from '../src/detectors/knn-cosine.js';
import { SeededRandom } from '../src/core/seeded-random.js';
import { initBackend } from '../src/runtime/backend.js';
import type { BenchRow } from './bench-row.js';
import { torchPython } from './torch-python.js';

const BANK = 50_000;
const QUERIES = 2_000;
const DIM = 1024;
const K = 1;
const REFERENCE = fileURLToPath(new URL('./torch/knn_ref.py', import.meta.url));

function randomFeatures(random: SeededRandom, rows: number, prefix: string): FeatureSet {
  const vectors = new Float32Array(rows * DIM);
  for (let i = 0; i < vectors.length; i++) vectors[i] = random.next() - 0.5;
  return { ids: Array.from({ length: rows }, (_, i) => `${prefix}${i}`), labels: new Int32Array(rows).fill(-1), classNames: [], dim: DIM, vectors };
}

export interface ReferenceRun {
  seconds?: number;
  scores?: number[];
  error?: string;
}

function knnData(): { bank: FeatureSet; queries: FeatureSet } {
  const random = new SeededRandom(42);
  return { bank: randomFeatures(random, BANK, 'b'), queries: randomFeatures(random, QUERIES, 'q') };
}

/** advood's k-NN detector, fit + score, on the active backend: seconds and the scores. */
export function timeKnn(): { seconds: number; scores: Float64Array } {
  const { bank, queries } = knnData();
  const detector = new KnnCosineDetector({ k: K });
  const start = performance.now();
  detector.fit({ train: bank });
  const scores = detector.score(queries);
  return { seconds: (performance.now() - start) / 1000, scores };
}

/** bench/torch/knn_ref.py on the same data with the given Python: per reference (numpy, torch), seconds and scores. */
export function knnReference(python: string): Record<string, ReferenceRun> {
  const { bank, queries } = knnData();
  const dir = mkdtempSync(join(tmpdir(), 'advood-bench-knn-'));
  try {
    writeFileSync(join(dir, 'bank.f32'), bank.vectors);
    writeFileSync(join(dir, 'queries.f32'), queries.vectors);
    const output = execFileSync(python, [REFERENCE, join(dir, 'bank.f32'), join(dir, 'queries.f32'), String(DIM), String(K)], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    return JSON.parse(output) as Record<string, ReferenceRun>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const KNN_QUERIES = QUERIES;

export async function benchKnn(backend = 'wasm'): Promise<BenchRow[]> {
  const report = await initBackend({ request: backend });
  const { seconds: advoodSeconds, scores } = timeKnn();
  const reference = knnReference(torchPython());
  const runs = Object.entries(reference).filter(([, r]) => r.seconds !== undefined) as [string, Required<ReferenceRun>][];
  if (runs.length === 0) throw new Error(`no reference ran: ${JSON.stringify(reference)}`);
  const [bestName, best] = runs.reduce((a, b) => (b[1].seconds < a[1].seconds ? b : a));
  let maxDiff = 0;
  for (let i = 0; i < best.scores.length; i++) maxDiff = Math.max(maxDiff, Math.abs(Math.log(scores[i]!) - Math.log(best.scores[i]!)));
  const others = runs.map(([name, r]) => `${name} ${(QUERIES / r.seconds).toFixed(0)} q/s`).join(', ');
  return [
    {
      name: `k-NN cosine scoring, ${BANK / 1000}k × ${DIM} bank, ${QUERIES} queries, k=${K}`,
      unit: 'queries/s',
      advood: QUERIES / advoodSeconds,
      reference: QUERIES / best.seconds,
      referenceName: bestName === 'torch' ? 'PyTorch 2.x torch.mm + topk (CPU)' : 'numpy matmul + partition (CPU)',
      note: `advood on ${report.chosen} (${report.threads || 'default'} thread(s)), fit + score; references: ${others}; max |Δcos| on 50 queries ${maxDiff.toExponential(1)}`,
    },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const backendFlag = process.argv.indexOf('--backend');
  const rows = await benchKnn(backendFlag > 0 ? process.argv[backendFlag + 1] : 'wasm');
  for (const row of rows) {
    console.log(`${row.name}: advood ${row.advood.toFixed(0)} ${row.unit}, ${row.referenceName} ${row.reference.toFixed(0)} ${row.unit}, ratio advood/reference = ${(row.advood / row.reference).toFixed(2)}`);
    if (row.note) console.log(`  ${row.note}`);
  }
}
