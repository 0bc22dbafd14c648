/**
 * Supervised linear probe (Adaloglou et al., TMLR 2024, their baseline): the PLP training recipe on the true ID class labels; scores MSP,
 * energy or max-logit at T = 1. Needs labels.
 */
import type { DetectorFitInput } from './detector.js';
import { assertLabelled } from './shared/feature-validation.js';
import { ProbeDetector, type ProbeDetectorOptions, probeEntries } from './shared/probe-detector.js';

export class LinearProbeDetector extends ProbeDetector {
  constructor(options: ProbeDetectorOptions = {}) {
    super('probe', options);
  }

  protected labelKind(): { kind: string } {
    return { kind: 'true-labels' };
  }

  protected trainingLabels({ train }: DetectorFitInput): { kind: string; labels: Int32Array; classes: number } {
    const classes = assertLabelled(train, this.name);
    return { kind: 'true-labels', labels: train.labels, classes };
  }
}

export const linearProbeEntries = probeEntries(
  'probe',
  { labels: true, text: false, projected: false },
  (head) => `linear probe on the true ID labels, ${head} of its logits`,
  (options) => new LinearProbeDetector(options),
);
