/**
 * How `evaluate` grows with the OOD set: the whole pipeline (decode, features, k-NN and Mahalanobis fit and
 * scores, bootstrap CIs, summary files, scores.arrow, report.html) on OOD_ROWS OOD images (default 50k,
 * BENCH_EVALUATE_OOD) beside the same on a tenth of them, each in its own fresh process with a fresh feature
 * cache so its peak RSS is its own. Tiny 40×48 PNGs and the tiny stand-in target of the tests
 * (test/helpers/attack-fake-encoder.ts) keep it to minutes; the ID sets stay fixed (1,000 train, 500 test).
 * Time should grow at most 10× and the peak stay flat apart from the scores themselves (8 bytes per image and
 * detector).
 *
 *   npx tsx bench/evaluate-scale.ts
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEvaluation } from '../src/pipeline/evaluate.js';
import { initBackend } from '../src/runtime/backend.js';
import { fakeEncoder } from '../test/helpers/attack-fake-encoder.js';
import { writeImages } from '../test/helpers/test-image-files.js';
import type { BenchRow } from './bench-row.js';

const SELF = fileURLToPath(import.meta.url);
const DETECTORS = ['knn', 'mahalanobis'];

function oodSetting(): number {
  const raw = process.env.BENCH_EVALUATE_OOD;
  const rows = raw ? Number(raw) : 50_000;
  if (!Number.isInteger(rows) || rows < 100) throw new Error(`BENCH_EVALUATE_OOD must be an integer ≥ 100, got '${raw}'`);
  return rows;
}

/** `count` images in dir, copies of 16 distinct ones (distinct names: the source lists each as its own item). */
async function writeManyImages(dir: string, count: number, seed: number, tint: number): Promise<void> {
  const distinct = join(dir, '..', `.distinct-${seed}`);
  await writeImages(distinct, 16, seed, tint);
  const names = readdirSync(distinct).sort();
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) copyFileSync(join(distinct, names[i % names.length]!), join(dir, `img${String(i).padStart(6, '0')}.png`));
  rmSync(distinct, { recursive: true, force: true });
}

function peakRssBytes(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

/** Child mode: one evaluation of root's ID sets against ood-N, timed, with this process's peak RSS. */
async function child(root: string, ood: string): Promise<void> {
  process.env.ADVOOD_CACHE = join(root, `cache-${ood}`);
  await initBackend({ request: process.env.BENCH_EVALUATE_BACKEND ?? 'auto' });
  const encoder = fakeEncoder(32);
  const started = performance.now();
  try {
    await runEvaluation({
      encoder,
      idTrain: join(root, 'id'),
      idTest: join(root, 'id-test'),
      ood: [`clipart=${join(root, `ood-${ood}`)}`],
      detectors: DETECTORS,
      out: join(root, `eval-${ood}`),
      batch: 64,
      bootstrap: { resamples: 200, seed: 0 },
      gallery: 1,
    });
  } finally {
    encoder.dispose();
  }
  process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - started) / 1000, peakRssBytes: peakRssBytes() })}\n`);
}

function runChild(root: string, ood: number): { seconds: number; peakRssBytes: number } {
  const out = execFileSync(process.execPath, ['--import=tsx', SELF, '--child', root, String(ood)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { seconds: number; peakRssBytes: number };
}

export async function benchEvaluateScale(): Promise<BenchRow[]> {
  const big = oodSetting();
  const small = Math.round(big / 10);
  const root = mkdtempSync(join(tmpdir(), 'advood-bench-evaluate-scale-'));
  try {
    await writeManyImages(join(root, 'id', 'Sneaker'), 500, 1, 0.3);
    await writeManyImages(join(root, 'id', 'Bag'), 500, 2, 0.7);
    await writeManyImages(join(root, 'id-test', 'Sneaker'), 250, 4, 0.3);
    await writeManyImages(join(root, 'id-test', 'Bag'), 250, 5, 0.7);
    await writeManyImages(join(root, `ood-${small}`, 'clipart'), small, 3, 0.5);
    await writeManyImages(join(root, `ood-${big}`, 'clipart'), big, 3, 0.5);
    const little = runChild(root, small);
    const large = runChild(root, big);
    const n = (count: number) => count.toLocaleString('en-US');
    const what = `evaluate (${DETECTORS.join(', ')}; 200 bootstrap resamples; all outputs), ${n(big)} OOD images of 40×48 px, tiny stand-in target`;
    return [
      {
        name: `${what}, time`,
        unit: 's',
        advood: large.seconds,
        reference: little.seconds * (big / small),
        referenceName: `${n(small)} OOD images × ${big / small} (linear growth)`,
        note: `${n(small)} OOD images took ${little.seconds.toFixed(1)} s; ID sets fixed at 1,000 train and 500 test images`,
      },
      {
        name: `evaluate, ${n(big)} OOD images, peak RSS`,
        unit: 'MiB',
        advood: large.peakRssBytes / 1024 ** 2,
        reference: little.peakRssBytes / 1024 ** 2,
        referenceName: `same evaluation with ${n(small)} OOD images`,
        note: `ratio ${(large.peakRssBytes / little.peakRssBytes).toFixed(2)} (1.00 = flat)`,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const childFlag = process.argv.indexOf('--child');
  if (childFlag > 0) {
    await child(process.argv[childFlag + 1]!, process.argv[childFlag + 2]!);
  } else {
    for (const r of await benchEvaluateScale()) {
      console.log(`${r.name}: advood ${r.advood.toFixed(2)} ${r.unit}, ${r.referenceName} ${r.reference.toFixed(2)} ${r.unit}, ratio = ${(r.advood / r.reference).toFixed(2)}`);
      if (r.note) console.log(`  ${r.note}`);
    }
  }
}
