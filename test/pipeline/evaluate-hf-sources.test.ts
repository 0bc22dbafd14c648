/**
 * `evaluate` with a CIFAR-style Parquet dataset as ID (train and test splits, 10 classes, 32×32 PNGs) and a
 * save_to_disk folder as OOD, both written here in TypeScript, must give what the same images give as
 * ImageFolder copies: the same metrics and the same per-sample scores, and the same bad row skipped.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { type EvaluateProgress, runEvaluation } from '../../src/pipeline/evaluate.js';
import { fakeEncoder } from '../helpers/attack-fake-encoder.js';
import { classLabelColumn, imageColumn, writeParquetFile, writeSaveToDisk } from '../helpers/hf-dataset-writer.js';
import { initTestBackend } from '../helpers/test-backend.js';

const root = mkdtempSync(join(tmpdir(), 'advood-eval-hf-'));
process.env.ADVOOD_CACHE = join(root, 'cache');
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const SIZE = 32;

/** A 32×32 PNG: noise around a colour, with faint stripes for OOD (so that ID and OOD overlap somewhat). */
function image(random: SeededRandom, base: readonly [number, number, number], stripes: boolean): Promise<Buffer> {
  const pixels = Buffer.alloc(SIZE * SIZE * 3);
  for (let i = 0; i < SIZE * SIZE; i++) {
    const stripe = stripes && Math.floor(i / SIZE) % 4 < 2 ? 12 : 0;
    for (let c = 0; c < 3; c++) pixels[i * 3 + c] = Math.max(0, Math.min(255, Math.round(base[c] + stripe + 40 * (random.next() - 0.5))));
  }
  return sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toBuffer();
}

function classColour(label: number): [number, number, number] {
  return [(label * 97) % 256, (label * 53 + 80) % 256, (label * 31 + 160) % 256];
}

/** Rows grouped by class, so that an ImageFolder copy lists them in the same order. */
async function cifarSplit(perClass: number, seed: number): Promise<{ pngs: Buffer[]; labels: number[] }> {
  const random = new SeededRandom(seed);
  const pngs: Buffer[] = [];
  const labels: number[] = [];
  for (let label = 0; label < CIFAR_CLASSES.length; label++) {
    const colour = classColour(label);
    for (let i = 0; i < perClass; i++) {
      pngs.push(await image(random, colour, false));
      labels.push(label);
    }
  }
  return { pngs, labels };
}

function writeImageFolder(dir: string, pngs: readonly Uint8Array[], labels: readonly number[] | null): void {
  pngs.forEach((png, row) => {
    const sub = labels === null ? dir : join(dir, `c${labels[row]}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `r${String(row).padStart(4, '0')}.png`), png);
  });
  if (labels !== null) writeFileSync(join(dir, 'classes.txt'), CIFAR_CLASSES.map((name, i) => `c${i}\t${name}`).join('\n'));
}

test('evaluate: CIFAR-style Parquet as ID and a save_to_disk folder as OOD equal the same images as ImageFolders', async (t) => {
  await initTestBackend();
  const train = await cifarSplit(4, 1);
  const testSplit = await cifarSplit(2, 2);
  const cifar = join(root, 'cifar10');
  writeParquetFile(join(cifar, 'data', 'train-00000-of-00001.parquet'), [imageColumn('img', train.pngs), classLabelColumn('label', CIFAR_CLASSES, train.labels)], { rowGroupRows: 16 });
  writeParquetFile(join(cifar, 'data', 'test-00000-of-00001.parquet'), [imageColumn('img', testSplit.pngs), classLabelColumn('label', CIFAR_CLASSES, testSplit.labels)], { rowGroupRows: 16 });

  const random = new SeededRandom(3);
  const oodPngs: Uint8Array[] = [];
  for (let i = 0; i < 12; i++) oodPngs.push(await image(random, classColour(i % 10).map((c) => c + 8 * (i % 3)) as [number, number, number], true));
  oodPngs[5] = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
  const oodSaved = join(root, 'stripes');
  writeSaveToDisk(oodSaved, [imageColumn('image', oodPngs)], { batchRows: 5, split: 'train' });

  writeImageFolder(join(root, 'folders', 'train'), train.pngs, train.labels);
  writeImageFolder(join(root, 'folders', 'test'), testSplit.pngs, testSplit.labels);
  writeImageFolder(join(root, 'folders', 'stripes'), oodPngs, null);

  const encoder = fakeEncoder(SIZE);
  try {
    const run = async (idTrain: string, idTest: string, ood: string, out: string) => {
      const skipped: string[] = [];
      const onProgress = (event: EvaluateProgress) => {
        if (event.kind === 'skipped') skipped.push(`${event.set} ${event.item}`);
      };
      const summary = await runEvaluation({
        encoder,
        idTrain,
        idTest,
        ood: [`stripes=${ood}`],
        detectors: ['knn', 'mahalanobis'],
        out: join(root, out),
        batch: 8,
        bootstrap: { resamples: 0, seed: 0 },
        gallery: 0,
        onProgress,
      });
      return { summary, skipped };
    };
    const fromHf = await run(cifar, `${cifar}?split=test`, oodSaved, 'eval-hf');
    const fromFolders = await run(join(root, 'folders', 'train'), join(root, 'folders', 'test'), join(root, 'folders', 'stripes'), 'eval-folders');

    t.deepEqual(fromHf.skipped, [`stripes ${join(oodSaved, 'data-00000-of-00001.arrow')}#5`]);
    t.deepEqual(fromFolders.skipped, [`stripes ${join(root, 'folders', 'stripes', 'r0005.png')}`]);
    const hf = fromHf.summary.result;
    const folders = fromFolders.summary.result;
    t.deepEqual(hf.rows, folders.rows);
    t.deepEqual(hf.sets, folders.sets);
    t.is(hf.idTestSize, 20);
    t.deepEqual(hf.sets.map((s) => s.size), [11]);
    t.deepEqual(hf.scores.map((s) => [s.detector, s.set, [...s.scores]]), folders.scores.map((s) => [s.detector, s.set, [...s.scores]]));
    t.deepEqual(hf.scores.find((s) => s.set === 'id')!.ids.slice(0, 2), ['test/0', 'test/1']);
    t.log(hf.rows.map((row) => `${row.detector}: AUROC ${row.metrics.auroc.value.toFixed(4)}`).join(', '));
    const auroc = hf.rows.find((row) => row.detector.startsWith('knn'))!.metrics.auroc.value;
    t.true(auroc > 0 && auroc < 1, `k-NN AUROC ${auroc}: ID and OOD overlap, so the scores' order is what is compared`);
  } finally {
    encoder.dispose();
  }
});
