/**
 * The ImageNet-1K OOD suite (configs/experiments/imagenet-ood.json) against the mock Hub, with tiny stand-ins of
 * each layout under the repositories the config names: Parquet shards with a ClassLabel in a gated repo that
 * answers 401 without a token (ILSVRC/imagenet-1k), the Hub's auto-converted Parquet on refs/convert/parquet
 * (OpenImage-O, ImageNet-O), plain Parquet folders (DTD, SSB-hard, iNaturalist), and the optional sets that are
 * not on the Hub left unset. `--dry-run` lists every set without downloading an image; a run of the same config
 * on the embedded target reads every set through the real Hub path.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { classLabelColumn, imageColumn, writeParquetFile, type FixtureColumn } from '../helpers/hf-dataset-writer.js';
import { type MockHub, startMockHub } from '../helpers/mock-hub.js';
import { advoodWithEnv } from '../helpers/run-cli.js';

const CONFIG = new URL('../../configs/experiments/imagenet-ood.json', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'advood-imagenet-suite-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

/** `count` 24-px PNGs, each a different colour with a stripe, so features differ between images and sets. */
async function pngs(count: number, seed: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const hue = (seed * 97 + i * 37) % 256;
    const raw = Buffer.alloc(24 * 24 * 3);
    for (let p = 0; p < 24 * 24; p++) {
      const stripe = Math.floor(p / 24) % (3 + (i % 4)) === 0 ? 120 : 0;
      raw[p * 3] = (hue + stripe) % 256;
      raw[p * 3 + 1] = (hue * 3 + p) % 256;
      raw[p * 3 + 2] = (seed * 50 + stripe) % 256;
    }
    out.push(new Uint8Array(await sharp(raw, { raw: { width: 24, height: 24, channels: 3 } }).png().toBuffer()));
  }
  return out;
}

let fileNumber = 0;
function parquet(columns: readonly FixtureColumn[]): Buffer {
  const path = join(work, `stand-in-${fileNumber++}.parquet`);
  writeParquetFile(path, columns);
  return readFileSync(path);
}

const labelled = async (count: number, seed: number) =>
  parquet([
    imageColumn('image', await pngs(count, seed)),
    classLabelColumn(
      'label',
      ['tench', 'goldfish'],
      Array.from({ length: count }, (_, i) => i % 2),
    ),
  ]);
const unlabelled = async (count: number, seed: number) => parquet([imageColumn('image', await pngs(count, seed))]);

/** The config's repositories, each in the layout its real copy has (as far as the config's notes confirm it). */
async function standIns(hub: MockHub): Promise<void> {
  hub.createRepo('ILSVRC/imagenet-1k', {
    gated: true,
    files: { 'data/train-00000-of-00001.parquet': await labelled(24, 1), 'data/validation-00000-of-00001.parquet': await labelled(8, 2), 'README.md': '# ImageNet stand-in\n' },
  });
  for (const [repo, seed] of [['XuZhan1/Openimage-O', 3], ['Voxel51/ImageNet-O', 4]] as const) {
    hub.createRepo(repo, { files: { 'README.md': '# main holds another layout\n' } });
    hub.commitFiles(repo, { 'default/train/0000.parquet': await unlabelled(6, seed) }, { branch: 'refs/convert/parquet', title: 'Update parquet files' });
  }
  hub.createRepo('torch-uncertainty/inaturalist', { files: { 'data/test-00000-of-00001.parquet': await unlabelled(5, 5) } });
  hub.createRepo('tanganke/dtd', { files: { 'data/train-00000-of-00001.parquet': await labelled(6, 6), 'data/test-00000-of-00001.parquet': await labelled(4, 7) } });
  hub.createRepo('detectors/ssb_hard-ood', { files: { 'data/train-00000-of-00001-1c213f42b97141bd.parquet': await unlabelled(3, 8) } });
}

test.serial('--dry-run lists every set of the ImageNet suite with its commit and size, downloads no image, and names a missing token', async (t) => {
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  await standIns(hub);
  const home = join(work, 'dry-home');
  const env = { HF_ENDPOINT: hub.url, HF_HOME: home, HF_TOKEN: hub.token, SUN: undefined, PLACES: undefined, NINCO: undefined };

  const listed = await advoodWithEnv(env, 'experiment', CONFIG, '--variant', 'vit-g', '--dry-run');
  t.is(listed.code, 0, listed.stderr);
  const lines = listed.stdout.split('\n');
  t.regex(lines[0]!, /^experiment imagenet-ood-vit-g \(variant vit-g\): target vit-g/);
  for (const name of ['openimage-o', 'inaturalist', 'textures', 'ssb-hard', 'imagenet-o']) {
    t.true(lines.some((line) => new RegExp(`^  ood +${name} +hf://datasets/\\S+  \\[commit [0-9a-f]{12}, \\d+ files, [\\d.]+ KiB`).test(line)), `${name}:\n${listed.stdout}`);
  }
  t.regex(listed.stdout, /id-train +id-train +hf:\/\/datasets\/ILSVRC\/imagenet-1k\?split=train  \[commit [0-9a-f]{12}, 4 files, .*, gated \(HF_TOKEN set\)\]/);
  t.regex(listed.stdout, /openimage-o +hf:\/\/datasets\/XuZhan1\/Openimage-O@refs\/convert\/parquet  \[commit [0-9a-f]{12}, 3 files, [\d.]+ KiB, first 1000\]/);
  for (const [name, variable] of [['sun', 'SUN'], ['places', 'PLACES'], ['ninco', 'NINCO']]) {
    t.regex(listed.stdout, new RegExp(`ood +${name} +\\(not set\\) — skipped: optional: set --var ${variable}=PATH`));
  }
  t.regex(listed.stdout, /attacks: paper-smooth, paper-patchy on 'openimage-o'/);
  t.deepEqual(hub.requests.filter((r) => r.url.includes('/resolve/')), [], 'a dry run downloads nothing');
  t.throws(() => readdirSync(join(home, 'hub', 'datasets--ILSVRC--imagenet-1k', 'blobs')));

  const json = await advoodWithEnv({ ...env, SUN: '/nonexistent/sun' }, 'experiment', CONFIG, '--dry-run', '--json');
  t.is(json.code, 2, 'a set whose path does not exist is a problem');
  const plan = JSON.parse(json.stdout.trim().split('\n')[0]!) as { variant: string; sources: { name: string; status: string; reason?: string; hub?: { gated: string } }[] };
  t.is(plan.variant, 'vit-l-14', 'the first variant by default');
  t.is(plan.sources.length, 10);
  t.is(plan.sources.find((s) => s.name === 'id-train')!.hub!.gated, 'manual');
  t.is(plan.sources.find((s) => s.name === 'sun')!.status, 'problem');
  t.regex(json.stderr, /^advood: 1 of 10 sources cannot be read: sun \(see the list above\)$/m);

  const noToken = await advoodWithEnv({ ...env, HF_TOKEN: undefined }, 'experiment', CONFIG, '--dry-run');
  t.is(noToken.code, 2);
  t.regex(noToken.stdout, /id-train .* CANNOT BE READ: the dataset is gated \(manual\): set HF_TOKEN/);
  t.regex(noToken.stderr, /^advood: 2 of 10 sources cannot be read: id-train, id-test/m);
});

test.serial('the suite runs on the embedded target through the Hub: every present set scored, the optional ones skipped, a missing token one line', async (t) => {
  const hub = await startMockHub();
  t.teardown(() => hub.close());
  await standIns(hub);
  // The real config's sources and sets, on the embedded target at 32 px, with sizes and steps a test can afford.
  const suite = JSON.parse(readFileSync(CONFIG, 'utf8')) as Record<string, any>;
  suite.variants = { tiny: { target: 'mobilenet-v2', inputSize: 32 } };
  suite.data.ood['openimage-o'].size = 4;
  suite.attacks = [{ preset: 'paper-patchy', overrides: { steps: 2, batch: 4 } }];
  suite.evaluation = { detectors: ['knn', 'mahalanobis'], bootstrap: { resamples: 20 }, adaptive: { n: 2, steps: 2, attacks: ['repeat'] } };
  const config = join(work, 'imagenet-ood-tiny.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(config, JSON.stringify(suite));
  const out = join(work, 'run');
  const env = { HF_ENDPOINT: hub.url, HF_HOME: join(work, 'run-home'), ADVOOD_CACHE: join(work, 'run-cache'), SUN: undefined, PLACES: undefined, NINCO: undefined };

  const refused = await advoodWithEnv({ ...env, HF_TOKEN: undefined }, 'experiment', config, '--out', out);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /^advood: ILSVRC\/imagenet-1k\/\S+: the Hub asks for a token \(HTTP 401\): the repository is gated or private; set HF_TOKEN/m);
  t.notRegex(refused.stderr, /\n\s+at /, 'no stack trace');

  const ran = await advoodWithEnv({ ...env, HF_TOKEN: hub.token }, 'experiment', config, '--out', out, '--json');
  t.is(ran.code, 0, ran.stderr);
  t.regex(ran.stdout + ran.stderr, /sun: skipped \(optional; set --var SUN=PATH to include it\)/);
  const summary = JSON.parse(readFileSync(join(out, 'evaluation', 'summary.json'), 'utf8')) as { rows: { detector: string; set: string }[] };
  const sets = new Set(summary.rows.map((r) => r.set));
  for (const set of ['paper-patchy', 'paper-patchy:clean', 'inaturalist', 'textures', 'ssb-hard', 'imagenet-o', 'adaptive-knn-1', 'adaptive-mahalanobis']) t.true(sets.has(set), `${set} in ${[...sets].join(', ')}`);
  t.false([...sets].some((s) => /sun|places|ninco|^openimage-o$/.test(s)), 'skipped sets and the attacked set itself (scored through its releases) are not rows');
  const manifest = JSON.parse(readFileSync(join(out, 'paper-patchy', 'manifest.json'), 'utf8')) as Record<string, unknown>;
  t.regex(JSON.stringify(manifest), /XuZhan1\/Openimage-O@[0-9a-f]{40}/, 'the release records the commit the branch pointed at');
});
