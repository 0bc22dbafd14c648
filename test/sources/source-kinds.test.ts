import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { UserError } from '../../src/core/errors.js';
import { packagePath } from '../../src/core/repo-paths.js';
import { openImageSource, openSource, openSourceAmong, sourceDisplayName } from '../../src/sources/open-source.js';
import { sourceSpecHelp } from '../../src/sources/source-help.js';
import type { SourceKind } from '../../src/sources/source-kind.js';
import { SOURCE_KINDS } from '../../src/sources/source-kinds.js';
import { joinSpecChoice, splitSpecChoice, withChoiceDefaults } from '../../src/sources/source-spec.js';
import { classLabelColumn, imageColumn, writeDatasetDict, writeParquetFile, writeSaveToDisk } from '../helpers/hf-dataset-writer.js';

const root = mkdtempSync(join(tmpdir(), 'advood-source-kinds-'));

async function columns(count: number) {
  const pngs = await Promise.all(Array.from({ length: count }, (_, i) => sharp({ create: { width: 2, height: 2, channels: 3, background: { r: i, g: i, b: i } } }).png().toBuffer()));
  return [imageColumn('image', pngs), classLabelColumn('label', ['a', 'b'], pngs.map((_, i) => i % 2))];
}

test('every source kind is in the --help text of source specs', (t) => {
  for (const kind of SOURCE_KINDS) t.true(sourceSpecHelp().includes(kind.prefix), kind.name);
});

test('bare paths open by content: save_to_disk, DatasetDict, Parquet folder and file, release, image folder', async (t) => {
  writeSaveToDisk(join(root, 'saved'), await columns(3));
  writeDatasetDict(join(root, 'dict'), { train: await columns(2), test: await columns(4) });
  writeParquetFile(join(root, 'pq', 'data', 'train-00000-of-00001.parquet'), await columns(5));
  writeParquetFile(join(root, 'pq', 'data', 'test-00000-of-00001.parquet'), await columns(1));
  mkdirSync(join(root, 'folder', 'x'), { recursive: true });
  await sharp({ create: { width: 2, height: 2, channels: 3, background: 'red' } }).png().toFile(join(root, 'folder', 'x', 'a.png'));
  mkdirSync(join(root, 'release'));
  writeFileSync(join(root, 'release', 'manifest.json'), '{}');
  writeFileSync(join(root, 'release', 'state.json'), '{}');

  t.deepEqual((await openImageSource(join(root, 'saved'))).classNames, ['a', 'b']);
  t.is((await openImageSource(join(root, 'dict'))).items.length, 2);
  t.is((await openImageSource(`${join(root, 'dict')}?split=test`)).items.length, 4);
  t.is((await openImageSource(join(root, 'dict'), { split: 'test' })).items.length, 4);
  // The spec's own query wins over the command's flags.
  t.is((await openImageSource(`${join(root, 'dict')}?split=train`, { split: 'test' })).items.length, 2);
  t.is((await openImageSource(join(root, 'pq'))).items.length, 5);
  t.is((await openImageSource(`parquet:${join(root, 'pq')}?split=test`)).items.length, 1);
  t.is((await openImageSource(join(root, 'pq', 'data', 'train-00000-of-00001.parquet'))).items.length, 5);
  t.is((await openImageSource(`hf-arrow:${join(root, 'saved')}`)).items.length, 3);
  t.deepEqual((await openImageSource(join(root, 'folder'))).classNames, ['x']);
  t.is((await openSource(join(root, 'release'))).type, 'release');
  // A Hub snapshot: the Parquet export under data/ and the sealed release in a subfolder opens as the release.
  mkdirSync(join(root, 'snapshot-release'));
  writeParquetFile(join(root, 'snapshot-release', 'data', 'train-00000-of-00001.parquet'), await columns(1));
  const sealed = join(root, 'snapshot-release', 'advood-release');
  mkdirSync(sealed);
  writeFileSync(join(sealed, 'manifest.json'), '{}');
  writeFileSync(join(sealed, 'state.json'), '{}');
  const snapshot = await openSource(join(root, 'snapshot-release'));
  t.is(snapshot.type === 'release' ? snapshot.dir : null, sealed);

  await t.throwsAsync(openSource(`release:${join(root, 'folder')}`), { instanceOf: UserError, message: /folder: not an advood release, nor a folder holding one/ });
  await t.throwsAsync(openSource('parquet:'), { instanceOf: UserError, message: /^parquet:: nothing after 'parquet:'; expected parquet:FILE\|DIR$/ });
  await t.throwsAsync(openSource(`${join(root, 'dict')}?split=test&colour=red`), { instanceOf: UserError, message: /unknown source option 'colour'/ });
});

test('a URI kind resolves to a local path that is then opened by content', async (t) => {
  writeSaveToDisk(join(root, 'snapshot'), await columns(2));
  const resolved: string[] = [];
  const hub: SourceKind = {
    name: 'fake-hub',
    prefix: 'fake://',
    syntax: 'NAME',
    description: 'a stand-in for a Hub kind',
    async resolve(location) {
      resolved.push(location);
      return { path: join(root, location) };
    },
  };
  const opened = await openSourceAmong([hub, ...SOURCE_KINDS], 'fake://snapshot?label-column=label');
  t.deepEqual(resolved, ['snapshot']);
  t.is(opened.type === 'images' ? opened.images.items.length : -1, 2);
});

test('spec queries: split, join, defaults, display names', (t) => {
  t.deepEqual(splitSpecChoice('data/cifar?split=test&label-column=fine_label'), { spec: 'data/cifar', choice: { split: 'test', labelColumn: 'fine_label' } });
  t.deepEqual(splitSpecChoice('odd?name/file'), { spec: 'odd?name/file', choice: {} });
  t.is(joinSpecChoice('d', { split: 'a b', imageColumn: 'img' }), 'd?split=a%20b&image-column=img');
  t.is(withChoiceDefaults('d?split=test', { split: 'train', labelColumn: 'y' }), 'd?split=test&label-column=y');
  t.is(withChoiceDefaults('d', {}), 'd');
  t.is(sourceDisplayName('parquet:/x/cifar10?split=test'), 'cifar10');
  t.is(sourceDisplayName('idx:/x/t10k-images-idx3-ubyte,/x/t10k-labels-idx1-ubyte'), 't10k-images-idx3-ubyte');
});
