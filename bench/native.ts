/**
 * The native tensorflow backend (npm run setup:native) against PyTorch CPU at the same thread count, in the same
 * run: PyTorch 2.x from the venv scripts/reference-venv.sh makes (MKL/oneDNN, what users run today) and Debian's
 * PyTorch 1.13. Rows: MobileNetV2 and ViT-B/32 forward + input gradient, the ViT-B/32 attack step, k-NN scoring.
 * advood runs in a child process per thread count, with TF_NUM_INTRAOP_THREADS set before libtensorflow loads.
 *
 *   npx tsx bench/native.ts            (BENCH_RUNS=n timed runs, default 5)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { initBackend } from '../src/runtime/backend.js';
import { ATTACK_STEP_BATCH, timeAdvoodAttackStep } from './attack-step.js';
import type { BenchRow } from './bench-row.js';
import { KNN_QUERIES, knnReference, timeKnn } from './knn.js';
import { MOBILENET_BATCH, timeMobileNet } from './mobilenet.js';
import { timeVit } from './vit.js';
import { referencePython } from '../test/helpers/reference-venv.js';

const SELF = fileURLToPath(import.meta.url);
const REPO = join(dirname(SELF), '..');
const TORCH_DIR = join(REPO, 'bench', 'torch');
const THREADS = [1, 2] as const;
const MOBILENET_SIZES = [128, 224] as const;
const VIT_BATCH = 8;

/** What one child measures on the tensorflow backend (ms per image; k-NN in queries per second). */
interface NativeTimings {
  tensorflow: string;
  mobilenet: Record<string, { forward: number; forwardBackward: number }>;
  vitForwardBackward: number;
  attackStep: number;
  knnQueriesPerSecond: number;
}

async function measureHere(runs: number): Promise<NativeTimings> {
  const backend = await initBackend({ request: 'tensorflow' });
  const mobilenet = Object.fromEntries(await timeMobileNet(backend, MOBILENET_SIZES, runs));
  const vit = timeVit([VIT_BATCH], runs).get(VIT_BATCH)!;
  const step = await timeAdvoodAttackStep(runs, 'tensorflow');
  const knn = timeKnn();
  return {
    tensorflow: backend.native?.tensorflowVersion ?? '?',
    mobilenet,
    vitForwardBackward: vit.forwardBackward,
    attackStep: step.medianMs / ATTACK_STEP_BATCH,
    knnQueriesPerSecond: KNN_QUERIES / knn.seconds,
  };
}

function measureInChild(threads: number, runs: number): NativeTimings {
  const env = { ...process.env, TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: '1', BENCH_RUNS: String(runs) };
  const out = execFileSync(process.execPath, ['--import=tsx', SELF, '--measure'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as NativeTimings;
}

interface TorchPython {
  python: string;
  label: string;
}

/** PyTorch 2.x (the reference venv) and Debian's 1.13, where each is there. */
function torchPythons(): TorchPython[] {
  const found: TorchPython[] = [];
  const venv = referencePython();
  const candidates = ['python' in venv ? venv.python : null, '/usr/bin/python3'];
  for (const python of candidates) {
    if (!python) continue;
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (probe.status === 0) found.push({ python, label: `PyTorch ${probe.stdout.trim()} CPU` });
  }
  if (found.length === 0) throw new Error('no PyTorch to compare with (scripts/reference-venv.sh failed and /usr/bin/python3 has no torch)');
  return found;
}

function torchJson<T>(python: string, script: string, args: string[]): T {
  return JSON.parse(execFileSync(python, [join(TORCH_DIR, script), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })) as T;
}

export async function benchNative(options: { runs?: number } = {}): Promise<BenchRow[]> {
  const runs = options.runs ?? Number(process.env.BENCH_RUNS ?? 5);
  const rows: BenchRow[] = [];
  const pythons = torchPythons();
  for (const threads of THREADS) {
    const ours = measureInChild(threads, runs);
    const plural = threads > 1 ? 's' : '';
    const note = `tfjs-node on TensorFlow ${ours.tensorflow}, TF_NUM_INTRAOP_THREADS=${threads}; median of ${runs}`;
    for (const { python, label } of pythons) {
      const referenceName = `${label}, ${threads} thread${plural}`;
      const t = ['--threads', String(threads), '--runs', String(runs)];
      const mobilenet = torchJson<{ results: { size: number; forward_backward_ms_per_image: number }[] }>(python, 'mobilenet_ref.py', [
        '--sizes', ...MOBILENET_SIZES.map(String), '--batch', String(MOBILENET_BATCH), ...t,
      ]);
      for (const size of MOBILENET_SIZES) {
        const ref = mobilenet.results.find((r) => r.size === size)!;
        rows.push({ name: `tensorflow: mobilenet-v2 forward+input-gradient ${size}px, ${threads} thread${plural}`, unit: 'ms/img', advood: ours.mobilenet[size]!.forwardBackward, reference: ref.forward_backward_ms_per_image, referenceName, note: `batch ${MOBILENET_BATCH}; ${note}` });
      }
      const vit = torchJson<{ results: { forward_backward_ms_per_image: number }[] }>(python, 'vit_ref.py', ['--batches', String(VIT_BATCH), ...t]);
      rows.push({ name: `tensorflow: vit-b-32 forward+input-gradient batch ${VIT_BATCH}, ${threads} thread${plural}`, unit: 'ms/img', advood: ours.vitForwardBackward, reference: vit.results[0]!.forward_backward_ms_per_image, referenceName, note });
      const step = torchJson<{ results: { step_ms: number }[] }>(python, 'attack_step_ref.py', ['--batch', String(ATTACK_STEP_BATCH), ...t]);
      rows.push({ name: `tensorflow: vit-b-32 attack step batch ${ATTACK_STEP_BATCH}, ${threads} thread${plural}`, unit: 'ms/img', advood: ours.attackStep, reference: step.results[0]!.step_ms / ATTACK_STEP_BATCH, referenceName, note: `paper-smooth preset; ${note}` });
    }
    // k-NN: torch.mm + topk and numpy in each Python, at their default threads; the faster is the reference.
    for (const { python, label } of pythons) {
      const reference = knnReference(python);
      const torchRun = reference.torch;
      if (torchRun?.seconds === undefined) continue;
      rows.push({ name: `tensorflow: k-NN cosine scoring, 50k × 1024 bank, k=1, ${threads} thread${plural}`, unit: 'queries/s', advood: ours.knnQueriesPerSecond, reference: KNN_QUERIES / torchRun.seconds, referenceName: `${label} torch.mm + topk, default threads`, note });
    }
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--measure')) {
    process.stdout.write(JSON.stringify(await measureHere(Number(process.env.BENCH_RUNS ?? 5))) + '\n');
  } else {
    for (const r of await benchNative()) {
      console.log(`${r.name.padEnd(70)} ${r.advood.toFixed(1).padStart(8)} ${r.unit} vs ${r.reference.toFixed(1).padStart(8)} (${r.referenceName})  ratio ${(r.advood / r.reference).toFixed(2)}`);
    }
  }
}
