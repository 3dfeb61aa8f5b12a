/**
 * The deterministic operation stream of the crash-consistency test, shared by the writer process
 * (which performs it) and the test (which rebuilds what must be on disk): op `i` of seed `s` is a
 * pattern write (4–64 KiB) or, one time in eight, the trim of one whole block.
 */
import { pattern } from './vhdx.test-support.ts';

export const CRASH_DISK_SIZE = 16 * 1024 * 1024;
export const CRASH_BLOCK_SIZE = 1024 * 1024;
/** Writes the writer keeps in flight at once. */
export const CRASH_CONCURRENCY = 4;

/** One operation of the stream. */
export type CrashOp = { kind: 'write'; offset: number; data: Buffer } | { kind: 'trim'; offset: number; length: number };

function mix(seed: number, i: number, salt: number): number {
  let x = (seed ^ Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Operation `i` of stream `seed`. Operations run `CRASH_CONCURRENCY` at a time and concurrent
 * overlapping requests complete in any order, so op `i` stays inside slice `i mod
 * CRASH_CONCURRENCY` of the disk: one group's operations never overlap.
 */
export function crashOp(seed: number, i: number): CrashOp {
  const slice = CRASH_DISK_SIZE / CRASH_CONCURRENCY;
  const base = (i % CRASH_CONCURRENCY) * slice;
  if (mix(seed, i, 1) % 8 === 0) {
    const block = mix(seed, i, 2) % (slice / CRASH_BLOCK_SIZE);
    return { kind: 'trim', offset: base + block * CRASH_BLOCK_SIZE, length: CRASH_BLOCK_SIZE };
  }
  const length = (1 + (mix(seed, i, 3) % 16)) * 4096;
  const offset = base + (mix(seed, i, 4) % ((slice - length) / 4096 + 1)) * 4096;
  return { kind: 'write', offset, data: pattern(offset, length, i + 1) };
}

/** Whether the writer flushes after its `group`-th group of operations. */
export function flushAfterGroup(seed: number, group: number): boolean {
  return mix(seed, group, 5) % 3 === 0;
}
