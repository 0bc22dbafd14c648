/**
 * Crafted or damaged Parquet files are one line naming the file, never a wasm trap (exit 70)
 * (src/data/parquet-source.ts).
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../src/core/errors.js';
import { openParquetDataset } from '../../src/data/parquet-source.js';
import { classLabelColumn, imageColumn, writeParquetFile } from '../helpers/hf-dataset-writer.js';

const root = mkdtempSync(join(tmpdir(), 'advood-crafted-parquet-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const png = (level: number) => sharp({ create: { width: 8, height: 8, channels: 3, background: { r: level, g: level, b: level } } }).png().toBuffer();

test('random bytes between PAR1 magics, and a truncated real file, are one line naming the file', async (t) => {
  const random = join(root, 'random.parquet');
  writeFileSync(random, Buffer.concat([Buffer.from('PAR1'), randomBytes(4000), Buffer.from([0x10, 0x00, 0x00, 0x00]), Buffer.from('PAR1')]));
  await t.throwsAsync(openParquetDataset(random), { instanceOf: UserError, message: /random\.parquet: (cannot be read as Parquet|not a readable Parquet file)/ });
  const real = join(root, 'real.parquet');
  const images = await Promise.all([10, 20, 30].map(png));
  writeParquetFile(real, [imageColumn('img', images), classLabelColumn('label', ['a', 'b'], [0, 1, 0])]);
  const truncated = join(root, 'truncated.parquet');
  const bytes = readFileSync(real);
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await t.throwsAsync(openParquetDataset(truncated), { instanceOf: UserError, message: /truncated\.parquet: / });
});
