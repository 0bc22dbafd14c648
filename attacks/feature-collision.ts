/**
 * Feature-collision attack (Adaloglou et al., TMLR 2024, "feature-based adversarial OOD data manipulation"):
 * minimise −cos(f(x+δ), t) + penalties(δ) over δ, clamping x+δ into [0,1] after init and after every step.
 * The cosine is the default objective (attacks/objective.ts); an adaptive attack swaps in a detector's ID score
 * and keeps everything else here: constraints, optimiser, per-item early stop.
 *
 * Faithful to the official notebook (`compute_adv`): δ₀ = σ·N(0,1), clamped to [−x, 1−x]; loss =
 * −mean_b cos + λ·smoothness with means over the batch; Adam. Here the loss is Σ_i (−cos_i + penalty_i) / B
 * with B the configured batch size, which has the same gradient per item as the paper's batch means but does
 * not change when finished items leave the batch.
 *
 * Items that reach the objective's threshold stop at the δ that reached it: their rows are gathered out of the variable,
 * the optimiser state, the clean images and the targets, so they cost nothing more and cannot change.
 */
import * as tf from '@tensorflow/tfjs';
import type { Encoder } from '../src/models/encoder.js';
import type { Attack, AttackEntry, AttackInput, AttackItemStats, AttackResult, StepEvent } from './attack.js';
import type { AttackParams } from './attack-params.js';
import { type AttackObjective, featureCollisionObjective } from './objective.js';
import { buildConstraintSet } from './constraints/constraint-set.js';
import type { ConstraintSet } from './constraints/constraint.js';
import { itemGaussian } from './item-random.js';
import type { Optimiser, OptimiserState } from './optimisers/optimiser.js';
import { DEFAULT_OPTIMISER, optimiserEntry } from './optimisers/optimisers.js';
import { signedGradientEntry } from './optimisers/signed-gradient.js';

export interface FeatureCollisionOptions {
  name: string;
  steps: number;
  /** Nominal batch size: the 1/B of the loss. */
  batch: number;
  initStd: number;
  /** What is maximised, and its early-stop threshold; the paper's cosine when absent. */
  objective: AttackObjective;
  seed: number;
  optimiser: Optimiser;
  /** Builds the constraints for an input size (the parametrisation depends on H×W). */
  constraints: (height: number, width: number) => ConstraintSet;
}

function unitRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}

/** The tensors that shrink together when items finish. */
interface ActiveBatch {
  /** Original item positions, row-aligned with the tensors. */
  positions: number[];
  variable: tf.Tensor4D;
  clean: tf.Tensor4D;
  unitTargets: tf.Tensor2D;
  optimiser: OptimiserState;
}

function disposeBatch(batch: ActiveBatch): void {
  tf.dispose([batch.variable, batch.clean, batch.unitTargets, ...batch.optimiser.tensors]);
}

function gatherRows(batch: ActiveBatch, keep: number[]): ActiveBatch {
  const index = tf.tensor1d(keep, 'int32');
  const take = <T extends tf.Tensor>(t: T): T => tf.gather(t, index) as T;
  const next: ActiveBatch = {
    positions: keep.map((j) => batch.positions[j]!),
    variable: take(batch.variable),
    clean: take(batch.clean),
    unitTargets: take(batch.unitTargets),
    optimiser: { tensors: batch.optimiser.tensors.map(take), step: batch.optimiser.step },
  };
  index.dispose();
  disposeBatch(batch);
  return next;
}

export function featureCollisionAttack(options: FeatureCollisionOptions): Attack {
  const { steps, optimiser, objective } = options;
  const { threshold, features } = objective;
  const lossScale = 1 / options.batch;

  return {
    name: options.name,
    run(encoder: Encoder, input: AttackInput, onStep?: (event: StepEvent) => void): AttackResult {
      const [count, height, width, channels] = input.clean.shape;
      if (input.itemKeys.length !== count || input.targets.shape[0] !== count) {
        throw new Error(`attack input mismatch: ${count} images, ${input.targets.shape[0]} targets, ${input.itemKeys.length} keys`);
      }
      const constraints = options.constraints(height, width);
      const { parametrisation, penalties, projections } = constraints;
      /** δ applied to the image: the parametrised δ, clamped so that x+δ ∈ [0,1]. */
      const appliedDelta = (variable: tf.Tensor4D, clean: tf.Tensor4D): tf.Tensor4D =>
        tf.tidy(() => tf.sub(tf.clipByValue(tf.add(clean, parametrisation.toDelta(variable)), 0, 1), clean) as tf.Tensor4D);
      /** Post-step constraints on the variable: the paper's in-place clamp (identity only), then the budgets. */
      const constrain = (variable: tf.Tensor4D, clean: tf.Tensor4D): tf.Tensor4D =>
        tf.tidy(() => {
          let v = variable;
          if (parametrisation.isIdentity) v = tf.minimum(tf.maximum(v, tf.neg(clean)), tf.sub(1, clean));
          for (const projection of projections) v = projection.project(v, parametrisation);
          return v === variable ? tf.clone(v) : v;
        });

      const [vh, vw] = parametrisation.variableSize;
      const perItem = vh * vw * channels;
      const init = new Float32Array(count * perItem);
      input.itemKeys.forEach((key, i) => init.set(itemGaussian(options.seed, key, 'init', perItem, options.initStd), i * perItem));
      const rawInit = tf.tensor4d(init, [count, vh, vw, channels]);
      const clean = tf.clone(input.clean);
      let batch: ActiveBatch = {
        positions: Array.from({ length: count }, (_, i) => i),
        variable: constrain(rawInit, clean),
        clean,
        unitTargets: unitRows(input.targets),
        optimiser: { tensors: [], step: 0 },
      };
      rawInit.dispose();
      batch.optimiser = optimiser.init(batch.variable);

      const stats: AttackItemStats[] = new Array(count);
      /** Adversarial rows of finished items, with their original positions. */
      const finished: { positions: number[]; adv: tf.Tensor4D }[] = [];
      const finish = (rows: number[], values: Float32Array, converged: boolean) => {
        const index = tf.tensor1d(rows, 'int32');
        const adv = tf.tidy(() => {
          const v = tf.gather(batch.variable, index) as tf.Tensor4D;
          const x = tf.gather(batch.clean, index) as tf.Tensor4D;
          return tf.add(x, appliedDelta(v, x)) as tf.Tensor4D;
        });
        index.dispose();
        finished.push({ positions: rows.map((j) => batch.positions[j]!), adv });
        for (const j of rows) stats[batch.positions[j]!] = { objectiveFinal: values[j]!, stepsUsed: batch.optimiser.step, converged };
      };

      const lossAndGradient = (b: ActiveBatch): { gradient: tf.Tensor4D; values: Float32Array } => {
        let valueTensor: tf.Tensor1D | null = null;
        const gradient = tf.tidy(() =>
          tf.grad((x: tf.Tensor) => {
            const delta = appliedDelta(x as tf.Tensor4D, b.clean);
            const value = objective.value(encoder.encodeImage(tf.add(b.clean, delta) as tf.Tensor4D, features), b.unitTargets);
            valueTensor = tf.keep(value);
            let perItemLoss: tf.Tensor1D = tf.neg(value);
            for (const penalty of penalties) perItemLoss = tf.add(perItemLoss, penalty.perItem(delta));
            return tf.mul(tf.sum(perItemLoss), lossScale) as tf.Scalar;
          })(b.variable),
        ) as tf.Tensor4D;
        const kept = valueTensor as tf.Tensor1D | null;
        if (!kept) throw new Error('attack loss did not record the objective');
        const values = kept.dataSync() as Float32Array;
        kept.dispose();
        return { gradient, values: Float32Array.from(values) };
      };

      try {
        for (let step = 0; step < steps && batch.positions.length > 0; step++) {
          const { gradient, values } = lossAndGradient(batch);
          onStep?.({ step, meanObjective: values.reduce((a, c) => a + c, 0) / values.length, active: values.length });
          const done: number[] = [];
          const keep: number[] = [];
          values.forEach((c, j) => (threshold !== null && c >= threshold ? done : keep).push(j));
          let grad = gradient;
          if (done.length > 0) {
            finish(done, values, true);
            if (keep.length === 0) {
              grad.dispose();
              disposeBatch(batch);
              batch = { ...batch, positions: [] };
              break;
            }
            const index = tf.tensor1d(keep, 'int32');
            grad = tf.gather(gradient, index) as tf.Tensor4D;
            index.dispose();
            gradient.dispose();
            batch = gatherRows(batch, keep);
          }
          const updated = optimiser.update(batch.variable, grad, batch.optimiser);
          grad.dispose();
          const constrained = constrain(updated.variable, batch.clean);
          tf.dispose([batch.variable, updated.variable, ...batch.optimiser.tensors]);
          batch = { ...batch, variable: constrained, optimiser: updated.state };
        }
        if (batch.positions.length > 0) {
          const last = tf.tidy(() => {
            const adv = tf.add(batch.clean, appliedDelta(batch.variable, batch.clean)) as tf.Tensor4D;
            return objective.value(encoder.encodeImage(adv, features), batch.unitTargets);
          });
          const values = Float32Array.from(last.dataSync());
          last.dispose();
          const all = batch.positions.map((_, j) => j);
          finish(all, values, false);
          all.forEach((j) => {
            const s = stats[batch.positions[j]!]!;
            s.converged = threshold !== null && values[j]! >= threshold;
          });
          disposeBatch(batch);
        }
        // Reassemble in the input order.
        const adv = tf.tidy(() => {
          const stacked = tf.concat(finished.map((f) => f.adv), 0);
          const order = finished.flatMap((f) => f.positions);
          const inverse = new Int32Array(count);
          order.forEach((position, row) => (inverse[position] = row));
          return tf.gather(stacked, tf.tensor1d(inverse, 'int32')) as tf.Tensor4D;
        });
        return { adv, stats };
      } finally {
        // Disposing twice is a no-op, so this also cleans up after an exception mid-run.
        disposeBatch(batch);
        tf.dispose(finished.map((f) => f.adv));
        constraints.dispose();
      }
    },
  };
}

/** The attack as a preset configures it, with the preset's optimiser on δ; the paper's objective unless one is given. */
function fromParams(params: AttackParams, seed: number, optimiser: Optimiser, objective?: AttackObjective): Attack {
  return featureCollisionAttack({
    name: params.attack,
    steps: params.steps,
    batch: params.batch,
    initStd: params.initStd,
    objective: objective ?? featureCollisionObjective(params.features, params.threshold),
    seed,
    optimiser,
    constraints: (h, w) => buildConstraintSet(params.constraints, h, w),
  });
}

export const featureCollisionEntry: AttackEntry = {
  name: 'feature-collision',
  description: "the objective maximised over δ by the preset's optimiser (default Adam, the paper's)",
  build: (params, seed, objective) => fromParams(params, seed, optimiserEntry(params.optimiser ?? DEFAULT_OPTIMISER).build(params.lr), objective),
};

/**
 * The signed-gradient optimiser under the name presets gave it before an optimiser could be named; kept so that
 * those presets, and the releases that record them, keep their params hash. New presets write
 * `"attack": "feature-collision", "optimiser": "signed-gradient"`.
 */
export const featureCollisionPgdEntry: AttackEntry = {
  name: 'feature-collision-pgd',
  description: "feature-collision with the signed-gradient optimiser (an older name for optimiser 'signed-gradient')",
  fixedOptimiser: signedGradientEntry.name,
  build: (params, seed, objective) => fromParams(params, seed, signedGradientEntry.build(params.lr), objective),
};
