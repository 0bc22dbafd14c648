/**
 * The Attack contract: pure tensors in, tensors and per-item statistics out. No I/O, no concrete model.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Encoder } from '../src/models/encoder.js';

export interface AttackItemStats {
  cosBefore: number;
  /** cos(f(x+δ), t) at the last step taken, in float (before 8-bit quantisation). */
  cosFinal: number;
  stepsUsed: number;
  /** True when the item reached the early-stop threshold. */
  converged: boolean;
}

export interface AttackResult {
  /** [B,H,W,3] adversarial pixels in [0,1] (float; quantisation happens afterwards). */
  adv: tf.Tensor4D;
  stats: AttackItemStats[];
}

export interface StepEvent {
  step: number;
  /** Mean cosine to the target over the items still running. */
  meanCos: number;
  active: number;
}

export interface Attack {
  readonly name: string;
  /**
   * @param clean   [B,H,W,3] pixels in [0,1] at the encoder's input size.
   * @param targets [B,D] target features (any scale; the loss uses cosine).
   */
  run(encoder: Encoder, clean: tf.Tensor4D, targets: tf.Tensor2D, onStep?: (event: StepEvent) => void): AttackResult;
}
