/**
 * The end-to-end CLI tests of each encoder family (test/cli/*-end-to-end.test.ts) share one set-up: a scratch folder
 * with its own advood cache, two small ID classes (train and test) and an OOD folder, and the real CLI run in it;
 * and, for the families with a text tower, one flow: `generate` by feature collision and with a zero-shot objective,
 * then `evaluate --adaptive` with k-NN and MCM.
 */
import type { ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { advoodWithEnv } from './run-cli.js';
import { writeImages } from './test-image-files.js';

export interface FamilyCli {
  root: string;
  advood: (...args: string[]) => ReturnType<typeof advoodWithEnv>;
  /** Writes id/{cat,dog} (6 each), id-test/{cat,dog} (4 each) and ood/clipart (4) under root. */
  writeData(): Promise<void>;
  remove(): void;
}

export function familyCli(family: string): FamilyCli {
  const root = mkdtempSync(join(tmpdir(), `advood-${family}-cli-`));
  const env = { ADVOOD_CACHE: join(root, 'cache') };
  return {
    root,
    advood: (...args) => advoodWithEnv(env, ...args),
    async writeData() {
      await writeImages(join(root, 'id', 'cat'), 6, 1, 0.25);
      await writeImages(join(root, 'id', 'dog'), 6, 2, 0.75);
      await writeImages(join(root, 'id-test', 'cat'), 4, 4, 0.25);
      await writeImages(join(root, 'id-test', 'dog'), 4, 5, 0.75);
      await writeImages(join(root, 'ood', 'clipart'), 4, 3, 0.05);
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The last JSON event a `--json` run printed. */
export const lastEvent = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

/**
 * generate (feature collision, then an MCM objective) and evaluate --adaptive with k-NN and MCM on `checkpoint`, whose
 * directory name `name` must be the release's target.
 */
export async function generateAndEvaluateWithText(t: ExecutionContext, cli: FamilyCli, checkpoint: string, name: string): Promise<void> {
  const { root, advood } = cli;
  const release = join(root, 'release');
  const overrides = ['--steps', '3', '--batch', '2', '--lr', '0.01', '--lambda', '1'];
  const paper = await advood('generate', '--target', checkpoint, '--id', join(root, 'id'), '--ood', join(root, 'ood'), '--out', release, ...overrides, '--json');
  t.is(paper.code, 0, paper.stderr);
  t.regex(readFileSync(join(release, 'manifest.json'), 'utf8'), new RegExp(name));

  const mcm = await advood('generate', '--target', checkpoint, '--id', join(root, 'id'), '--ood', join(root, 'ood'), '--out', join(root, 'release-mcm'), '--objective', 'detector:mcm', ...overrides, '--json');
  t.is(mcm.code, 0, mcm.stderr);

  const evalOut = join(root, 'eval');
  const evaluate = await advood(
    'evaluate', '--target', checkpoint, '--id-train', join(root, 'id'), '--id-test', join(root, 'id-test'), '--ood', `adv=${release}`,
    '--detectors', 'knn', 'mcm', '--out', evalOut, '--batch', '4', '--bootstrap', '0', '--gallery', '0',
    '--adaptive', '--adaptive-steps', '3', '--adaptive-attacks', 'repeat', '--json',
  );
  t.is(evaluate.code, 0, evaluate.stderr);
  const summary = JSON.parse(readFileSync(join(evalOut, 'summary.json'), 'utf8')) as { rows: Array<{ detector: string; set: string }> };
  const sets = new Set(summary.rows.map((r) => r.set));
  for (const set of ['adv:clean', 'adv', 'adaptive-knn-1', 'adaptive-mcm']) t.true(sets.has(set), `${set} in ${[...sets].join(', ')}`);
  t.true(summary.rows.some((r) => r.detector === 'mcm'), 'the zero-shot detector ran on the text tower');
}
