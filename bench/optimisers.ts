/**
 * Attack strength per optimiser at equal steps (#21): on the demo's setting (the embedded MobileNetV2 at 64 px,
 * the bundled Fashion-MNIST ID and openclipart OOD), each of the demo's attacked detectors is fitted on the ID
 * train images and its own score is climbed from the same OOD images under the same L∞ budget of 8/255 by APGD
 * (Croce & Hein 2020) and by signed-gradient steps, each against the paper's Adam as the reference measured in
 * the same run. Two figures per pair: the detector's AUROC (ID test vs the attacked images, float pixels) after N
 * steps (lower = the stronger attack), and the wall time per step.
 *
 *   npx tsx bench/optimisers.ts            (BENCH_STEPS=N, default 50; BENCH_OOD=n images, default 16)
 */
import * as tf from '@tensorflow/tfjs';
import { attackParamsFrom } from '../attacks/attack-params.js';
import { createAttack } from '../attacks/registry.js';
import { packagePath } from '../src/core/repo-paths.js';
import { iterateBatches } from '../src/data/batches.js';
import type { ImageSource } from '../src/data/image-source.js';
import { preprocessFor } from '../src/data/preprocess.js';
import { fitDetector } from '../src/detectors/evaluate-detectors.js';
import { isDifferentiable, type DifferentiableDetector } from '../src/detectors/detector.js';
import { createDetectors } from '../src/detectors/registry.js';
import { oodMetricValues } from '../src/metrics/ood-metrics.js';
import { createEncoder } from '../src/models/create-encoder.js';
import type { Encoder } from '../src/models/encoder.js';
import { detectorAttackObjective } from '../src/pipeline/detector-objective.js';
import { featureViewsOf } from '../src/pipeline/feature-views.js';
import { initBackend } from '../src/runtime/backend.js';
import { openImageSource } from '../src/sources/open-source.js';
import type { BenchRow } from './bench-row.js';

const STEPS = Number(process.env.BENCH_STEPS ?? 50);
const OOD_IMAGES = Number(process.env.BENCH_OOD ?? 16);
const BUDGET = { norm: 'linf', epsilon: 8 / 255 } as const;
/** The demo's attacked detectors whose score the attacks climb (a probe, a distance and a density detector). */
const DETECTORS = ['mahalanobis', 'knn', 'probe-energy'];
/**
 * Adam's and signed-gradient's step sizes: the demo preset's Adam lr, and α = 2.5·ε/N per signed step (Madry et
 * al. 2018's rule, enough to cross the ε-ball in N steps). APGD sets its own (2ε, halved at its checkpoints).
 */
const OPTIMISERS = [
  { name: 'adam', lr: 5e-3 },
  { name: 'apgd', lr: 1e-3 },
  { name: 'signed-gradient', lr: (2.5 * BUDGET.epsilon) / STEPS },
] as const;

async function pixelsOf(source: ImageSource, size: number, limit: number): Promise<tf.Tensor4D> {
  const chunks: Float32Array[] = [];
  let count = 0;
  for await (const batch of iterateBatches({ ...source, items: source.items.slice(0, limit) }, { preprocess: preprocessFor({ inputSize: size }), batchSize: 16 })) {
    chunks.push(batch.pixels);
    count += batch.items.length;
  }
  const pixels = new Float32Array(count * size * size * 3);
  let offset = 0;
  for (const chunk of chunks) {
    pixels.set(chunk, offset);
    offset += chunk.length;
  }
  return tf.tensor4d(pixels, [count, size, size, 3]);
}

function detectorScores(encoder: Encoder, detector: DifferentiableDetector, images: tf.Tensor4D): Float32Array {
  return tf.tidy(() => Float32Array.from(detector.scoreTensor(encoder.encodeImage(images, detector.featureKind)).dataSync()));
}

interface Outcome {
  auroc: number;
  msPerStep: number;
}

export async function benchOptimisers(): Promise<BenchRow[]> {
  const backend = await initBackend({ request: process.env.ADVOOD_BACKEND ?? 'auto' });
  const encoder = await createEncoder('mobilenet-v2', { backend, inputSize: 64 });
  const demo = (name: string) => packagePath('datasets', 'demo', name);
  const [idTrain, idTest, ood] = await Promise.all([openImageSource(demo('fashion-mnist-train')), openImageSource(demo('fashion-mnist-test')), openImageSource(demo('openclipart'))]);
  const preprocess = preprocessFor(encoder);
  const train = await featureViewsOf(encoder, 'id-train', idTrain, { preprocess, batchSize: 32 });
  const test = await featureViewsOf(encoder, 'id-test', idTest, { preprocess, batchSize: 32 });
  const clean = await pixelsOf(ood, encoder.inputSize, OOD_IMAGES);
  const count = clean.shape[0];
  const targets = tf.zeros([count, encoder.embedDim]) as tf.Tensor2D;
  const itemKeys = Array.from({ length: count }, (_, i) => `openclipart/${i}`);
  const rows: BenchRow[] = [];
  try {
    for (const spec of DETECTORS) {
      const [detector] = createDetectors([spec]);
      await fitDetector(detector!, train);
      if (!isDifferentiable(detector!)) throw new Error(`${spec} is not differentiable`);
      const idScores = detector!.score(test[detector!.featureKind]!);
      const outcomes = new Map<string, Outcome>();
      for (const { name, lr } of OPTIMISERS) {
        const params = attackParamsFrom({ optimiser: name, steps: STEPS, lr, batch: count, initStd: BUDGET.epsilon / 2, threshold: null, inputSize: 64, constraints: { budget: BUDGET } });
        const attack = createAttack(params, 0, detectorAttackObjective(detector!, `detector:${spec}`));
        const stamps: number[] = [];
        const result = attack.run(encoder, { clean, targets, itemKeys }, () => stamps.push(performance.now()));
        try {
          const intervals = stamps.slice(1).map((t, i) => t - stamps[i]!).sort((a, b) => a - b);
          const auroc = oodMetricValues(idScores, detectorScores(encoder, detector!, result.adv)).auroc;
          outcomes.set(name, { auroc, msPerStep: intervals[Math.floor(intervals.length / 2)]! });
        } finally {
          result.adv.dispose();
        }
      }
      const adam = outcomes.get('adam')!;
      const cleanAuroc = oodMetricValues(idScores, detectorScores(encoder, detector!, clean)).auroc;
      for (const name of ['apgd', 'signed-gradient'] as const) {
        const outcome = outcomes.get(name)!;
        rows.push({
          name: `${detector!.name}: AUROC after ${STEPS} steps, ${name}, L∞ 8/255`,
          unit: '% AUROC',
          advood: 100 * outcome.auroc,
          reference: 100 * adam.auroc,
          referenceName: `Adam (lr 5e-3), same steps, images and budget`,
          note: `${count} openclipart images at 64 px, mobilenet-v2; clean AUROC ${(100 * cleanAuroc).toFixed(1)} %; ${backend.chosen}`,
        });
        rows.push({
          name: `${detector!.name}: time per attack step, ${name}`,
          unit: 'ms/step',
          advood: outcome.msPerStep,
          reference: adam.msPerStep,
          referenceName: `Adam, batch ${count}`,
        });
      }
    }
  } finally {
    tf.dispose([clean, targets]);
    encoder.dispose();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchOptimisers();
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
  else for (const row of rows) console.log(`${row.name}: ${row.advood.toFixed(2)} ${row.unit} vs ${row.reference.toFixed(2)} (${row.referenceName}) = ${(row.advood / row.reference).toFixed(3)}`);
}
