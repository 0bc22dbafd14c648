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
import { type AttackObjective, featureCollisionObjective, unitRows } from './objective.js';
import { buildConstraintSet } from './constraints/constraint-set.js';
import type { ConstraintSet } from './constraints/constraint.js';
import { itemGaussian } from './item-random.js';
import type { Optimiser, OptimiserContext, OptimiserSettings, OptimiserState } from './optimisers/optimiser.js';
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

/**
 * One run of the attack on one batch: the active rows, the rows already finished, and the steps between. Each
 * method is one phase of the loop in `run`; the tensors it holds are disposed in `dispose`, whatever happened.
 */
class FeatureCollisionRun {
  private batch: ActiveBatch;
  private readonly stats: AttackItemStats[];
  /** Adversarial rows of finished items, with their original positions. */
  private readonly finished: { positions: number[]; adv: tf.Tensor4D }[] = [];
  private readonly constraints: ConstraintSet;
  private readonly count: number;

  constructor(
    private readonly options: FeatureCollisionOptions,
    private readonly encoder: Encoder,
    input: AttackInput,
  ) {
    const [count, height, width, channels] = input.clean.shape;
    if (input.itemKeys.length !== count || input.targets.shape[0] !== count) {
      throw new Error(`attack input mismatch: ${count} images, ${input.targets.shape[0]} targets, ${input.itemKeys.length} keys`);
    }
    this.count = count;
    this.stats = new Array(count);
    this.constraints = options.constraints(height, width);
    const [vh, vw] = this.constraints.parametrisation.variableSize;
    const perItem = vh * vw * channels;
    const init = new Float32Array(count * perItem);
    input.itemKeys.forEach((key, i) => init.set(itemGaussian(options.seed, key, 'init', perItem, options.initStd), i * perItem));
    const rawInit = tf.tensor4d(init, [count, vh, vw, channels]);
    const clean = tf.clone(input.clean);
    this.batch = {
      positions: Array.from({ length: count }, (_, i) => i),
      variable: this.constrain(rawInit, clean),
      clean,
      unitTargets: unitRows(input.targets),
      optimiser: { tensors: [], step: 0 },
    };
    rawInit.dispose();
    this.batch.optimiser = options.optimiser.init(this.batch.variable);
  }

  get active(): number {
    return this.batch.positions.length;
  }

  /** δ applied to the image: the parametrised δ, clamped so that x+δ ∈ [0,1]. */
  private appliedDelta(variable: tf.Tensor4D, clean: tf.Tensor4D): tf.Tensor4D {
    const { parametrisation } = this.constraints;
    return tf.tidy(() => tf.sub(tf.clipByValue(tf.add(clean, parametrisation.toDelta(variable)), 0, 1), clean) as tf.Tensor4D);
  }

  /** Post-step constraints on the variable: the paper's in-place clamp (identity only), then the budgets. */
  private constrain(variable: tf.Tensor4D, clean: tf.Tensor4D): tf.Tensor4D {
    const { parametrisation, projections } = this.constraints;
    return tf.tidy(() => {
      let v = variable;
      if (parametrisation.isIdentity) v = tf.minimum(tf.maximum(v, tf.neg(clean)), tf.sub(1, clean));
      for (const projection of projections) v = projection.project(v, parametrisation);
      return v === variable ? tf.clone(v) : v;
    });
  }

  /** Moves rows of the active batch to the finished ones, with their objective values. */
  private finish(rows: number[], values: Float32Array, converged: boolean): void {
    const { batch } = this;
    const index = tf.tensor1d(rows, 'int32');
    const adv = tf.tidy(() => {
      const v = tf.gather(batch.variable, index) as tf.Tensor4D;
      const x = tf.gather(batch.clean, index) as tf.Tensor4D;
      return tf.add(x, this.appliedDelta(v, x)) as tf.Tensor4D;
    });
    index.dispose();
    this.finished.push({ positions: rows.map((j) => batch.positions[j]!), adv });
    for (const j of rows) this.stats[batch.positions[j]!] = { objectiveFinal: values[j]!, stepsUsed: batch.optimiser.step, converged };
  }

  /** Per item: the objective and the loss −objective + penalties at variable x, as tensors [B] (inside a tape). */
  private objectiveAndLoss(x: tf.Tensor4D, clean: tf.Tensor4D, unitTargets: tf.Tensor2D): { value: tf.Tensor1D; loss: tf.Tensor1D } {
    const { objective } = this.options;
    const delta = this.appliedDelta(x, clean);
    const value = objective.value(this.encoder.encodeImage(tf.add(clean, delta) as tf.Tensor4D, objective.features), unitTargets);
    let loss: tf.Tensor1D = tf.neg(value);
    for (const penalty of this.constraints.penalties) loss = tf.add(loss, penalty.perItem(delta));
    return { value, loss };
  }

  /**
   * Σ_i (−objective_i + penalty_i) / B and its gradient in the variable, with each item's objective value and
   * gain (objective − penalties, what the loop maximises).
   */
  private lossAndGradient(): { gradient: tf.Tensor4D; values: Float32Array; gains: Float32Array } {
    const { batch } = this;
    const lossScale = 1 / this.options.batch;
    let recorded: { value: tf.Tensor1D; loss: tf.Tensor1D } | null = null;
    const gradient = tf.tidy(() =>
      tf.grad((x: tf.Tensor) => {
        const { value, loss } = this.objectiveAndLoss(x as tf.Tensor4D, batch.clean, batch.unitTargets);
        recorded = { value: tf.keep(value), loss: tf.keep(loss) };
        return tf.mul(tf.sum(loss), lossScale) as tf.Scalar;
      })(batch.variable),
    ) as tf.Tensor4D;
    const kept = recorded as { value: tf.Tensor1D; loss: tf.Tensor1D } | null;
    if (!kept) throw new Error('attack loss did not record the objective');
    const values = Float32Array.from(kept.value.dataSync());
    const gains = Float32Array.from(kept.loss.dataSync(), (loss) => -loss);
    tf.dispose([kept.value, kept.loss]);
    return { gradient, values, gains };
  }

  /** What an optimiser that adapts to progress is told about the rows of `batch` (APGD). */
  private optimiserContext(batch: ActiveBatch, values: Float32Array, gains: Float32Array): OptimiserContext {
    return { gains, objectives: values, project: (v) => this.constrain(v, batch.clean) };
  }

  /** One optimiser step; items at the threshold finish first, at the δ that reached it. */
  step(step: number, onStep?: (event: StepEvent) => void): void {
    const { threshold } = this.options.objective;
    const { gradient, values, gains } = this.lossAndGradient();
    onStep?.({ step, meanObjective: values.reduce((a, c) => a + c, 0) / values.length, active: values.length });
    const done: number[] = [];
    const keep: number[] = [];
    values.forEach((c, j) => (threshold !== null && c >= threshold ? done : keep).push(j));
    let grad = gradient;
    let kept = { values, gains };
    if (done.length > 0) {
      this.finish(done, values, true);
      if (keep.length === 0) {
        grad.dispose();
        disposeBatch(this.batch);
        this.batch = { ...this.batch, positions: [] };
        return;
      }
      const index = tf.tensor1d(keep, 'int32');
      grad = tf.gather(gradient, index) as tf.Tensor4D;
      index.dispose();
      gradient.dispose();
      this.batch = gatherRows(this.batch, keep);
      kept = { values: Float32Array.from(keep, (j) => values[j]!), gains: Float32Array.from(keep, (j) => gains[j]!) };
    }
    const { batch } = this;
    const updated = this.options.optimiser.update(batch.variable, grad, batch.optimiser, this.optimiserContext(batch, kept.values, kept.gains));
    grad.dispose();
    const constrained = this.constrain(updated.variable, batch.clean);
    tf.dispose([batch.variable, updated.variable, ...batch.optimiser.tensors]);
    this.batch = { ...batch, variable: constrained, optimiser: updated.state };
  }

  /**
   * After the last step: the items still active finish where they are (or, for an optimiser that keeps its best
   * point, there), converged if they reached the threshold.
   */
  finishActive(): void {
    const { batch } = this;
    if (batch.positions.length === 0) return;
    const { objective, optimiser } = this.options;
    const last = tf.tidy(() => this.objectiveAndLoss(batch.variable, batch.clean, batch.unitTargets));
    let values: Float32Array = Float32Array.from(last.value.dataSync());
    const gains = Float32Array.from(last.loss.dataSync(), (loss) => -loss);
    tf.dispose([last.value, last.loss]);
    if (optimiser.best) {
      const best = optimiser.best(batch.variable, batch.optimiser, this.optimiserContext(batch, values, gains));
      batch.variable.dispose();
      batch.variable = best.variable;
      values = best.objectives;
    }
    const all = batch.positions.map((_, j) => j);
    this.finish(all, values, false);
    all.forEach((j) => {
      this.stats[batch.positions[j]!]!.converged = objective.threshold !== null && values[j]! >= objective.threshold;
    });
    disposeBatch(batch);
  }

  /** The finished rows back in the input order. */
  result(): AttackResult {
    const adv = tf.tidy(() => {
      const stacked = tf.concat(this.finished.map((f) => f.adv), 0);
      const order = this.finished.flatMap((f) => f.positions);
      const inverse = new Int32Array(this.count);
      order.forEach((position, row) => (inverse[position] = row));
      return tf.gather(stacked, tf.tensor1d(inverse, 'int32')) as tf.Tensor4D;
    });
    return { adv, stats: this.stats };
  }

  dispose(): void {
    // Disposing twice is a no-op, so this also cleans up after an exception mid-run.
    disposeBatch(this.batch);
    tf.dispose(this.finished.map((f) => f.adv));
    this.constraints.dispose();
  }
}

export function featureCollisionAttack(options: FeatureCollisionOptions): Attack {
  return {
    name: options.name,
    run(encoder: Encoder, input: AttackInput, onStep?: (event: StepEvent) => void): AttackResult {
      const run = new FeatureCollisionRun(options, encoder, input);
      try {
        for (let step = 0; step < options.steps && run.active > 0; step++) run.step(step, onStep);
        run.finishActive();
        return run.result();
      } finally {
        run.dispose();
      }
    },
  };
}

function optimiserSettings(params: AttackParams): OptimiserSettings {
  return { steps: params.steps, budget: params.constraints.budget };
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
  build: (params, seed, objective) =>
    fromParams(params, seed, optimiserEntry(params.optimiser ?? DEFAULT_OPTIMISER).build(params.lr, optimiserSettings(params)), objective),
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
  build: (params, seed, objective) => fromParams(params, seed, signedGradientEntry.build(params.lr, optimiserSettings(params)), objective),
};
