import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../src/core/errors.js';
import { requestedWasmThreads } from '../../src/runtime/wasm-threads.js';

const CHILD = fileURLToPath(new URL('../helpers/wasm-threads-child.ts', import.meta.url));
const cache = mkdtempSync(join(tmpdir(), 'advood-wasm-threads-'));
test.after.always(() => rmSync(cache, { recursive: true, force: true }));

test('ADVOOD_WASM_THREADS: unset or empty is 1; integers 1–8 are taken; anything else is a UserError', (t) => {
  t.is(requestedWasmThreads({}), 1);
  t.is(requestedWasmThreads({ ADVOOD_WASM_THREADS: '' }), 1);
  t.is(requestedWasmThreads({ ADVOOD_WASM_THREADS: '2' }), 2);
  t.is(requestedWasmThreads({ ADVOOD_WASM_THREADS: '8' }), 8);
  for (const bad of ['0', '9', '1.5', 'two', '-2']) {
    t.throws(() => requestedWasmThreads({ ADVOOD_WASM_THREADS: bad }), { instanceOf: UserError, message: /ADVOOD_WASM_THREADS.*1 to 8/ });
  }
});

interface ChildResult {
  backend: string;
  threads: number;
  values: number[];
}

/** Runs the child in a fresh process; the timeout also proves that the process exits by itself. */
function runChild(threads: string | undefined): ChildResult {
  const env: NodeJS.ProcessEnv = { ...process.env, ADVOOD_CACHE: cache };
  delete env.ADVOOD_WASM_THREADS;
  if (threads !== undefined) env.ADVOOD_WASM_THREADS = threads;
  const out = execFileSync(process.execPath, ['--import=tsx', CHILD], { env, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
}

test('ADVOOD_WASM_THREADS=2 runs the threaded build with 2 pool threads, same results as 1 thread, and exits', (t) => {
  const single = runChild(undefined);
  const threaded = runChild('2');
  t.is(single.backend, 'wasm');
  t.is(single.threads, 1);
  t.is(threaded.backend, 'wasm');
  t.is(threaded.threads, 2);
  t.is(threaded.values.length, single.values.length);
  const maxDiff = Math.max(...threaded.values.map((v, i) => Math.abs(v - single.values[i]!)));
  t.true(maxDiff < 1e-5, `max abs diff ${maxDiff}`);
});
