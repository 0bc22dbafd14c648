/**
 * What recomputing each transformer block in the backward pass (src/runtime/recompute-in-backward.ts) costs and
 * saves: forward + input gradient of a random CLIP vision tower on the active backend, with ADVOOD_RECOMPUTE=1
 * (the default) and =0, each in a fresh process so that its peak RSS is its own; also the peak of tensor bytes
 * tfjs itself counts (tf.profile). Rows: ViT-B/32 at batch 8, ViT-L/14 at batch 1 and 4.
 *
 *   npx tsx bench/recompute.ts            (BENCH_RUNS=n timed runs, default 3)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { randomVisionTower } from './random-vit.js';
import { timeRuns } from './timing.js';

const SELF = fileURLToPath(import.meta.url);
const CASES = [
  { preset: 'vit-b-32', batch: 8 },
  { preset: 'vit-l-14', batch: 1 },
  { preset: 'vit-l-14', batch: 4 },
] as const;

interface Measured {
  msPerImage: number;
  peakTensorBytes: number;
  peakRssBytes: number;
  /** wasm only: the size the linear memory grew to (it never shrinks), which the 4 GiB cap applies to. */
  wasmHeapBytes?: number;
}

function wasmHeapBytes(): number | undefined {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return backend.wasm?.HEAPU8.length;
}

async function measureHere(preset: string, batch: number, runs: number): Promise<Measured> {
  await initBackend({ request: process.env.ADVOOD_BACKEND || 'tensorflow' });
  const tower = randomVisionTower(preset);
  const x = tf.randomUniform([batch, 224, 224, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const step = () => {
    const g = tf.grad((input: tf.Tensor) => tf.sum(tower.forward(input as tf.Tensor4D, 'pre-projection')))(x);
    g.dataSync();
    g.dispose();
  };
  const profile = await tf.profile(step);
  const ms = timeRuns(step, runs).median;
  return { msPerImage: ms / batch, peakTensorBytes: profile.peakBytes, peakRssBytes: process.resourceUsage().maxRSS * 1024, wasmHeapBytes: wasmHeapBytes() };
}

function measureInChild(preset: string, batch: number, recompute: boolean, runs: number): Measured {
  const env = { ...process.env, ADVOOD_RECOMPUTE: recompute ? '1' : '0' };
  const out = execFileSync(process.execPath, ['--import=tsx', SELF, '--measure', preset, String(batch), String(runs)], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Measured;
}

const gib = (bytes: number) => (bytes / 1024 ** 3).toFixed(2);

async function main(): Promise<void> {
  if (process.argv[2] === '--measure') {
    const [, , , preset, batch, runs] = process.argv;
    process.stdout.write(JSON.stringify(await measureHere(preset!, Number(batch), Number(runs))) + '\n');
    return;
  }
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  console.log('| tower, batch | recompute | ms/img | time ratio | peak tensors GiB | peak RSS GiB | RSS ratio |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const { preset, batch } of CASES) {
    const kept = measureInChild(preset, batch, false, runs);
    const recomputed = measureInChild(preset, batch, true, runs);
    for (const [label, m] of [['no (every intermediate kept)', kept], ['yes', recomputed]] as const) {
      const base = m === kept;
      console.log(`| ${preset}, ${batch} | ${label} | ${m.msPerImage.toFixed(0)} | ${base ? '1.00' : (m.msPerImage / kept.msPerImage).toFixed(2)} | ${gib(m.peakTensorBytes)} | ${gib(m.peakRssBytes)} | ${base ? '1.00' : (m.peakRssBytes / kept.peakRssBytes).toFixed(2)} |`);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
