/**
 * The one registry of constraints on δ: each field of a preset's `constraints` (smoothness, lowResolution,
 * dctLowPass, budget) is an entry in its own file with its role, and the ConstraintSet an attack builds walks
 * this list for an input size. A new constraint is a new file exporting its entry, listed here; its field then
 * appears in AttackParams, in preset validation and in the registry-wide tests by itself.
 */
import type { ConstraintEntry, ConstraintSet, Parametrisation, Penalty, Projection } from './constraint.js';
import { dctLowPassEntry } from './dct-low-pass.js';
import { identityParametrisation } from './identity.js';
import { lowResolutionEntry } from './low-resolution.js';
import { normBudgetEntry } from './norm-budget.js';
import { smoothnessEntry } from './smoothness.js';

export const CONSTRAINT_ENTRIES = [smoothnessEntry, lowResolutionEntry, dctLowPassEntry, normBudgetEntry] as const;

type Entries = (typeof CONSTRAINT_ENTRIES)[number];

/** A preset's `constraints`: every registered field, null when the preset leaves it out. */
export type ConstraintParams = { -readonly [E in Entries as E['field']]: ReturnType<E['read']> | null };

export const CONSTRAINT_FIELDS: readonly (keyof ConstraintParams)[] = CONSTRAINT_ENTRIES.map((entry) => entry.field);

/** The entries in registry order, seen through the common contract. */
export function constraintEntries(): readonly ConstraintEntry[] {
  return CONSTRAINT_ENTRIES as readonly ConstraintEntry[];
}

/** Every field null: the start a preset's constraints are merged onto. */
export function noConstraints(): ConstraintParams {
  return Object.fromEntries(CONSTRAINT_FIELDS.map((field) => [field, null])) as ConstraintParams;
}

export function buildConstraintSet(constraints: ConstraintParams, height: number, width: number): ConstraintSet {
  const values = constraints as Record<string, unknown>;
  let parametrisation: Parametrisation | null = null;
  const penalties: Penalty[] = [];
  const projections: Projection[] = [];
  try {
    for (const entry of constraintEntries()) {
      const value = values[entry.field];
      if (value === null || value === undefined) continue;
      if (entry.role === 'parametrisation') {
        // validateAttackParams refuses two; a library caller's params get the same refusal here.
        if (parametrisation) throw new Error(`constraints hold two parametrisations of δ (${parametrisation.name} and ${entry.field})`);
        parametrisation = entry.build(value, height, width);
      } else if (entry.role === 'penalty') {
        const penalty = entry.build(value);
        if (penalty) penalties.push(penalty);
      } else {
        projections.push(entry.build(value));
      }
    }
  } catch (error) {
    (parametrisation as Parametrisation | null)?.dispose();
    throw error;
  }
  const chosen = parametrisation ?? identityParametrisation(height, width);
  return { parametrisation: chosen, penalties, projections, dispose: () => chosen.dispose() };
}
