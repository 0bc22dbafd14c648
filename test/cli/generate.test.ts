import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolveAttackPreset } from '../../attacks/attack-params.js';
import { overridesFromArgs } from '../../src/cli/generate.js';
import { TEST_BACKEND } from '../helpers/test-backend.js';

const run = promisify(execFile);
const cli = new URL('../../bin/advood.mjs', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'advood-generate-cli-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

async function generate(...args: string[]): Promise<{ code: number; stderr: string }> {
  const base = ['generate', '--backend', TEST_BACKEND, '--id', work, '--ood', work, '--out', join(work, 'out')];
  try {
    const { stderr } = await run(process.execPath, [cli, ...base, ...args], { env: { ...process.env, ADVOOD_CACHE: join(work, 'cache') } });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

// Flag-to-field mapping and validation are covered in attacks/params.test.ts; these check the CLI path.
const CASES: [string, string[], RegExp][] = [
  ['an unknown preset', ['--attack', 'paper-smoothh'], /unknown attack preset 'paper-smoothh': not a preset \(.*paper-smooth.*\)/],
  ['a negative λ', ['--lambda', '-5'], /constraints\.smoothness\.lambda' must be ≥ 0, got -5/],
  ['a malformed --set', ['--set', 'steps'], /--set "steps": expected field=value/],
];

for (const [name, args, message] of CASES) {
  test(`generate rejects ${name} in one line without a stack trace`, async (t) => {
    const { code, stderr } = await generate(...args);
    t.is(code, 2);
    t.regex(stderr, message);
    t.notRegex(stderr, /\n\s+at /);
  });
}

test('CLI flags map onto preset fields', (t) => {
  const overrides = overridesFromArgs({ steps: 5, lambda: 20, lr: 0.01, budget: 'linf:0.03', 'target-class': 'Sneaker', set: ['constraints.dctLowPass.k=8', 'successThreshold=0.95'] });
  const { params } = resolveAttackPreset('paper-smooth', overrides);
  t.is(params.steps, 5);
  t.is(params.lr, 0.01);
  t.is(params.constraints.smoothness!.lambda, 20);
  t.deepEqual(params.constraints.budget, { norm: 'linf', epsilon: 0.03 });
  t.is(params.target.class, 'Sneaker');
  t.deepEqual(params.constraints.dctLowPass, { k: 8 });
  t.is(params.successThreshold, 0.95);
});
