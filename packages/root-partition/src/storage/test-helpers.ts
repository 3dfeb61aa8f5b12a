/**
 * Helpers for the storage tests only (never imported by production code): a temporary folder
 * per test, and the qemu tools run through `execFile` (argument vectors, never a shell string).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs `fn` with a fresh temporary folder, removed afterwards whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'viridian-storage-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `qemu-img` with `args`; resolves with stdout, rejects with the exit code and stderr. */
export async function qemuImg(...args: string[]): Promise<string> {
  return (await run('qemu-img', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

/** Runs `qemu-io` with `args`; resolves with stdout. */
export async function qemuIo(...args: string[]): Promise<string> {
  return (await run('qemu-io', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

/** A buffer of `length` bytes from a simple deterministic generator seeded by `seed`. */
export function pattern(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}
