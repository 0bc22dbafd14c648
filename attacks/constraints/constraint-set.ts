/**
 * The constraint fields of a preset (`constraints.smoothness`, `.lowResolution`, `.dctLowPass`, `.budget`),
 * each with the role it plays, and the ConstraintSet an attack builds from them for an input size.
 */
import type { AttackParams } from '../attack-params.js';
import type { ConstraintSet, Parametrisation, Penalty, Projection } from './constraint.js';
import { dctLowPassParametrisation } from './dct-low-pass.js';
import { identityParametrisation } from './identity.js';
import { lowResolutionParametrisation } from './low-resolution.js';
import { normBudgetProjection } from './norm-budget.js';
import { smoothnessPenalty } from './smoothness.js';

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
