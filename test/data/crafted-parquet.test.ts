/**
 * Crafted or damaged Parquet files are one line naming the file, never a wasm trap (exit 70)
 * (src/sources/readers/parquet-source.ts).
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../src/core/errors.js';
import { openParquetDataset } from '../../src/sources/readers/parquet-source.js';
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

/**
 * The footer is Thrift compact: a field header byte 0x16 (field delta 1, type i64) and a zigzag varint. Every
 * "i64 field = rows" in it (the file's num_rows, the row group's and each chunk's value count) is rewritten to
 * claim `claimed` rows, and the footer length is updated; the data pages before it are untouched.
 */
function claimRows(bytes: Buffer, rows: number, claimed: number): Buffer {
  const footerLength = bytes.readUInt32LE(bytes.length - 8);
  const footer = bytes.subarray(bytes.length - 8 - footerLength, bytes.length - 8);
  const varint = (value: bigint) => {
    const out: number[] = [];
    for (let v = value; ; v >>= 7n) {
      if (v < 0x80n) return out.push(Number(v)), Buffer.from(out);
      out.push(Number((v & 0x7fn) | 0x80n));
    }
  };
  const from = Buffer.concat([Buffer.from([0x16]), varint(BigInt(rows) * 2n)]);
  const to = Buffer.concat([Buffer.from([0x16]), varint(BigInt(claimed) * 2n)]);
  const parts: Buffer[] = [];
  let at = 0;
  for (let hit = footer.indexOf(from); hit >= 0; hit = footer.indexOf(from, at)) {
    parts.push(footer.subarray(at, hit), to);
    at = hit + from.length;
  }
  if (parts.length === 0) throw new Error('no row count found in the footer');
  parts.push(footer.subarray(at));
  const crafted = Buffer.concat(parts);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(crafted.length);
  return Buffer.concat([bytes.subarray(0, bytes.length - 8 - footerLength), crafted, length, Buffer.from('PAR1')]);
}

test('a footer claiming 3·10⁹ rows in a few KB is refused by the bytes present, before any row is sized', async (t) => {
  const real = join(root, 'five.parquet');
  writeParquetFile(real, [imageColumn('img', await Promise.all([1, 2, 3, 4, 5].map(png))), classLabelColumn('label', ['a', 'b'], [0, 1, 0, 1, 0])], { rowGroupRows: 5 });
  const crafted = join(root, 'claims-3e9.parquet');
  writeFileSync(crafted, claimRows(readFileSync(real), 5, 3_000_000_000));
  await t.throwsAsync(openParquetDataset(crafted), { instanceOf: UserError, message: /claims-3e9\.parquet: its footer claims 3000000000 rows in \d+ bytes; not a readable Parquet file/ });
});

test('garbled data pages behind an intact footer are one line naming the file and the column', async (t) => {
  const real = join(root, 'garble-me.parquet');
  writeParquetFile(real, [imageColumn('img', await Promise.all([1, 2, 3].map(png))), classLabelColumn('label', ['a', 'b'], [0, 1, 0])]);
  const bytes = readFileSync(real);
  const footerStart = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8);
  // The first half only: the page indexes between the pages and the footer are read on open, and the point here
  // is a file whose footer opens but whose pages do not decode.
  randomBytes(Math.floor(footerStart / 2) - 4).copy(bytes, 4);
  const garbled = join(root, 'garbled.parquet');
  writeFileSync(garbled, bytes);
  await t.throwsAsync(
    (async () => {
      const source = await openParquetDataset(garbled);
      await Promise.all(source.items.map((item) => source.load(item, { mode: 'clip', size: 4, background: [0, 0, 0] })));
    })(),
    { message: /garbled\.parquet( row group \d+)?: cannot read column '(img|label)'/ },
  );
});
