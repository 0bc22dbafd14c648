/**
 * NegLabel (src/detectors/neglabel.ts) against a numpy implementation written from the paper's formulas
 * (test/reference/neglabel_reference.py) on random label, lexicon and image embeddings: the same mined words in
 * the same order, and every score within 1e-6 relative, at the paper's defaults (T = 0.01, 15 %, 95th
 * percentile) and at another setting. The grouping permutation is ours (groupPermutation) and handed to numpy.
 * Skips, saying why, where the reference venv cannot be made.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { NEGLABEL_ADJECTIVE_TEMPLATE, NEGLABEL_DEFAULTS, NEGLABEL_NOUN_TEMPLATE, NegLabelDetector, groupPermutation } from '../../src/detectors/neglabel.js';
import { featureSet } from '../helpers/synthetic-features.js';
import { syntheticTextEmbedder } from '../helpers/synthetic-text.js';
import { referencePython } from '../helpers/reference-venv.js';

const SCRIPT = new URL('../reference/neglabel_reference.py', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'advood-neglabel-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

const SETTINGS = [
  { ...NEGLABEL_DEFAULTS, groups: 5 },
  { negativeFraction: 0.3, percentile: 0.5, groups: 7, temperature: 0.05, seed: 3 },
];

for (const setting of SETTINGS) {
  test(`fraction ${setting.negativeFraction}, percentile ${setting.percentile}, ${setting.groups} groups, T = ${setting.temperature}: mined words and scores equal numpy's`, async (t) => {
    const venv = referencePython();
    if ('unavailable' in venv) {
      t.log(`skipped: ${venv.unavailable}`);
      t.pass();
      return;
    }
    const random = new SeededRandom(23);
    const dim = 12;
    const gaussian = (rows: number) => Array.from({ length: rows }, () => Array.from({ length: dim }, () => random.nextGaussian()));
    const classNames = ['cat', 'dog', 'ship', 'truck'];
    const nouns = Array.from({ length: 200 }, (_, i) => `noun${i}`);
    const adjectives = Array.from({ length: 120 }, (_, i) => `adjective${i}`);
    const [idRows, nounRows, adjectiveRows, images] = [gaussian(classNames.length), gaussian(nouns.length), gaussian(adjectives.length), gaussian(9)];
    // The ID labels share a direction, as real class names do, so that mining has something to rank.
    for (const row of idRows) row[0] = row[0]! + 3;
    const known = new Map<string, number[]>([
      ...classNames.map((name, i) => [NEGLABEL_NOUN_TEMPLATE.replace('{}', name), idRows[i]!] as const),
      ...nouns.map((word, i) => [NEGLABEL_NOUN_TEMPLATE.replace('{}', word), nounRows[i]!] as const),
      ...adjectives.map((word, i) => [NEGLABEL_ADJECTIVE_TEMPLATE.replace('{}', word), adjectiveRows[i]!] as const),
    ]);
    const detector = new NegLabelDetector({ ...setting, lexicon: { nouns, adjectives } });
    await detector.fit({ train: featureSet([[0]], { classNames }), embedText: syntheticTextEmbedder(dim, known) });

    const mined = Math.floor(nouns.length * setting.negativeFraction) + Math.floor(adjectives.length * setting.negativeFraction);
    const input = join(work, `in-${setting.groups}.json`);
    const output = join(work, `out-${setting.groups}.json`);
    writeFileSync(input, JSON.stringify({
      id: idRows, nouns: nounRows, adjectives: adjectiveRows, images,
      fraction: setting.negativeFraction, percentile: setting.percentile, groups: setting.groups, temperature: setting.temperature,
      permutation: Array.from(groupPermutation(mined, setting.groups, setting.seed)),
    }));
    const run = spawnSync(venv.python, [SCRIPT, input, output], { encoding: 'utf8' });
    t.is(run.status, 0, run.stderr);
    const expected = JSON.parse(readFileSync(output, 'utf8')) as { scores: number[]; nouns: number[]; adjectives: number[] };

    t.deepEqual(detector.negativeWords(), [...expected.nouns.map((i) => nouns[i]), ...expected.adjectives.map((i) => adjectives[i])]);
    const ours = detector.score(featureSet(images));
    expected.scores.forEach((value, i) => t.true(Math.abs(ours[i]! - value) <= 1e-6 * Math.abs(value), `image ${i}: ${ours[i]} vs numpy ${value}`));
    t.true(new Set(expected.scores.map((s) => s.toFixed(6))).size > 1, 'the scores differ between images');
  });
}
