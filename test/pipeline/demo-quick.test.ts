/**
 * The project's integration test: `advood demo --quick` as a user runs it (a child process of the real CLI),
 * then checks the structure of what it produced — verified releases, the evaluation outputs and the report.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { verifyRelease } from '../../src/release/read/release-verify.js';

const run = promisify(execFile);
const cli = new URL('../../bin/advood.mjs', import.meta.url).pathname;

interface DoneEvent {
  event: 'done';
  releases: { name: string; dir: string; rows: number; psnr: number; cosBefore: number; cosAfter: number }[];
  report: string;
  files: string[];
}

interface SummaryJson {
  rows: { detector: string; set: string; metrics: Record<string, { value: number; low: number; high: number }> }[];
  collapses: { detector: string; adversarial: string; clean: string }[];
}

test('advood demo --quick: releases verify, every detector is reported on clean and adversarial sets, report exists', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'advood-demo-test-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const { stdout } = await run(process.execPath, [cli, 'demo', '--quick', '--out', out, '--json'], { maxBuffer: 1 << 26 });
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { event: string });
  const done = lines.at(-1) as DoneEvent;
  t.is(done.event, 'done');

  t.deepEqual(done.releases.map((r) => r.name), ['adv-prototype', 'adv-sample']);
  for (const release of done.releases) {
    t.is(release.rows, 8, `${release.name} attacked every quick-demo image`);
    const verified = await verifyRelease(release.dir);
    t.true(verified.ok, `${release.name}: ${JSON.stringify(verified.problems)}`);
    t.true(release.cosAfter > release.cosBefore, `${release.name}: the attack moved features towards the targets`);
  }

  t.true(existsSync(done.report));
  const html = readFileSync(done.report, 'utf8');
  t.regex(html, /<svg/);
  t.notRegex(html, /https?:\/\/(?!www\.w3\.org)/, 'the report is self-contained');
  for (const name of ['summary.md', 'summary.csv', 'summary.json', 'scores.arrow', 'report.html']) {
    t.true(done.files.some((f) => f.endsWith(name)), name);
  }

  const summary = JSON.parse(readFileSync(join(out, 'evaluation', 'summary.json'), 'utf8')) as SummaryJson;
  const detectors = new Set(summary.rows.map((r) => r.detector));
  for (const name of ['knn-1', 'knn-1-no-targets', 'mahalanobis', 'relative-mahalanobis', 'probe-msp', 'probe-energy', 'probe-max-logit', 'probe-gen']) {
    t.true(detectors.has(name), `${name} is reported`);
  }
  const sets = new Set(summary.rows.map((r) => r.set));
  for (const name of ['openclipart', 'textures', 'adv-prototype', 'adv-prototype:clean', 'adv-sample', 'adv-sample:clean']) t.true(sets.has(name), name);
  // A percentile bootstrap interval need not contain the point estimate (a skewed statistic near its bound, such
  // as an AUPR-Out of 0.015 over many tied scores, can have every resample above it), so only the interval's own
  // sanity is required: finite, ordered, in [0, 1].
  for (const row of summary.rows) {
    for (const [metric, { value, low, high }] of Object.entries(row.metrics)) {
      const inUnit = (x: number) => Number.isFinite(x) && x >= 0 && x <= 1;
      t.true(inUnit(value) && inUnit(low) && inUnit(high) && low <= high, `${row.detector}/${row.set} ${metric}: ${value} [${low}, ${high}]`);
    }
  }
  t.true(summary.collapses.some((c) => c.detector === 'knn-1' && c.adversarial === 'adv-sample' && c.clean === 'adv-sample:clean'));
});
