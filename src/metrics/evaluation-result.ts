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
  /** For an adaptive release: how it was attacked (ADAPTIVE_ATTACKS). */
  adaptiveAttack?: AdaptiveAttack;
  size: number;
}

/**
 * The kinds of attack on a detector's own score (src/pipeline/adaptive-releases.ts): a gradient attack with the
 * preset's own optimiser ('gradient': the paper release's attack repeated on the score, by default), APGD (Croce &
 * Hein 2020) and the gradient-free Square attack (Andriushchenko et al. 2020). Their per-item worst case is the
 * ensemble (EnsembleRow).
 */
export const ADAPTIVE_ATTACKS = ['gradient', 'apgd', 'square'] as const;
export type AdaptiveAttack = (typeof ADAPTIVE_ATTACKS)[number];

/**
 * AutoAttack's rule for an ensemble of attacks: per OOD item, the attacked image the detector scores as most ID
 * among the adaptive releases attacked on that detector (`members`), scored against the ID test set.
 */
export interface EnsembleRow {
  detector: string;
  /** The ensemble's name in the report ('<detector> ensemble'). */
  set: string;
  members: string[];
  /** Items in the ensemble: those of the members, matched by row id. */
  size: number;
  metrics: OodMetrics;
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
  /** One per detector attacked adaptively by two or more attacks. */
  ensembles: EnsembleRow[];
  scores: SampleScores[];
  bootstrap: Required<BootstrapOptions>;
}
