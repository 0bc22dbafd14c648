/**
 * Square attack, L∞ (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020, "Square Attack: a query-efficient
 * black-box adversarial attack via random search", Algorithm 1 and §3.1): a random search that uses the objective's
 * values only, never its gradient. It is AutoAttack's gradient-free member (Croce & Hein 2020): where it does better
 * than every gradient attack on the same score, those gradients were masked (src/report/worst-case.ts).
 *
 * - Start: vertical stripes, δ = ±ε drawn once per column and channel (the paper's §3.1 initialisation).
 * - Each query: one square window of side s per image gets a new ±ε per channel (δ in the window is replaced, so
 *   ‖δ‖∞ ≤ ε holds by construction); the candidate is kept only if it raises the objective (random search, accept
 *   improvements only). A draw that would not change any pixel of the window is redrawn, as in the paper's code.
 * - Side: s = round(√(p·H·W)), clamped to [1, min(H, W) − 1], with p halved on the paper's schedule: after 10, 50,
 *   200, 500, 1000, 2000, 4000, 6000 and 8000 of 10 000 queries, rescaled to the query budget (`squareFraction`).
 * - p_init = 0.8, AutoAttack's value for Square at L∞ (the paper tunes 0.05 for ImageNet models at 10 000 queries;
 *   0.8 is the choice that holds at AutoAttack's budgets of a few thousand queries and at small inputs).
 *
 * `steps` counts queries: the start is one, each search step one more. Every image is encoded as x + δ clamped to
 * [0, 1]; δ is kept as that applied difference, so the returned image is exactly the one scored. The randomness of
 * an item (stripes, windows, signs) comes from its key (attacks/item-random.ts), so its result does not depend on
 * the batch it ran in. An item at the objective's threshold stops. The search runs on the CPU copy of the batch;
 * only the encoder's forward pass is a tensor op, so the tensors made per query are the candidate batch, its
 * features and its objective values, disposed before the next query.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../src/core/errors.js';
import type { SeededRandom } from '../src/core/seeded-random.js';
import type { Encoder } from '../src/models/encoder.js';
import type { Attack, AttackEntry, AttackInput, AttackItemStats, AttackResult, StepEvent } from './attack.js';
import type { AttackParams } from './attack-params.js';
import { itemRandom } from './item-random.js';
import { type AttackObjective, featureCollisionObjective } from './objective.js';

/** AutoAttack's initial square fraction for Square at L∞. */
export const SQUARE_P_INIT = 0.8;
/** The paper's schedule on a 10 000-query scale: p is halved once past each of these. */
const HALVINGS = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000] as const;
/** A window whose every redraw leaves the image unchanged (ε = 0, or every pixel pinned) is skipped after this many. */
const MAX_REDRAWS = 32;

/** The fraction p of pixels the square covers at search step `step` (0-based) of `searchSteps`. */
export function squareFraction(step: number, searchSteps: number, pInit = SQUARE_P_INIT): number {
  const scaled = Math.floor((step / searchSteps) * 10000);
  const halvings = HALVINGS.filter((at) => scaled > at).length;
  return pInit / 2 ** halvings;
}

/** The side of the square for fraction p on an H×W image: round(√(p·H·W)) within [1, min(H, W) − 1]. */
export function squareSide(p: number, height: number, width: number): number {
  return Math.max(1, Math.min(Math.round(Math.sqrt(p * height * width)), Math.min(height, width) - 1));
}

export interface SquareOptions {
  name: string;
  /** Queries per item, the start included. */
  queries: number;
  epsilon: number;
  objective: AttackObjective;
  seed: number;
}

const sign = (random: SeededRandom) => (random.next() < 0.5 ? -1 : 1);

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
  private readonly height: number;
  private readonly width: number;
  private readonly channels: number;

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
    this.height = height;
    this.width = width;
    this.channels = channels;
    const pixels = input.clean.dataSync();
    const perItem = height * width * channels;
    this.items = input.itemKeys.map((key, i) => {
      const clean = Float32Array.from(pixels.subarray(i * perItem, (i + 1) * perItem));
      const random = itemRandom(options.seed, key, 'square');
      return { clean, delta: this.stripes(clean, random), best: -Infinity, random, queries: 0, done: false };
    });
  }

  /** Vertical stripes: one ±ε per column and channel, the same down every row; applied, so clamped to [0, 1]. */
  private stripes(clean: Float32Array, random: SeededRandom): Float32Array {
    const { height, width, channels } = this;
    const { epsilon } = this.options;
    const signs = Float32Array.from({ length: width * channels }, () => sign(random) * epsilon);
    const delta = new Float32Array(clean.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < channels; c++) {
          const i = (y * width + x) * channels + c;
          delta[i] = Math.min(1, Math.max(0, clean[i]! + signs[x * channels + c]!)) - clean[i]!;
        }
      }
    }
    return delta;
  }

  /**
   * A candidate δ for one item: its best δ with a window of side `side` set to a new ±ε per channel, redrawn while
   * it changes no pixel of the window. Null when no draw changed anything.
   */
  private candidate(item: SquareItem, side: number): Float32Array | null {
    const { width, channels } = this;
    const { epsilon } = this.options;
    const top = item.random.nextInt(this.height - side + 1);
    const left = item.random.nextInt(width - side + 1);
    for (let attempt = 0; attempt < MAX_REDRAWS; attempt++) {
      const signs = Array.from({ length: channels }, () => sign(item.random) * epsilon);
      const next = Float32Array.from(item.delta);
      let changed = false;
      for (let y = top; y < top + side; y++) {
        for (let x = left; x < left + side; x++) {
          for (let c = 0; c < channels; c++) {
            const i = (y * width + x) * channels + c;
            const applied = Math.min(1, Math.max(0, item.clean[i]! + signs[c]!)) - item.clean[i]!;
            if (Math.abs(applied - item.delta[i]!) > 1e-7) changed = true;
            next[i] = applied;
          }
        }
      }
      if (changed) return next;
    }
    return null;
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

  private report(step: number, onStep?: (event: StepEvent) => void): void {
    const active = this.active();
    if (!onStep || active.length === 0) return;
    onStep({ step, meanObjective: active.reduce((sum, p) => sum + this.items[p]!.best, 0) / active.length, active: active.length });
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
      this.report(step, onStep);
      const active = this.active();
      if (active.length === 0) break;
      const side = squareSide(squareFraction(step, searchSteps), this.height, this.width);
      const drawn = active.map((position) => ({ position, delta: this.candidate(this.items[position]!, side) }));
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

function unitRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}

export function squareAttack(options: SquareOptions): Attack {
  if (!(options.epsilon >= 0)) throw new UserError(`square: budget.epsilon must be ≥ 0, got ${options.epsilon}`);
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
 * What a Square preset may not hold, as (field, problem) pairs: it searches pixels at an L∞ budget, so it needs
 * that budget and has no parametrisation of δ, no penalty and no optimiser.
 */
export function squareParamProblems(params: AttackParams): [string, string][] {
  const problems: [string, string][] = [];
  const { budget, ...others } = params.constraints;
  if (budget === null) problems.push(['constraints.budget', "is needed by attack 'square', which searches δ = ±ε (e.g. {\"norm\": \"linf\", \"epsilon\": 0.0314})"]);
  else if (budget.norm !== 'linf') problems.push(['constraints.budget.norm', `must be 'linf' with attack 'square' (its L2 variant is not implemented), got '${budget.norm}'`]);
  for (const [field, value] of Object.entries(others)) {
    if (value !== null) problems.push([`constraints.${field}`, "must be null with attack 'square': it searches the pixels themselves, without a parametrisation or penalty"]);
  }
  if (params.optimiser !== undefined) problems.push(['optimiser', "must be absent with attack 'square': a random search has no optimiser"]);
  return problems;
}

export const squareEntry: AttackEntry = {
  name: 'square',
  description: 'Square attack (Andriushchenko et al. 2020), L∞: gradient-free random search over ±ε squares; steps = queries per image',
  validate: squareParamProblems,
  build: (params, seed, objective) =>
    squareAttack({
      name: params.attack,
      queries: params.steps,
      epsilon: params.constraints.budget!.epsilon,
      objective: objective ?? featureCollisionObjective(params.features, params.threshold),
      seed,
    }),
};
