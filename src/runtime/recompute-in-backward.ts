/**
 * Gradient checkpointing (Chen et al. 2016, "Training Deep Nets with Sublinear Memory Cost", §3): `f` runs
 * off the tape and keeps only its input; when the input gradient is asked for, `f` runs again on the tape and
 * its vector-Jacobian product is taken then. Wrapped around each transformer block, the tape holds one tensor per
 * block instead of every intermediate of every block (for ViT-L/14 at batch 4: attention maps of 16 heads ×
 * 257² per block, 24 blocks), at the cost of one more forward pass of each block.
 *
 * Only the gradient with respect to the input is produced: the weights `f` closes over are constants here.
 */
import * as tf from '@tensorflow/tfjs';

interface EngineTape {
  state: { activeTape: unknown };
}

/**
 * tf.grad inside a backward pass: tfjs's engine starts a fresh tape when no other gradient is being recorded
 * and clears `activeTape` when it ends, but the outer backward pass in progress reads that field again once it
 * is done (to free what its nodes saved). The outer tape is put back, so both passes clean up their own.
 */
function vectorJacobianProduct<T extends tf.Tensor>(f: (x: T) => T, x: T, dy: T): T {
  const engine = tf.engine() as unknown as EngineTape;
  const outer = engine.state.activeTape;
  try {
    return tf.grad((input: tf.Tensor) => f(input as T))(x, dy) as T;
  } finally {
    engine.state.activeTape = outer;
  }
}

export function recomputeInBackward<T extends tf.Tensor>(f: (x: T) => T): (x: T) => T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as T;
    const save = args[1] as tf.GradSaveFunc;
    save([x]);
    return { value: f(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => vectorJacobianProduct(f, saved[0] as T, dy as T) };
  });
  return (x) => op(x) as T;
}

/** ADVOOD_RECOMPUTE=0 keeps every block's intermediates on the tape instead (faster, more memory). */
export function recomputeBlocks(): boolean {
  return process.env.ADVOOD_RECOMPUTE !== '0';
}

/** A transformer block's forward as a tower runs it: recomputed in the backward pass unless ADVOOD_RECOMPUTE=0. */
export function blockStep<T extends tf.Tensor>(f: (x: T) => T): (x: T) => T {
  return recomputeBlocks() ? recomputeInBackward(f) : f;
}
