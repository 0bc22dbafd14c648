/**
 * The one registry of optimisers on δ. A preset names one in `optimiser`; the paper's Adam is the default and is
 * then left out of the params, so presets written before optimisers were named keep their params hash.
 * A new optimiser is a new file exporting its entry, listed here.
 */
import { UserError } from '../../src/core/errors.js';
import { adamEntry } from './adam.js';
import { apgdEntry } from './apgd.js';
import type { OptimiserEntry } from './optimiser.js';
import { signedGradientEntry } from './signed-gradient.js';

export const OPTIMISERS: Readonly<Record<string, OptimiserEntry>> = Object.fromEntries(
  [adamEntry, signedGradientEntry, apgdEntry].map((entry) => [entry.name, entry]),
);

export const DEFAULT_OPTIMISER = adamEntry.name;

export function optimiserNames(): string[] {
  return Object.keys(OPTIMISERS);
}

export function optimiserEntry(name: string): OptimiserEntry {
  const entry = OPTIMISERS[name];
  if (!entry) throw new UserError(`unknown optimiser '${name}'; known: ${optimiserNames().join(', ')}`);
  return entry;
}
