/**
 * ViM and NNGuide beyond the registry-wide tests: their option errors (one line each), fit notes, and ViM's
 * residual at work: OOD rows off the ID principal subspace score below ID rows, where energy alone cannot tell.
 */
import test from 'ava';
import { SeededRandom } from '../../src/core/seeded-random.js';
import { UserError } from '../../src/core/errors.js';
import { createDetectors } from '../../src/detectors/registry.js';
import { fitVimSpace, vimScores } from '../../src/detectors/vim.js';
import { oodMetricValues } from '../../src/metrics/ood-metrics.js';
import { initTestBackend } from '../helpers/test-backend.js';
import { featureSet, gaussianClusters } from '../helpers/synthetic-features.js';

const MEANS = [[4, 0, 0, 0, 0, 0], [0, 4, 0, 0, 0, 0], [0, 0, 4, 0, 0, 0]];
const FAST_PROBE = { epochs: 15, batchSize: 32, learningRate: 0.4 };

test.before(async () => {
  await initTestBackend();
});

test('option errors are one-line UserErrors', async (t) => {
  const train = gaussianClusters(new SeededRandom(1), MEANS, 5, 0.4, 'train');
  const text = featureSet(MEANS, { prefix: 'text' });
  const [vim] = createDetectors([{ name: 'vim', options: { ...FAST_PROBE, dim: 6 } }]);
  await t.throwsAsync(async () => vim!.fit({ train }), { instanceOf: UserError, message: /^vim: dim \(principal dimensions D\) must be an integer in \[1, 5\] for 6-d features, got 6$/ });
  const [mcmVim] = createDetectors(['mcm-vim:dim=0']);
  t.throws(() => mcmVim!.fit({ train, textEmbeddings: text }), { instanceOf: UserError, message: /must be an integer in \[1, 5\]/ });
  t.throws(() => mcmVim!.fit({ train }), { instanceOf: UserError, message: /needs class text embeddings/ });
  const [nnguide] = createDetectors([{ name: 'nnguide', options: { ...FAST_PROBE, k: 16 } }]);
  await t.throwsAsync(async () => nnguide!.fit({ train }), { instanceOf: UserError, message: /^nnguide: k = 16 is more than the 15 rows of the bank$/ });
  t.throws(() => createDetectors(['nnguide:bankFraction=1.5']), { instanceOf: UserError, message: /bankFraction must be in \(0, 1\]/ });
  // Rank ≤ D: no residual to scale α by.
  const few = Float64Array.from({ length: 3 * 8 }, (_, i) => Math.sin(i));
  t.throws(() => fitVimSpace(few, 3, { weights: new Float64Array(16).fill(1), bias: new Float64Array(2), dim: 8, classes: 2 }, 4, 'vim'), { instanceOf: UserError, message: /no residual beyond its top 4/ });
});

test('fit notes state D, α and the bank; a bank fraction keeps a seeded subset', async (t) => {
  const train = gaussianClusters(new SeededRandom(2), MEANS, 20, 0.4, 'train');
  const [vim, nnguide, half] = createDetectors([
    { name: 'vim', options: FAST_PROBE },
    { name: 'nnguide', options: FAST_PROBE },
    { name: 'nnguide', options: { ...FAST_PROBE, bankFraction: 0.5, name: 'nnguide-half' } },
  ]);
  for (const d of [vim!, nnguide!, half!]) await d.fit({ train });
  t.is(vim!.fitNotes!()[0], 'principal subspace D = 3 of 6');
  t.regex(vim!.fitNotes!()[1]!, /^α = [0-9.e+-]+$/);
  t.is(nnguide!.fitNotes!()[0], 'bank of 60 rows scaled by their energy, k = 10');
  t.is(half!.fitNotes!()[0], 'bank of 30 rows scaled by their energy, k = 10');
});

test('vim: the residual ranks OOD rows off the ID principal subspace below ID rows of the same logits', (t) => {
  // 64-d inputs: ID spans the first 32 dimensions (plus small noise), OOD has the same first 32 coordinates
  // distribution but also energy in the other 32; the classifier reads only the first 4, so energy cannot tell.
  const random = new SeededRandom(3);
  const dim = 64;
  const row = (off: number) => Array.from({ length: dim }, (_, d) => (d < 32 ? 1 + random.nextGaussian() : off * random.nextGaussian()));
  const rows = (n: number, off: number) => Float64Array.from(Array.from({ length: n }, () => row(off)).flat());
  const classes = 4;
  const weights = Float64Array.from({ length: dim * classes }, (_, i) => (Math.floor(i / classes) === i % classes ? 1 : 0));
  const space = fitVimSpace(rows(400, 0.05), 400, { weights, bias: new Float64Array(classes), dim, classes }, 32, 'vim');
  const { auroc } = oodMetricValues(vimScores(space, rows(50, 0.05), 50), vimScores(space, rows(50, 0.5), 50));
  t.true(auroc > 0.99, `AUROC ${auroc}`);
});
