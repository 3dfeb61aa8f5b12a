/**
 * `npm run bench [-- <suite>...] [--quick]`: runs benchmark suites (all when none is named), prints
 * a table per suite and writes `bench/results/<suite>.json` in the format of BENCHMARKS.md (quick
 * runs write `<suite>.quick.json`, which git ignores).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import type { BenchRow, BenchSuite } from './lib/suite.ts';

const suitesDir = new URL('./suites/', import.meta.url);
const resultsDir = new URL('./results/', import.meta.url);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { quick: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
});

const available = (await readdir(suitesDir)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
if (values.help) {
  console.log(`usage: npm run bench -- [suite...] [--quick]\nsuites: ${available.join(', ')}`);
  process.exit(0);
}
const unknown = positionals.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}

await mkdir(resultsDir, { recursive: true });
for (const name of positionals.length > 0 ? positionals : available) {
  const suite = (await import(new URL(`${name}.ts`, suitesDir).href)).default as BenchSuite;
  console.log(`\n${suite.name}: ${suite.description}${values.quick ? ' (quick)' : ''}`);
  const rows = await suite.run({ quick: values.quick, progress: (m) => process.stderr.write(`  … ${m}\n`) });
  console.log(render(rows));
  const result = { suite: suite.name, node: process.version, cpus: os.cpus().length, quick: values.quick, rows };
  // Quick runs are for development: they never overwrite the committed full results.
  await writeFile(new URL(`${suite.name}${values.quick ? '.quick' : ''}.json`, resultsDir), `${JSON.stringify(result, null, 2)}\n`);
}

function render(rows: BenchRow[]): string {
  const table = new Table({ head: ['case', 'metric', 'viridian', 'baseline', 'baseline value', 'ratio'] });
  for (const r of rows) {
    table.push([r.case, r.metric, fmt(r.value), r.baseline ?? '', r.baselineValue === undefined ? '' : fmt(r.baselineValue), r.ratio === undefined ? '' : `${r.ratio}x`]);
  }
  return table.toString();
}

function fmt(value: number): string {
  if (Math.abs(value) >= 1e9) return `${(value / 1e9).toFixed(2)} G`;
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (Math.abs(value) >= 1e4) return `${(value / 1e3).toFixed(1)} k`;
  return String(value);
}
