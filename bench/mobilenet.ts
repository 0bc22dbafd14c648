/**
 * MobileNetV2 (the embedded mobilenet-v2 target) on wasm against PyTorch CPU, measured in the same run:
 * forward and forward + backward-to-the-input, ms per image at batch 8, 128 and 224 px, median of several runs;
 * PyTorch 2.x from the reference venv (bench/torch-python.ts) runs a MobileNetV2 of the same shapes (bench/torch/mobilenet_ref.py)
 * at 1 and 2 threads. Also start-up: weights from advood's cache against decoding them from the nsfwjs bundle.
 *
 *   npx tsx bench/mobilenet.ts            (BENCH_RUNS=n to change the number of timed runs, default 7)
 *
 * tfjs-wasm runs single-threaded in Node, so the 1-thread PyTorch row is the like-for-like comparison.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createEncoder } from '../src/models/create-encoder.js';
import { initBackend, type BackendReport } from '../src/runtime/backend.js';
import type { BenchRow } from './bench-row.js';
import { torchPython } from './torch-python.js';
import { timeRuns } from './timing.js';

const SIZES = [128, 224] as const;
export const MOBILENET_BATCH = 8;
const BATCH = MOBILENET_BATCH;
const TORCH_THREADS = [1, 2] as const;
const TORCH_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch', 'mobilenet_ref.py');

interface TorchResult {
  threads: number;
  size: number;
  forward_ms_per_image: number;
  forward_backward_ms_per_image: number;
}

function runTorch(runs: number): { version: string; results: TorchResult[] } {
  const args = [TORCH_SCRIPT, '--sizes', ...SIZES.map(String), '--batch', String(BATCH), '--threads', ...TORCH_THREADS.map(String), '--runs', String(runs)];
  const out = execFileSync(torchPython(), args, { encoding: 'utf8' });
  const parsed = JSON.parse(out) as { torch: string; results: TorchResult[] };
  return { version: parsed.torch, results: parsed.results };
}

/** Start-up times of createEncoder in a fresh cache: first decoding nsfwjs's bundle, then reading the cache. */
async function measureStartUp(backend: Awaited<ReturnType<typeof initBackend>>): Promise<{ fromNsfwjs: number; fromCache: number }> {
  const previous = process.env.ADVOOD_CACHE;
  const dir = mkdtempSync(join(tmpdir(), 'advood-bench-mobilenet-'));
  process.env.ADVOOD_CACHE = dir;
  try {
    let start = performance.now();
    (await createEncoder('mobilenet-v2', { backend })).dispose();
    const fromNsfwjs = performance.now() - start;
    start = performance.now();
    (await createEncoder('mobilenet-v2', { backend })).dispose();
    return { fromNsfwjs, fromCache: performance.now() - start };
  } finally {
    if (previous === undefined) delete process.env.ADVOOD_CACHE;
    else process.env.ADVOOD_CACHE = previous;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** advood's MobileNetV2 at batch 8 on the active backend: ms per image, forward and forward + input gradient. */
export async function timeMobileNet(
  backend: BackendReport,
  sizes: readonly number[],
  runs: number,
): Promise<Map<number, { forward: number; forwardBackward: number }>> {
  const advood = new Map<number, { forward: number; forwardBackward: number }>();
  for (const size of sizes) {
    const encoder = await createEncoder('mobilenet-v2', { backend, inputSize: size });
    const x = tf.randomUniform([BATCH, size, size, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const forward = timeRuns(() => {
      const features = encoder.encodeImage(x);
      features.dataSync();
      features.dispose();
    }, runs).median;
    const forwardBackward = timeRuns(() => {
      const gradient = tf.grad((input: tf.Tensor) => tf.sum(encoder.encodeImage(input as tf.Tensor4D)))(x);
      gradient.dataSync();
      gradient.dispose();
    }, runs).median;
    advood.set(size, { forward: forward / BATCH, forwardBackward: forwardBackward / BATCH });
    x.dispose();
    encoder.dispose();
  }
  return advood;
}

export async function benchMobileNet(options: { runs?: number } = {}): Promise<BenchRow[]> {
  const runs = options.runs ?? Number(process.env.BENCH_RUNS ?? 7);
  const backend = await initBackend({ request: 'wasm' });
  // Start-up first, so that the nsfwjs path pays its module import as a real first run does.
  const startUp = await measureStartUp(backend);
  const rows: BenchRow[] = [
    {
      name: 'mobilenet-v2 start-up (createEncoder)',
      unit: 'ms',
      advood: startUp.fromCache,
      reference: startUp.fromNsfwjs,
      referenceName: 'first start: decode nsfwjs bundle, fold BN, write cache',
      note: 'advood = later starts, reading the verified weight cache',
    },
  ];

  const advood = await timeMobileNet(backend, SIZES, runs);

  const torch = runTorch(runs);
  for (const size of SIZES) {
    const ours = advood.get(size)!;
    for (const threads of TORCH_THREADS) {
      const ref = torch.results.find((r) => r.size === size && r.threads === threads);
      if (!ref) throw new Error(`mobilenet_ref.py returned no result for ${size} px, ${threads} threads`);
      const referenceName = `PyTorch ${torch.version} CPU, ${threads} thread${threads > 1 ? 's' : ''}`;
      const note = `batch ${BATCH}, median of ${runs}, tfjs-wasm 1 thread`;
      rows.push(
        { name: `mobilenet-v2 forward ${size}px`, unit: 'ms/img', advood: ours.forward, reference: ref.forward_ms_per_image, referenceName, note },
        {
          name: `mobilenet-v2 forward+input-gradient ${size}px`,
          unit: 'ms/img',
          advood: ours.forwardBackward,
          reference: ref.forward_backward_ms_per_image,
          referenceName,
          note,
        },
      );
    }
  }
  return rows;
}

function printTable(rows: BenchRow[]): void {
  const header = ['benchmark', 'unit', 'advood', 'reference', 'advood/ref', 'reference is'];
  const body = rows.map((r) => [r.name, r.unit, r.advood.toFixed(1), r.reference.toFixed(1), (r.advood / r.reference).toFixed(2), r.referenceName]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of body) console.log(line(row));
  const notes = [...new Set(rows.map((r) => r.note).filter(Boolean))];
  for (const note of notes) console.log(`note: ${note}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printTable(await benchMobileNet());
}
