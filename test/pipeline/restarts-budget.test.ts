/**
 * `advood generate --attack apgd-linf-8 --restarts 3 --objective detector:mahalanobis` (#21) on the embedded
 * MobileNetV2 and the demo data, through the CLI: every saved PNG keeps ‖δ‖∞ ≤ 8/255 (read back here, in 8-bit
 * levels), the release records the restarts (schema, the winning start and every start's objective per row),
 * verify passes, start 0 of a restarted run is the run without restarts byte for byte, and the same seed gives
 * the same bytes. verify's budget check itself is held to a PNG one level over the budget.
 */
import test from 'ava';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePngLevels, encodePng } from '../../src/data/decode-image.js';
import { openRelease } from '../../src/release/read/release-reader.js';
import { budgetViolation } from '../../src/release/read/row-budget.js';
import { verifyRelease } from '../../src/release/read/release-verify.js';
import type { ReleaseRow } from '../../src/release/release-row.js';
import { packagePath } from '../../src/core/repo-paths.js';
import { advoodWithEnv } from '../helpers/run-cli.js';

const work = mkdtempSync(join(tmpdir(), 'advood-restarts-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

const demo = (name: string) => packagePath('datasets', 'demo', name);
const generate = (out: string, ...extra: string[]) =>
  advoodWithEnv(
    { ADVOOD_CACHE: join(work, 'cache') },
    'generate', '--attack', 'apgd-linf-8', '--objective', 'detector:mahalanobis', '--id', demo('fashion-mnist-train'), '--id-n', '250',
    '--ood', demo('openclipart'), '-n', '4', '--input-size', '32', '--steps', '8', '--batch', '4', '--seed', '5', '--out', join(work, out), ...extra,
  );

async function rowsOf(dir: string): Promise<ReleaseRow[]> {
  const rows: ReleaseRow[] = [];
  for await (const row of (await openRelease(dir)).rows()) rows.push(row);
  return rows;
}

test.serial('every saved image keeps the 8/255 budget, the restarts are recorded, start 0 is the unrestarted run, and a rerun gives the same bytes', async (t) => {
  for (const [out, extra] of [['r3', ['--restarts', '3']], ['r3-again', ['--restarts', '3']], ['r1', []]] as const) {
    const run = await generate(out, ...extra);
    t.is(run.code, 0, run.stderr);
  }
  const manifest = JSON.parse(readFileSync(join(work, 'r3', 'manifest.json'), 'utf8')) as { schema: { restarts?: number }; config: { attack: { params: { restarts?: number } } } };
  t.is(manifest.schema.restarts, 3);
  t.is(manifest.config.attack.params.restarts, 3);
  const report = await verifyRelease(join(work, 'r3'));
  t.deepEqual(report.problems, []);

  const rows = await rowsOf(join(work, 'r3'));
  const single = new Map((await rowsOf(join(work, 'r1'))).map((row) => [row.id, row]));
  t.is(rows.length, 4);
  for (const row of rows) {
    const [adv, clean] = [await decodePngLevels(row.image, 'image'), await decodePngLevels(row.cleanImage!, 'clean')];
    const linf = Math.max(...adv.levels.map((v, i) => Math.abs(v - clean.levels[i]!)));
    t.true(linf <= 8, `${row.id}: ‖δ‖∞ = ${linf} levels`);
    t.true(linf > 0, `${row.id}: the attack moved the image`);
    t.is(row.restartObjectives!.length, 3);
    t.is(row.restartObjectives![row.restart!], Math.fround(row.detectorScoreAfter!));
    t.is(Math.max(...row.restartObjectives!), row.restartObjectives![row.restart!]);
    const alone = single.get(row.id)!;
    t.is(alone.restart, undefined);
    t.is(Math.fround(alone.detectorScoreAfter!), row.restartObjectives![0]!, `${row.id}: start 0 is the run without restarts`);
    if (row.restart === 0) t.deepEqual(Buffer.from(row.image), Buffer.from(alone.image));
  }
  t.log(`winning starts: ${rows.map((row) => row.restart).join(', ')}`);
  const shard = (dir: string) => readFileSync(join(work, dir, (JSON.parse(readFileSync(join(work, dir, 'manifest.json'), 'utf8')) as { shards: { filename: string }[] }).shards[0]!.filename));
  t.true(shard('r3').equals(shard('r3-again')), 'same seed, same bytes');
});

test('verify’s budget check: 8 levels keep ε = 8/255, 9 break it; L2 is measured on the levels too', async (t) => {
  const clean = new Uint8Array(4 * 4 * 3).fill(100);
  const shifted = (by: number) => encodePng(Uint8Array.from(clean, (v, i) => (i === 5 ? v + by : v)), 4, 4);
  const row = async (by: number) => ({ image: await shifted(by), cleanImage: await encodePng(clean, 4, 4), linf: by / 255, l2: by / 255 }) as unknown as ReleaseRow;
  t.is(await budgetViolation(await row(8), { norm: 'linf', epsilon: 8 / 255 }), null);
  t.is(await budgetViolation(await row(9), { norm: 'linf', epsilon: 8 / 255 }), '‖δ‖∞ is 9 levels on the saved PNGs, over ε = 0.03137254901960784 (8 levels)');
  t.is(await budgetViolation(await row(9), { norm: 'l2', epsilon: 0.04 }), null);
  t.regex((await budgetViolation(await row(11), { norm: 'l2', epsilon: 0.04 }))!, /^‖δ‖₂ is 0\.0431\d* on the saved PNGs, over ε = 0\.04$/);
  const withoutClean = { ...(await row(9)), cleanImage: null } as ReleaseRow;
  t.regex((await budgetViolation(withoutClean, { norm: 'linf', epsilon: 8 / 255 }))!, /recorded linf 0\.035\d* exceeds ε = 0\.0313\d* \(no clean image stored to measure δ\)/);
});
