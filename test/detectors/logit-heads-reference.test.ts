/**
 * The logit heads (MSP, energy, max-logit, GEN; src/detectors/shared/logit-scores.ts) against a numpy
 * implementation written from the papers' formulas (test/reference/logit_heads_reference.py), on random logits
 * of 3 and of 150 classes (more than GEN's top M = 100) at two temperatures: equal within 1e-6 (relative; absolute below 1). Skips,
 * saying why, where the reference venv cannot be made.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { LOGIT_SCORE_NAMES, logitScores } from '../../src/detectors/shared/logit-scores.js';
import { referencePython } from '../helpers/reference-venv.js';

const SCRIPT = new URL('../reference/logit_heads_reference.py', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'advood-logit-heads-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

for (const [rows, classes, temperature, scale] of [[7, 3, 1, 3], [5, 150, 0.5, 4], [4, 150, 2, 20]] as const) {
  test(`${classes} classes, T = ${temperature}: every head equals numpy's within 1e-6 relative`, (t) => {
    const venv = referencePython();
    if ('unavailable' in venv) {
      t.log(`skipped: ${venv.unavailable}`);
      t.pass();
      return;
    }
    const random = new SeededRandom(classes + rows);
    const logits = Array.from({ length: rows }, () => Array.from({ length: classes }, () => scale * random.nextGaussian()));
    const input = join(work, `in-${classes}-${temperature}.json`);
    const output = join(work, `out-${classes}-${temperature}.json`);
    writeFileSync(input, JSON.stringify({ logits, temperature }));
    const run = spawnSync(venv.python, [SCRIPT, input, output], { encoding: 'utf8' });
    t.is(run.status, 0, run.stderr);
    const expected = JSON.parse(readFileSync(output, 'utf8')) as Record<string, number[]>;
    for (const head of LOGIT_SCORE_NAMES) {
      const ours = logitScores(logits.flat(), rows, classes, head, temperature);
      expected[head]!.forEach((value, r) => t.true(Math.abs(ours[r]! - value) <= 1e-6 * Math.max(1, Math.abs(value)), `${head} row ${r}: ${ours[r]} vs numpy ${value}`));
    }
  });
}
