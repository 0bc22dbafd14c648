/**
 * The result of evaluating detectors on ID test vs OOD sets: what `evaluateDetectors` (src/detectors) produces and
 * what src/report renders. Plain data, JSON-serialisable apart from the score arrays.
 */
import type { BootstrapOptions, MetricName, OodMetrics } from './ood-metrics.js';

export type OodSetKind = 'clean' | 'adversarial';

/** The name the per-sample score table uses for the ID test set. */
export const ID_SET_NAME = 'id';

export interface EvaluatedSet {
  name: string;
  kind: OodSetKind;
  /** For an adversarial set: the clean set its images were made from. */
  cleanOf?: string;
  /** For an adaptive release: the detector whose own score its attack maximised (else the paper's attack). */
  attackedDetector?: string;
  size: number;
}

export interface MetricRow {
  detector: string;
  set: string;
  metrics: OodMetrics;
}

/** adversarial − clean for each metric (point values): the collapse. */
export interface CollapseRow {
  detector: string;
  adversarial: string;
  clean: string;
  delta: Record<MetricName, number>;
}

export interface SampleScores {
  detector: string;
  /** ID_SET_NAME for the ID test set, else the OOD set's name. */
  set: string;
  ids: readonly string[];
  scores: Float64Array;
}

/** A detector that was asked for (or is in the registry) but cannot run on this target or data, and why. */
export interface NotApplicableDetector {
  detector: string;
  reason: string;
}

export interface EvaluationResult {
  detectors: { name: string; featureKind: string; notes: string[] }[];
  notApplicable: NotApplicableDetector[];
  idTestSize: number;
  sets: EvaluatedSet[];
  rows: MetricRow[];
  collapses: CollapseRow[];
  scores: SampleScores[];
  bootstrap: Required<BootstrapOptions>;
}
