/**
 * CLIP ViT-B/32 vision tower (random weights, real shapes) on wasm against PyTorch CPU, measured in the same
 * run: forward and forward + backward-to-the-input, ms per image at batch 1 and 8, median of several runs.
 * PyTorch 2.x from the reference venv (bench/torch-python.ts) runs the same architecture (bench/torch/vit_ref.py) at 1 and 2
 * threads; tfjs-wasm runs single-threaded unless ADVOOD_WASM_THREADS opts in (src/runtime/wasm-threads.ts), so by
 * default the 1-thread row is the like-for-like comparison.
 *
 *   npx tsx bench/vit.ts            (BENCH_RUNS=n to change the number of timed runs, default 5)
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import type { BenchRow } from './bench-row.js';
import { torchPython } from './torch-python.js';
import { randomVitB32Tower } from './random-vit.js';
import { timeRuns } from './timing.js';

const BATCHES = [1, 8] as const;
const TORCH_THREADS = [1, 2] as const;
const TORCH_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch', 'vit_ref.py');

interface TorchResult {
  threads: number;
  batch: number;
  forward_ms_per_image: number;
  forward_backward_ms_per_image: number;
}

function runTorch(runs: number): { version: string; results: TorchResult[] } {
  const args = [TORCH_SCRIPT, '--batches', ...BATCHES.map(String), '--threads', ...TORCH_THREADS.map(String), '--runs', String(runs)];
  const parsed = JSON.parse(execFileSync(torchPython(), args, { encoding: 'utf8' })) as { torch: string; results: TorchResult[] };
  return { version: parsed.torch, results: parsed.results };
}

/** advood's random ViT-B/32 tower on the active backend: ms per image, forward and forward + input gradient. */
export function timeVit(batches: readonly number[], runs: number): Map<number, { forward: number; forwardBackward: number }> {
  const tower = randomVitB32Tower();
  const ours = new Map<number, { forward: number; forwardBackward: number }>();
  for (const batch of batches) {
    const x = tf.randomUniform([batch, 224, 224, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const forward = timeRuns(() => {
      const y = tower.forward(x, 'pre-projection');
      y.dataSync();
      y.dispose();
    }, runs).median;
    const forwardBackward = timeRuns(() => {
      const g = tf.grad((input: tf.Tensor) => tf.sum(tower.forward(input as tf.Tensor4D, 'projected')))(x);
      g.dataSync();
      g.dispose();
    }, runs).median;
    ours.set(batch, { forward: forward / batch, forwardBackward: forwardBackward / batch });
    x.dispose();
  }
  tower.dispose();
  return ours;
}

export async function benchVit(options: { runs?: number } = {}): Promise<BenchRow[]> {
  const runs = options.runs ?? Number(process.env.BENCH_RUNS ?? 5);
  const backend = await initBackend({ request: 'wasm' });
  const ours = timeVit(BATCHES, runs);

  const torch = runTorch(runs);
  const rows: BenchRow[] = [];
  for (const batch of BATCHES) {
    const mine = ours.get(batch)!;
    for (const threads of TORCH_THREADS) {
      const ref = torch.results.find((r) => r.batch === batch && r.threads === threads);
      if (!ref) throw new Error(`vit_ref.py returned no result for batch ${batch}, ${threads} threads`);
      const referenceName = `PyTorch ${torch.version} CPU, ${threads} thread${threads > 1 ? 's' : ''}`;
      const note = `ViT-B/32 vision tower, 224 px, median of ${runs}, tfjs-wasm ${backend.threads} thread${backend.threads > 1 ? 's' : ''}`;
      rows.push(
        { name: `vit-b-32 forward batch ${batch}`, unit: 'ms/img', advood: mine.forward, reference: ref.forward_ms_per_image, referenceName, note },
        { name: `vit-b-32 forward+input-gradient batch ${batch}`, unit: 'ms/img', advood: mine.forwardBackward, reference: ref.forward_backward_ms_per_image, referenceName, note },
      );
    }
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchVit();
  for (const r of rows) {
    console.log(`${r.name.padEnd(40)} ${r.advood.toFixed(1).padStart(8)} ${r.unit}  vs ${r.reference.toFixed(1).padStart(8)} (${r.referenceName})  ratio ${(r.advood / r.reference).toFixed(2)}`);
  }
}
