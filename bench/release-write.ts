/**
 * Release writing throughput and memory.
 *
 * 1. 2,000 rows of 224×224 images: PNG encoding parallelised through sharp (p-limit, one task per core) and
 *    streamed into the release writer in batches of 16, against the layout the paper's anchors ship — the
 *    same sharp encoding, then one `fs.writeFile` per PNG (an ImageFolder tree) — in images/s.
 * 2. The writer alone (encoding excluded) in MB/s of shard bytes, against a plain `fs.writeFile` of the same
 *    bytes in the same run: the cost of Arrow framing, hashing and fsync.
 * 3. Peak RSS of a child process writing 10k rows vs 1k rows (the writer holds one batch at a time, so the
 *    ratio should stay near 1).
 *
 * Run: npx tsx bench/release-write.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import sharp from 'sharp';
import type { ReleaseSchemaInfo } from '../src/release/release-columns.js';
import type { ManifestExtras } from '../src/release/release-manifest.js';
import type { ReleaseRow } from '../src/release/release-row.js';
import { openReleaseWriter } from '../src/release/write/release-writer.js';
import type { BenchRow } from './bench-row.js';

const SIZE = 224;
const ROWS = 2_000;
const BATCH = 16;
const SCHEMA: ReleaseSchemaInfo = { classNames: ['a', 'b', 'c', 'd'], featureDim: 1280, includeCleanImage: false };
const EXTRAS: ManifestExtras = {
  command: 'bench/release-write.ts',
  seed: 0,
  versions: { node: process.version },
  model: { id: 'bench', weightsSha256: '0'.repeat(64) },
  card: { prettyName: 'bench', description: 'benchmark output', license: 'other', sourceDatasets: [], citation: '', homepage: '' },
};

/** A smooth image plus low-amplitude noise: compresses like a natural photo at this size (~100 KB as PNG). */
function syntheticPixels(seed: number): Buffer {
  const pixels = Buffer.alloc(SIZE * SIZE * 3);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      for (let c = 0; c < 3; c++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        const smooth = 128 + 100 * Math.sin((x + seed) / (17 + c * 5)) * Math.cos((y - seed) / (23 + c * 3));
        pixels[(y * SIZE + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(smooth + ((state >>> 0) % 24) - 12)));
      }
    }
  }
  return pixels;
}

function encodePng(pixels: Buffer): Promise<Buffer> {
  return sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toBuffer();
}

function benchRow(i: number, image: Uint8Array): ReleaseRow {
  const feature = new Float32Array(SCHEMA.featureDim!);
  for (let k = 0; k < feature.length; k++) feature[k] = Math.sin(i + k);
  return {
    id: `bench/${i}`, image, cleanImage: null, label: i % 4, sourceDataset: 'bench', sourceId: String(i), sourceSha256: '0'.repeat(64),
    targetStrategy: 'sample', targetClass: i % 4, targetIndex: i, targetReason: 'bench', targetModel: 'bench', weightsSha256: '0'.repeat(64),
    attackPreset: 'bench', paramsHash: '0'.repeat(64), seed: 0, cosBefore: 0.1, cosAfter: 0.9, nearestClassBefore: 0, nearestClassAfter: i % 4,
    linf: 0.01, l2: 1, psnr: 40, lowFreqEnergy: 0.9, steps: 250, success: true, feature, advoodVersion: '0.1.0',
  };
}

const sourcePixels = Array.from({ length: 8 }, (_, i) => syntheticPixels(i));
const pixelsFor = (i: number) => sourcePixels[i % sourcePixels.length]!;

async function encodeBatch(start: number, end: number, limit: ReturnType<typeof pLimit>): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: end - start }, (_, k) => limit(() => encodePng(pixelsFor(start + k)))));
}

async function releaseRun(dir: string): Promise<{ seconds: number; writerSeconds: number; shardBytes: number }> {
  const limit = pLimit(availableParallelism());
  const started = performance.now();
  let writerSeconds = 0;
  const writer = await openReleaseWriter(dir, { schemaInfo: SCHEMA, config: {}, runHash: 'bench', shardBytes: 64e6 });
  for (let start = 0; start < ROWS; start += BATCH) {
    const end = Math.min(start + BATCH, ROWS);
    const pngs = await encodeBatch(start, end, limit);
    const t0 = performance.now();
    await writer.append(pngs.map((png, k) => benchRow(start + k, png)), [], end);
    writerSeconds += (performance.now() - t0) / 1000;
  }
  const t0 = performance.now();
  await writer.close(EXTRAS);
  writerSeconds += (performance.now() - t0) / 1000;
  const shardBytes = readdirSync(dir).filter((f) => f.endsWith('.arrow')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  return { seconds: (performance.now() - started) / 1000, writerSeconds, shardBytes };
}

async function pngTreeRun(dir: string): Promise<number> {
  const limit = pLimit(availableParallelism());
  const started = performance.now();
  for (let start = 0; start < ROWS; start += BATCH) {
    const end = Math.min(start + BATCH, ROWS);
    const pngs = await encodeBatch(start, end, limit);
    pngs.forEach((png, k) => {
      const folder = join(dir, String((start + k) % 4));
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, `${start + k}.png`), png);
    });
  }
  return (performance.now() - started) / 1000;
}

/** Child mode: write `rows` rows from 8 pre-encoded PNGs and report peak RSS (MB). */
async function rssChild(dir: string, rows: number): Promise<void> {
  const pngs = await Promise.all(sourcePixels.map(encodePng));
  const writer = await openReleaseWriter(dir, { schemaInfo: SCHEMA, config: {}, runHash: 'bench', shardBytes: 64e6 });
  for (let start = 0; start < rows; start += BATCH) {
    const end = Math.min(start + BATCH, rows);
    await writer.append(Array.from({ length: end - start }, (_, k) => benchRow(start + k, pngs[(start + k) % pngs.length]!)), [], end);
  }
  await writer.close(EXTRAS);
  process.stdout.write(JSON.stringify({ peakRssMb: peakRssMb() }) + '\n');
}

/**
 * This process's peak RSS. VmHWM, because getrusage's maxRSS survives exec on Linux and would report the
 * parent's peak from before the fork.
 */
function peakRssMb(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

function peakRss(rows: number, root: string): number {
  const dir = join(root, `rss-${rows}`);
  const out = execFileSync(process.execPath, ['--import=tsx', fileURLToPath(import.meta.url), '--rss-child', dir, String(rows)], { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  return (JSON.parse(out.trim().split('\n').at(-1)!) as { peakRssMb: number }).peakRssMb;
}

export async function benchReleaseWrite(): Promise<BenchRow[]> {
  const root = mkdtempSync(join(tmpdir(), 'advood-bench-release-'));
  try {
    const release = await releaseRun(join(root, 'release'));
    const treeSeconds = await pngTreeRun(join(root, 'tree'));

    // The same shard bytes through one plain fs.writeFile each, measured in this run.
    const shards = readdirSync(join(root, 'release')).filter((f) => f.endsWith('.arrow'));
    const contents = shards.map((f) => readFileSync(join(root, 'release', f)));
    const t0 = performance.now();
    contents.forEach((bytes, i) => writeFileSync(join(root, `plain-${i}.arrow`), bytes));
    const plainSeconds = (performance.now() - t0) / 1000;

    const rss1k = peakRss(1_000, root);
    const rss10k = peakRss(10_000, root);
    const mb = release.shardBytes / 1e6;
    return [
      {
        name: `release write, ${ROWS} rows of ${SIZE}×${SIZE} PNG (sharp, ${availableParallelism()} parallel) + ${SCHEMA.featureDim}-d feature`,
        unit: 'images/s',
        advood: ROWS / release.seconds,
        reference: ROWS / treeSeconds,
        referenceName: 'same PNG encoding, one fs.writeFile per PNG (ImageFolder tree)',
        note: `${mb.toFixed(0)} MB of shards in ${release.seconds.toFixed(1)} s, of which ${release.writerSeconds.toFixed(2)} s in the writer`,
      },
      {
        name: 'release writer alone (Arrow framing, sha256, fsync), PNG encoding excluded',
        unit: 'MB/s',
        advood: mb / release.writerSeconds,
        reference: mb / plainSeconds,
        referenceName: 'fs.writeFile of the same shard bytes',
      },
      {
        name: 'peak RSS of a child writing 10k rows vs 1k rows (flat = bounded memory)',
        unit: 'MB',
        advood: rss10k,
        reference: rss1k,
        referenceName: 'same writer, 1k rows',
        note: `ratio ${(rss10k / rss1k).toFixed(2)}`,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const childFlag = process.argv.indexOf('--rss-child');
  if (childFlag > 0) {
    await rssChild(process.argv[childFlag + 1]!, Number(process.argv[childFlag + 2]));
  } else {
    for (const row of await benchReleaseWrite()) {
      console.log(`${row.name}: advood ${row.advood.toFixed(1)} ${row.unit}, ${row.referenceName} ${row.reference.toFixed(1)} ${row.unit}, ratio advood/reference = ${(row.advood / row.reference).toFixed(2)}`);
      if (row.note) console.log(`  ${row.note}`);
    }
  }
}
