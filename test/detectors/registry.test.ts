import { readFileSync } from 'node:fs';
import test from 'ava';
import { KnnCosineDetector } from '../../src/detectors/knn-cosine.js';
import { DETECTORS, type DetectorSpec, createDetectors, detectorEntry, parseDetectorSpec, supportedDetectorNames, unmetNeed } from '../../src/detectors/registry.js';
import { UserError } from '../../src/core/errors.js';

test('every registered detector builds with its defaults, under a unique name', (t) => {
  const detectors = createDetectors(DETECTORS.map((d) => d.name));
  t.is(new Set(detectors.map((d) => d.name)).size, DETECTORS.length);
  for (const entry of DETECTORS) t.true(entry.description.length > 0 && entry.options.every((o) => o.description.length > 0), entry.name);
  // Documented defaults are the values the detector uses: the knn entry's k default names 'knn-1'.
  t.is(DETECTORS.find((d) => d.name === 'knn')!.options.find((o) => o.name === 'k')!.default, 1);
});

test('specs parse options and reject unknown names and options', (t) => {
  t.deepEqual(parseDetectorSpec('knn:k=5,kernel=exp-temperature'), { name: 'knn', options: { k: '5', kernel: 'exp-temperature' } });
  const [knn] = createDetectors(['knn:k=5,kernel=exp-temperature,temperature=0.1']);
  t.true(knn instanceof KnnCosineDetector);
  t.is(knn!.name, 'knn-5-t0.1');
  t.throws(() => createDetectors(['knn:k=two']), { instanceOf: UserError, message: /detector 'knn': 'k' must be an integer, got 'two'/ });
  t.throws(() => createDetectors(['knn:depth=3']), { instanceOf: UserError, message: /detector 'knn': 'depth' is not a known field/ });
  t.throws(() => createDetectors(['odin']), { instanceOf: UserError, message: /unknown detector 'odin'/ });
  t.throws(() => createDetectors(['knn', 'knn']), { instanceOf: UserError, message: /both named 'knn-1'/ });
});

test('the detectors a target supports follow from what it offers', (t) => {
  t.deepEqual(supportedDetectorNames({ labels: false, text: false, projected: false }), ['knn']);
  const labelled = supportedDetectorNames({ labels: true, text: false, projected: false });
  t.true(labelled.includes('mahalanobis') && labelled.includes('probe-energy') && !labelled.includes('mcm'));
  const clipWithoutPatches = supportedDetectorNames({ labels: true, text: true, projected: true });
  t.true(clipWithoutPatches.includes('mcm') && !clipWithoutPatches.includes('gl-mcm'));
  t.is(supportedDetectorNames({ labels: true, text: true, projected: true, patches: true }).length, DETECTORS.length);
});

test('a detector that cannot run says why', (t) => {
  const none = { labels: false, text: false, projected: false };
  t.is(unmetNeed(detectorEntry('knn'), none), null);
  t.regex(unmetNeed(detectorEntry('probe-msp'), none)!, /needs class labels/);
  t.regex(unmetNeed(detectorEntry('mcm'), { ...none, labels: true })!, /needs a text tower/);
  t.regex(unmetNeed(detectorEntry('gl-mcm'), { labels: true, text: true, projected: true })!, /needs per-patch features/);
});

test('configs/experiments/paper-cifar.json names only registered detectors and documents its fields', (t) => {
  const config = JSON.parse(readFileSync(new URL('../../configs/experiments/paper-cifar.json', import.meta.url), 'utf8')) as {
    $doc: Record<string, string>;
    evaluation: { detectors: (string | DetectorSpec)[] };
    data: { idTest: { size: number }; ood: { size: number } };
  };
  t.is(config.data.idTest.size, 1000);
  t.is(config.data.ood.size, 1000);
  const specs = config.evaluation.detectors;
  t.is(createDetectors(specs).length, specs.length);
  for (const key of ['target', 'seed', 'data.*.source', 'data.*.size', 'attacks', 'evaluation.detectors', 'evaluation.bootstrap']) t.truthy(config.$doc[key], key);
});
