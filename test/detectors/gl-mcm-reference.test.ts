/**
 * GL-MCM (src/detectors/gl-mcm.ts) against a numpy implementation written from the paper's formula
 * (test/reference/gl_mcm_reference.py) on random global and patch features and random text embeddings, at the
 * paper's T = 1, λ = 1 and at T = 0.05, λ = 0.5: equal within 1e-6 relative. Skips, saying why, where the
 * reference venv cannot be made.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { createDetectors } from '../../src/detectors/registry.js';
import { featureSet } from '../helpers/synthetic-features.js';
import { referencePython } from '../helpers/reference-venv.js';

const SCRIPT = new URL('../reference/gl_mcm_reference.py', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'advood-gl-mcm-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

for (const [temperature, lambda] of [[1, 1], [0.05, 0.5]] as const) {
  test(`T = ${temperature}, λ = ${lambda}: every score equals numpy's within 1e-6 relative`, async (t) => {
    const venv = referencePython();
    if ('unavailable' in venv) {
      t.log(`skipped: ${venv.unavailable}`);
      t.pass();
      return;
    }
    const random = new SeededRandom(17);
    const [images, patches, dim, classes] = [6, 9, 8, 5];
    const rows = Array.from({ length: images }, () => Array.from({ length: 1 + patches }, () => Array.from({ length: dim }, () => random.nextGaussian())));
    const text = Array.from({ length: classes }, () => Array.from({ length: dim }, () => random.nextGaussian()));
    const input = join(work, `in-${temperature}.json`);
    const output = join(work, `out-${temperature}.json`);
    writeFileSync(input, JSON.stringify({ images: rows, text, temperature, lambda }));
    const run = spawnSync(venv.python, [SCRIPT, input, output], { encoding: 'utf8' });
    t.is(run.status, 0, run.stderr);
    const expected = (JSON.parse(readFileSync(output, 'utf8')) as { scores: number[] }).scores;
    const [detector] = createDetectors([{ name: 'gl-mcm', options: { temperature, localWeight: lambda } }]);
    await detector!.fit({ train: featureSet([[0]]), textEmbeddings: featureSet(text, { labels: text.map((_, i) => i) }) });
    const ours = detector!.score(featureSet(rows.map((r) => r.flat())));
    expected.forEach((value, i) => t.true(Math.abs(ours[i]! - value) <= 1e-6 * Math.max(1, Math.abs(value)), `image ${i}: ${ours[i]} vs numpy ${value}`));
  });
}

test('features without patches are one line naming the detector and the expected layout', async (t) => {
  const [detector] = createDetectors(['gl-mcm']);
  await detector!.fit({ train: featureSet([[0]]), textEmbeddings: featureSet([[1, 0], [0, 1]], { labels: [0, 1] }) });
  t.throws(() => detector!.score(featureSet([[1, 0, 0]])), { message: /gl-mcm: needs per-patch features \('local-projected': \(1 \+ patches\) × 2 values per image\), got 3/ });
});
