/**
 * The one list of OOD detectors. Each entry (name, needs, options with typed defaults, factory) lives in its
 * detector's file; this module lists them and turns specs into detectors.
 * `advood evaluate --detectors`, experiment configs and reports all go through here.
 *
 * A spec is a name, optionally with options: 'knn', 'knn:k=5,kernel=exp-temperature', or the object form
 * { name: 'knn', options: { k: 5 } }. Detectors built by one createDetectors() call share expensive fits
 * (one probe for the three probe heads, one set of class Gaussians for both Mahalanobis variants).
 */
import { UserError } from '../core/errors.js';
import type { Detector } from './detector.js';
import type { DetectorEntry, DetectorNeeds, DetectorOptions, OptionValue } from './detector-entry.js';
import { FitCache } from './shared/fit-cache.js';
import { knnEntry } from './knn-cosine.js';
import { linearProbeEntries } from './linear-probe.js';
import { mahalanobisEntry } from './mahalanobis.js';
import { glMcmEntry } from './gl-mcm.js';
import { zeroShotEntries } from './mcm.js';
import { nnGuideEntry } from './nnguide.js';
import { pseudoLabelProbeEntries } from './pseudo-label-probe.js';
import { relativeMahalanobisEntry } from './relative-mahalanobis.js';
import { mcmVimEntry, vimEntry } from './vim.js';
import { negLabelEntry } from './neglabel.js';

export type { DetectorEntry, DetectorNeeds, DetectorOptionDoc, DetectorOptions, OptionValue } from './detector-entry.js';

export interface DetectorSpec {
  name: string;
  options?: DetectorOptions;
}

/** Every detector, in report order. A new detector is a new file exporting its entry, listed here. */
export const DETECTORS: readonly DetectorEntry[] = [
  knnEntry,
  mahalanobisEntry,
  relativeMahalanobisEntry,
  ...linearProbeEntries,
  vimEntry,
  nnGuideEntry,
  ...zeroShotEntries,
  mcmVimEntry,
  glMcmEntry,
  negLabelEntry,
  ...pseudoLabelProbeEntries,
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

/** The detector name a spec (string or parsed) names. */
export function detectorSpecName(spec: string | DetectorSpec): string {
  return typeof spec === 'string' ? parseDetectorSpec(spec).name : spec.name;
}

/** The string form of a spec, as parseDetectorSpec reads it back ('knn:k=5,excludeIds=a|b'). */
export function detectorSpecText(spec: DetectorSpec): string {
  const options = Object.entries(spec.options ?? {}).map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('|') : String(value)}`);
  return options.length > 0 ? `${spec.name}:${options.join(',')}` : spec.name;
}

/**
 * Why a detector cannot run with what the target and the data provide, or null when it can. Reports list the
 * detectors that could not run with this reason instead of dropping them silently.
 */
export function unmetNeed(entry: DetectorEntry, available: DetectorNeeds): string | null {
  if (entry.needs.labels && !available.labels) return 'needs class labels of the ID train set (an unlabelled source)';
  if ((entry.needs.text || entry.needs.projected) && !(available.text && available.projected)) return 'needs a text tower (zero-shot); the target has none';
  if (entry.needs.patches && !available.patches) return 'needs per-patch features (CLIP ViT targets); the target has none';
  return null;
}

/** Names of the detectors whose needs are met (the default of `advood evaluate --detectors`). */
export function supportedDetectorNames(available: DetectorNeeds): string[] {
  return DETECTORS.filter((d) => unmetNeed(d, available) === null).map((d) => d.name);
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
