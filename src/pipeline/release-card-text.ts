/** The dataset card's words for a generated release: its name, how it was made, and the paper to cite. */
import type { ResolvedAttackPreset } from '../../attacks/attack-params.js';
import type { CardInfo } from '../release/release-manifest.js';
import type { DetectorObjectiveRecord } from './detector-objective.js';

/** Adaloglou, Michels, Kaiser, Kollmann, TMLR 2024 (arXiv 2303.05828): the method advood implements. */
export const PAPER_BIBTEX =
  '@article{adaloglou2024adapting, title={Adapting Contrastive Language-Image Pretrained (CLIP) Models for Out-of-Distribution Detection}, ' +
  'author={Adaloglou, Nikolas and Michels, Felix and Kaiser, Tim and Kollmann, Markus}, journal={Transactions on Machine Learning Research}, year={2024}}';

export interface CardSubject {
  oodName: string;
  idName: string;
  encoderId: string;
  preset: ResolvedAttackPreset;
  /** Set for an adaptive release (attacked on this detector's score instead of the cosine to a target). */
  attackedDetector?: DetectorObjectiveRecord;
}

export function generatedReleaseCard({ oodName, idName, encoderId, preset, attackedDetector }: CardSubject): CardInfo {
  const { params } = preset;
  const provenance = { license: 'other', sourceDatasets: [oodName, idName], citation: PAPER_BIBTEX, homepage: '' };
  if (attackedDetector) {
    return {
      ...provenance,
      prettyName: `Adaptive adversarial ${oodName} vs ${attackedDetector.detector} (${idName}, ${encoderId}, ${preset.name})`,
      description:
        `OOD images from ${oodName} perturbed with advood's ${params.attack} attack (preset ${preset.name}: ${preset.description}), ` +
        `the objective replaced by an adaptive one (${attackedDetector.objective}): maximise the ID score of the ${attackedDetector.detector} ` +
        `detector fitted on ${idName} ${attackedDetector.featureKind} ${encoderId} features (fit fingerprint ${attackedDetector.fitFingerprint.slice(0, 16)}…), ` +
        'under the same constraints and with no early stop. detector_score_before / detector_score_after are its scores of the clean and the saved 8-bit images.' +
        restartsSentence(params.restarts),
    };
  }
  return {
    prettyName: `Adversarial ${oodName} → ${idName} (${encoderId}, ${preset.name})`,
    description:
      `OOD images from ${oodName} perturbed with advood's ${params.attack} attack (preset ${preset.name}: ${preset.description}) ` +
      `so that their ${params.features} ${encoderId} features collide with ID targets from ${idName} (strategy ${params.target.strategy}). ` +
      'Success and every statistic are measured on the saved 8-bit PNGs.' +
      restartsSentence(params.restarts),
    ...provenance,
  };
}

/** The card's words for restarts, empty for one start. */
function restartsSentence(restarts: number | undefined): string {
  if (restarts === undefined) return '';
  return ` Each image is the best of ${restarts} random starts on its saved 8-bit image (columns restart and restart_objectives).`;
}
