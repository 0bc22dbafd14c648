/**
 * How release cost grows: write, verify and merge at ROWS rows (default 100k, BENCH_RELEASE_ROWS) beside the
 * same at ROWS / 10, each step in its own fresh process so its peak RSS is its own. Time should grow 10×
 * (linear) and the peak stay flat (every step holds one batch or one shard at a time). Rows are 32×32 PNGs
 * (pre-encoded, so encoding is not timed; bench/release-write.ts measures that) with a 512-d feature.
 *
 * The reference of each row is the smaller run: its time × 10 (what linear growth predicts), its peak RSS as is.
 *
 *   npx tsx bench/release-scale.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { ReleaseSchemaInfo } from '../src/release/release-columns.js';
import type { ManifestExtras } from '../src/release/release-manifest.js';
import type { ReleaseRow } from '../src/release/release-row.js';
import { openReleaseWriter } from '../src/release/write/release-writer.js';
import { verifyRelease } from '../src/release/read/release-verify.js';
import { mergeReleases } from '../src/release/write/release-merge.js';
import type { BenchRow } from './bench-row.js';

const SIZE = 32;
const BATCH = 64;
const SCHEMA: ReleaseSchemaInfo = { classNames: ['a', 'b', 'c', 'd'], featureDim: 512, includeCleanImage: false };
const EXTRAS: ManifestExtras = {
  command: 'bench/release-scale.ts',
  seed: 0,
  versions: { node: process.version },
  model: { id: 'bench', weightsSha256: '0'.repeat(64) },
  card: { prettyName: 'bench', description: 'benchmark output', license: 'other', sourceDatasets: [], citation: '', homepage: '' },
};
const SELF = fileURLToPath(import.meta.url);

function rowsSetting(): number {
  const raw = process.env.BENCH_RELEASE_ROWS;
  const rows = raw ? Number(raw) : 100_000;
  if (!Number.isInteger(rows) || rows < 20) throw new Error(`BENCH_RELEASE_ROWS must be an integer ≥ 20, got '${raw}'`);
  return rows;
}

async function pngs(): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: 8 }, (_, seed) => {
      const pixels = Buffer.alloc(SIZE * SIZE * 3);
      for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + seed * 31 + ((i * seed) % 13)) & 255;
      return sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toBuffer();
    }),
  );
}

function row(i: number, image: Uint8Array): ReleaseRow {
  const feature = new Float32Array(SCHEMA.featureDim!);
  for (let k = 0; k < feature.length; k++) feature[k] = Math.sin(i + k);
  return {
    id: `bench/${i}`, image, cleanImage: null, label: i % 4, sourceDataset: 'bench', sourceId: String(i), sourceSha256: '0'.repeat(64),
    targetStrategy: 'sample', targetClass: i % 4, targetIndex: i, targetReason: 'bench', targetModel: 'bench', weightsSha256: '0'.repeat(64),
    attackPreset: 'bench', paramsHash: 'bench', seed: 0, cosBefore: 0.1, cosAfter: 0.9, nearestClassBefore: 0, nearestClassAfter: i % 4,
    linf: 0.01, l2: 1, psnr: 40, lowFreqEnergy: 0.9, steps: 250, success: true, feature, advoodVersion: '0.1.0',
  };
}

/** Part `index` of a 2-part run over `rows` rows (the first half or the second), written to dir. */
async function writePart(dir: string, rows: number, index: number): Promise<void> {
  const images = await pngs();
  const half = Math.ceil(rows / 2);
  const [from, to] = index === 0 ? [0, half] : [half, rows];
  const writer = await openReleaseWriter(dir, { schemaInfo: SCHEMA, config: {}, runHash: 'bench', shardBytes: 64e6, shard: { index, count: 2 } });
  for (let start = from; start < to; start += BATCH) {
    const end = Math.min(start + BATCH, to);
    await writer.append(Array.from({ length: end - start }, (_, k) => row(start + k, images[(start + k) % images.length]!)), [], end - from);
  }
  await writer.close(EXTRAS);
}

function peakRssBytes(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

/** Child mode: one step, timed, then its seconds and this process's peak RSS as a JSON line. */
async function child(step: string, args: string[]): Promise<void> {
  const started = performance.now();
  if (step === 'write') {
    const [root, rows] = args as [string, string];
    await writePart(join(root, 'part-0'), Number(rows), 0);
    await writePart(join(root, 'part-1'), Number(rows), 1);
  } else if (step === 'verify') {
    const report = await verifyRelease(args[0]!);
    if (!report.ok) throw new Error(`verify failed: ${JSON.stringify(report.problems.slice(0, 3))}`);
  } else {
    const [root] = args as [string];
    await mergeReleases([join(root, 'part-0'), join(root, 'part-1')], join(root, 'merged'), 'bench');
  }
  process.stdout.write(`${JSON.stringify({ seconds: (performance.now() - started) / 1000, peakRssBytes: peakRssBytes() })}\n`);
}

function runChild(step: string, ...args: string[]): { seconds: number; peakRssBytes: number } {
  const out = execFileSync(process.execPath, ['--import=tsx', SELF, '--child', step, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { seconds: number; peakRssBytes: number };
}

/** write (two parts of a 2-part run), verify (the merged release), merge, at `rows` rows. */
function measure(root: string, rows: number): Record<'write' | 'verify' | 'merge', { seconds: number; peakRssBytes: number }> {
  const write = runChild('write', root, String(rows));
  const merge = runChild('merge', root);
  const verify = runChild('verify', join(root, 'merged'));
  return { write, verify, merge };
}

export async function benchReleaseScale(): Promise<BenchRow[]> {
  const rows = rowsSetting();
  const small = Math.round(rows / 10);
  const root = mkdtempSync(join(tmpdir(), 'advood-bench-release-scale-'));
  try {
    const little = measure(join(root, 'small'), small);
    rmSync(join(root, 'small'), { recursive: true, force: true });
    const big = measure(join(root, 'big'), rows);
    const n = (count: number) => count.toLocaleString('en-US');
    const what = { write: 'release write (two parts of a 2-part run)', verify: 'release verify (merged release)', merge: 'release merge (verifies both parts, copies, digests)' };
    return (['write', 'verify', 'merge'] as const).flatMap((step) => [
      {
        name: `${what[step]}, ${n(rows)} rows of ${SIZE}×${SIZE} PNG + ${SCHEMA.featureDim}-d feature, time`,
        unit: 's',
        advood: big[step].seconds,
        reference: little[step].seconds * (rows / small),
        referenceName: `${n(small)} rows × ${rows / small} (linear growth)`,
        note: `${n(small)} rows took ${little[step].seconds.toFixed(2)} s`,
      },
      {
        name: `${what[step]}, ${n(rows)} rows, peak RSS`,
        unit: 'MiB',
        advood: big[step].peakRssBytes / 1024 ** 2,
        reference: little[step].peakRssBytes / 1024 ** 2,
        referenceName: `same step at ${n(small)} rows`,
        note: `ratio ${(big[step].peakRssBytes / little[step].peakRssBytes).toFixed(2)} (1.00 = flat)`,
      },
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const childFlag = process.argv.indexOf('--child');
  if (childFlag > 0) {
    await child(process.argv[childFlag + 1]!, process.argv.slice(childFlag + 2));
  } else {
    for (const r of await benchReleaseScale()) {
      console.log(`${r.name}: advood ${r.advood.toFixed(2)} ${r.unit}, ${r.referenceName} ${r.reference.toFixed(2)} ${r.unit}, ratio = ${(r.advood / r.reference).toFixed(2)}`);
      if (r.note) console.log(`  ${r.note}`);
    }
  }
}
