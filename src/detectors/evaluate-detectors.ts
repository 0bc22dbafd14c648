/**
 * Fits each detector once on the ID train features and scores the ID test set and every OOD set with it,
 * then computes the metrics with bootstrap intervals and, for each adversarial set, the collapse against
 * its clean source. The library core of `advood evaluate`.
 */
import type { FeatureSet } from '../data/feature-set.js';
import type { FeatureKind } from '../models/encoder.js';
import type { AdaptiveAttack, CollapseRow, EnsembleRow, EvaluatedSet, EvaluationResult, MetricRow, NotApplicableDetector, OodSetKind, SampleScores } from '../metrics/evaluation-result.js';
import { ID_SET_NAME } from '../metrics/evaluation-result.js';
import { type BootstrapOptions, METRIC_NAMES, oodMetrics } from '../metrics/ood-metrics.js';
import { UserError } from '../core/errors.js';
import type { Detector, DetectorFitInput, TextEmbedder } from './detector.js';
import { assertUsableFeatures } from './shared/feature-validation.js';

/** The same images in one or both representations; a detector reads the one it needs. */
export type FeatureViews = Partial<Record<FeatureKind, FeatureSet>>;

export interface OodSetInput {
  name: string;
  features: FeatureViews;
  kind: OodSetKind;
  cleanOf?: string;
  /** An adaptive release's set: the report name of the detector whose score its attack maximised. */
  attackedDetector?: string;
  adaptiveAttack?: AdaptiveAttack;
}

/** What a target's text tower gives detectors: the class prompt ensemble, and prompts of their own. */
export type FitText = Pick<DetectorFitInput, 'textEmbeddings' | 'embedText'>;

export type EvaluationEvent =
  | { type: 'fit'; detector: string; index: number; total: number }
  | { type: 'scored'; detector: string; set: string };

export interface EvaluationInput {
  detectors: readonly Detector[];
  train: FeatureViews;
  textEmbeddings?: FeatureSet;
  /** The target's text tower for detectors' own prompts (NegLabel), where it has one. */
  embedText?: TextEmbedder;
  idTest: FeatureViews;
  oodSets: readonly OodSetInput[];
  /** Detectors that could not run here, with the reason: carried into the result for the reports. */
  notApplicable?: readonly NotApplicableDetector[];
  bootstrap?: BootstrapOptions;
  onEvent?: (event: EvaluationEvent) => void;
}

function view(views: FeatureViews, kind: FeatureKind, detector: string, what: string): FeatureSet {
  const set = views[kind];
  if (!set) throw new UserError(`${detector}: needs ${kind} features of ${what}, which were not provided`);
  return set;
}

function validateSets(input: EvaluationInput): void {
  if (input.detectors.length === 0) throw new UserError('no detectors to evaluate');
  if (input.oodSets.length === 0) throw new UserError('no OOD sets to evaluate against');
  const names = new Set<string>();
  for (const set of input.oodSets) {
    if (set.name === ID_SET_NAME) throw new UserError(`an OOD set cannot be called '${ID_SET_NAME}' (that name is the ID test set's)`);
    if (names.has(set.name)) throw new UserError(`two OOD sets are both named '${set.name}'`);
    names.add(set.name);
    for (const [kind, features] of Object.entries(set.features)) if (features) assertUsableFeatures(features, `OOD set '${set.name}' (${kind})`);
  }
  for (const set of input.oodSets) {
    if (set.cleanOf === undefined) continue;
    const clean = input.oodSets.find((s) => s.name === set.cleanOf);
    if (!clean) throw new UserError(`OOD set '${set.name}': its clean source '${set.cleanOf}' is not among the OOD sets`);
    if (clean.kind !== 'clean') throw new UserError(`OOD set '${set.name}': its clean source '${set.cleanOf}' is not a clean set`);
  }
}

/**
 * Fits one detector on the ID train views in its representation (with the projected train features and text
 * embeddings that zero-shot detectors need). The one way every caller fits: evaluation, and the detector
 * objective of an adaptive attack.
 */
export async function fitDetector(detector: Detector, train: FeatureViews, text: FitText = {}): Promise<void> {
  await detector.fit({
    train: view(train, detector.fitFeatureKind ?? detector.featureKind, detector.name, 'the ID train set'),
    trainProjected: train.projected,
    ...text,
  });
}

export async function evaluateDetectors(input: EvaluationInput): Promise<EvaluationResult> {
  validateSets(input);
  const bootstrap = { resamples: 1000, seed: 0, confidence: 0.95, ...input.bootstrap };
  const rows: MetricRow[] = [];
  const ensembles: EnsembleRow[] = [];
  const scores: SampleScores[] = [];
  const detectors: EvaluationResult['detectors'] = [];
  let idTestSize = 0;
  for (const [index, detector] of input.detectors.entries()) {
    input.onEvent?.({ type: 'fit', detector: detector.name, index, total: input.detectors.length });
    const kind = detector.featureKind;
    await fitDetector(detector, input.train, { textEmbeddings: input.textEmbeddings, embedText: input.embedText });
    detectors.push({ name: detector.name, featureKind: kind, notes: detector.fitNotes?.() ?? [] });
    const idSet = view(input.idTest, kind, detector.name, 'the ID test set');
    idTestSize = idSet.ids.length;
    const idScores = detector.score(idSet);
    scores.push({ detector: detector.name, set: ID_SET_NAME, ids: idSet.ids, scores: idScores });
    input.onEvent?.({ type: 'scored', detector: detector.name, set: ID_SET_NAME });
    for (const set of input.oodSets) {
      const features = view(set.features, kind, detector.name, `OOD set '${set.name}'`);
      const oodScores = detector.score(features);
      scores.push({ detector: detector.name, set: set.name, ids: features.ids, scores: oodScores });
      rows.push({ detector: detector.name, set: set.name, metrics: oodMetrics(idScores, oodScores, bootstrap) });
      input.onEvent?.({ type: 'scored', detector: detector.name, set: set.name });
    }
    const ensemble = ensembleRow(detector.name, input.oodSets, scores, idScores, bootstrap);
    if (ensemble) ensembles.push(ensemble);
  }
  const sets: EvaluatedSet[] = input.oodSets.map((s) => ({
    name: s.name,
    kind: s.kind,
    ...(s.cleanOf !== undefined && { cleanOf: s.cleanOf }),
    ...(s.attackedDetector !== undefined && { attackedDetector: s.attackedDetector }),
    ...(s.adaptiveAttack !== undefined && { adaptiveAttack: s.adaptiveAttack }),
    size: (s.features['pre-projection'] ?? s.features.projected)!.ids.length,
  }));
  return { detectors, notApplicable: [...(input.notApplicable ?? [])], idTestSize, sets, rows, collapses: collapses(rows, sets), ensembles, scores, bootstrap };
}

/**
 * The per-item worst case over the attacks on one detector's own score (AutoAttack's ensemble rule, Croce & Hein
 * 2020): for each OOD item, its highest score (most ID) among the releases attacked on this detector, items matched
 * by row id. Null when fewer than two attacks ran on it: one attack is its own worst case.
 */
function ensembleRow(detector: string, sets: readonly OodSetInput[], scores: readonly SampleScores[], idScores: Float64Array, bootstrap: Required<BootstrapOptions>): EnsembleRow | null {
  const members = sets.filter((s) => s.kind === 'adversarial' && s.attackedDetector === detector && s.adaptiveAttack !== undefined).map((s) => s.name);
  if (members.length < 2) return null;
  const worst = new Map<string, number>();
  for (const member of members) {
    const scored = scores.find((s) => s.detector === detector && s.set === member)!;
    scored.ids.forEach((id, i) => worst.set(id, Math.max(worst.get(id) ?? -Infinity, scored.scores[i]!)));
  }
  const oodScores = Float64Array.from(worst.values());
  return { detector, set: `${detector} ensemble`, members, size: oodScores.length, metrics: oodMetrics(idScores, oodScores, bootstrap) };
}

function collapses(rows: readonly MetricRow[], sets: readonly EvaluatedSet[]): CollapseRow[] {
  const out: CollapseRow[] = [];
  for (const row of rows) {
    const set = sets.find((s) => s.name === row.set)!;
    if (set.kind !== 'adversarial' || !set.cleanOf) continue;
    const clean = rows.find((r) => r.detector === row.detector && r.set === set.cleanOf)!;
    const delta = {} as CollapseRow['delta'];
    for (const name of METRIC_NAMES) delta[name] = row.metrics[name].value - clean.metrics[name].value;
    out.push({ detector: row.detector, adversarial: row.set, clean: set.cleanOf, delta });
  }
  return out;
}
