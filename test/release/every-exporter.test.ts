/**
 * One test over every export format of the registry (`advood release export --to`): the export, read back the
 * way its consumers read it, holds every row's id and the exact adversarial PNG bytes, in release order.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPORTERS } from '../../src/release/export/exporters.js';
import { openRelease } from '../../src/release/read/release-reader.js';
import { generateFixtureRelease } from '../fixtures/release-fixture-rows.js';

const root = mkdtempSync(join(tmpdir(), 'advood-exporters-'));
const release = join(root, 'release');
test.before(async () => {
  // Several shards, so that formats with one file per shard are exercised.
  await generateFixtureRelease({ dir: release, total: 13, batch: 4, shardBytes: 12000 });
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

for (const exporter of EXPORTERS) {
  test(`${exporter.name}: the export reads back with every row's id and image bytes`, async (t) => {
    const out = join(root, `export-${exporter.name}`);
    const counts = await exporter.run(release, out);
    t.true(Object.values(counts).every((n) => Number.isInteger(n) && n > 0), JSON.stringify(counts));
    const expected: { id: string; image: string }[] = [];
    for await (const row of (await openRelease(release)).rows()) expected.push({ id: row.id, image: Buffer.from(row.image).toString('base64') });
    const actual = (await exporter.readBack(out)).map((row) => ({ id: row.id, image: Buffer.from(row.image).toString('base64') }));
    t.true(expected.length > 0);
    t.deepEqual(actual, expected);
  });
}
