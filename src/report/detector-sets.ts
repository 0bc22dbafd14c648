/**
 * The OOD sets a detector's own plots show: every clean set and paper release, and its own adaptive release, but
 * not the releases attacked on other detectors' scores (nor their clean images, unless a shown release shares
 * them). Those cross-attacks say how an attack transfers, which the full table keeps; on a detector's plot they
 * are noise (the demo would draw 20 curves).
 */
import type { EvaluatedSet, EvaluationResult } from '../metrics/evaluation-result.js';

export function detectorSets(result: EvaluationResult, detector: string): EvaluatedSet[] {
  const otherAdaptive = (s: EvaluatedSet) => s.attackedDetector !== undefined && s.attackedDetector !== detector;
  const shownSources = new Set(result.sets.filter((s) => s.kind === 'adversarial' && !otherAdaptive(s)).map((s) => s.cleanOf));
  const hiddenSources = new Set(result.sets.filter(otherAdaptive).map((s) => s.cleanOf));
  return result.sets.filter((s) => !otherAdaptive(s) && !(hiddenSources.has(s.name) && !shownSources.has(s.name)));
}

/**
 * Of those, the ones its histogram overlays. The ROC pairs each release with its clean images (solid vs dashed);
 * overlaid fills become unreadable past a handful, so the histogram keeps the clean sets that stand alone (in the
 * demo, openclipart already holds the attacked images) beside the releases, and all sets when none stands alone.
 */
export function histogramSets(sets: readonly EvaluatedSet[]): EvaluatedSet[] {
  const sources = new Set(sets.map((s) => s.cleanOf));
  const standalone = sets.filter((s) => s.kind === 'clean' && !sources.has(s.name));
  if (standalone.length === 0) return [...sets];
  return sets.filter((s) => s.kind === 'adversarial' || !sources.has(s.name));
}
