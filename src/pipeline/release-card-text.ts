/** The dataset card's words for a generated release: its name, how it was made, and the paper to cite. */
import type { ResolvedAttackPreset } from '../../attacks/attack-params.js';
import type { CardInfo } from '../release/release-manifest.js';

/** Adaloglou, Michels, Kaiser, Kollmann, TMLR 2024 (arXiv 2303.05828): the method advood implements. */
export const PAPER_BIBTEX =
  '@article{adaloglou2024adapting, title={Adapting Contrastive Language-Image Pretrained (CLIP) Models for Out-of-Distribution Detection}, ' +
  'author={Adaloglou, Nikolas and Michels, Felix and Kaiser, Tim and Kollmann, Markus}, journal={Transactions on Machine Learning Research}, year={2024}}';

export interface CardSubject {
  oodName: string;
  idName: string;
  encoderId: string;
  preset: ResolvedAttackPreset;
}

export function generatedReleaseCard({ oodName, idName, encoderId, preset }: CardSubject): CardInfo {
  const { params } = preset;
  return {
    prettyName: `Adversarial ${oodName} → ${idName} (${encoderId}, ${preset.name})`,
    description:
      `OOD images from ${oodName} perturbed with advood's ${params.attack} attack (preset ${preset.name}: ${preset.description}) ` +
      `so that their ${params.features} ${encoderId} features collide with ID targets from ${idName} (strategy ${params.target.strategy}). ` +
      'Success and every statistic are measured on the saved 8-bit PNGs.',
    license: 'other',
    sourceDatasets: [oodName, idName],
    citation: PAPER_BIBTEX,
    homepage: '',
  };
}
