/**
 * What the supervised probe and PLP share: a linear probe trained once per (train set, labels, settings) —
 * cached, so the MSP, energy and max-logit heads built together train one probe — and one logit score head.
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureKind } from '../../models/encoder.js';
import type { FeatureSet } from '../../data/feature-set.js';
import type { DetectorFitInput, DifferentiableDetector } from '../detector.js';
import { assertSameDim, assertUsableFeatures } from './feature-validation.js';
import { FitCache } from './fit-cache.js';
import { type ProbeTrainingOptions, type TrainedProbe, PROBE_DEFAULTS, probeLogits, trainLinearProbe } from './linear-probe-training.js';
import { type DetectorEntry, type DetectorNeeds, type DetectorOptionDoc, type OptionRead, DEFAULT_FEATURE_KIND, FEATURE_KIND_OPTION, defineDetector } from '../detector-entry.js';
import { LOGIT_SCORE_NAMES, type LogitScoreName, logitScores, logitScoresTensor } from './logit-scores.js';
import { assertTensorDim } from './tensor-rows.js';

export interface ProbeDetectorOptions {
  /** Which logit score this detector reports. Default 'msp'. */
  head?: LogitScoreName;
  /** Temperature of the score head. Default 1 (MSP, energy and max-logit at T = 1, as in Adaloglou et al.'s code). */
  temperature?: number;
  training?: Omit<ProbeTrainingOptions, 'onEpoch'>;
  featureKind?: FeatureKind;
  name?: string;
  cache?: FitCache;
  onEpoch?: ProbeTrainingOptions['onEpoch'];
}

export abstract class ProbeDetector implements DifferentiableDetector {
  readonly name: string;
  readonly featureKind: FeatureKind;
  protected readonly options: ProbeDetectorOptions;
  private readonly cache: FitCache;
  private probe: TrainedProbe | null = null;

  protected constructor(defaultPrefix: string, options: ProbeDetectorOptions) {
    this.options = options;
    this.featureKind = options.featureKind ?? DEFAULT_FEATURE_KIND;
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

  /** The same head on the probe's logits ((x − mean) / std) · W + b, as a tfjs function of the features. */
  scoreTensor(features: tf.Tensor2D): tf.Tensor1D {
    const probe = this.probe;
    if (!probe) throw new Error(`${this.name}: scoreTensor() called before fit()`);
    assertTensorDim(features, probe.dim, this.name);
    return tf.tidy(() => {
      const standardised = tf.div(tf.sub(features, tf.tensor1d(probe.mean)), tf.tensor1d(probe.std));
      const logits = tf.add(tf.matMul(standardised as tf.Tensor2D, tf.tensor2d(probe.weights, [probe.dim, probe.classes])), tf.tensor1d(probe.bias));
      return logitScoresTensor(logits as tf.Tensor2D, this.options.head ?? 'msp', this.options.temperature ?? 1);
    });
  }
}

export const PROBE_OPTIONS: readonly DetectorOptionDoc[] = [
  { name: 'seed', type: 'integer', default: PROBE_DEFAULTS.seed, description: 'seed of init and shuffling' },
  { name: 'epochs', type: 'integer', default: PROBE_DEFAULTS.epochs, description: 'training epochs (paper: 100)' },
  { name: 'batchSize', type: 'integer', default: PROBE_DEFAULTS.batchSize, description: 'batch size (paper: 256)' },
  { name: 'learningRate', type: 'number', default: PROBE_DEFAULTS.learningRate, description: 'peak lr at batch 256 (paper: 1e-3)' },
  { name: 'weightDecay', type: 'number', default: PROBE_DEFAULTS.weightDecay, description: 'Adam L2 weight decay (paper: 1e-3)' },
  FEATURE_KIND_OPTION,
];

/** The probe training options a spec gives; the rest keep PROBE_DEFAULTS (and the probe's cache key stays the same). */
export function probeTrainingOptions(read: OptionRead): Omit<ProbeTrainingOptions, 'onEpoch'> {
  const numeric = PROBE_OPTIONS.filter((o) => o.type === 'integer' || o.type === 'number');
  const given = numeric.map((o) => [o.name, read.number(o.name, o.type === 'integer')] as const).filter(([, value]) => value !== undefined);
  return Object.fromEntries(given) as Omit<ProbeTrainingOptions, 'onEpoch'>;
}

/** One registry entry per score head (MSP, energy, max-logit, GEN) of a probe detector; built together they train one probe. */
export function probeEntries(
  prefix: string,
  needs: DetectorNeeds,
  describe: (head: LogitScoreName) => string,
  construct: (options: ProbeDetectorOptions) => ProbeDetector,
): DetectorEntry[] {
  return LOGIT_SCORE_NAMES.map((head) =>
    defineDetector({ name: `${prefix}-${head}`, description: describe(head), needs, options: PROBE_OPTIONS, differentiable: true }, (read, shared) =>
      construct({ head, training: probeTrainingOptions(read), featureKind: read.featureKind, name: read.name, cache: shared }),
    ),
  );
}
