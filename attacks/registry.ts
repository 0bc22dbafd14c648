/**
 * The one registry of attacks and target strategies. Names here are the values accepted in presets
 * (configs/attacks/*.json) and on the command line. Each attack entry lives beside its attack and builds it
 * from the preset's params; constraints are in constraints/constraint-set.ts, optimisers in optimisers/optimisers.ts.
 */
import { UserError } from '../src/core/errors.js';
import type { Attack, AttackEntry } from './attack.js';
import type { AttackParams } from './attack-params.js';
import type { AttackObjective } from './objective.js';
import { featureCollisionEntry, featureCollisionPgdEntry } from './feature-collision.js';
import { squareEntry } from './square.js';
import { nearestPrototypeTargets } from './targets/nearest-prototype.js';
import { prototypeTargets } from './targets/prototype.js';
import { sampleTargets } from './targets/sample.js';
import type { TargetStrategy } from './targets/target-strategy.js';
import type { TargetStrategyName } from './targets/target-strategy-names.js';
import { textTargets } from './targets/text.js';

export type { AttackEntry } from './attack.js';
export { CONSTRAINT_ENTRIES, buildConstraintSet, constraintEntries } from './constraints/constraint-set.js';
export { OPTIMISERS, DEFAULT_OPTIMISER, optimiserEntry, optimiserNames } from './optimisers/optimisers.js';

/** Every attack by name; a new attack is a new file exporting its entry, listed here. */
export const ATTACKS: Readonly<Record<string, AttackEntry>> = Object.fromEntries(
  [featureCollisionEntry, featureCollisionPgdEntry, squareEntry].map((entry) => [entry.name, entry]),
);

/** One strategy per name of TARGET_STRATEGY_NAMES (the type makes a missing or extra one an error). */
export const TARGET_STRATEGIES = {
  sample: sampleTargets,
  prototype: prototypeTargets,
  'nearest-prototype': nearestPrototypeTargets,
  text: textTargets,
} as const satisfies Readonly<Record<TargetStrategyName, TargetStrategy>>;

export function attackNames(): string[] {
  return Object.keys(ATTACKS);
}

/** Builds the attack named by params.attack, seeded for reproducibility, on the paper's objective unless given one. */
export function createAttack(params: AttackParams, seed: number, objective?: AttackObjective): Attack {
  const entry = ATTACKS[params.attack];
  if (!entry) throw new UserError(`unknown attack '${params.attack}'; known: ${attackNames().join(', ')}`);
  return entry.build(params, seed, objective);
}

export function targetStrategy(name: TargetStrategyName): TargetStrategy {
  const strategy: TargetStrategy | undefined = TARGET_STRATEGIES[name];
  if (!strategy) throw new UserError(`unknown target strategy '${name}'; known: ${Object.keys(TARGET_STRATEGIES).join(', ')}`);
  return strategy;
}
