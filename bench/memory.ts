/**
 * Peak memory and step time of the input gradient through the real loading path (checkpoint directory →
 * tensors), against PyTorch 2.x doing the same step in its own fresh process: random open_clip ViT-B/32 and
 * ViT-L/14 at batch 1 on the tensorflow backend, 2 threads (bench/openclip-bigg.ts measures each side; bigG is the
 * same measurement, run on its own: ~10 GB).
 *
 *   npx tsx bench/memory.ts
 */
import { pathToFileURL } from 'node:url';
import type { BenchRow } from './bench-row.js';
import { measureAgainstOpenClip } from './openclip-bigg.js';

const MODELS = ['ViT-B-32', 'ViT-L-14'] as const;
const THREADS = 2;

export async function benchMemory(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const model of MODELS) {
    const result = measureAgainstOpenClip(model, THREADS);
    const referenceName = `PyTorch ${result.pytorch.version} (open_clip)`;
    const note = `batch 1, ${THREADS} threads, each side in a fresh process; gradient cos ${result.parity.gradientCos.toFixed(6)}`;
    rows.push(
      { name: `${model} forward + input gradient, peak RSS`, unit: 'MiB', advood: result.advood.peakRssBytes / 1024 ** 2, reference: result.pytorch.peakRssBytes / 1024 ** 2, referenceName, note },
      { name: `${model} forward + input gradient, time`, unit: 's', advood: result.advood.stepSeconds, reference: result.pytorch.stepSeconds, referenceName, note },
    );
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) console.log(JSON.stringify(await benchMemory(), null, 2));
