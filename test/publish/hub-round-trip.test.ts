/**
 * The publishing round trip: a release generated here, pushed to the mock Hub (test/helpers/mock-hub.ts), read
 * back as `hf://datasets/OWNER/NAME` by `evaluate` — downloaded into the Hugging Face cache layout, verified
 * through its links into blobs/ — gives exactly the local run's metrics and scores, and again offline; generate
 * records the commit a Hub source's branch pointed at.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { encodePng } from '../../src/data/decode-image.js';
import { runEvaluation } from '../../src/pipeline/evaluate.js';
import { type GenerateOptions, generateRelease } from '../../src/pipeline/generate.js';
import { pushReleaseToHub } from '../../src/publish/hub-push.js';
import { openSource } from '../../src/sources/open-source.js';
import { fakeEncoder } from '../helpers/attack-fake-encoder.js';
import { startMockHub } from '../helpers/mock-hub.js';
import { initTestBackend } from '../helpers/test-backend.js';

const root = mkdtempSync(join(tmpdir(), 'advood-hub-round-trip-'));
process.env.ADVOOD_CACHE = join(root, 'advood-cache');
process.env.HF_HUB_CACHE = join(root, 'hf-cache');
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const SIZE = 32;

async function writeImages(dir: string, count: number, seed: number, tint: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const random = new SeededRandom(seed);
  for (let i = 0; i < count; i++) {
    const pixels = Float32Array.from({ length: SIZE * SIZE * 3 }, (_, j) => Math.min(1, Math.max(0, tint + 0.3 * Math.sin(j / (13 + i)) + 0.1 * random.next())));
    writeFileSync(join(dir, `img${String(i).padStart(2, '0')}.png`), await encodePng(pixels, SIZE, SIZE));
  }
}

test('push → hf://datasets/… → evaluate equals the local run, online and offline', async (t) => {
  const backend = await initTestBackend();
  await writeImages(join(root, 'id-train', 'Sneaker'), 4, 1, 0.3);
  await writeImages(join(root, 'id-train', 'Bag'), 4, 2, 0.7);
  await writeImages(join(root, 'id-test', 'Sneaker'), 3, 4, 0.32);
  await writeImages(join(root, 'id-test', 'Bag'), 3, 5, 0.68);
  await writeImages(join(root, 'ood', 'clipart'), 6, 3, 0.5);

  const encoder = fakeEncoder(SIZE);
  const hub = await startMockHub();
  let hubRunning = true;
  t.teardown(() => (hubRunning ? hub.close() : undefined));
  try {
    const releaseDir = join(root, 'release');
    const generateOptions = (ood: string, out: string): GenerateOptions => ({
      encoder,
      id: join(root, 'id-train'),
      ood,
      attack: 'paper-smooth',
      overrides: { steps: 4, lr: 0.01, batch: 3, 'target.strategy': 'prototype' },
      seed: 3,
      out,
      backend,
      command: 'advood generate (test)',
    });
    await generateRelease(generateOptions(join(root, 'ood'), releaseDir));
    const repo = `${hub.user}/adv-clipart`;
    const pushed = await pushReleaseToHub({ releaseDir, repo, token: hub.token, endpoint: hub.url, retry: { baseDelayMs: 1 } });
    process.env.HF_ENDPOINT = hub.url;
    process.env.HF_TOKEN = hub.token;

    const evaluate = (ood: string, out: string) =>
      runEvaluation({
        encoder,
        idTrain: join(root, 'id-train'),
        idTest: join(root, 'id-test'),
        ood: [`adv=${ood}`],
        detectors: ['knn', 'mahalanobis'],
        out: join(root, out),
        batch: 4,
        bootstrap: { resamples: 0, seed: 0 },
        gallery: 0,
      });
    const local = (await evaluate(releaseDir, 'eval-local')).result;
    const fromHub = (await evaluate(`hf://datasets/${repo}`, 'eval-hub')).result;
    // The release is the snapshot's release/ folder; the cache holds it as links into blobs/, under the pushed commit.
    const snapshots = join(root, 'hf-cache', `datasets--${repo.replace('/', '--')}`, 'snapshots');
    t.deepEqual(readdirSync(snapshots), [pushed.commit]);
    t.deepEqual(fromHub.sets, local.sets);
    t.deepEqual(fromHub.rows, local.rows);
    t.deepEqual(
      fromHub.scores.map((s) => [s.detector, s.set, [...s.ids], [...s.scores]]),
      local.scores.map((s) => [s.detector, s.set, [...s.ids], [...s.scores]]),
    );
    t.deepEqual(local.sets.map((s) => s.name).sort(), ['adv', 'adv:clean']);

    // The Parquet half of the repo is a plain image source with the release's rows (adversarial and clean images:
    // which one is the user's choice).
    await t.throwsAsync(openSource(`hf://datasets/${repo}/data`), { message: /several image columns \(image, clean_image\); choose one with --image-column$/ });
    const parquet = await openSource(`hf://datasets/${repo}/data?image-column=image&label-column=label`);
    t.is(parquet.type, 'images');
    t.is(parquet.type === 'images' ? parquet.images.items.length : -1, local.sets.find((s) => s.name === 'adv')!.size);

    // generate reads a Hub source at the commit its branch points at, and records that commit.
    const regenerated = await generateRelease({
      ...generateOptions(`hf://datasets/${repo}/data?image-column=clean_image&label-column=label`, join(root, 'from-hub')),
      overrides: { steps: 1, batch: 3, 'target.strategy': 'prototype' },
    });
    t.is((regenerated.manifest.config as { ood: string }).ood, `hf://datasets/${repo}@${pushed.commit}/data?image-column=clean_image&label-column=label`);
    t.is(regenerated.rows, local.sets.find((s) => s.name === 'adv')!.size);

    // Offline, the pinned snapshot is reused as it is.
    await hub.close();
    hubRunning = false;
    process.env.HF_HUB_OFFLINE = '1';
    const offline = (await evaluate(`hf://datasets/${repo}`, 'eval-offline')).result;
    t.deepEqual(offline.rows, local.rows);
    delete process.env.HF_HUB_OFFLINE;
  } finally {
    encoder.dispose();
  }
});
