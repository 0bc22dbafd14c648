/**
 * An L∞ or L2 budget on δ, enforced by projection after every step (and after init).
 *
 * With the identity parametrisation this is the Euclidean projection: clipping for L∞, radial scaling for L2.
 * For the other parametrisations δ = P(v) is linear in v, so scaling v by ε/‖P(v)‖ puts δ exactly on the
 * budget's boundary; that is the Euclidean projection for L2 with the orthonormal DCT basis and a feasible
 * (not nearest) point otherwise. Clamping to the pixel range afterwards only shrinks |δ|, so the budget holds
 * for the δ actually applied.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../src/core/errors.js';
import type { ConstraintEntry, Parametrisation, Projection } from './constraint.js';

export type BudgetNorm = 'linf' | 'l2';

/** Per-item norm of a [B,H,W,C] tensor, shape [B,1,1,1] for broadcasting. */
function itemNorm(delta: tf.Tensor4D, norm: BudgetNorm): tf.Tensor4D {
  const reduced = norm === 'linf' ? tf.max(tf.abs(delta), [1, 2, 3]) : tf.sqrt(tf.sum(tf.square(delta), [1, 2, 3]));
  return reduced.reshape([delta.shape[0], 1, 1, 1]);
}

export function normBudgetProjection(norm: BudgetNorm, epsilon: number): Projection {
  if (!(epsilon >= 0)) throw new UserError(`budget.epsilon must be ≥ 0, got ${epsilon}`);
  return {
    name: `${norm}-budget`,
    project(variable: tf.Tensor4D, parametrisation: Parametrisation): tf.Tensor4D {
      return tf.tidy(() => {
        if (parametrisation.isIdentity && norm === 'linf') return tf.clipByValue(variable, -epsilon, epsilon);
        const size = itemNorm(parametrisation.toDelta(variable), norm);
        // factor = min(1, ε/‖δ‖); a zero δ keeps factor 1.
        const factor = tf.minimum(tf.scalar(1), tf.div(tf.scalar(epsilon), tf.maximum(size, tf.scalar(1e-30))));
        return tf.mul(variable, factor) as tf.Tensor4D;
      });
    },
  };
}

export const BUDGET_NORMS = ['linf', 'l2'] as const satisfies readonly BudgetNorm[];

export const normBudgetEntry = {
  field: 'budget',
  role: 'projection',
  description: 'an L∞ or L2 budget ε on δ, projected after every step',
  keys: ['norm', 'epsilon'],
  read: (v, check, path) => ({ norm: check.oneOf(v.norm, `${path}.norm`, BUDGET_NORMS), epsilon: check.number(v.epsilon, `${path}.epsilon`, { min: 0 }) }),
  example: { norm: 'linf', epsilon: 16 / 255 },
  build: (c) => normBudgetProjection(c.norm, c.epsilon),
} satisfies ConstraintEntry<'budget', { norm: BudgetNorm; epsilon: number }>;
