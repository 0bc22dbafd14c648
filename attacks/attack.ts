/**
 * The Attack contract: pure tensors in, tensors and per-item statistics out. No I/O, no concrete model.
 * Attacks are built from AttackParams by the registry (attacks/registry.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import type { Encoder } from '../src/models/encoder.js';
import type { AttackParams } from './attack-params.js';
import type { AttackObjective } from './objective.js';

export interface AttackInput {
  /** [B,H,W,3] pixels in [0,1] at the encoder's input size. */
  clean: tf.Tensor4D;
  /** [B,D] target features (any scale; the loss uses cosine). */
  targets: tf.Tensor2D;
  /** One stable key per item (its row id): seeds the item's init so batch composition does not matter. */
  itemKeys: readonly string[];
}

export interface AttackItemStats {
  /** The objective for the returned δ (cos(f(x+δ), t) by default), in float, before 8-bit quantisation. */
  objectiveFinal: number;
  /** Optimiser updates applied to this item. */
  stepsUsed: number;
  /** True when the item reached the objective's early-stop threshold. */
  converged: boolean;
}

export interface AttackResult {
  /** [B,H,W,3] adversarial pixels in [0,1] (float; quantisation happens afterwards). The caller disposes it. */
  adv: tf.Tensor4D;
  stats: AttackItemStats[];
}

export interface StepEvent {
  step: number;
  /** Mean objective (cosine to the target by default) over the items still running. */
  meanObjective: number;
  active: number;
}

export interface Attack {
  readonly name: string;
  run(encoder: Encoder, input: AttackInput, onStep?: (event: StepEvent) => void): AttackResult;
}

/** A registry entry (attacks/registry.ts): the name presets use in `attack`, and how to build it from params. */
export interface AttackEntry {
  readonly name: string;
  readonly description: string;
  /** The optimiser this attack always uses, where it fixes one; a preset naming another is refused. */
  readonly fixedOptimiser?: string;
  /** True for a search that reads the objective's values only: it has no optimiser, and lr and initStd are unused. */
  readonly gradientFree?: boolean;
  /** What this attack refuses in otherwise valid params, as (field, problem) pairs; the first is the preset's error line. */
  readonly validate?: (params: AttackParams) => [string, string][];
  /** `objective`: what to maximise (attacks/objective.ts); the paper's cosine when absent. */
  build(params: AttackParams, seed: number, objective?: AttackObjective): Attack;
}
