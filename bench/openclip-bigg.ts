/**
 * The headline target, proven: open_clip's own ViT-bigG-14 with random weights (test/reference/openclip_reference.py
 * make, ~10 GB of safetensors), loaded by advood through its real path (`--target DIR`: safetensors → tensors) on the
 * tensorflow backend, compared with what open_clip computes — pre-projection features and the input gradient of the
 * attack loss at batch 1 — and timed against PyTorch doing the same step (openclip_reference.py measure: the vision
 * tower alone, filled from the same file). Peak RSS of each side is measured in its own fresh process.
 * Too slow and too large for CI; writes bench/openclip-bigg.json, which `npm run bench` puts into BENCHMARKS.md.
 *
 *   npx tsx bench/openclip-bigg.ts [--dir DIR] [--model ViT-bigG-14] [--threads 2]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { initBackend } from '../src/runtime/backend.js';
import { advoodCacheDir } from '../src/core/cache-dir.js';
import { compareWithOpenClip, type OpenClipParity } from '../test/helpers/openclip-parity.js';
import { referencePython } from '../test/helpers/reference-venv.js';

const SELF = fileURLToPath(import.meta.url);
const REPO = join(dirname(SELF), '..');
const REFERENCE = join(REPO, 'test', 'reference', 'openclip_reference.py');
export const BIGG_RESULT = join(REPO, 'bench', 'openclip-bigg.json');

export interface BigGResult {
  model: string;
  date: string;
  machine: string;
  threads: number;
  parity: OpenClipParity;
  advood: { backend: string; tensorflow: string; stepSeconds: number; peakRssBytes: number };
  pytorch: { version: string; stepSeconds: number; peakRssBytes: number };
  command: string;
}

/** advood's side in this process (started as a child, so its peak RSS is its own). */
async function advoodSide(dir: string): Promise<{ parity: OpenClipParity; tensorflow: string; backend: string; peakRssBytes: number }> {
  const backend = await initBackend({ request: process.env.ADVOOD_BACKEND || 'tensorflow' });
  const parity = await compareWithOpenClip(dir, backend);
  return { parity, tensorflow: backend.native?.tensorflowVersion ?? '—', backend: backend.chosen, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

/**
 * advood (a child process, the real loading path) and PyTorch (openclip_reference.py measure) on the same random
 * open_clip checkpoint at batch 1, each in its own process: parity, step time and peak RSS.
 */
export function measureAgainstOpenClip(model: string, threads: number, dirArg?: string): BigGResult {
  const reference = referencePython();
  if ('unavailable' in reference) throw new Error(reference.unavailable);
  const { python } = reference;
  const dir = dirArg ?? join(advoodCacheDir('reference'), `openclip-${model}-seed0-batch1`);
  if (!existsSync(join(dir, 'meta.json'))) {
    mkdirSync(dir, { recursive: true });
    console.error(`making a random ${model} with open_clip in ${dir} (minutes; ~${model.includes('bigG') ? '10 GB' : 'GBs'} on disk)`);
    execFileSync(python, [REFERENCE, 'make', '--model', model, '--out', dir, '--batch', '1'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const threadEnv = { TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: '1' };
  console.error('advood: loading and stepping on the native backend');
  const ours = JSON.parse(
    execFileSync(process.execPath, ['--import=tsx', SELF, '--advood-side', '--dir', dir], { env: { ...process.env, ...threadEnv }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!,
  ) as Awaited<ReturnType<typeof advoodSide>>;
  // Kept before PyTorch runs: the advood side takes minutes, and a failing reference must not lose it.
  if (model === 'ViT-bigG-14') writeFileSync(`${BIGG_RESULT}.advood-side`, JSON.stringify(ours) + '\n');
  console.error('PyTorch: the same step');
  const torch = JSON.parse(
    execFileSync(python, [REFERENCE, 'measure', '--dir', dir, '--threads', String(threads), '--runs', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!,
  ) as { torch: string; step_s: number; peak_rss_bytes: number };
  const result: BigGResult = {
    model,
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus().length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB`,
    threads,
    parity: ours.parity,
    advood: { backend: ours.backend, tensorflow: ours.tensorflow, stepSeconds: ours.parity.stepSeconds, peakRssBytes: ours.peakRssBytes },
    pytorch: { version: torch.torch, stepSeconds: torch.step_s, peakRssBytes: torch.peak_rss_bytes },
    command: `npx tsx bench/openclip-bigg.ts --model ${model} --threads ${threads}`,
  };
  return result;
}

async function main(): Promise<void> {
  const args = await yargs(process.argv.slice(2))
    .option('dir', { type: 'string', describe: 'where the random checkpoint and open_clip outputs live (made if absent)' })
    .option('model', { type: 'string', default: 'ViT-bigG-14' })
    .option('threads', { type: 'number', default: cpus().length })
    .option('advood-side', { type: 'boolean', default: false, hidden: true })
    .strict()
    .parseAsync();
  const dir = args.dir ?? join(advoodCacheDir('reference'), `openclip-${args.model}-seed0-batch1`);
  if (args.advoodSide) {
    process.stdout.write(JSON.stringify(await advoodSide(dir)) + '\n');
    return;
  }
  const result = measureAgainstOpenClip(args.model, args.threads, args.dir);
  // The file BENCHMARKS.md's bigG section reads; other models only print (npm run bench's 'memory' suite runs them).
  if (args.model === 'ViT-bigG-14') writeFileSync(BIGG_RESULT, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
