/**
 * APGD, Auto-PGD (Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
 * parameter-free attacks", ICML 2020, Algorithm 1), as AutoAttack's reference code runs it (autopgd_base.py):
 * - step size η starts at 2ε of the preset's budget (per item);
 * - momentum: z = P(x_k + η·s(g)),  x_{k+1} = P(x_k + α(z − x_k) + (1 − α)(x_k − x_{k−1})), α = 0.75 (α = 1 at k = 0),
 *   with s(g) = sign(g) under an L∞ budget and g/‖g‖₂ under an L2 budget, g the gradient of the objective;
 * - checkpoints after 0.22·N iterations, then after intervals shrinking by 0.03·N down to 0.06·N; at each, an
 *   item whose objective rose in at most ρ = 75 % of the iterations since the last one, or which neither
 *   improved its best nor halved η at the last one, halves η and restarts from its best point (and that point's
 *   gradient);
 * - the result is the best point seen, not the last (best() below).
 * "Objective" is what the attack maximises minus its penalties (the gains the loop passes in). The projection P is
 * the attack's own (budget, then the pixel range), so APGD works on every parametrisation of δ (identity, DCT,
 * low resolution), stepping in the parametrisation's variable.
 */
import * as tf from '@tensorflow/tfjs';
import type { BudgetNorm } from '../constraints/norm-budget.js';
import type { Optimiser, OptimiserContext, OptimiserEntry, OptimiserSettings, OptimiserState } from './optimiser.js';

/** α of the momentum step (Croce & Hein 2020, §3.2). */
export const APGD_MOMENTUM = 0.75;
/** ρ of the oscillation condition (ibid., condition 1). */
export const APGD_RHO = 0.75;

/**
 * The iterations at which APGD checks its progress, for N steps: AutoAttack's n_iter_2 = max(⌊0.22·N⌋, 1)
 * first, then intervals shrinking by size_decr = max(⌊0.03·N⌋, 1) down to n_iter_min = max(⌊0.06·N⌋, 1).
 */
export function apgdCheckpoints(steps: number): { at: number; interval: number }[] {
  const shrink = Math.max(Math.floor(0.03 * steps), 1);
  const shortest = Math.max(Math.floor(0.06 * steps), 1);
  const out: { at: number; interval: number }[] = [];
  let interval = Math.max(Math.floor(0.22 * steps), 1);
  for (let at = interval; at < steps; at += interval) {
    out.push({ at, interval });
    interval = Math.max(interval - shrink, shortest);
  }
  return out;
}

/** Per-item state, in the order of OptimiserState.tensors (each with the batch as its first axis). */
interface ApgdTensors {
  previous: tf.Tensor4D;
  best: tf.Tensor4D;
  bestGradient: tf.Tensor4D;
  bestGain: tf.Tensor1D;
  bestObjective: tf.Tensor1D;
  lastGain: tf.Tensor1D;
  stepSize: tf.Tensor1D;
  /** Iterations since the last checkpoint in which the gain rose. */
  rises: tf.Tensor1D;
  /** 1 where η was halved at the last checkpoint. */
  halvedLast: tf.Tensor1D;
  bestGainAtLast: tf.Tensor1D;
}

const ORDER = ['previous', 'best', 'bestGradient', 'bestGain', 'bestObjective', 'lastGain', 'stepSize', 'rises', 'halvedLast', 'bestGainAtLast'] as const;

function unpack(state: OptimiserState): ApgdTensors {
  return Object.fromEntries(ORDER.map((name, i) => [name, state.tensors[i]])) as unknown as ApgdTensors;
}

function pack(tensors: ApgdTensors, step: number): OptimiserState {
  return { tensors: ORDER.map((name) => tensors[name]), step };
}

/** [B] → [B,1,1,1], to select or scale whole items. */
function perItem(values: tf.Tensor1D): tf.Tensor4D {
  return tf.reshape(values, [values.shape[0], 1, 1, 1]) as tf.Tensor4D;
}

function select(mask: tf.Tensor1D, ifTrue: tf.Tensor4D, ifFalse: tf.Tensor4D): tf.Tensor4D {
  return tf.where(tf.cast(tf.broadcastTo(perItem(mask), ifTrue.shape), 'bool'), ifTrue, ifFalse) as tf.Tensor4D;
}

/** The ascent direction s(g) of the objective from the loss gradient ∇L = −∇gain. */
function ascentDirection(lossGradient: tf.Tensor4D, norm: BudgetNorm): tf.Tensor4D {
  if (norm === 'linf') return tf.neg(tf.sign(lossGradient));
  const length = tf.sqrt(tf.sum(tf.square(lossGradient), [1, 2, 3], true));
  return tf.neg(tf.div(lossGradient, tf.maximum(length, 1e-12))) as tf.Tensor4D;
}

export function apgdOptimiser(settings: OptimiserSettings): Optimiser {
  const { budget, steps } = settings;
  if (!budget) throw new Error("optimiser 'apgd' needs a budget (attack params validation refuses a preset without one)");
  const checkpoints = new Map(apgdCheckpoints(steps).map((c) => [c.at, c.interval]));
  return {
    name: 'apgd',
    init(variable) {
      const batch = variable.shape[0];
      const zeros = () => tf.zeros([batch]) as tf.Tensor1D;
      return pack(
        {
          previous: tf.clone(variable),
          best: tf.clone(variable),
          bestGradient: tf.zerosLike(variable),
          bestGain: tf.fill([batch], -Infinity) as tf.Tensor1D,
          bestObjective: zeros(),
          lastGain: tf.fill([batch], -Infinity) as tf.Tensor1D,
          stepSize: tf.fill([batch], 2 * budget.epsilon) as tf.Tensor1D,
          rises: zeros(),
          halvedLast: zeros(),
          bestGainAtLast: tf.fill([batch], -Infinity) as tf.Tensor1D,
        },
        0,
      );
    },
    update(variable, gradient, state, context?: OptimiserContext) {
      if (!context) throw new Error("optimiser 'apgd' needs the items' gains and the attack's projection");
      const k = state.step;
      const s = unpack(state);
      const next = tf.tidy(() => {
        const gains = tf.tensor1d(context.gains);
        const objectives = tf.tensor1d(context.objectives);
        // The best point so far (x_k is evaluated now: the gains are at the current variable).
        const improved = tf.greater(gains, s.bestGain).toFloat() as tf.Tensor1D;
        const best = select(improved, variable, s.best);
        const bestGradient = select(improved, gradient, s.bestGradient);
        const bestGain = tf.maximum(gains, s.bestGain) as tf.Tensor1D;
        const bestObjective = tf.where(tf.cast(improved, 'bool'), objectives, s.bestObjective) as tf.Tensor1D;
        let rises = k > 0 ? (tf.add(s.rises, tf.greater(gains, s.lastGain).toFloat()) as tf.Tensor1D) : s.rises;
        let { stepSize, halvedLast, bestGainAtLast } = s;
        let from = variable;
        let fromGradient = gradient;
        let previous = s.previous;
        const interval = checkpoints.get(k);
        if (interval !== undefined) {
          // Condition 1: the gain rose in at most ρ of the interval's iterations; condition 2: no halving at the
          // last checkpoint and no better point since.
          const oscillating = tf.lessEqual(rises, APGD_RHO * interval);
          const stalled = tf.logicalAnd(tf.equal(halvedLast, 0), tf.lessEqual(bestGain, bestGainAtLast));
          const halve = tf.logicalOr(oscillating, stalled).toFloat() as tf.Tensor1D;
          stepSize = tf.where(tf.cast(halve, 'bool'), tf.div(stepSize, 2), stepSize) as tf.Tensor1D;
          from = select(halve, best, variable);
          fromGradient = select(halve, bestGradient, gradient);
          previous = select(halve, best, previous);
          halvedLast = halve;
          bestGainAtLast = bestGain;
          rises = tf.zerosLike(rises) as tf.Tensor1D;
        }
        const z = context.project(tf.add(from, tf.mul(perItem(stepSize), ascentDirection(fromGradient, budget.norm))) as tf.Tensor4D);
        const alpha = k === 0 ? 1 : APGD_MOMENTUM;
        const moved = tf.add(tf.add(from, tf.mul(tf.sub(z, from), alpha)), tf.mul(tf.sub(from, previous), 1 - alpha)) as tf.Tensor4D;
        const stepped = context.project(moved);
        // Fresh tensors only: the caller disposes the old state, which some of these would otherwise alias.
        return {
          variable: stepped,
          tensors: {
            previous: tf.clone(from),
            best,
            bestGradient,
            bestGain,
            bestObjective,
            lastGain: gains,
            stepSize: tf.clone(stepSize),
            rises: tf.clone(rises),
            halvedLast: tf.clone(halvedLast),
            bestGainAtLast: tf.clone(bestGainAtLast),
          } satisfies ApgdTensors,
        };
      });
      return { variable: next.variable, state: pack(next.tensors, k + 1) };
    },
    best(variable, state, context) {
      const s = unpack(state);
      return tf.tidy(() => {
        const gains = tf.tensor1d(context.gains);
        const improved = tf.greater(gains, s.bestGain).toFloat() as tf.Tensor1D;
        return {
          variable: select(improved, variable, s.best),
          objectives: Float32Array.from(tf.where(tf.cast(improved, 'bool'), tf.tensor1d(context.objectives), s.bestObjective).dataSync()),
        };
      });
    },
  };
}

export const apgdEntry: OptimiserEntry = {
  name: 'apgd',
  description: 'APGD (Croce & Hein 2020): step size from 2ε, halved at checkpoints when progress stalls, momentum 0.75, best point kept; needs a budget',
  needsBudget: true,
  build: (_lr, settings) => apgdOptimiser(settings),
};
