/**
 * PLP, pseudo-label probing (Adaloglou et al., TMLR 2024): label every ID train image with the argmax of its
 * zero-shot logits (hard labels, no filtering), then train the linear probe on the train features with those
 * labels; scores MSP, energy or max-logit at T = 1. As in the authors' code, pseudo-labels come from the
 * projected features while the probe itself trains on the detector's feature kind (pre-projection by default).
 * Needs text embeddings and projected train features (row-aligned with the train set).
 */
import { UserError } from '../core/errors.js';
import type { DetectorFitInput } from './detector.js';
import { assertRowAligned } from './shared/feature-validation.js';
import { ProbeDetector, type ProbeDetectorOptions, probeEntries } from './shared/probe-detector.js';
import { argmaxRows, zeroShotLogits } from './shared/zero-shot-logits.js';

/** Pseudo-labels of the train set: argmax_c cos(projected image, text_c). */
export function pseudoLabels(input: DetectorFitInput, detector: string): { labels: Int32Array; classes: number } {
  if (!input.textEmbeddings) throw new UserError(`${detector}: needs class text embeddings (a target with a text tower, e.g. CLIP)`);
  if (!input.trainProjected) throw new UserError(`${detector}: needs projected features of the ID train set to pseudo-label it`);
  assertRowAligned(input.train, input.trainProjected, `${detector}: ID train features vs their projected features`);
  const classes = input.textEmbeddings.ids.length;
  if (classes < 2) throw new UserError(`${detector}: needs text embeddings of at least 2 classes`);
  const logits = zeroShotLogits(input.trainProjected, input.textEmbeddings, detector);
  return { labels: argmaxRows(logits, input.trainProjected.ids.length, classes), classes };
}

export class PseudoLabelProbeDetector extends ProbeDetector {
  constructor(options: ProbeDetectorOptions = {}) {
    super('plp', options);
  }

  protected labelKind(): { kind: string } {
    return { kind: 'zero-shot-pseudo-labels' };
  }

  protected trainingLabels(input: DetectorFitInput): { kind: string; labels: Int32Array; classes: number } {
    return { kind: 'zero-shot-pseudo-labels', ...pseudoLabels(input, this.name) };
  }
}

export const pseudoLabelProbeEntries = probeEntries(
  'plp',
  { labels: false, text: true, projected: true },
  (head) => `PLP: linear probe on zero-shot pseudo-labels, ${head} of its logits`,
  (options) => new PseudoLabelProbeDetector(options),
);
