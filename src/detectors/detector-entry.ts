/**
 * A detector's registry entry: its name, what it needs, its options with typed defaults, and how to build it
 * from a spec's options. Each detector file exports its own entry (knn-cosine.ts exports knnEntry, …);
 * registry.ts only lists them.
 */
import { ConfigChecker } from '../core/config-checker.js';
import { FEATURE_KINDS, type FeatureKind } from '../models/encoder.js';
import type { Detector } from './detector.js';
import type { FitCache } from './shared/fit-cache.js';

/** What a detector needs beyond ID train features. */
export interface DetectorNeeds {
  /** True class labels of the ID train set. */
  labels: boolean;
  /** Class text embeddings (a text tower). */
  text: boolean;
  /** Projected (joint image–text space) image features. */
  projected: boolean;
  /** Per-patch projected features (the 'local-projected' kind of CLIP ViT targets); absent = not needed. */
  patches?: boolean;
}

export type OptionValue = number | string | readonly string[];
export type DetectorOptions = Readonly<Record<string, OptionValue>>;

export interface DetectorOptionDoc {
  name: string;
  type: 'integer' | 'number' | 'string' | 'string[]';
  /** The value used when the spec omits the option; null when it is decided at fit time (the description says how). */
  default: OptionValue | null;
  description: string;
}

export interface DetectorEntry {
  name: string;
  description: string;
  needs: DetectorNeeds;
  options: readonly DetectorOptionDoc[];
  /**
   * True when the detector's score is a tfjs function of the features (it implements scoreTensor), so that
   * `--objective detector:NAME` and `evaluate --adaptive` can attack it; false ones are listed as not attackable.
   */
  differentiable: boolean;
  /** Builds the detector; detectors built by one createDetectors() call share `shared` fits. */
  create(options: DetectorOptions, shared: FitCache): Detector;
}

export const DEFAULT_FEATURE_KIND: FeatureKind = 'pre-projection';

export const FEATURE_KIND_OPTION: DetectorOptionDoc = {
  name: 'featureKind',
  type: 'string',
  default: DEFAULT_FEATURE_KIND,
  description: "'pre-projection' (what the paper attacks), 'projected' (CLIP; SigLIP's MAP head) or 'cls-patch-mean' (DINOv2)",
};

/** Typed reads of a spec's options ('k=5' arrives as the string '5'); unknown options are an error. */
function optionReader(detector: string, options: DetectorOptions, allowed: readonly DetectorOptionDoc[]) {
  const check = new ConfigChecker(`detector '${detector}'`);
  check.fields(options, '', ['name', ...allowed.map((o) => o.name)]);
  const number = (key: string, integer: boolean): number | undefined =>
    options[key] === undefined ? undefined : check.numberOrText(options[key], key, { integer });
  const string = <T extends string>(key: string, choices?: readonly T[]): T | undefined => {
    const raw = options[key];
    if (raw === undefined) return undefined;
    return choices ? check.oneOf(raw, key, choices) : (check.string(raw, key) as T);
  };
  const strings = (key: string): readonly string[] | undefined => {
    const raw = options[key];
    if (raw === undefined) return undefined;
    if (typeof raw === 'string') return raw.split('|').filter((s) => s.length > 0);
    if (Array.isArray(raw) && raw.every((s) => typeof s === 'string')) return raw;
    return check.fail(key, 'must be a list of strings');
  };
  const name = typeof options.name === 'string' ? options.name : undefined;
  const featureKind = string('featureKind', FEATURE_KINDS);
  return { number, string, strings, name, featureKind };
}

export type OptionRead = ReturnType<typeof optionReader>;

/** An entry whose factory gets the spec's options already checked against `options` and typed. */
export function defineDetector(
  entry: Omit<DetectorEntry, 'create'>,
  build: (read: OptionRead, shared: FitCache) => Detector,
): DetectorEntry {
  return { ...entry, create: (options, shared) => build(optionReader(entry.name, options, entry.options), shared) };
}
