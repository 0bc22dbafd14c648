/** How the report's tables write numbers: metrics in % with one decimal, and their bootstrap intervals. */
import type { Estimate } from '../metrics/ood-metrics.js';

/** Percent with one decimal, e.g. 93.2. */
export function percent(value: number): string {
  return (value * 100).toFixed(1);
}

export function estimateText(estimate: Estimate): string {
  const ci = estimate.low === null || estimate.high === null ? '' : ` [${percent(estimate.low)}, ${percent(estimate.high)}]`;
  return `${percent(estimate.value)}${ci}`;
}

/** A Δ with its sign, the minus a real one (−). */
export function signed(delta: number): string {
  return `${delta >= 0 ? '+' : '−'}${percent(Math.abs(delta))}`;
}
