import test from 'ava';
import { advood } from '../helpers/run-cli.js';

test('doctor reports a backend as JSON', async (t) => {
  const { code, stdout } = await advood('doctor', '--json');
  t.is(code, 0);
  const report = JSON.parse(stdout) as { chosen: string; attempts: unknown[] };
  t.truthy(report.chosen);
  t.true(report.attempts.length >= 1);
});

test('an unknown backend is one clear line, not a stack trace', async (t) => {
  const { code, stderr } = await advood('doctor', '--backend', 'tpu');
  t.is(code, 2);
  t.regex(stderr, /unknown backend 'tpu'/);
  t.notRegex(stderr, /\n\s+at /);
});
