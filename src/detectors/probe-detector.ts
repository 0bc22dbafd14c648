/**
 * What the supervised probe and PLP share: a linear probe trained once per (train set, labels, settings) —
 * cached, so the MSP, energy and max-logit heads built together train one probe — and one logit score head.
 */
import type { FeatureKind } from '../models/encoder.js';
import type { FeatureSet } from '../data/feature-set.js';
import type { Detector, DetectorFitInput } from './detector.js';
import { assertSameDim, assertUsableFeatures } from './feature-validation.js';
import { FitCache } from './fit-cache.js';
import { type ProbeTrainingOptions, type TrainedProbe, PROBE_DEFAULTS, probeLogits, trainLinearProbe } from './linear-probe-training.js';
import { type LogitScoreName, logitScores } from './logit-scores.js';

export interface ProbeDetectorOptions {
  /** Which logit score this detector reports. Default 'msp'. */
  head?: LogitScoreName;
  /** Temperature of the score head. Default 1 (DESIGN.md). */
  temperature?: number;
  training?: Omit<ProbeTrainingOptions, 'onEpoch'>;
  featureKind?: FeatureKind;
  name?: string;
  cache?: FitCache;
  onEpoch?: ProbeTrainingOptions['onEpoch'];
}

export abstract class ProbeDetector implements Detector {
  readonly name: string;
  readonly featureKind: FeatureKind;
  protected readonly options: ProbeDetectorOptions;
  private readonly cache: FitCache;
  private probe: TrainedProbe | null = null;

  protected constructor(defaultPrefix: string, options: ProbeDetectorOptions) {
    this.options = options;
    this.featureKind = options.featureKind ?? 'pre-projection';
    this.name = options.name ?? `${defaultPrefix}-${options.head ?? 'msp'}`;
    this.cache = options.cache ?? new FitCache();
  }

  /** The trained probe (after fit). */
  get trained(): TrainedProbe | null {
    return this.probe;
  }

  /** Training labels and class count; `kind` names the label source in the cache key. */
  protected abstract trainingLabels(input: DetectorFitInput): { kind: string; labels: Int32Array; classes: number };

  async fit(input: DetectorFitInput): Promise<void> {
    assertUsableFeatures(input.train, `${this.name}: ID train set`);
    const training = { ...PROBE_DEFAULTS, ...this.options.training };
    const { kind } = this.labelKind();
    const key = `probe:${kind}:${JSON.stringify(training)}`;
    this.probe = await this.cache.get(input.train, key, () => {
      const { labels, classes } = this.trainingLabels(input);
      return trainLinearProbe(input.train, labels, classes, { ...training, onEpoch: this.options.onEpoch });
    });
  }

  /** The label source's name, known before labels are computed (for the cache key). */
  protected abstract labelKind(): { kind: string };

  /** Probe logits [rows × classes]. */
  logits(features: FeatureSet): Float32Array {
    if (!this.probe) throw new Error(`${this.name}: score() called before fit()`);
    assertUsableFeatures(features, `${this.name}: query set`);
    assertSameDim(this.probe.dim, features, this.name, 'the query set');
    return probeLogits(this.probe, features);
  }

  score(features: FeatureSet): Float64Array {
    const logits = this.logits(features);
    return logitScores(logits, features.ids.length, this.probe!.classes, this.options.head ?? 'msp', this.options.temperature ?? 1);
  }
}
