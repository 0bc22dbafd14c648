/**
 * One step of the feature-collision attack (paper-smooth: Adam, λ = 5e3) on DINOv2 ViT-B/14 at 224 px, batch 8:
 * advood on the native tensorflow backend (TF_NUM_INTRAOP_THREADS=2) against PyTorch CPU doing the same step on
 * transformers' own Dinov2Model (bench/torch/dinov2_step_ref.py, torch.set_num_threads(2)), in the same run. The
 * model has facebook/dinov2-base's shapes and random weights (speed does not depend on them), made by transformers
 * and loaded by advood through `--target DIR`, so both sides resample the 37×37 positions to 16×16.
 *
 *   npx tsx bench/dinov2-base.ts             (BENCH_RUNS=n timed steps, default 3)
 *   npx tsx bench/dinov2-base.ts --advood-only DIR    one advood timing as JSON, with this process's env
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { advoodCacheDir } from '../src/core/cache-dir.js';
import { createEncoder } from '../src/models/create-encoder.js';
import { ATTACK_STEP_BATCH, timeAdvoodAttackStep, type StepTiming } from './attack-step.js';
import type { BenchRow } from './bench-row.js';
import { referencePython } from '../test/helpers/reference-venv.js';

const THREADS = 2;
const SELF = fileURLToPath(import.meta.url);
const TORCH_SCRIPT = join(dirname(SELF), 'torch', 'dinov2_step_ref.py');

function checkpoint(python: string): string {
  const dir = join(advoodCacheDir('bench'), 'dinov2-base-random');
  if (!existsSync(join(dir, 'model.safetensors'))) execFileSync(python, [TORCH_SCRIPT, 'make', '--out', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

export async function benchDinov2Base(options: { runs?: number } = {}): Promise<BenchRow[]> {
  const runs = options.runs ?? Number(process.env.BENCH_RUNS ?? 3);
  const reference = referencePython();
  if ('unavailable' in reference) throw new Error(`bench/dinov2-base.ts needs the reference venv: ${reference.unavailable}`);
  const dir = checkpoint(reference.python);
  const env = { ...process.env, TF_NUM_INTRAOP_THREADS: String(THREADS), TF_NUM_INTEROP_THREADS: '1', BENCH_RUNS: String(runs) };
  const ours = JSON.parse(
    execFileSync(process.execPath, ['--import=tsx', SELF, '--advood-only', dir], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!,
  ) as StepTiming;
  const torchArgs = [TORCH_SCRIPT, 'measure', '--dir', dir, '--batch', String(ATTACK_STEP_BATCH), '--threads', String(THREADS), '--runs', String(runs)];
  const torch = JSON.parse(execFileSync(reference.python, torchArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!) as {
    torch: string;
    step_ms: number;
    min_ms: number;
    max_ms: number;
  };
  const B = ATTACK_STEP_BATCH;
  return [
    {
      name: `dinov2-b-14 attack step batch ${B}, tensorflow ${THREADS} threads`,
      unit: 'ms/img',
      advood: ours.medianMs / B,
      reference: torch.step_ms / B,
      referenceName: `PyTorch ${torch.torch} CPU (transformers Dinov2Model, sdpa), ${THREADS} threads`,
      note:
        `paper-smooth preset, 224 px, median of ${ours.steps} steps; spread advood ${(ours.minMs / B).toFixed(0)}–${(ours.maxMs / B).toFixed(0)}, ` +
        `PyTorch ${(torch.min_ms / B).toFixed(0)}–${(torch.max_ms / B).toFixed(0)} ms/img`,
    },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const only = process.argv.indexOf('--advood-only');
  if (only >= 0) {
    const dir = process.argv[only + 1]!;
    const timing = await timeAdvoodAttackStep(Number(process.env.BENCH_RUNS ?? 3), 'tensorflow', (backend) => createEncoder(dir, { backend }));
    process.stdout.write(JSON.stringify(timing) + '\n');
  } else {
    for (const r of await benchDinov2Base()) {
      console.log(`${r.name}: ${r.advood.toFixed(0)} ${r.unit} vs ${r.reference.toFixed(0)} (${r.referenceName}), ratio ${(r.advood / r.reference).toFixed(2)} [${r.note}]`);
    }
  }
}
