/**
 * Constraints on the perturbation δ, in three composable roles:
 * - a Parametrisation maps the optimised variable to δ (identity, low-resolution grid, DCT coefficients);
 * - a Penalty adds a per-item term to the loss (smoothness);
 * - a Projection acts on the variable after every optimiser step (L∞ / L2 budget).
 * An attack has exactly one parametrisation and any number of penalties and projections.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ConfigChecker } from '../../src/core/config-checker.js';

export interface Parametrisation {
  readonly name: string;
  /** True when the variable is δ itself; the pixel-range clamp then acts on the variable (paper semantics). */
  readonly isIdentity: boolean;
  /** [height, width] of the optimised variable (channels stay 3). */
  readonly variableSize: readonly [number, number];
  /** Variable [B,h,w,3] → δ [B,H,W,3]; linear, differentiable. */
  toDelta(variable: tf.Tensor4D): tf.Tensor4D;
  /** Releases the fixed basis matrices. */
  dispose(): void;
}

export interface Penalty {
  readonly name: string;
  /** δ [B,H,W,3] → [B] loss terms (already weighted), differentiable. */
  perItem(delta: tf.Tensor4D): tf.Tensor1D;
}

export interface Projection {
  readonly name: string;
  /** Returns the projected variable so that the δ it parametrises satisfies the constraint. */
  project(variable: tf.Tensor4D, parametrisation: Parametrisation): tf.Tensor4D;
}

export interface ConstraintSet {
  readonly parametrisation: Parametrisation;
  readonly penalties: readonly Penalty[];
  readonly projections: readonly Projection[];
  dispose(): void;
}

interface ConstraintEntryBase<Field extends string, Value> {
  /** The key under a preset's `constraints`, e.g. `dctLowPass`. */
  readonly field: Field;
  readonly description: string;
  /** The keys of the field's object in a preset, e.g. ['k']. */
  readonly keys: readonly string[];
  /** Validates the field's object (already checked to hold only `keys`); `path` is e.g. 'constraints.dctLowPass'. */
  read(value: Record<string, unknown>, check: ConfigChecker, path: string): Value;
  /** A small valid value: what the registry-wide tests run and the README's table shows. */
  readonly example: Value;
}

/**
 * A registry entry (attacks/constraints/constraint-set.ts): one constraint field of a preset, its role, and how
 * to build it. Methods, not function fields, so that an entry of a specific Value fits the registry's list.
 */
export type ConstraintEntry<Field extends string = string, Value = unknown> = ConstraintEntryBase<Field, Value> &
  (
    | { readonly role: 'parametrisation'; build(value: Value, height: number, width: number): Parametrisation }
    | { readonly role: 'penalty'; build(value: Value): Penalty | null }
    | { readonly role: 'projection'; build(value: Value): Projection }
  );
