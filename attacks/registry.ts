/**
 * The one registry of attacks, target strategies and constraints. Names here are the values accepted in
 * presets (configs/attacks/*.json) and on the command line.
 */
import { UserError } from '../src/core/errors.js';
import type { Attack } from './attack.js';
import type { AttackParams } from './attack-params.js';
import type { ConstraintSet, Parametrisation, Penalty, Projection } from './constraints/constraint.js';
import { dctLowPassParametrisation } from './constraints/dct-low-pass.js';
import { identityParametrisation } from './constraints/identity.js';
import { lowResolutionParametrisation } from './constraints/low-resolution.js';
import { normBudgetProjection } from './constraints/norm-budget.js';
import { smoothnessPenalty } from './constraints/smoothness.js';
import { featureCollisionAttack } from './feature-collision.js';
import { adamOptimiser } from './optimisers/adam.js';
import type { Optimiser } from './optimisers/optimiser.js';
import { signedGradientOptimiser } from './optimisers/signed-gradient.js';
import { nearestPrototypeTargets } from './targets/nearest-prototype.js';
import { prototypeTargets } from './targets/prototype.js';
import { sampleTargets } from './targets/sample.js';
import type { TargetStrategy } from './targets/target-strategy.js';
import { textTargets } from './targets/text.js';

interface AttackEntry {
  description: string;
  optimiser: (lr: number) => Optimiser;
}

export const ATTACKS: Readonly<Record<string, AttackEntry>> = {
  'feature-collision': { description: 'Adam on δ (the paper)', optimiser: adamOptimiser },
  'feature-collision-pgd': { description: 'signed-gradient descent on δ (PGD step, lr = step size)', optimiser: signedGradientOptimiser },
};

export const TARGET_STRATEGIES: Readonly<Record<AttackParams['target']['strategy'], TargetStrategy>> = {
  sample: sampleTargets,
  prototype: prototypeTargets,
  'nearest-prototype': nearestPrototypeTargets,
  text: textTargets,
};

type Constraints = AttackParams['constraints'];

/** Each constraint field of the params and the role it plays. */
export const CONSTRAINTS = {
  smoothness: { role: 'penalty', build: (c: NonNullable<Constraints['smoothness']>): Penalty => smoothnessPenalty(c.lambda) },
  lowResolution: {
    role: 'parametrisation',
    build: (c: NonNullable<Constraints['lowResolution']>, h: number, w: number): Parametrisation => lowResolutionParametrisation(h, w, c.scale),
  },
  dctLowPass: {
    role: 'parametrisation',
    build: (c: NonNullable<Constraints['dctLowPass']>, h: number, w: number): Parametrisation => dctLowPassParametrisation(h, w, c.k),
  },
  budget: { role: 'projection', build: (c: NonNullable<Constraints['budget']>): Projection => normBudgetProjection(c.norm, c.epsilon) },
} as const;

export function buildConstraintSet(constraints: Constraints, height: number, width: number): ConstraintSet {
  const parametrisation = constraints.lowResolution
    ? CONSTRAINTS.lowResolution.build(constraints.lowResolution, height, width)
    : constraints.dctLowPass
      ? CONSTRAINTS.dctLowPass.build(constraints.dctLowPass, height, width)
      : identityParametrisation(height, width);
  const penalties = constraints.smoothness && constraints.smoothness.lambda > 0 ? [CONSTRAINTS.smoothness.build(constraints.smoothness)] : [];
  const projections = constraints.budget ? [CONSTRAINTS.budget.build(constraints.budget)] : [];
  return { parametrisation, penalties, projections, dispose: () => parametrisation.dispose() };
}

export function attackNames(): string[] {
  return Object.keys(ATTACKS);
}

/** Builds the attack named by params.attack, seeded for reproducibility. */
export function createAttack(params: AttackParams, seed: number): Attack {
  const entry = ATTACKS[params.attack];
  if (!entry) throw new UserError(`unknown attack '${params.attack}'; known: ${attackNames().join(', ')}`);
  return featureCollisionAttack({
    name: params.attack,
    steps: params.steps,
    batch: params.batch,
    initStd: params.initStd,
    threshold: params.threshold,
    features: params.features,
    seed,
    optimiser: entry.optimiser(params.lr),
    constraints: (h, w) => buildConstraintSet(params.constraints, h, w),
  });
}

export function targetStrategy(name: AttackParams['target']['strategy']): TargetStrategy {
  const strategy = TARGET_STRATEGIES[name];
  if (!strategy) throw new UserError(`unknown target strategy '${name}'; known: ${Object.keys(TARGET_STRATEGIES).join(', ')}`);
  return strategy;
}
