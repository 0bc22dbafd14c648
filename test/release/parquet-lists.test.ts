/**
 * The Parquet export stores the fixed-length `feature` vectors as nullable lists (src/release/export/parquet-lists.ts):
 * every vector and every null comes back as written, and the `huggingface` metadata keeps the fixed length.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm/node';
import { exportParquet } from '../../src/release/export/parquet-export.js';
import { openRelease } from '../../src/release/read/release-reader.js';
import { generateFixtureRelease } from '../fixtures/release-fixture-rows.js';

test('feature vectors, nulls included, survive the Parquet export as lists with the fixed length in the metadata', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'advood-parquet-lists-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const release = join(root, 'release');
  await generateFixtureRelease({ dir: release, total: 13, batch: 4, shardBytes: 12000 });
  await exportParquet(release, join(root, 'out'));
  const expected: (number[] | null)[] = [];
  for await (const row of (await openRelease(release)).rows()) expected.push(row.feature ? [...row.feature] : null);
  const actual: (number[] | null)[] = [];
  for (const name of readdirSync(join(root, 'out', 'data')).sort()) {
    const parquet = readParquet(readFileSync(join(root, 'out', 'data', name)));
    t.true(parquet.schema.metadata().get('huggingface')!.includes('"feature":{"feature":{"dtype":"float32","_type":"Value"},"length":4,"_type":"Sequence"}'));
    const table = tableFromIPC(parquet.intoIPCStream());
    t.is(String(table.schema.fields.find((f) => f.name === 'feature')!.type), 'List<Float32>');
    for (const row of table) actual.push(row.feature ? [...(row.feature as Iterable<number>)] : null);
  }
  t.true(expected.includes(null) && expected.some((v) => v !== null), 'the fixture has both');
  t.deepEqual(actual, expected);
});
