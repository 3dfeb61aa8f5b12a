/**
 * `npx tsx bench/contention.ts`: how much a busy thread beside them costs direct 1 MiB sequential
 * reads (the `storage` benchmark's baseline: `FileHandle.read`, 4 in flight, on a page-cached file)
 * on this machine. Prints the reads' throughput alone, beside a thread that spins, and beside a
 * thread that polls 200 us then sleeps 100 us (a VP's halt-polling duty cycle), medians of 3.
 * On a 2-core VM this bounds what any design with busy VP threads can reach (README, `storage`).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

const MiB = 1 << 20;
const FILE_MIB = 256;
const dir = await mkdtemp(path.join(os.tmpdir(), 'viridian-contention-'));
const file = await open(path.join(dir, 'data.raw'), 'w+');
try {
  const chunk = Buffer.alloc(4 * MiB, 0xa5);
  for (let at = 0; at < FILE_MIB * MiB; at += chunk.length) await file.write(chunk, 0, chunk.length, at);

  /** GB/s of `count` sequential 1 MiB reads, 4 in flight. */
  const reads = async (count: number): Promise<number> => {
    const buffers = Array.from({ length: 4 }, () => Buffer.alloc(MiB));
    let next = 0;
    const start = performance.now();
    await Promise.all(buffers.map(async (buffer) => {
      while (next < count) {
        const at = (next++ % FILE_MIB) * MiB;
        await file.read(buffer, 0, MiB, at);
      }
    }));
    return (count * MiB) / ((performance.now() - start) / 1000) / 1e9;
  };
  const beside = async (source: string): Promise<number> => {
    const worker = new Worker(source, { eval: true });
    await new Promise((resolve) => worker.once('online', resolve));
    try {
      return await reads(2048);
    } finally {
      await worker.terminate();
    }
  };
  const spin = 'for (;;) {}';
  const poll = 'const s = new Int32Array(new SharedArrayBuffer(4)); for (;;) { const until = performance.now() + 0.2; while (performance.now() < until); Atomics.wait(s, 0, 0, 0.1); }';
  await reads(512); // warm-up
  const runs = { alone: [] as number[], spin: [] as number[], poll: [] as number[] };
  for (let i = 0; i < 3; i++) {
    runs.alone.push(await reads(2048));
    runs.spin.push(await beside(spin));
    runs.poll.push(await beside(poll));
  }
  const median = (values: number[]): number => values.sort((a, b) => a - b)[1]!;
  const alone = median(runs.alone);
  const line = (name: string, values: number[]): string => `${name}: ${median(values).toFixed(2)} GB/s (${(median(values) / alone).toFixed(2)}x)`;
  console.log(`1 MiB sequential reads, 4 in flight: alone ${alone.toFixed(2)} GB/s; ${line('beside a spinning thread', runs.spin)}; ${line('beside a 200 us poll / 100 us sleep thread', runs.poll)}`);
} finally {
  await file.close();
  await rm(dir, { recursive: true, force: true });
}
