/**
 * The two proposal distributions of the Square attack (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020),
 * on one image kept on the CPU as an NHWC Float32Array; attacks/square.ts runs the random search around them.
 * A proposal returns the applied δ (x + δ clamped to [0, 1], minus x), so that the image scored is the one kept.
 *
 * - L∞ (§3.1, Algorithm 2): start from vertical stripes of ±ε (one sign per column and channel); each step sets
 *   one s×s window to a new ±ε per channel, redrawing the signs while they change no pixel of the window.
 * - L2 (§3.2, Algorithm 3): start from a 5×5 grid of tiles, each a "meta pseudo-Gaussian" bump of random sign per
 *   channel, scaled to ‖δ‖₂ = ε; each step moves mass from a second window into a first one: window 1 gets a new
 *   bump plus its old content, rescaled per channel so that the budget left over and window 2's mass go into it,
 *   window 2 is zeroed, and the whole δ is rescaled to ‖δ‖₂ = ε before clamping.
 *
 * Square side s = round(√(p·H·W)) for the fraction p of attacks/square.ts's schedule: within [1, min(H, W) − 1]
 * for L∞; odd and at least 3 for L2 (its bump needs a centre), as in the paper.
 */
import type { SeededRandom } from '../src/core/seeded-random.js';

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

export interface SquareProposal {
  /** The starting δ of one image. */
  start(clean: Float32Array, random: SeededRandom): Float32Array;
  /** A candidate from the current best δ at square fraction p; null when no draw changes the image. */
  propose(clean: Float32Array, delta: Float32Array, p: number, random: SeededRandom): Float32Array | null;
}

/** A window whose every redraw leaves the image unchanged (ε = 0, or every pixel pinned) is skipped after this many. */
const MAX_REDRAWS = 32;

const randomSign = (random: SeededRandom) => (random.next() < 0.5 ? -1 : 1);
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** The L∞ side for fraction p on an H×W image: round(√(p·H·W)) within [1, min(H, W) − 1]. */
export function linfSquareSide(p: number, height: number, width: number): number {
  return Math.max(1, Math.min(Math.round(Math.sqrt(p * height * width)), Math.min(height, width) - 1));
}

/** The L2 side: round(√(p·H·W)), at least 3, made odd, and at most the largest odd side below min(H, W). */
export function l2SquareSide(p: number, height: number, width: number): number {
  let side = Math.max(Math.round(Math.sqrt(p * height * width)), 3);
  if (side % 2 === 0) side += 1;
  const limit = Math.min(height, width) - 1;
  return Math.max(1, Math.min(side, limit % 2 === 1 ? limit : limit - 1));
}

export function linfProposal(shape: ImageShape, epsilon: number): SquareProposal {
  const { height, width, channels } = shape;
  return {
    start(clean, random) {
      const signs = Float32Array.from({ length: width * channels }, () => randomSign(random) * epsilon);
      const delta = new Float32Array(clean.length);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          for (let c = 0; c < channels; c++) {
            const i = (y * width + x) * channels + c;
            delta[i] = clamp01(clean[i]! + signs[x * channels + c]!) - clean[i]!;
          }
        }
      }
      return delta;
    },
    propose(clean, delta, p, random) {
      const side = linfSquareSide(p, height, width);
      const top = random.nextInt(height - side + 1);
      const left = random.nextInt(width - side + 1);
      // Every attempt rewrites the whole window, so one copy of δ serves them all.
      const next = Float32Array.from(delta);
      for (let attempt = 0; attempt < MAX_REDRAWS; attempt++) {
        const signs = Array.from({ length: channels }, () => randomSign(random) * epsilon);
        let changed = false;
        for (let y = top; y < top + side; y++) {
          for (let x = left; x < left + side; x++) {
            for (let c = 0; c < channels; c++) {
              const i = (y * width + x) * channels + c;
              next[i] = clamp01(clean[i]! + signs[c]!) - clean[i]!;
              if (Math.abs(next[i]! - delta[i]!) > 1e-7) changed = true;
            }
          }
        }
        if (changed) return next;
      }
      return null;
    },
  };
}

/** rows×cols of nested rectangles around the centre, ring k weighted 1/(k+1)², unit L2 norm (the paper's bump). */
function pseudoGaussianRectangle(rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  const centreRow = Math.floor(rows / 2);
  const centreCol = Math.floor(cols / 2);
  for (let ring = 0; ring < Math.max(centreRow, centreCol) + 1; ring++) {
    const r0 = centreRow - ring;
    const c0 = centreCol - ring;
    for (let r = Math.max(r0, 0); r < Math.min(r0 + 2 * ring + 1, rows); r++) {
      for (let c = Math.max(c0, 0); c < Math.min(c0 + 2 * ring + 1, cols); c++) out[r * cols + c]! += 1 / (ring + 1) ** 2;
    }
  }
  return normalised(out);
}

function normalised(values: Float64Array): Float64Array {
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0));
  if (norm > 0) for (let i = 0; i < values.length; i++) values[i]! /= norm;
  return values;
}

/** side×side: a bump on the upper half and a negated one on the lower half, unit norm, transposed with probability ½. */
export function metaPseudoGaussian(side: number, random: SeededRandom): Float64Array {
  const upper = Math.floor(side / 2);
  const top = pseudoGaussianRectangle(upper, side);
  const bottom = pseudoGaussianRectangle(side - upper, side);
  const out = new Float64Array(side * side);
  out.set(top, 0);
  for (let i = 0; i < bottom.length; i++) out[upper * side + i] = -bottom[i]!;
  normalised(out);
  if (random.next() < 0.5) return out;
  const transposed = new Float64Array(side * side);
  for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) transposed[c * side + r] = out[r * side + c]!;
  return transposed;
}

export function l2Proposal(shape: ImageShape, epsilon: number): SquareProposal {
  const { height, width, channels } = shape;
  const index = (y: number, x: number, c: number) => (y * width + x) * channels + c;
  /** x + δ·ε/‖δ‖₂ clamped to [0, 1], minus x: δ at the budget's boundary, as applied. */
  const applied = (clean: Float32Array, delta: Float64Array) => {
    const norm = Math.sqrt(delta.reduce((sum, v) => sum + v * v, 0));
    const scale = norm > 0 ? epsilon / norm : 0;
    return Float32Array.from(delta, (v, i) => clamp01(clean[i]! + v * scale) - clean[i]!);
  };
  return {
    start(clean, random) {
      const tile = Math.max(1, Math.floor(height / 5));
      const offset = Math.floor((height - 5 * tile) / 2);
      const delta = new Float64Array(clean.length);
      for (let top = offset; top + tile <= height; top += tile) {
        for (let left = offset; left + tile <= width; left += tile) {
          const bump = metaPseudoGaussian(tile, random);
          const signs = Array.from({ length: channels }, () => randomSign(random));
          for (let y = 0; y < tile; y++) {
            for (let x = 0; x < tile; x++) for (let c = 0; c < channels; c++) delta[index(top + y, left + x, c)]! += bump[y * tile + x]! * signs[c]!;
          }
        }
      }
      return applied(clean, delta);
    },
    propose(clean, delta, p, random) {
      const side = l2SquareSide(p, height, width);
      const [top1, left1] = [random.nextInt(height - side), random.nextInt(width - side)];
      const [top2, left2] = [random.nextInt(height - side), random.nextInt(width - side)];
      const inWindow = (y: number, x: number, top: number, left: number) => y >= top && y < top + side && x >= left && x < left + side;
      const windowSquares = new Float64Array(channels);
      const unionSquares = new Float64Array(channels);
      let imageSquares = 0;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const first = inWindow(y, x, top1, left1);
          const either = first || inWindow(y, x, top2, left2);
          for (let c = 0; c < channels; c++) {
            const square = delta[index(y, x, c)]! ** 2;
            imageSquares += square;
            if (first) windowSquares[c]! += square;
            if (either) unionSquares[c]! += square;
          }
        }
      }
      const bump = metaPseudoGaussian(side, random);
      const signs = Array.from({ length: channels }, () => randomSign(random));
      const next = Float64Array.from(delta);
      for (let y = top2; y < top2 + side; y++) for (let x = left2; x < left2 + side; x++) for (let c = 0; c < channels; c++) next[index(y, x, c)] = 0;
      const spare = Math.max(epsilon ** 2 - imageSquares, 0) / channels;
      for (let c = 0; c < channels; c++) {
        const oldNorm = Math.sqrt(windowSquares[c]!);
        const update = new Float64Array(side * side);
        for (let y = 0; y < side; y++) {
          for (let x = 0; x < side; x++) update[y * side + x] = bump[y * side + x]! * signs[c]! + delta[index(top1 + y, left1 + x, c)]! / (1e-10 + oldNorm);
        }
        normalised(update);
        const mass = Math.sqrt(spare + unionSquares[c]!);
        for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) next[index(top1 + y, left1 + x, c)] = update[y * side + x]! * mass;
      }
      return applied(clean, next);
    },
  };
}
