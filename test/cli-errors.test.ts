import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = new URL('../bin/advood.mjs', import.meta.url).pathname;

async function advood(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { ...process.env, ADVOOD_BACKEND: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

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
