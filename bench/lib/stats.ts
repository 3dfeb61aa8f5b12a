/**
 * Small statistics for benchmarks: medians of repetitions and latency percentiles.
 */

/** The median of `values` (which it sorts in place). */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/** The p-th percentile (nearest rank) of `values` (which it sorts in place). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  const rank = Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1));
  return values[rank]!;
}

/** Runs `measure` `times` times and returns every result, for a median over repetitions. */
export async function repeat<T>(times: number, measure: (iteration: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < times; i++) results.push(await measure(i));
  return results;
}
