/**
 * Optimisers over a batch of per-item variables [B,...]. State is per item (row), so finished items can be
 * dropped from the batch by gathering the remaining rows of the variable and of every state tensor.
 */
import type * as tf from '@tensorflow/tfjs';

export interface OptimiserState {
  /** Per-item tensors, all with the variable's leading batch dimension. */
  readonly tensors: tf.Tensor[];
  /** Updates applied so far (shared: every item in a batch starts together). */
  readonly step: number;
}

export interface Optimiser {
  readonly name: string;
  init(variable: tf.Tensor4D): OptimiserState;
  /** One descent step on the loss; returns the new variable and state (the caller disposes the old ones). */
  update(variable: tf.Tensor4D, gradient: tf.Tensor4D, state: OptimiserState): { variable: tf.Tensor4D; state: OptimiserState };
}

/**
 * A registry entry (attacks/optimisers/optimisers.ts): the name a preset gives in `optimiser`, and how to build
 * the optimiser from the preset's step size (`lr`).
 */
export interface OptimiserEntry {
  readonly name: string;
  readonly description: string;
  build(lr: number): Optimiser;
}
