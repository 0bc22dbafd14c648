/**
 * One test over every entry of the detector registry (as torchattacks runs one test over every attack): each
 * detector refuses to score before fit, and after fitting on synthetic ID clusters scores held-out ID rows above
 * far OOD rows (the centroid of the class means, a little off their subspace: equally close to every class, far
 * from each).
 */
import test from 'ava';
import type { FeatureSet } from '../../src/data/feature-set.js';
import type { DetectorFitInput } from '../../src/detectors/detector.js';
import { DETECTORS, createDetectors } from '../../src/detectors/registry.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { oodMetricValues } from '../../src/metrics/ood-metrics.js';
import { initBackend } from '../../src/runtime/backend.js';
import { LOCAL_FEATURE_KIND } from '../../src/models/encoder.js';
import { featureSet, gaussianClusters, withPatches } from '../helpers/synthetic-features.js';
import { classTextEmbedder } from '../helpers/synthetic-text.js';

const MEANS = [[4, 0, 0, 0, 0, 0], [0, 4, 0, 0, 0, 0], [0, 0, 4, 0, 0, 0]];
// A higher peak lr than the paper's 1e-3 so that a few short epochs converge (as in detectors/probes.test.ts).
const FAST_PROBE = { epochs: 15, batchSize: 32, learningRate: 0.4 };

test.before(async () => {
  await initBackend({ request: 'wasm' });
});

function data() {
  const random = new SeededRandom(3);
  const train = gaussianClusters(random, MEANS, 40, 0.4, 'train');
  const idTest = gaussianClusters(random, MEANS, 10, 0.4, 'test');
  // Far OOD: the centroid of the class means (equally close to every class), a step off the subspace they span
  // (dimensions 3–5 hold only ID noise of σ 0.4), as real far OOD is: ViM scores exactly that residual. The step
  // is 1.5σ: at 2.5σ the probe's linear logits, unbounded off the data, already rise there (energy AUROC 0.91).
  const centroid = MEANS[0]!.map((_, d) => MEANS.reduce((a, m) => a + m[d]!, 0) / MEANS.length + (d >= 3 ? 0.6 : 0));
  const ood = featureSet(Array.from({ length: 20 }, () => centroid.map((m) => m + 0.4 * random.nextGaussian())), { prefix: 'ood' });
  // The "projected" space is the same space here; class text embeddings point at the class means.
  const text = featureSet(MEANS.map((m) => m.map((v) => v / 4)), { prefix: 'text', labels: [0, 1, 2], classNames: train.classNames });
  return { train, idTest, ood, text };
}

for (const entry of DETECTORS) {
  test(`${entry.name}: refuses to score before fit, then scores ID above far OOD`, async (t) => {
    const { train, idTest, ood, text } = data();
    const options = entry.options.some((o) => o.name === 'epochs') ? FAST_PROBE : {};
    const [detector] = createDetectors([{ name: entry.name, options }]);
    // A detector of image regions reads each image's embedding with 4 patch features around it.
    const random = new SeededRandom(11);
    const view = (set: FeatureSet) => (detector!.featureKind === LOCAL_FEATURE_KIND ? withPatches(set, 4, 0.4, random) : set);
    t.throws(() => detector!.score(view(idTest)), { message: /before fit/ });
    const input: DetectorFitInput = { train, ...(entry.needs.text && { textEmbeddings: text, trainProjected: train, embedText: classTextEmbedder(text) }) };
    await detector!.fit(input);
    const scores = (set: FeatureSet) => detector!.score(view(set));
    const { auroc } = oodMetricValues(scores(idTest), scores(ood));
    t.true(auroc >= 0.95, `AUROC ${auroc.toFixed(3)}`);
  });
}
