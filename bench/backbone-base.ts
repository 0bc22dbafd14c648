/**
 * One step of the feature-collision attack (paper-smooth: Adam, λ = 5e3) on each non-CLIP backbone family's base
 * model at 224 px, batch 8: advood on the native tensorflow backend (TF_NUM_INTRAOP_THREADS=2) against PyTorch CPU
 * doing the same step on transformers' own model (bench/torch/backbone_step_ref.py, torch.set_num_threads(2)), in
 * the same run. Each model has its base checkpoint's shapes and random weights (speed does not depend on them), made
 * by transformers or open_clip and loaded by advood through `--target DIR`, and both sides attack the library's own
 * image embedding: DINOv2 ViT-B/14's pooler_output (positions resampled 37×37 → 16×16 on both sides), SigLIP B/16's
 * MAP-head output and EVA-02-CLIP B/16's CLS token before its head (timm's pre-logits).
 *
 *   npx tsx bench/backbone-base.ts [FAMILY …]  (BENCH_RUNS=n timed steps, default 3; all families unless named)
 *   npx tsx bench/backbone-base.ts --advood-only DIR FEATURES    one advood timing as JSON, with this process's env
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { advoodCacheDir } from '../src/core/cache-dir.js';
import { createEncoder } from '../src/models/create-encoder.js';
import type { EmbeddingKind } from '../src/models/encoder.js';
import { ATTACK_STEP_BATCH, timeAdvoodAttackStep, type StepTiming } from './attack-step.js';
import type { BenchRow } from './bench-row.js';
import { referencePython } from '../test/helpers/reference-venv.js';

const THREADS = 2;
const SELF = fileURLToPath(import.meta.url);
const TORCH_SCRIPT = join(dirname(SELF), 'torch', 'backbone_step_ref.py');

/** The families measured, with the preset whose shapes the random model has and the features both sides attack. */
const BACKBONES = [
  { family: 'dinov2', preset: 'dinov2-b-14', features: 'pre-projection', torchModel: 'transformers Dinov2Model' },
  { family: 'siglip', preset: 'siglip-b-16-224', features: 'projected', torchModel: 'transformers SiglipVisionModel' },
  { family: 'eva-clip', preset: 'eva02-b-16', features: 'pre-projection', torchModel: 'open_clip EVA02-B-16 on timm' },
] as const;

function checkpoint(python: string, family: string): string {
  const dir = join(advoodCacheDir('bench'), `${family}-base-random`);
  if (!existsSync(join(dir, 'model.safetensors')) && !existsSync(join(dir, 'open_clip_model.safetensors'))) execFileSync(python, [TORCH_SCRIPT, 'make', '--family', family, '--out', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

async function benchBackbone(python: string, backbone: (typeof BACKBONES)[number], runs: number): Promise<BenchRow> {
  const dir = checkpoint(python, backbone.family);
  const env = { ...process.env, TF_NUM_INTRAOP_THREADS: String(THREADS), TF_NUM_INTEROP_THREADS: '1', BENCH_RUNS: String(runs) };
  const ours = JSON.parse(
    execFileSync(process.execPath, ['--import=tsx', SELF, '--advood-only', dir, backbone.features], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!,
  ) as StepTiming;
  const torchArgs = [TORCH_SCRIPT, 'measure', '--family', backbone.family, '--dir', dir, '--batch', String(ATTACK_STEP_BATCH), '--threads', String(THREADS), '--runs', String(runs)];
  const torch = JSON.parse(execFileSync(python, torchArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!) as {
    torch: string;
    step_ms: number;
    min_ms: number;
    max_ms: number;
  };
  const B = ATTACK_STEP_BATCH;
  return {
    name: `${backbone.preset} attack step batch ${B}, tensorflow ${THREADS} threads`,
    unit: 'ms/img',
    advood: ours.medianMs / B,
    reference: torch.step_ms / B,
    referenceName: `PyTorch ${torch.torch} CPU (${backbone.torchModel}, sdpa), ${THREADS} threads`,
    note:
      `paper-smooth preset on '${backbone.features}' features, 224 px, median of ${ours.steps} steps; spread advood ${(ours.minMs / B).toFixed(0)}–${(ours.maxMs / B).toFixed(0)}, ` +
      `PyTorch ${(torch.min_ms / B).toFixed(0)}–${(torch.max_ms / B).toFixed(0)} ms/img`,
  };
}

export async function benchBackbones(options: { runs?: number; families?: readonly string[] } = {}): Promise<BenchRow[]> {
  const runs = options.runs ?? Number(process.env.BENCH_RUNS ?? 3);
  const reference = referencePython();
  if ('unavailable' in reference) throw new Error(`bench/backbone-base.ts needs the reference venv: ${reference.unavailable}`);
  const rows: BenchRow[] = [];
  const unknown = options.families?.filter((f) => !BACKBONES.some((b) => b.family === f)) ?? [];
  if (unknown.length) throw new Error(`bench/backbone-base.ts: no backbone ${unknown.join(', ')}; it measures ${BACKBONES.map((b) => b.family).join(', ')}`);
  for (const backbone of BACKBONES.filter((b) => !options.families?.length || options.families.includes(b.family))) rows.push(await benchBackbone(reference.python, backbone, runs));
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const only = process.argv.indexOf('--advood-only');
  if (only >= 0) {
    const dir = process.argv[only + 1]!;
    const features = process.argv[only + 2] as EmbeddingKind;
    const timing = await timeAdvoodAttackStep(Number(process.env.BENCH_RUNS ?? 3), 'tensorflow', (backend) => createEncoder(dir, { backend }), features);
    process.stdout.write(JSON.stringify(timing) + '\n');
  } else {
    for (const r of await benchBackbones({ families: process.argv.slice(2) })) {
      console.log(`${r.name}: ${r.advood.toFixed(0)} ${r.unit} vs ${r.reference.toFixed(0)} (${r.referenceName}), ratio ${(r.advood / r.reference).toFixed(2)} [${r.note}]`);
    }
  }
}
