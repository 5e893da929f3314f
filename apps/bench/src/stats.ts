/** Summary statistics of repetitions and of latency samples. */

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Returns the median, minimum and maximum of `values`, which must not be empty. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread() needs at least one value');

  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/**
 * Returns the `fraction` percentile (0.99 for p99) of `samples` by the nearest-rank method: the
 * smallest sample that at least that fraction of the samples do not exceed. Sorts `samples` in place.
 */
export function percentile(samples: Float64Array, fraction: number): number {
  if (samples.length === 0) throw new Error('percentile() needs at least one sample');

  samples.sort();
  const rank = Math.max(1, Math.ceil(fraction * samples.length));
  return samples[rank - 1]!;
}
