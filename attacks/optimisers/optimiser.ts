/**
 * Optimisers over a batch of per-item variables [B,...]. State is per item (row), so finished items can be
 * dropped from the batch by gathering the remaining rows of the variable and of every state tensor.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BudgetNorm } from '../constraints/norm-budget.js';

export interface OptimiserState {
  /** Per-item tensors, all with the variable's leading batch dimension. */
  readonly tensors: tf.Tensor[];
  /** Updates applied so far (shared: every item in a batch starts together). */
  readonly step: number;
}

/** What the attack loop knows at the current variable, for optimisers that adapt to progress (APGD). */
export interface OptimiserContext {
  /** Per item: the objective minus its penalties (what the loop maximises) at the current variable. */
  readonly gains: Float32Array;
  /** Per item: the objective alone at the current variable. */
  readonly objectives: Float32Array;
  /** The attack's projection onto its constraints (budget, pixel range); returns a new tensor. */
  project(variable: tf.Tensor4D): tf.Tensor4D;
}

export interface Optimiser {
  readonly name: string;
  init(variable: tf.Tensor4D): OptimiserState;
  /** One descent step on the loss; returns the new variable and state (the caller disposes the old ones). */
  update(variable: tf.Tensor4D, gradient: tf.Tensor4D, state: OptimiserState, context?: OptimiserContext): { variable: tf.Tensor4D; state: OptimiserState };
  /**
   * The point to return after the last step, when it is not the last iterate (APGD returns its best), with the
   * objective there; `context` is at the last variable. Absent: the last iterate. The caller disposes the result.
   */
  best?(variable: tf.Tensor4D, state: OptimiserState, context: OptimiserContext): { variable: tf.Tensor4D; objectives: Float32Array };
}

/** What an optimiser may be built from besides the step size: the preset's step count and budget. */
export interface OptimiserSettings {
  readonly steps: number;
  readonly budget: { readonly norm: BudgetNorm; readonly epsilon: number } | null;
}

/**
 * A registry entry (attacks/optimisers/optimisers.ts): the name a preset gives in `optimiser`, and how to build
 * the optimiser from the preset's step size (`lr`), step count and budget.
 */
export interface OptimiserEntry {
  readonly name: string;
  readonly description: string;
  /** True when the optimiser's step sizes come from the budget ε (APGD): a preset without a budget is refused. */
  readonly needsBudget?: boolean;
  build(lr: number, settings: OptimiserSettings): Optimiser;
}
