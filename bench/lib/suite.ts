/**
 * The benchmark convention of shared/BENCHMARKS.md as types: a suite measures Viridian and, in the
 * same run, a baseline doing the same job without it, and reports rows with their ratio.
 */

/** Units a row may report in. */
export type Metric =
  | 'packets_per_s'
  | 'bytes_per_s'
  | 'iops'
  | 'latency_us_p50'
  | 'latency_us_p99'
  | 'signals_per_packet'
  | 'ms'
  | 'partitions'
  | 'bytes';

/** Metrics where a smaller value is better: the ratio is baseline / value for these. */
const LOWER_IS_BETTER: ReadonlySet<Metric> = new Set(['latency_us_p50', 'latency_us_p99', 'signals_per_packet', 'ms', 'bytes']);

/** One measured figure, optionally beside its same-run baseline. */
export interface BenchRow {
  readonly case: string;
  readonly metric: Metric;
  readonly value: number;
  readonly baseline?: string;
  readonly baselineValue?: number;
  readonly ratio?: number;
}

/** What a suite is given: `quick` asks for a run of a few seconds with the same rows. */
export interface BenchContext {
  readonly quick: boolean;
  /** Prints a progress line (to stderr, so the table stays clean). */
  progress(message: string): void;
}

/** A benchmark suite: `bench/suites/<name>.ts` default-exports one. */
export interface BenchSuite {
  readonly name: string;
  readonly description: string;
  run(context: BenchContext): Promise<BenchRow[]>;
}

/** Builds a row, computing the ratio so that above 1 always means Viridian is ahead. */
export function row(
  caseName: string,
  metric: Metric,
  value: number,
  baseline?: { name: string; value: number },
): BenchRow {
  if (!baseline) return { case: caseName, metric, value: round(value) };
  const ratio = LOWER_IS_BETTER.has(metric) ? baseline.value / value : value / baseline.value;
  return {
    case: caseName,
    metric,
    value: round(value),
    baseline: baseline.name,
    baselineValue: round(baseline.value),
    ratio: Math.round(ratio * 100) / 100,
  };
}

function round(value: number): number {
  return Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(3));
}
