/**
 * `npm run bench:table -- <suite>...`: prints the figures in `bench/results/<suite>.json` as a
 * Markdown table, for the README.
 */
import { readFile } from 'node:fs/promises';
import type { BenchRow } from './lib/suite.ts';

function format(value: number, metric: BenchRow['metric']): string {
  switch (metric) {
    case 'bytes_per_s':
      return value >= 1e9 ? `${(value / 1e9).toFixed(2)} GB/s` : `${(value / 1e6).toFixed(0)} MB/s`;
    case 'packets_per_s':
    case 'iops':
      return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M/s` : value >= 1e4 ? `${(value / 1e3).toFixed(1)} k/s` : `${Math.round(value)}/s`;
    case 'latency_us_p50':
    case 'latency_us_p99':
      return `${value} µs`;
    case 'ms':
      return `${value} ms`;
    case 'bytes':
      return `${(value / 1024 / 1024).toFixed(1)} MiB`;
    default:
      return String(value);
  }
}

for (const suite of process.argv.slice(2)) {
  const result = JSON.parse(await readFile(new URL(`./results/${suite}.json`, import.meta.url), 'utf8')) as { rows: BenchRow[]; node: string; quick: boolean };
  console.log(`<!-- ${suite}: ${result.node}${result.quick ? ', quick run' : ''} -->`);
  console.log('| case | metric | Viridian | baseline (same run) | ratio |');
  console.log('|---|---|---|---|---|');
  for (const row of result.rows) {
    const baseline = row.baselineValue === undefined ? '' : `${format(row.baselineValue, row.metric)} (${row.baseline})`;
    console.log(`| ${row.case} | ${row.metric} | ${format(row.value, row.metric)} | ${baseline} | ${row.ratio === undefined ? '' : `${row.ratio}x`} |`);
  }
  console.log();
}
