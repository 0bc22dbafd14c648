/**
 * One step of the feature-collision attack on CLIP ViT-B/32 (random weights, real shapes) at batch 8: forward,
 * input gradient, Adam update on δ, clamp, with the paper's smoothness penalty (the paper-smooth preset) — on
 * tfjs-wasm through advood's own attack code, against PyTorch CPU doing the same step
 * (bench/torch/attack_step_ref.py) at 1 and 2 threads, in the same run.
 *
 * The advood figure is the time between consecutive steps of one `featureCollisionAttack` run (its onStep
 * callback fires once per step, after the cosines are read back), so it covers everything a real step does.
 * advood runs twice, each in its own process: the default single-threaded wasm, and ADVOOD_WASM_THREADS=2
 * (src/runtime/wasm-threads.ts); each is compared with PyTorch at the same thread count.
 *
 *   npx tsx bench/attack-step.ts            (BENCH_RUNS=n timed steps, default 5)
 *   npx tsx bench/attack-step.ts --advood-only    one advood timing as JSON, with this process's env
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { resolveAttackPreset } from '../attacks/attack-params.js';
import { createAttack } from '../attacks/registry.js';
import type { EmbeddingKind, Encoder } from '../src/models/encoder.js';
import { initBackend, type BackendReport } from '../src/runtime/backend.js';
import type { BenchRow } from './bench-row.js';
import { torchPython } from './torch-python.js';
import { randomVitB32Encoder } from './random-vit.js';
import { median } from './timing.js';

export const ATTACK_STEP_BATCH = 8;
const BATCH = ATTACK_STEP_BATCH;
const TORCH_THREADS = [1, 2] as const;
const PRESET = 'paper-smooth'; // Adam lr 1e-3, smoothness λ = 5e3, pre-projection features
const TORCH_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch', 'attack_step_ref.py');

interface TorchResult {
  threads: number;
  batch: number;
  step_ms: number;
  min_ms: number;
  max_ms: number;
}

export interface StepTiming {
  medianMs: number;
  minMs: number;
  maxMs: number;
  steps: number;
  /** wasm pool threads actually used. */
  threads: number;
}

/**
 * Times advood's attack step: `runs` timed intervals between steps, after one untimed warm-up step. `makeEncoder`
 * builds the target once the backend is up (default: the random ViT-B/32).
 */
export async function timeAdvoodAttackStep(
  runs: number,
  backendName = 'wasm',
  makeEncoder: (backend: BackendReport) => Encoder | Promise<Encoder> = randomVitB32Encoder,
  /** The features attacked; absent: the preset's. */
  features?: EmbeddingKind,
): Promise<StepTiming> {
  const backend = await initBackend({ request: backendName });
  const encoder = await makeEncoder(backend);
  const { params } = resolveAttackPreset(PRESET, { batch: BATCH, steps: runs + 1, ...(features && { features }) });
  const attack = createAttack(params, 1);
  const clean = tf.randomUniform([BATCH, encoder.inputSize, encoder.inputSize, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const targets = tf.randomNormal([BATCH, encoder.embedDim], 0, 1, 'float32', 2) as tf.Tensor2D;
  const stamps: number[] = [];
  try {
    const result = attack.run(encoder, { clean, targets, itemKeys: Array.from({ length: BATCH }, (_, i) => `item-${i}`) }, () => stamps.push(performance.now()));
    tf.dispose(result.adv);
  } finally {
    tf.dispose([clean, targets]);
    encoder.dispose();
  }
  // stamps[0] ends step 0 (the warm-up); each later interval is one whole step.
  const intervals = stamps.slice(1).map((t, i) => t - stamps[i]!);
  return { medianMs: median(intervals), minMs: Math.min(...intervals), maxMs: Math.max(...intervals), steps: intervals.length, threads: backend.threads };
}

const SELF = fileURLToPath(import.meta.url);

/** advood's step timing in a fresh process with the given wasm thread count (the backend starts once per process). */
function timeAdvoodInChild(wasmThreads: number, runs: number): StepTiming {
  const env = { ...process.env, ADVOOD_WASM_THREADS: String(wasmThreads), BENCH_RUNS: String(runs) };
  const out = execFileSync(process.execPath, ['--import=tsx', SELF, '--advood-only'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').at(-1)!) as StepTiming;
}

function runTorch(runs: number): { version: string; results: TorchResult[] } {
  const args = [TORCH_SCRIPT, '--batch', String(BATCH), '--threads', ...TORCH_THREADS.map(String), '--runs', String(runs)];
  const parsed = JSON.parse(execFileSync(torchPython(), args, { encoding: 'utf8' })) as { torch: string; results: TorchResult[] };
  return { version: parsed.torch, results: parsed.results };
}

export async function benchAttackStep(options: { runs?: number } = {}): Promise<BenchRow[]> {
  const runs = options.runs ?? Number(process.env.BENCH_RUNS ?? 5);
  const ours = TORCH_THREADS.map((threads) => timeAdvoodInChild(threads, runs));
  const torch = runTorch(runs);
  return TORCH_THREADS.map((threads, i) => {
    const mine = ours[i]!;
    if (mine.threads !== threads) throw new Error(`advood ran with ${mine.threads} wasm threads, asked for ${threads}`);
    const ref = torch.results.find((r) => r.threads === threads);
    if (!ref) throw new Error(`attack_step_ref.py returned no result for ${threads} threads`);
    const plural = threads > 1 ? 's' : '';
    return {
      name: `vit-b-32 attack step batch ${BATCH}, wasm ${threads} thread${plural}`,
      unit: 'ms/img',
      advood: mine.medianMs / BATCH,
      reference: ref.step_ms / BATCH,
      referenceName: `PyTorch ${torch.version} CPU, ${threads} thread${plural}`,
      note:
        `${PRESET} preset (Adam, λ = 5e3), 224 px, median of ${mine.steps} steps; ` +
        `spread advood ${(mine.minMs / BATCH).toFixed(0)}–${(mine.maxMs / BATCH).toFixed(0)}, ` +
        `PyTorch ${(ref.min_ms / BATCH).toFixed(0)}–${(ref.max_ms / BATCH).toFixed(0)} ms/img`,
    };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--advood-only')) {
    process.stdout.write(JSON.stringify(await timeAdvoodAttackStep(Number(process.env.BENCH_RUNS ?? 5))) + '\n');
  } else {
    for (const r of await benchAttackStep()) {
      console.log(`${r.name.padEnd(44)} ${r.advood.toFixed(1).padStart(7)} ${r.unit} vs ${r.reference.toFixed(1).padStart(7)} (${r.referenceName})  ratio ${(r.advood / r.reference).toFixed(2)}  [${r.note}]`);
    }
  }
}
