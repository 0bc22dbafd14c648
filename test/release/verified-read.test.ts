/**
 * Verify, then read something else: a release is verified, then one of its files is swapped for another
 * release's (same name, same row ids and count, other pixels) before it is read. What is scored must be what
 * was verified: the read refuses, naming the file, nothing is cached under the genuine release's digests, and
 * the genuine release later gives its own features. The seam is the gap every reader has: open the verified
 * release (or take verify's report), swap, then iterate — no timing race.
 */
import test from 'ava';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/core/errors.js';
import { sha256Hex } from '../../src/core/digest.js';
import { readFeatureFile, writeFeatureFile } from '../../src/data/feature-file.js';
import { computeFeatures } from '../../src/data/features.js';
import type { DecodedImage, ImageSource } from '../../src/data/image-source.js';
import { preprocessFor } from '../../src/data/preprocess.js';
import { openEvaluationData, runEvaluation, type EvaluateOptions } from '../../src/pipeline/evaluate.js';
import { openRelease } from '../../src/release/read/release-reader.js';
import { openReleaseImageSource } from '../../src/release/read/release-image-source.js';
import { verifyRelease } from '../../src/release/read/release-verify.js';
import { openReleaseWriter } from '../../src/release/write/release-writer.js';
import type { ReleaseRow } from '../../src/release/release-row.js';
import { FIXTURE_CONFIG, FIXTURE_EXTRAS, FIXTURE_PARAMS_HASH, FIXTURE_SCHEMA, fixtureRow } from '../fixtures/release-fixture-rows.js';
import { fakeEncoder } from '../helpers/attack-fake-encoder.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { writeImages } from '../helpers/test-image-files.js';

const root = mkdtempSync(join(tmpdir(), 'advood-verified-read-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const SHARD = 'data-00000-of-00001.arrow';
const ROWS = 6;
const genuine = join(root, 'genuine');
const other = join(root, 'other');
let encoder: ReturnType<typeof fakeEncoder>;
let copies = 0;
let caches = 0;
test.after.always(() => encoder?.dispose());

/**
 * A release of ROWS rows, ids fixture/0… and provenance as the fixture's, each with a clean image; `look`
 * shifts the pixels only, so two looks are two releases that both verify, with one shard name and one row count.
 */
async function writeRelease(dir: string, look: number): Promise<void> {
  const writer = await openReleaseWriter(dir, { schemaInfo: FIXTURE_SCHEMA, config: FIXTURE_CONFIG, runHash: FIXTURE_PARAMS_HASH, shardBytes: 1e9 });
  const rows: ReleaseRow[] = [];
  for (let i = 0; i < ROWS; i++) {
    const row = await fixtureRow(i);
    const image = (await fixtureRow(i + look)).image;
    const cleanImage = (await fixtureRow(i + look + 500)).image;
    // No ID-train targets: evaluate would otherwise need that many ID images for the indices to mean anything.
    rows.push({ ...row, image, cleanImage, targetStrategy: 'class-prototype', targetIndex: -1 });
  }
  await writer.append(rows, [], ROWS);
  await writer.close(FIXTURE_EXTRAS);
}

test.before(async () => {
  await initTestBackend();
  encoder = fakeEncoder(8);
  await writeRelease(genuine, 0);
  await writeRelease(other, 100);
  await writeImages(join(root, 'id', 'Sneaker'), 4, 1, 0.3);
  await writeImages(join(root, 'id', 'Bag'), 4, 2, 0.7);
  await writeImages(join(root, 'id-test', 'Sneaker'), 2, 4, 0.3);
  await writeImages(join(root, 'id-test', 'Bag'), 2, 5, 0.7);
});

function copyOf(dir: string): string {
  const copy = join(root, `copy-${copies++}`);
  cpSync(dir, copy, { recursive: true });
  return copy;
}

/** A fresh, empty feature cache for the rest of the (serial) test. */
function freshCache(): string {
  const dir = join(root, `cache-${caches++}`);
  process.env.ADVOOD_CACHE = dir;
  return join(dir, 'features');
}

const swapShard = (dir: string) => cpSync(join(other, SHARD), join(dir, SHARD));
const restoreShard = (dir: string) => cpSync(join(genuine, SHARD), join(dir, SHARD));
const exact = () => preprocessFor(encoder, { mode: 'exact' });
const featuresOf = async (source: ImageSource, cache = true) => computeFeatures(encoder, source, { preprocess: exact(), batchSize: 4, cache });

/** Every features file in `dir` whose source fingerprint is one of `fingerprints`. */
function cachedFor(dir: string, fingerprints: readonly string[]): string[] {
  const files = (() => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  })();
  return files.filter((name) => name.endsWith('.arrow') && fingerprints.includes(readFeatureFile(join(dir, name)).provenance.sourceFingerprint));
}

test('the two releases both verify, share shard name and row ids, and differ in pixels (the swap is a real one)', async (t) => {
  t.deepEqual((await verifyRelease(genuine)).problems, []);
  t.deepEqual((await verifyRelease(other)).problems, []);
  const a = await openReleaseImageSource(genuine, 'image', 'a');
  const b = await openReleaseImageSource(other, 'image', 'b');
  t.deepEqual(a.items.map((item) => item.id), b.items.map((item) => item.id));
  t.notDeepEqual((await featuresOf(a, false)).set.vectors, (await featuresOf(b, false)).set.vectors);
});

test('reader: a shard swapped after verify measured it is refused when its rows are read, naming the shard', async (t) => {
  const copy = copyOf(genuine);
  const report = await verifyRelease(copy);
  t.true(report.ok);
  swapShard(copy);
  const release = await openRelease(copy, report.measured);
  const error = await t.throwsAsync(
    (async () => {
      for await (const _row of release.rows());
    })(),
    { instanceOf: UserError },
  );
  t.regex(error!.message, new RegExp(`^${join(copy, SHARD).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: changed since it was verified`));
  t.notRegex(error!.message, /\n/, 'one line');
});

test('reader: a whole shard (what the exporters convert) swapped after verify is refused before any of its bytes or rows are handed out', async (t) => {
  const copy = copyOf(genuine);
  const report = await verifyRelease(copy);
  const release = await openRelease(copy, report.measured);
  const rows: string[] = [];
  for await (const row of (await release.wholeShard(0)).rows()) rows.push(row.id);
  t.true(rows.length > 0, 'the genuine shard reads whole');
  swapShard(copy);
  await t.throwsAsync(release.wholeShard(0), { instanceOf: UserError, message: /: changed since it was verified \(read \d+ bytes, sha256 [0-9a-f]{12}…; verified \d+ bytes/ });
});

test("reader: the manifest and shard both swapped for the other release's after verify are refused at open, naming manifest.json", async (t) => {
  const copy = copyOf(genuine);
  const report = await verifyRelease(copy);
  t.true(report.ok);
  for (const name of ['manifest.json', SHARD, 'state.json']) cpSync(join(other, name), join(copy, name));
  await t.throwsAsync(openRelease(copy, report.measured), { instanceOf: UserError, message: /manifest\.json: changed since it was verified/ });
});

test.serial('features: a shard swapped between opening the verified release and reading its images is refused; nothing is cached for it; the genuine release then gives its own features', async (t) => {
  const baseline = (await featuresOf(await openReleaseImageSource(genuine, 'image', 'a'), false)).set;
  const cacheDir = freshCache();
  const copy = copyOf(genuine);
  const source = await openReleaseImageSource(copy, 'image', 'a');
  swapShard(copy);
  const error = await t.throwsAsync(featuresOf(source), { instanceOf: UserError });
  t.regex(error!.message, new RegExp(`${SHARD.replace(/\./g, '\\.')}: changed since it was verified`));
  t.deepEqual(cachedFor(cacheDir, [source.fingerprint]), [], "nothing is cached under the genuine release's digests");

  restoreShard(copy);
  const again = await featuresOf(await openReleaseImageSource(copy, 'image', 'a'));
  t.false(again.cached);
  t.deepEqual(again.set.vectors, baseline.vectors, "the genuine release gives its own features");
  t.deepEqual(again.set.ids, baseline.ids);
});

test.serial("features: a cache file filled from the other release's bytes under the genuine key is rejected and recomputed, never served", async (t) => {
  freshCache();
  const a = await openReleaseImageSource(genuine, 'image', 'a');
  const filled = await featuresOf(a);
  t.false(filled.cached);
  // What a poisoned fill leaves behind: the genuine release's provenance (so its key), the other's rows.
  const poisoned = (await featuresOf(await openReleaseImageSource(other, 'image', 'b'), false)).set;
  writeFeatureFile(filled.cachePath!, { ...poisoned, provenance: filled.set.provenance });
  const rejected: string[] = [];
  const served = await computeFeatures(encoder, a, { preprocess: exact(), batchSize: 4, progress: { onCacheRejected: (_path, reason) => rejected.push(reason) } });
  t.false(served.cached, 'the poisoned file is not served');
  t.deepEqual(served.set.vectors, filled.set.vectors, 'the genuine features are recomputed');
  t.is(rejected.length, 1);
  t.regex(rejected[0]!, /fixture\/0.*not the bytes of this source/);
  t.true((await featuresOf(a)).cached, 'the recomputed file is served again');
});

test.serial('features: a source that knows its items\' digests never fills the cache from bytes that differ from them', async (t) => {
  const cacheDir = freshCache();
  const genuineSource = await openReleaseImageSource(genuine, 'image', 'a');
  const otherSource = await openReleaseImageSource(other, 'image', 'b');
  // A source whose loads return the other release's pixels while it claims the genuine digests.
  const lying: ImageSource = {
    ...genuineSource,
    load: (item, preprocess): Promise<DecodedImage> => otherSource.load(otherSource.items.find((o) => o.id === item.id)!, preprocess),
  };
  const error = await t.throwsAsync(featuresOf(lying), { instanceOf: UserError });
  t.regex(error!.message, /fixture\/0: changed since it was verified/);
  t.deepEqual(cachedFor(cacheDir, [genuineSource.fingerprint]), []);
});

test.serial('Hugging Face cache layout: a snapshot link re-pointed to another blob after verify is refused the same way', async (t) => {
  const hub = join(root, `hf-${copies++}`);
  const blobs = join(hub, 'blobs');
  const snapshot = join(hub, 'snapshots', 'c0ffee');
  mkdirSync(blobs, { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  const blobOf = (path: string) => {
    const bytes = readFileSync(path);
    const blob = join(blobs, sha256Hex(bytes));
    writeFileSync(blob, bytes);
    return blob;
  };
  for (const name of readdirSync(genuine)) symlinkSync(blobOf(join(genuine, name)), join(snapshot, name));
  const otherShardBlob = blobOf(join(other, SHARD));
  const cacheDir = freshCache();
  const source = await openReleaseImageSource(snapshot, 'cleanImage', 'hf', { linksInto: blobs });
  unlinkSync(join(snapshot, SHARD));
  symlinkSync(otherShardBlob, join(snapshot, SHARD));
  const error = await t.throwsAsync(featuresOf(source), { instanceOf: UserError });
  t.regex(error!.message, new RegExp(`${SHARD.replace(/\./g, '\\.')}: changed since it was verified`));
  t.deepEqual(cachedFor(cacheDir, [source.fingerprint]), []);
});

const evaluateOptions = (out: string, ood: string): EvaluateOptions => ({
  encoder,
  idTrain: join(root, 'id'),
  idTest: join(root, 'id-test'),
  ood: [`adv=${ood}`],
  detectors: ['knn', 'mahalanobis'],
  out: join(root, out),
  batch: 4,
  bootstrap: { resamples: 20, seed: 0 },
  gallery: 1,
});

const scoresOf = (result: Awaited<ReturnType<typeof runEvaluation>>['result']) =>
  result.scores.filter((s) => s.set !== 'id').map((s) => ({ detector: s.detector, set: s.set, ids: [...s.ids], scores: [...s.scores] }));

test.serial('evaluate: a shard swapped after the release was opened and verified refuses the run, caches nothing for the release, and the genuine release then scores as before', async (t) => {
  freshCache();
  const before = await runEvaluation(evaluateOptions('eval-genuine', genuine));

  const cacheDir = freshCache();
  const copy = copyOf(genuine);
  const opened = await openEvaluationData(evaluateOptions('eval-swapped', copy));
  const releaseFingerprints = opened.oodSources.map((s) => s.source.fingerprint);
  swapShard(copy);
  const error = await t.throwsAsync(runEvaluation(evaluateOptions('eval-swapped', copy), opened), { instanceOf: UserError });
  t.regex(error!.message, new RegExp(`${SHARD.replace(/\./g, '\\.')}: changed since it was verified`));
  t.notRegex(error!.message, /\n/);
  t.deepEqual(cachedFor(cacheDir, releaseFingerprints), [], "nothing is cached under the release's digests");

  restoreShard(copy);
  const after = await runEvaluation(evaluateOptions('eval-restored', copy));
  t.deepEqual(scoresOf(after.result), scoresOf(before.result), "the genuine release's own scores");
});
