import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { initBackend, type BackendLoader } from '../../src/runtime/backend.js';
import { UserError } from '../../src/core/errors.js';
import { totalmem } from 'node:os';

// These tests are about the selection itself: the suite's own backend choice (ADVOOD_BACKEND, set per run by
// .ci/run) must not steer them.
delete process.env.ADVOOD_BACKEND;

const failing = (name: BackendLoader['name'], reason: string): BackendLoader => ({
  name,
  load: async () => {
    throw new Error(reason);
  },
});
const working = (name: BackendLoader['name'], log: string[]): BackendLoader => ({
  name,
  load: async () => {
    log.push(name);
  },
});

test('auto falls back in order and records why each backend was skipped', async (t) => {
  const log: string[] = [];
  const report = await initBackend({
    loaders: [failing('tensorflow-gpu', 'no binding'), failing('tensorflow', 'not installed'), working('wasm', log), working('cpu', log)],
  });
  t.is(report.chosen, 'wasm');
  t.deepEqual(log, ['wasm'], 'cpu is never tried once wasm works');
  t.deepEqual(
    report.attempts.map((a) => [a.name, a.ok, a.reason]),
    [
      ['tensorflow-gpu', false, 'no binding'],
      ['tensorflow', false, 'not installed'],
      ['wasm', true, ''],
    ],
  );
});

test('falls through to cpu when wasm also fails', async (t) => {
  const log: string[] = [];
  const report = await initBackend({ loaders: [failing('tensorflow-gpu', 'a'), failing('tensorflow', 'b'), failing('wasm', 'c'), working('cpu', log)] });
  t.is(report.chosen, 'cpu');
});

test('an explicit request tries only that backend and fails loudly', async (t) => {
  const log: string[] = [];
  const loaders = [failing('tensorflow-gpu', 'no CUDA'), working('wasm', log), working('cpu', log)];
  const report = await initBackend({ request: 'cpu', loaders });
  t.is(report.chosen, 'cpu');
  t.is(report.source, '--backend');
  t.deepEqual(log, ['cpu']);
  const error = await t.throwsAsync(initBackend({ request: 'tensorflow-gpu', loaders }), { instanceOf: UserError });
  t.regex(error!.message, /tensorflow-gpu: no CUDA/);
});

test.serial('ADVOOD_BACKEND is honoured and validated', async (t) => {
  const log: string[] = [];
  process.env.ADVOOD_BACKEND = 'cpu';
  try {
    const report = await initBackend({ loaders: [working('wasm', log), working('cpu', log)] });
    t.is(report.chosen, 'cpu');
    t.is(report.source, 'ADVOOD_BACKEND');
    process.env.ADVOOD_BACKEND = 'tpu';
    await t.throwsAsync(initBackend({ loaders: [working('wasm', log)] }), { instanceOf: UserError, message: /ADVOOD_BACKEND: unknown backend 'tpu'/ });
  } finally {
    delete process.env.ADVOOD_BACKEND;
  }
});

test.serial('the real chain picks the first backend that starts; wasm on a machine without tfjs-node', async (t) => {
  const report = await initBackend();
  t.true(['wasm', 'tensorflow', 'tensorflow-gpu'].includes(report.chosen));
  if (report.chosen === 'wasm') {
    t.is(report.heapLimitBytes, 4 * 1024 ** 3);
    t.regex(report.attempts[0]!.reason, /tfjs-node-gpu/);
    t.is(report.native, undefined);
  } else {
    t.is(report.heapLimitBytes, report.chosen === 'tensorflow' ? totalmem() : null, 'host memory bounds TensorFlow on the CPU');
    t.regex(report.native!.tensorflowVersion, /^\d+\.\d+/, 'a node backend names its TensorFlow');
  }
});

test('the tensorflow backend starts whatever the process command line holds (node-pre-gyp reads argv)', async (t) => {
  const probe = [
    "process.argv.push('--dir', '/nonexistent', '-C', '/nonexistent');",
    "const { initBackend } = await import('./src/runtime/backend.ts');",
    "const report = await initBackend({ request: 'tensorflow' }).catch((e) => ({ error: String(e) }));",
    'console.log(JSON.stringify(report));',
  ].join('\n');
  const repo = new URL('../..', import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import=tsx', '--input-type=module', '-e', probe], { cwd: repo });
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { chosen?: string; error?: string };
  if (report.error && /no native binding|not installed/.test(report.error)) {
    t.log(`tensorflow not set up here (${report.error.split('\n').find((l) => l.includes('tensorflow:'))?.trim()}); nothing to check`);
    t.pass();
    return;
  }
  t.is(report.chosen, 'tensorflow', report.error);
});
