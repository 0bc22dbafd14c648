/**
 * Percentile of sorted values with linear interpolation between closest ranks — numpy's default
 * (`np.percentile(..., method='linear')`), so bootstrap intervals match a numpy reference exactly.
 */
export function percentile(sortedAscending: Float64Array, q: number): number {
  const n = sortedAscending.length;
  if (n === 0) throw new RangeError('percentile of an empty array');
  const position = (q / 100) * (n - 1);
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, n - 1);
  const fraction = position - lower;
  return sortedAscending[lower]! + (sortedAscending[upper]! - sortedAscending[lower]!) * fraction;
}

/** Median (the 50th percentile above: the mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return percentile(Float64Array.from(values).sort(), 50);
}
