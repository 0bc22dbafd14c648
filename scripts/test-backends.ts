/**
 * `npm test`: the ava suite once per tensor backend that starts here — wasm always, tensorflow once
 * `npm run setup:native` has built it (tensorflow-gpu too, where a CUDA build is set up) — and one closing line
 * "N passed, N failed, N skipped" over all runs. Extra arguments go to ava (`npm test -- test/x.test.ts`).
 * `ADVOOD_TEST_BACKENDS=wasm,tensorflow` names the backends instead; a named backend that cannot start fails.
 *
 * Files whose subject runs no tensor code of its own (BACKEND_INDEPENDENT) run on the first backend only: a second
 * run repeats the same bytes and took a third of the tensorflow run's time (cli/faults alone 375 s of test time).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../src/runtime/backend.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CANDIDATES: readonly BackendName[] = ['wasm', 'tensorflow', 'tensorflow-gpu'];

/**
 * Help text, one-line errors and output faults, locks and untrusted names, the Hub client, the data readers, the
 * Hub publishing, the report and the metrics: what they check does not depend on the tensor backend. Everything
 * that computes features, attacks or scores (and the Slurm and parity tests) runs on every backend.
 */
const BACKEND_INDEPENDENT: readonly string[] = [
  'test/api/layers.test.ts',
  'test/cli/errors.test.ts',
  'test/cli/faults.test.ts',
  'test/cli/help.test.ts',
  'test/cli/k8s-indexed-job.test.ts',
  'test/cli/output-faults.test.ts',
  'test/cli/readme-tables.test.ts',
  'test/core/',
  'test/data/crafted-parquet.test.ts',
  'test/data/decode.test.ts',
  'test/data/feature-digest.test.ts',
  'test/data/sources.test.ts',
  'test/hub/',
  'test/metrics/',
  'test/publish/',
  'test/report/',
];

function testFiles(dir = join(REPO, 'test')): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return testFiles(path);
      return name.endsWith('.test.ts') ? [path.slice(REPO.length + 1)] : [];
    });
}

/** The files a backend after the first runs: all but the backend-independent ones. */
function filesForLaterBackends(): string[] {
  return testFiles().filter((file) => !BACKEND_INDEPENDENT.some((entry) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry)));
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** Whether the backend starts in a fresh process, and why not (asked of `advood doctor`, as a user would). */
function backendStarts(backend: BackendName): { ok: boolean; reason: string } {
  const result = spawnSync(process.execPath, [join(REPO, 'bin', 'advood.mjs'), 'doctor', '--json', '--backend', backend], { cwd: REPO, encoding: 'utf8' });
  if (result.status === 0) return { ok: true, reason: '' };
  const reason = (result.stderr ?? '').trim().split('\n').find((line) => line.includes(`${backend}:`)) ?? `exit ${result.status}`;
  return { ok: false, reason: reason.trim() };
}

/** Runs ava with TAP output, echoing it, and counts the results (a crash outside any test counts as one failure). */
function runAva(backend: BackendName, args: readonly string[]): Promise<Counts> {
  return new Promise((resolveCounts) => {
    const ava = join(REPO, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
    const child = spawn(process.execPath, [ava, '--tap', ...args], { cwd: REPO, env: { ...process.env, ADVOOD_BACKEND: backend }, stdio: ['ignore', 'pipe', 'inherit'] });
    const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
    let pending = '';
    const count = (line: string) => {
      if (/^not ok \d+/.test(line)) counts.failed++;
      else if (/^ok \d+/.test(line)) counts[/# (SKIP|TODO)/.test(line) ? 'skipped' : 'passed']++;
    };
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      process.stdout.write(text.replace(/^((?:not )?ok \d+ - )/gm, `$1[${backend}] `));
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(count);
    });
    child.on('close', (code) => {
      count(pending);
      if (code !== 0 && counts.failed === 0) counts.failed = 1;
      resolveCounts(counts);
    });
  });
}

async function main(): Promise<number> {
  const named = process.env.ADVOOD_TEST_BACKENDS?.split(',').map((b) => b.trim()).filter(Boolean) as BackendName[] | undefined;
  const total: Counts = { passed: 0, failed: 0, skipped: 0 };
  const lines: string[] = [];
  let suitesRun = 0;
  for (const backend of named ?? CANDIDATES) {
    const starts = backendStarts(backend);
    if (!starts.ok) {
      if (named) total.failed++;
      lines.push(`${backend}: ${named ? 'FAILED to start' : 'not run'} (${starts.reason})`);
      continue;
    }
    const given = process.argv.slice(2);
    const later = suitesRun > 0 && given.length === 0;
    process.stdout.write(`\n# suite on ${backend}${later ? ' (backend-independent files ran on the first backend only)' : ''}\n`);
    const counts = await runAva(backend, later ? filesForLaterBackends() : given);
    suitesRun++;
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.skipped += counts.skipped;
    lines.push(`${backend}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
  return total.failed === 0 ? 0 : 1;
}

process.exitCode = await main();
