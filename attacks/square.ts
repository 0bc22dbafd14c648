/**
 * Square attack (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020, "Square Attack: a query-efficient black-box
 * adversarial attack via random search", Algorithm 1): a random search that uses the objective's values only,
 * never its gradient. It is AutoAttack's gradient-free member (Croce & Hein 2020): where it does better than every
 * gradient attack on the same score, those gradients were masked (src/report/worst-case.ts).
 *
 * Each query proposes one change per image, a square window of δ redrawn within the budget (L∞ or L2, the
 * paper's two proposal distributions: attacks/square-proposals.ts), and keeps it only if it raises the objective.
 * The window covers a fraction p of the image, halved on the paper's schedule: after 10, 50, 200, 500, 1000, 2000,
 * 4000, 6000 and 8000 of 10 000 queries, rescaled to the query budget (`squareFraction`). p_init = 0.8 is
 * AutoAttack's value for Square (the paper tunes 0.05 for ImageNet models at 10 000 queries; 0.8 is the choice
 * that holds at AutoAttack's budgets of a few thousand queries and at small inputs).
 *
 * `steps` counts queries: the start is one, each search step one more. Every image is encoded as x + δ clamped to
 * [0, 1]; δ is kept as that applied difference, so the returned image is exactly the one scored. The randomness of
 * an item (start, windows, signs) comes from its key (attacks/item-random.ts), so its result does not depend on
 * the batch it ran in. An item at the objective's threshold stops. The search runs on a CPU copy of the batch;
 * only the encoder's forward pass is a tensor op, and its tensors are disposed before the next query.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../src/core/errors.js';
import type { SeededRandom } from '../src/core/seeded-random.js';
import type { Encoder } from '../src/models/encoder.js';
import type { Attack, AttackEntry, AttackInput, AttackItemStats, AttackResult, StepEvent } from './attack.js';
import type { AttackParams, BudgetNorm } from './attack-params.js';
import { itemRandom } from './item-random.js';
import { type AttackObjective, featureCollisionObjective, unitRows } from './objective.js';
import { type SquareProposal, l2Proposal, linfProposal } from './square-proposals.js';

/** AutoAttack's initial square fraction for Square at L∞. */
export const SQUARE_P_INIT = 0.8;
/** The paper's schedule on a 10 000-query scale: p is halved once past each of these. */
const HALVINGS = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000] as const;
/** The fraction p of pixels the square covers at search step `step` (0-based) of `searchSteps`. */
export function squareFraction(step: number, searchSteps: number, pInit = SQUARE_P_INIT): number {
  const scaled = Math.floor((step / searchSteps) * 10000);
  const halvings = HALVINGS.filter((at) => scaled > at).length;
  return pInit / 2 ** halvings;
}

export interface SquareOptions {
  name: string;
  /** Queries per item, the start included. */
  queries: number;
  budget: { norm: BudgetNorm; epsilon: number };
  objective: AttackObjective;
  seed: number;
}

/** One image's search state, on the CPU: its pixels, its best applied δ and the best objective value. */
interface SquareItem {
  clean: Float32Array;
  delta: Float32Array;
  best: number;
  random: SeededRandom;
  queries: number;
  done: boolean;
}

class SquareRun {
  private readonly items: SquareItem[];
  private readonly proposal: SquareProposal;

  constructor(
    private readonly options: SquareOptions,
    private readonly encoder: Encoder,
    private readonly input: AttackInput,
    private readonly unitTargets: tf.Tensor2D,
  ) {
    const [count, height, width, channels] = input.clean.shape;
    if (input.itemKeys.length !== count || input.targets.shape[0] !== count) {
      throw new Error(`attack input mismatch: ${count} images, ${input.targets.shape[0]} targets, ${input.itemKeys.length} keys`);
    }
    const shape = { height, width, channels };
    this.proposal = options.budget.norm === 'linf' ? linfProposal(shape, options.budget.epsilon) : l2Proposal(shape, options.budget.epsilon);
    const pixels = input.clean.dataSync();
    const perItem = height * width * channels;
    this.items = input.itemKeys.map((key, i) => {
      const clean = Float32Array.from(pixels.subarray(i * perItem, (i + 1) * perItem));
      const random = itemRandom(options.seed, key, 'square');
      return { clean, delta: this.proposal.start(clean, random), best: -Infinity, random, queries: 0, done: false };
    });
  }

  /** The objective of x + δ for the given items (one batched forward pass, no gradient). */
  private score(positions: readonly number[], deltas: readonly Float32Array[]): Float32Array {
    const [, height, width, channels] = this.input.clean.shape;
    const perItem = height * width * channels;
    const pixels = new Float32Array(positions.length * perItem);
    positions.forEach((position, row) => {
      const { clean } = this.items[position]!;
      const delta = deltas[row]!;
      for (let i = 0; i < perItem; i++) pixels[row * perItem + i] = clean[i]! + delta[i]!;
    });
    const { objective } = this.options;
    return tf.tidy(() => {
      const batch = tf.tensor4d(pixels, [positions.length, height, width, channels]);
      const targets = tf.gather(this.unitTargets, tf.tensor1d(positions as number[], 'int32')) as tf.Tensor2D;
      return Float32Array.from(objective.value(this.encoder.encodeImage(batch, objective.features), targets).dataSync());
    });
  }

  private active(): number[] {
    return this.items.flatMap((item, position) => (item.done ? [] : [position]));
  }

  /** Marks items at the objective's threshold, or out of queries, as done. */
  private settle(): void {
    const { threshold } = this.options.objective;
    for (const item of this.items) {
      if ((threshold !== null && item.best >= threshold) || item.queries >= this.options.queries) item.done = true;
    }
  }

  private report(step: number, active: readonly number[], onStep?: (event: StepEvent) => void): void {
    onStep?.({ step, meanObjective: active.reduce((sum, p) => sum + this.items[p]!.best, 0) / active.length, active: active.length });
  }

  run(onStep?: (event: StepEvent) => void): AttackResult {
    const start = this.items.map((_, position) => position);
    const values = this.score(start, this.items.map((item) => item.delta));
    this.items.forEach((item, position) => {
      item.best = values[position]!;
      item.queries = 1;
    });
    this.settle();
    const searchSteps = this.options.queries - 1;
    for (let step = 0; step < searchSteps; step++) {
      const active = this.active();
      if (active.length === 0) break;
      this.report(step, active, onStep);
      const p = squareFraction(step, searchSteps);
      const drawn = active.map((position) => {
        const item = this.items[position]!;
        return { position, delta: this.proposal.propose(item.clean, item.delta, p, item.random) };
      });
      const tried = drawn.filter((d): d is { position: number; delta: Float32Array } => d.delta !== null);
      if (tried.length > 0) {
        const scores = this.score(tried.map((d) => d.position), tried.map((d) => d.delta));
        tried.forEach(({ position, delta }, row) => {
          const item = this.items[position]!;
          if (scores[row]! > item.best) {
            item.best = scores[row]!;
            item.delta = delta;
          }
        });
      }
      for (const position of active) this.items[position]!.queries++;
      this.settle();
    }
    return this.result();
  }

  private result(): AttackResult {
    const { threshold } = this.options.objective;
    const [count, height, width, channels] = this.input.clean.shape;
    const perItem = height * width * channels;
    const adv = new Float32Array(count * perItem);
    const stats: AttackItemStats[] = this.items.map((item, i) => {
      for (let j = 0; j < perItem; j++) adv[i * perItem + j] = item.clean[j]! + item.delta[j]!;
      return { objectiveFinal: item.best, stepsUsed: item.queries, converged: threshold !== null && item.best >= threshold };
    });
    return { adv: tf.tensor4d(adv, [count, height, width, channels]), stats };
  }
}

export function squareAttack(options: SquareOptions): Attack {
  if (!(options.budget.epsilon >= 0)) throw new UserError(`square: budget.epsilon must be ≥ 0, got ${options.budget.epsilon}`);
  return {
    name: options.name,
    run(encoder: Encoder, input: AttackInput, onStep?: (event: StepEvent) => void): AttackResult {
      const unitTargets = unitRows(input.targets);
      try {
        return new SquareRun(options, encoder, input, unitTargets).run(onStep);
      } finally {
        unitTargets.dispose();
      }
    },
  };
}

/**
 * What a Square preset may not hold, as (field, problem) pairs: it searches the pixels within an L∞ or L2 ball, so
 * it needs a budget and has no parametrisation of δ, no penalty and no optimiser.
 */
export function squareParamProblems(params: AttackParams): [string, string][] {
  const problems: [string, string][] = [];
  const { budget, ...others } = params.constraints;
  if (budget === null) problems.push(['constraints.budget', "is needed by attack 'square', which searches δ within it (e.g. {\"norm\": \"linf\", \"epsilon\": 0.0314})"]);
  for (const [field, value] of Object.entries(others)) {
    if (value !== null) problems.push([`constraints.${field}`, "must be null with attack 'square': it searches the pixels themselves, without a parametrisation or penalty"]);
  }
  if (params.optimiser !== undefined) problems.push(['optimiser', "must be absent with attack 'square': a random search has no optimiser"]);
  return problems;
}

export const squareEntry: AttackEntry = {
  name: 'square',
  description: 'Square attack (Andriushchenko et al. 2020), L∞ or L2: gradient-free random search over square windows of δ; steps = queries per image',
  gradientFree: true,
  validate: squareParamProblems,
  build: (params, seed, objective) =>
    squareAttack({
      name: params.attack,
      queries: params.steps,
      budget: params.constraints.budget!,
      objective: objective ?? featureCollisionObjective(params.features, params.threshold),
      seed,
    }),
};
