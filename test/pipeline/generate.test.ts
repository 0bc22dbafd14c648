import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRelease, type GenerateOptions } from '../../src/pipeline/generate.js';
import { readManifest } from '../../src/release/release-manifest.js';
import { verifyRelease } from '../../src/release/read/release-verify.js';
import { type BackendReport } from '../../src/runtime/backend.js';
import { UserError } from '../../src/core/errors.js';
import { fakeEncoder } from '../helpers/attack-fake-encoder.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { writeImages } from '../helpers/test-image-files.js';

const root = mkdtempSync(join(tmpdir(), 'advood-generate-'));
process.env.ADVOOD_CACHE = join(root, 'cache');
test.after.always(() => rmSync(root, { recursive: true, force: true }));

let backend: BackendReport;
const SIZE = 32;

test.before(async () => {
  backend = await initTestBackend();
  await writeImages(join(root, 'id', 'Sneaker'), 4, 1, 0.3);
  await writeImages(join(root, 'id', 'Bag'), 4, 2, 0.7);
  await writeImages(join(root, 'ood', 'clipart'), 5, 3, 0.5);
  writeFileSync(join(root, 'ood', 'clipart', 'img02-broken.png'), 'not a png at all');
});

function options(out: string, extra: Partial<GenerateOptions> = {}): GenerateOptions {
  return {
    encoder: fakeEncoder(SIZE),
    id: join(root, 'id'),
    ood: join(root, 'ood'),
    attack: 'paper-smooth',
    overrides: { steps: 6, lr: 0.01, batch: 2, 'constraints.smoothness.lambda': 1, 'target.strategy': 'prototype', successThreshold: 0.5 },
    seed: 7,
    out: join(root, out),
    backend,
    command: 'advood generate (test)',
    ...extra,
  };
}

function releaseFiles(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.arrow') || f === 'dataset_info.json' || f === 'state.json')
      .map((f) => [f, readFileSync(join(dir, f)).toString('base64')]),
  );
}

test('a run writes one row per good image, records the bad one, and raises cos to the target', async (t) => {
  const skipped: string[] = [];
  const summary = await generateRelease({ ...options('a'), onProgress: (e) => e.kind === 'skipped' && skipped.push(e.item) });
  t.is(summary.rows, 5);
  t.is(summary.skipped, 1);
  t.regex(skipped[0]!, /img02-broken\.png/);
  t.true(summary.median.cosAfter > summary.median.cosBefore + 0.05, `${summary.median.cosBefore} → ${summary.median.cosAfter}`);
  const { manifest } = readManifest(join(root, 'a'));
  t.is(manifest.counts.rows, 5);
  t.is(manifest.errors.length, 1);
  t.regex(manifest.errors[0]!.item, /img02-broken\.png/);
  t.deepEqual(manifest.schema.classNames, ['Bag', 'Sneaker']);
  t.is(manifest.seed, 7);
  // Every row's provenance (seed, params hash, model, weights) agrees with what the manifest records.
  t.deepEqual((await verifyRelease(join(root, 'a'))).problems, []);
});

test('the same seed gives a byte-identical release; another seed does not', async (t) => {
  await generateRelease(options('b1'));
  await generateRelease(options('b2'));
  t.deepEqual(releaseFiles(join(root, 'b2')), releaseFiles(join(root, 'b1')));
  await generateRelease({ ...options('b3'), seed: 8 });
  t.notDeepEqual(releaseFiles(join(root, 'b3')), releaseFiles(join(root, 'b1')));
});

test('a run interrupted after two batches resumes there and gives the same bytes', async (t) => {
  // 1-byte shards: every batch commits a part, so an interrupted run has something to resume from.
  await generateRelease({ ...options('f-full'), shardBytes: 1 });
  let batches = 0;
  const interrupt = (e: { kind: string }) => {
    if (e.kind === 'batch' && ++batches === 2) throw new Error('simulated crash');
  };
  await t.throwsAsync(generateRelease({ ...options('f'), shardBytes: 1, onProgress: interrupt }), { message: 'simulated crash' });
  let resumeFrom = -1;
  await generateRelease({ ...options('f'), shardBytes: 1, onProgress: (e) => e.kind === 'start' && (resumeFrom = e.resumeFrom) });
  t.is(resumeFrom, 4, 'two batches of 2 were committed');
  t.deepEqual(releaseFiles(join(root, 'f')), releaseFiles(join(root, 'f-full')));
});

test('--n and --id-n beyond the source size are clear errors', async (t) => {
  await t.throwsAsync(generateRelease({ ...options('c'), idN: 50 }), { instanceOf: UserError, message: /has 8 images, fewer than the 50 requested with --id-n/ });
  await t.throwsAsync(generateRelease({ ...options('d'), n: 99 }), { instanceOf: UserError, message: /has 6 images, fewer than the 99 requested with --n/ });
});

test('--on-error fail stops at the bad image and names it', async (t) => {
  await t.throwsAsync(generateRelease({ ...options('e'), onError: 'fail' }), { message: /img02-broken\.png/ });
});

test('every refusal comes before --out exists, so the corrected command then runs in it', async (t) => {
  const preset = JSON.parse(readFileSync(new URL('../../configs/attacks/paper-smooth.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  const presetFile = (name: string, edit: Record<string, unknown>) => {
    const path = join(root, `${name}.json`);
    writeFileSync(path, JSON.stringify({ ...preset, ...edit }));
    return path;
  };
  const out = 'checked-first';
  const refusals: [Partial<GenerateOptions>, RegExp][] = [
    [{ attack: presetFile('unknown-attack', { attack: 'feature-collisionn' }) }, /unknown-attack\.json .*'attack' must be one of feature-collision, .*got "feature-collisionn"/],
    [{ attack: presetFile('bad-features', { features: 'penultimate' }) }, /bad-features\.json .*'features' must be one of/],
    [{ ood: join(root, 'no-such-ood') }, /no-such-ood/],
    [{ n: 99 }, /fewer than the 99 requested with --n/],
    [{ objective: 'detector:nope' }, /unknown detector 'nope'/],
  ];
  for (const [extra, message] of refusals) {
    await t.throwsAsync(generateRelease(options(out, extra)), { instanceOf: UserError, message });
    t.false(existsSync(join(root, out)), `--out is untouched after ${JSON.stringify(extra)}`);
  }
  await generateRelease(options(out, { attack: presetFile('corrected', {}) }));
  t.deepEqual((await verifyRelease(join(root, out))).problems, []);
});
