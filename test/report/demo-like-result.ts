/**
 * An EvaluationResult shaped like the full demo's (`npx advood demo`): eight detectors, two clean OOD sets, two
 * paper releases with their clean images, and one adaptive release per differentiable detector (20 sets, 160
 * rows, cross-attacks included), with a detector that could not run. Scores are synthetic Gaussians; the
 * metrics and CIs are computed from them as evaluateDetectors would, so the report shows what a real one shows,
 * Mahalanobis-sized outliers included, without the demo's 13 minutes.
 */
import sharp from 'sharp';
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { CollapseRow, EvaluatedSet, EvaluationResult, MetricRow, SampleScores } from '../../src/metrics/evaluation-result.js';
import { ID_SET_NAME } from '../../src/metrics/evaluation-result.js';
import { METRIC_NAMES, oodMetrics } from '../../src/metrics/ood-metrics.js';
import type { GalleryItem } from '../../src/report/report-html.js';

const ADAPTIVE = ['knn-1', 'mahalanobis', 'relative-mahalanobis', 'probe-msp', 'probe-energy', 'probe-max-logit', 'probe-gen'];
const DETECTORS = ['knn-1', 'knn-1-no-targets', ...ADAPTIVE.slice(1)];

function demoSets(): EvaluatedSet[] {
  const sets: EvaluatedSet[] = [
    { name: 'openclipart', kind: 'clean', size: 100 },
    { name: 'textures', kind: 'clean', size: 100 },
  ];
  for (const release of ['adv-prototype', 'adv-sample']) {
    sets.push({ name: `${release}:clean`, kind: 'clean', size: 100 }, { name: release, kind: 'adversarial', cleanOf: `${release}:clean`, size: 100 });
  }
  for (const detector of ADAPTIVE) {
    const name = `adaptive-${detector}`;
    sets.push({ name: `${name}:clean`, kind: 'clean', size: 24 }, { name, kind: 'adversarial', cleanOf: `${name}:clean`, attackedDetector: detector, size: 24 });
  }
  return sets;
}

/** Where a set's scores sit, in ID standard deviations from the ID mean: the demo's pattern of collapses. */
function shift(detector: string, set: EvaluatedSet): number {
  const probe = detector.startsWith('probe-');
  if (set.kind === 'clean') return probe ? 0.5 : -2.5;
  if (set.attackedDetector === detector) return 1.8;
  if (set.attackedDetector !== undefined) return probe ? -0.2 : -0.9;
  return probe ? -0.2 : 0.5;
}

/** Mahalanobis-like scores are large negative distances with far-away OOD images at −10⁵; the rest are O(1). */
function scale(detector: string): { offset: number; spread: number; outlier: number | null } {
  return detector.includes('mahalanobis') ? { offset: -400, spread: 60, outlier: -2e5 } : { offset: 0.8, spread: 0.1, outlier: null };
}

export function demoLikeResult(resamples = 100): EvaluationResult {
  const random = new SeededRandom(23);
  const sets = demoSets();
  const idSize = 1000;
  const scores: SampleScores[] = [];
  const rows: MetricRow[] = [];
  const collapses: CollapseRow[] = [];
  for (const detector of DETECTORS) {
    const { offset, spread, outlier } = scale(detector);
    const draw = (set: string, n: number, mean: number, outliers: number): SampleScores => {
      const values = Float64Array.from({ length: n }, (_, i) => (i < outliers && outlier !== null ? outlier * (0.5 + random.next()) : offset + spread * (mean + random.nextGaussian())));
      return { detector, set, ids: Array.from({ length: n }, (_, i) => `${set}/${i}`), scores: values };
    };
    const id = draw(ID_SET_NAME, idSize, 0, 0);
    scores.push(id);
    for (const set of sets) {
      const ood = draw(set.name, set.size, shift(detector, set), set.name === 'textures' ? 6 : 0);
      scores.push(ood);
      rows.push({ detector, set: set.name, metrics: oodMetrics(id.scores, ood.scores, { resamples, seed: 1 }) });
    }
    for (const set of sets.filter((s) => s.kind === 'adversarial')) {
      const metricsOf = (name: string) => rows.find((r) => r.detector === detector && r.set === name)!.metrics;
      const delta = Object.fromEntries(METRIC_NAMES.map((m) => [m, metricsOf(set.name)[m].value - metricsOf(set.cleanOf!)[m].value])) as CollapseRow['delta'];
      collapses.push({ detector, adversarial: set.name, clean: set.cleanOf!, delta });
    }
  }
  return {
    detectors: DETECTORS.map((name) => ({ name, featureKind: 'pre-projection', notes: name.startsWith('knn') ? ['bank of 6000 rows'] : [] })),
    notApplicable: [{ detector: 'gl-mcm', reason: 'needs a text tower (zero-shot class embeddings); mobilenet-v2 has none' }],
    idTestSize: idSize,
    sets,
    rows,
    collapses,
    ensembles: [],
    scores,
    bootstrap: { resamples, seed: 1, confidence: 0.95 },
  };
}

/** A 32×32 image and a copy with a smooth bump of at most 6 levels added: a gallery pair with a known |δ|. */
export async function pngPair(): Promise<{ clean: Uint8Array; adversarial: Uint8Array }> {
  const size = 32;
  const clean = Buffer.alloc(size * size * 3);
  const adversarial = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++) {
    const i = (y * size + x) * 3 + c;
    clean[i] = (x * 8 + c * 40) % 256;
    adversarial[i] = Math.min(255, clean[i]! + Math.round(6 * Math.exp(-((x - 16) ** 2 + (y - 16) ** 2) / 60)));
  }
  const png = (raw: Buffer) => sharp(raw, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
  return { clean: new Uint8Array(await png(clean)), adversarial: new Uint8Array(await png(adversarial)) };
}

export async function demoGallery(): Promise<GalleryItem[]> {
  const { clean, adversarial } = await pngPair();
  return [
    { id: 'adv-prototype/0', cleanPng: clean, adversarialPng: adversarial, cos: 0.981, psnr: 41.2, caption: 'target class T-shirt/top' },
    { id: 'adaptive-mahalanobis/0', cleanPng: clean, adversarialPng: adversarial, psnr: 40.8, caption: 'adaptive attack on mahalanobis' },
  ];
}
