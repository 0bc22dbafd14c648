/**
 * The one registry of OOD detectors: name → factory, its options (with defaults) and what it needs.
 * `advood evaluate --detectors`, experiment configs and reports all go through here.
 *
 * A spec is a name, optionally with options: 'knn', 'knn:k=5,kernel=exp-temperature', or the object form
 * { name: 'knn', options: { k: 5 } }. Detectors built by one createDetectors() call share expensive fits
 * (one probe for the three probe heads, one set of class Gaussians for both Mahalanobis variants).
 */
import { FEATURE_KINDS } from '../models/encoder.js';
import { UserError } from '../core/errors.js';
import type { Detector } from './detector.js';
import { FitCache } from './fit-cache.js';
import { KNN_DEFAULT_TEMPERATURE, KnnCosineDetector, type KnnKernel } from './knn-cosine.js';
import { LinearProbeDetector } from './linear-probe.js';
import { PROBE_DEFAULTS } from './linear-probe-training.js';
import type { LogitScoreName } from './logit-scores.js';
import { MahalanobisDetector } from './mahalanobis.js';
import { McmDetector } from './mcm.js';
import { PseudoLabelProbeDetector } from './pseudo-label-probe.js';
import { RelativeMahalanobisDetector } from './relative-mahalanobis.js';

/** What a detector needs beyond ID train features. */
export interface DetectorNeeds {
  /** True class labels of the ID train set. */
  labels: boolean;
  /** Class text embeddings (a text tower). */
  text: boolean;
  /** Projected (joint image–text space) image features. */
  projected: boolean;
}

export type OptionValue = number | string | readonly string[];
export type DetectorOptions = Readonly<Record<string, OptionValue>>;

export interface DetectorOptionDoc {
  name: string;
  type: 'integer' | 'number' | 'string' | 'string[]';
  default: string;
  description: string;
}

export interface DetectorEntry {
  name: string;
  description: string;
  needs: DetectorNeeds;
  options: readonly DetectorOptionDoc[];
  create(options: DetectorOptions, shared: FitCache): Detector;
}

export interface DetectorSpec {
  name: string;
  options?: DetectorOptions;
}

const FEATURE_KIND_OPTION: DetectorOptionDoc = {
  name: 'featureKind',
  type: 'string',
  default: 'pre-projection',
  description: "'pre-projection' (what the paper attacks) or 'projected'",
};

const PROBE_OPTIONS: readonly DetectorOptionDoc[] = [
  { name: 'seed', type: 'integer', default: String(PROBE_DEFAULTS.seed), description: 'seed of init and shuffling' },
  { name: 'epochs', type: 'integer', default: String(PROBE_DEFAULTS.epochs), description: 'training epochs (paper: 100)' },
  { name: 'batchSize', type: 'integer', default: String(PROBE_DEFAULTS.batchSize), description: 'batch size (paper: 256)' },
  { name: 'learningRate', type: 'number', default: String(PROBE_DEFAULTS.learningRate), description: 'peak lr at batch 256 (paper: 1e-3)' },
  { name: 'weightDecay', type: 'number', default: String(PROBE_DEFAULTS.weightDecay), description: 'Adam L2 weight decay (paper: 1e-3)' },
  FEATURE_KIND_OPTION,
];

function optionReader(detector: string, options: DetectorOptions, allowed: readonly DetectorOptionDoc[]) {
  for (const key of Object.keys(options)) {
    if (key === 'name') continue;
    if (!allowed.some((o) => o.name === key)) {
      throw new UserError(`detector '${detector}': unknown option '${key}'; known: ${['name', ...allowed.map((o) => o.name)].join(', ')}`);
    }
  }
  const number = (key: string, integer: boolean): number | undefined => {
    const raw = options[key];
    if (raw === undefined) return undefined;
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : Number.NaN;
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new UserError(`detector '${detector}': option ${key} must be ${integer ? 'an integer' : 'a number'}, got '${String(raw)}'`);
    }
    return value;
  };
  const string = <T extends string>(key: string, choices?: readonly T[]): T | undefined => {
    const raw = options[key];
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string' || (choices && !choices.includes(raw as T))) {
      throw new UserError(`detector '${detector}': option ${key} must be ${choices ? `one of ${choices.join(', ')}` : 'a string'}, got '${String(raw)}'`);
    }
    return raw as T;
  };
  const strings = (key: string): readonly string[] | undefined => {
    const raw = options[key];
    if (raw === undefined) return undefined;
    if (typeof raw === 'string') return raw.split('|').filter((s) => s.length > 0);
    if (Array.isArray(raw) && raw.every((s) => typeof s === 'string')) return raw;
    throw new UserError(`detector '${detector}': option ${key} must be a list of strings`);
  };
  const name = typeof options.name === 'string' ? options.name : undefined;
  const featureKind = string('featureKind', FEATURE_KINDS);
  return { number, string, strings, name, featureKind };
}

function probeEntry(prefix: 'probe' | 'plp', head: LogitScoreName): DetectorEntry {
  const supervised = prefix === 'probe';
  return {
    name: `${prefix}-${head}`,
    description: supervised
      ? `linear probe on the true ID labels, ${head} of its logits`
      : `PLP: linear probe on zero-shot pseudo-labels, ${head} of its logits`,
    needs: supervised ? { labels: true, text: false, projected: false } : { labels: false, text: true, projected: true },
    options: PROBE_OPTIONS,
    create(options, shared) {
      const read = optionReader(`${prefix}-${head}`, options, PROBE_OPTIONS);
      const training = {
        ...(read.number('seed', true) !== undefined && { seed: read.number('seed', true) }),
        ...(read.number('epochs', true) !== undefined && { epochs: read.number('epochs', true) }),
        ...(read.number('batchSize', true) !== undefined && { batchSize: read.number('batchSize', true) }),
        ...(read.number('learningRate', false) !== undefined && { learningRate: read.number('learningRate', false) }),
        ...(read.number('weightDecay', false) !== undefined && { weightDecay: read.number('weightDecay', false) }),
      };
      const common = { head, training, featureKind: read.featureKind, name: read.name, cache: shared };
      return supervised ? new LinearProbeDetector(common) : new PseudoLabelProbeDetector(common);
    },
  };
}

const KNN_OPTIONS: readonly DetectorOptionDoc[] = [
  { name: 'k', type: 'integer', default: '1', description: 'neighbours averaged (paper: 1)' },
  { name: 'kernel', type: 'string', default: 'exp', description: "'exp' = exp(cos), 'exp-temperature' = exp(cos/T)" },
  { name: 'temperature', type: 'number', default: String(KNN_DEFAULT_TEMPERATURE), description: "T of 'exp-temperature'" },
  { name: 'excludeIds', type: 'string[]', default: '[]', description: "ID-train ids left out of the bank ('|'-separated in a string spec)" },
  FEATURE_KIND_OPTION,
];

const MAHALANOBIS_OPTIONS: readonly DetectorOptionDoc[] = [
  { name: 'shrinkage', type: 'number', default: 'auto', description: 'force α of Σ → (1−α)Σ + α(trΣ/D)I; auto = 0.01 only if Σ is singular' },
  FEATURE_KIND_OPTION,
];

export const DETECTORS: readonly DetectorEntry[] = [
  {
    name: 'knn',
    description: 'k-NN cosine: mean of the top-k exp(cos/T) against the ID train bank (the paper’s detector)',
    needs: { labels: false, text: false, projected: false },
    options: KNN_OPTIONS,
    create(options) {
      const read = optionReader('knn', options, KNN_OPTIONS);
      return new KnnCosineDetector({
        k: read.number('k', true),
        kernel: read.string<KnnKernel>('kernel', ['exp', 'exp-temperature']),
        temperature: read.number('temperature', false),
        excludeIds: read.strings('excludeIds'),
        featureKind: read.featureKind,
        name: read.name,
      });
    },
  },
  {
    name: 'mahalanobis',
    description: 'Mahalanobis: −min_c distance to class means under the shared covariance (float64)',
    needs: { labels: true, text: false, projected: false },
    options: MAHALANOBIS_OPTIONS,
    create(options, shared) {
      const read = optionReader('mahalanobis', options, MAHALANOBIS_OPTIONS);
      return new MahalanobisDetector({ shrinkage: read.number('shrinkage', false), featureKind: read.featureKind, name: read.name, cache: shared });
    },
  },
  {
    name: 'relative-mahalanobis',
    description: 'relative Mahalanobis: −min_c [MD_c − MD_0], MD_0 under the global Gaussian (float64)',
    needs: { labels: true, text: false, projected: false },
    options: MAHALANOBIS_OPTIONS,
    create(options, shared) {
      const read = optionReader('relative-mahalanobis', options, MAHALANOBIS_OPTIONS);
      return new RelativeMahalanobisDetector({ shrinkage: read.number('shrinkage', false), featureKind: read.featureKind, name: read.name, cache: shared });
    },
  },
  probeEntry('probe', 'msp'),
  probeEntry('probe', 'energy'),
  probeEntry('probe', 'max-logit'),
  {
    name: 'mcm',
    description: 'MCM / zero-shot MSP: max softmax of cos(projected image, class text embeddings) at T = 1',
    needs: { labels: false, text: true, projected: true },
    options: [{ name: 'temperature', type: 'number', default: '1', description: 'softmax temperature' }],
    create(options) {
      const read = optionReader('mcm', options, [{ name: 'temperature', type: 'number', default: '1', description: '' }]);
      return new McmDetector({ temperature: read.number('temperature', false), name: read.name });
    },
  },
  probeEntry('plp', 'msp'),
  probeEntry('plp', 'energy'),
  probeEntry('plp', 'max-logit'),
];

export function detectorEntry(name: string): DetectorEntry {
  const entry = DETECTORS.find((d) => d.name === name);
  if (!entry) throw new UserError(`unknown detector '${name}'; known: ${DETECTORS.map((d) => d.name).join(', ')}`);
  return entry;
}

/** Parses 'name' or 'name:key=value,key=value' (a list option takes '|'-separated values). */
export function parseDetectorSpec(text: string): DetectorSpec {
  const [name, rest] = text.includes(':') ? [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)] : [text, ''];
  const options: Record<string, OptionValue> = {};
  for (const pair of rest.split(',').filter((p) => p.trim().length > 0)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UserError(`detector spec '${text}': expected key=value, got '${pair}'`);
    options[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  detectorEntry(name.trim());
  return { name: name.trim(), options };
}

/** Names of the detectors whose needs are met (the default of `advood evaluate --detectors`). */
export function supportedDetectorNames(available: DetectorNeeds): string[] {
  return DETECTORS.filter(
    (d) => (!d.needs.labels || available.labels) && (!d.needs.text || available.text) && (!d.needs.projected || available.projected),
  ).map((d) => d.name);
}

/** Builds detectors from specs; the ones built together share fits. Duplicate report names are an error. */
export function createDetectors(specs: readonly (string | DetectorSpec)[]): Detector[] {
  const shared = new FitCache();
  const detectors = specs.map((spec) => {
    const parsed = typeof spec === 'string' ? parseDetectorSpec(spec) : spec;
    return detectorEntry(parsed.name).create(parsed.options ?? {}, shared);
  });
  const seen = new Set<string>();
  for (const detector of detectors) {
    if (seen.has(detector.name)) throw new UserError(`two detectors are both named '${detector.name}'; give one a name option`);
    seen.add(detector.name);
  }
  return detectors;
}
