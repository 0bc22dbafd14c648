/**
 * The worst case per detector from a hand-made evaluation result: the paper's column is its worst release, the
 * clean column that release's clean images, the adaptive column the release aimed at the detector (— when none),
 * the minimum the lowest of the three; no adaptive release, no worst-case table: summary.md then heads with the
 * paper's attack (or, with clean OOD only, the clean AUROC), captioned as such.
 */
import test from 'ava';
import type { EvaluatedSet, EvaluationResult, MetricRow } from '../../src/metrics/evaluation-result.js';
import type { OodMetrics } from '../../src/metrics/ood-metrics.js';
import { summaryMarkdown } from '../../src/report/summary-table.js';
import { worstCaseRows } from '../../src/report/worst-case.js';

function metrics(auroc: number): OodMetrics {
  const estimate = (value: number) => ({ value, low: Math.max(0, value - 0.05), high: Math.min(1, value + 0.05) });
  return { auroc: estimate(auroc), fpr95: estimate(0.5), auprIn: estimate(0.5), auprOut: estimate(0.5) } as OodMetrics;
}

const SETS: EvaluatedSet[] = [
  { name: 'adv-a:clean', kind: 'clean', size: 10 },
  { name: 'adv-a', kind: 'adversarial', cleanOf: 'adv-a:clean', size: 10 },
  { name: 'adv-b:clean', kind: 'clean', size: 10 },
  { name: 'adv-b', kind: 'adversarial', cleanOf: 'adv-b:clean', size: 10 },
  { name: 'adaptive-knn-1:clean', kind: 'clean', size: 5 },
  { name: 'adaptive-knn-1', kind: 'adversarial', cleanOf: 'adaptive-knn-1:clean', attackedDetector: 'knn-1', size: 5 },
];

const AUROC: Record<string, Record<string, number>> = {
  'knn-1': { 'adv-a:clean': 0.99, 'adv-a': 0.8, 'adv-b:clean': 0.98, 'adv-b': 0.6, 'adaptive-knn-1:clean': 0.97, 'adaptive-knn-1': 0.3 },
  'probe-msp': { 'adv-a:clean': 0.2, 'adv-a': 0.4, 'adv-b:clean': 0.25, 'adv-b': 0.5, 'adaptive-knn-1:clean': 0.2, 'adaptive-knn-1': 0.45 },
};

function result(sets: EvaluatedSet[]): EvaluationResult {
  const rows: MetricRow[] = Object.entries(AUROC).flatMap(([detector, bySet]) =>
    sets.map((s) => ({ detector, set: s.name, metrics: metrics(bySet[s.name]!) })),
  );
  return {
    detectors: Object.keys(AUROC).map((name) => ({ name, featureKind: 'pre-projection', notes: [] })),
    notApplicable: [],
    idTestSize: 10,
    sets,
    rows,
    collapses: [],
    ensembles: [],
    scores: [],
    bootstrap: { resamples: 100, seed: 0, confidence: 0.95 },
  };
}

test('each detector: clean, worst paper release, its own adaptive release (or none), and the minimum', (t) => {
  const [knn, probe] = worstCaseRows(result(SETS));
  t.like(knn, { detector: 'knn-1', clean: { set: 'adv-b:clean' }, paper: { set: 'adv-b' }, adaptive: { set: 'adaptive-knn-1' }, worst: { set: 'adaptive-knn-1' } });
  t.is(knn!.worst.auroc.value, 0.3);
  // Not attacked on its own score: the adaptive cell is empty and the minimum is over what was measured.
  t.like(probe, { detector: 'probe-msp', clean: { set: 'adv-a:clean' }, paper: { set: 'adv-a' }, adaptive: null, worst: { set: 'adv-a:clean' } });
  const markdown = summaryMarkdown(result(SETS));
  t.regex(markdown, /\| knn-1 \| 98\.0 \[93\.0, 100\.0\] \(adv-b:clean\) \| 60\.0 \[55\.0, 65\.0\] \(adv-b\) \| 30\.0 \[25\.0, 35\.0\] \(adaptive-knn-1\) \| 30\.0/);
  t.regex(markdown, /\| probe-msp \| .* \| — \| 20\.0/);
  t.true(markdown.indexOf('Worst case per detector') < markdown.indexOf('| Detector | OOD set |'), 'summary.md opens with the worst case');
});

test('no adaptive release: no worst-case table, a captioned headline instead', (t) => {
  const paperOnly = SETS.filter((s) => s.attackedDetector === undefined && !s.name.startsWith('adaptive'));
  t.deepEqual(worstCaseRows(result(paperOnly)), []);
  const markdown = summaryMarkdown(result(paperOnly));
  t.notRegex(markdown, /Worst case/);
  // The headline is then the paper's attack, saying why it is no worst case, and with clean OOD only the clean AUROC.
  t.regex(markdown, /The paper's attack per detector: .*so this is not a worst case\.\n\n\| Detector \| Clean OOD \| Paper's attack \|\n/);
  t.regex(markdown, /\| knn-1 \| 98\.0 \[93\.0, 100\.0\] \(adv-b:clean\) \| 60\.0 \[55\.0, 65\.0\] \(adv-b\) \|\n/);
  const cleanOnly = summaryMarkdown(result(SETS.filter((s) => s.kind === 'clean')));
  t.regex(cleanOnly, /Clean AUROC per detector: .*\n\n\| Detector \| adv-a:clean \| adv-b:clean \| adaptive-knn-1:clean \|\n/);
  t.regex(cleanOnly, /\| probe-msp \| 20\.0 \[15\.0, 25\.0\] \| 25\.0 \[20\.0, 30\.0\] \| 20\.0 \[15\.0, 25\.0\] \|\n/);
});

test('APGD, Square and their ensemble get columns where they ran, and Square beating every gradient attack is flagged in words', (t) => {
  const sets: EvaluatedSet[] = [
    ...SETS,
    { name: 'adaptive-knn-1-apgd-linf-8', kind: 'adversarial', cleanOf: 'adaptive-knn-1:clean', attackedDetector: 'knn-1', adaptiveAttack: 'apgd', size: 5 },
    { name: 'adaptive-knn-1-square-linf-8', kind: 'adversarial', cleanOf: 'adaptive-knn-1:clean', attackedDetector: 'knn-1', adaptiveAttack: 'square', size: 5 },
  ];
  const withAttacks = (apgd: number, square: number): EvaluationResult => {
    const base = result(sets.filter((s) => !s.name.includes('-linf-')));
    const extra: MetricRow[] = Object.keys(AUROC).flatMap((detector) => [
      { detector, set: 'adaptive-knn-1-apgd-linf-8', metrics: metrics(detector === 'knn-1' ? apgd : 0.5) },
      { detector, set: 'adaptive-knn-1-square-linf-8', metrics: metrics(detector === 'knn-1' ? square : 0.5) },
    ]);
    const ensemble = { detector: 'knn-1', set: 'knn-1 ensemble', members: ['adaptive-knn-1', 'adaptive-knn-1-apgd-linf-8', 'adaptive-knn-1-square-linf-8'], size: 5, metrics: metrics(0.05) };
    return { ...base, sets, rows: [...base.rows, ...extra], ensembles: [ensemble] };
  };
  const [knn, probe] = worstCaseRows(withAttacks(0.2, 0.1));
  t.like(knn, { apgd: { set: 'adaptive-knn-1-apgd-linf-8' }, square: { set: 'adaptive-knn-1-square-linf-8' }, ensemble: { set: 'knn-1 ensemble' }, worst: { set: 'knn-1 ensemble' }, gradientMasking: true });
  t.like(probe, { apgd: null, square: null, ensemble: null, gradientMasking: false });
  const markdown = summaryMarkdown(withAttacks(0.2, 0.1));
  t.regex(markdown, /\| Detector \| Clean OOD \| Paper's attack \| Own \(adaptive\) attack \| APGD \(own score\) \| Square \(own score, no gradients\) \| Ensemble \(per-item worst\) \| Worst \|/);
  t.regex(markdown, /\| knn-1 \| .* \| 20\.0 \[15\.0, 25\.0\] \(adaptive-knn-1-apgd-linf-8\) \| 10\.0 \[5\.0, 15\.0\] \(adaptive-knn-1-square-linf-8\) \| 5\.0 \[0\.0, 10\.0\] \(knn-1 ensemble\) \| 5\.0/);
  t.regex(markdown, /Possible gradient masking for knn-1: Square, which uses no gradients, lowered its AUROC to 10\.0 \[5\.0, 15\.0\], below the own-score gradient attack's 30\.0 \[25\.0, 35\.0\] and APGD's 20\.0 \[15\.0, 25\.0\]/);
  // Square above either gradient attack: no flag.
  t.false(worstCaseRows(withAttacks(0.2, 0.25))[0]!.gradientMasking);
  t.notRegex(summaryMarkdown(withAttacks(0.2, 0.25)), /gradient masking/);
});
