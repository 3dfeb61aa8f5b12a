/**
 * The VP worker pool with real workers: pre-started workers are handed out once each, the pool
 * refills in the background, an empty pool starts workers on demand, and a stopped VP's worker is
 * terminated, never reused. Every wait is on an event (a worker's write to its guest memory).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { VpPageLayout } from '../abi/vp-page.ts';
import type { VpBootData } from '../guest/boot-data.ts';
import { VpWorkerPool, type VpWorker } from './vp-workers.ts';

const ENTRY = new URL('../fixtures/thread-id-vp.ts', import.meta.url).href;
const HEAP_MB = 16;
let pool: VpWorkerPool | undefined;
const running: VpWorker[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.terminate()));
  await pool?.shutdown();
  pool = undefined;
});

/** Starts a VP of partition `partition` on `p`; resolves with the thread id that ran it. */
function launch(p: VpWorkerPool, partition: number): { worker: VpWorker; ran: Promise<number> } {
  const memory = new SharedArrayBuffer(4096);
  const boot: VpBootData = { kind: 'viridian-vp', partitionId: String(partition), vpIndex: 0, memory, vpPage: new SharedArrayBuffer(VpPageLayout.SIZE), entry: ENTRY, args: 'null', hostData: undefined };
  const failures: unknown[] = [];
  const worker = p.launch(boot, [], HEAP_MB, { error: (e) => failures.push(e), exit: (code) => failures.push(code) });
  running.push(worker);
  const words = new Int32Array(memory, 0, 2);
  const ran = (async () => {
    const wait = Atomics.waitAsync(words, 0, 0);
    if (wait.async) await wait.value;
    expect(failures).toEqual([]);
    expect(Atomics.load(words, 1)).toBe(partition); // it got this partition's memory
    return Atomics.load(words, 0);
  })();
  return { worker, ran };
}

describe('VpWorkerPool', () => {
  it('hands each VP a pre-started worker once, starts on demand when empty, and refills in the background', async () => {
    const p = (pool = new VpWorkerPool(pino({ level: 'silent' }), { idle: 2 }));
    await p.whenReady(HEAP_MB);
    expect(p.idleWorkers).toBe(2);
    const first = [launch(p, 1), launch(p, 2), launch(p, 3)]; // the third finds the pool empty
    expect(p.idleWorkers).toBe(0);
    const firstThreads = await Promise.all(first.map((vp) => vp.ran));
    expect(p.stats).toMatchObject({ pooledStarts: 2, onDemandStarts: 1, tsxStarts: 0 });
    await p.whenReady(HEAP_MB); // replenished
    expect(p.idleWorkers).toBe(2);
    const more = await Promise.all([launch(p, 4), launch(p, 5)].map((vp) => vp.ran));
    expect(p.stats.pooledStarts).toBe(4);
    // Five partitions, five different threads: no worker ever ran two partitions.
    expect(new Set([...firstThreads, ...more]).size).toBe(5);
  });

  it('terminates a stopped VP’s worker instead of returning it to the pool', async () => {
    const p = (pool = new VpWorkerPool(pino({ level: 'silent' }), { idle: 1 }));
    await p.whenReady(HEAP_MB);
    const a = launch(p, 1);
    const threadA = await a.ran;
    expect(a.worker.threadId).toBe(threadA);
    await a.worker.terminate();
    await p.whenReady(HEAP_MB);
    expect(p.idleWorkers).toBe(1);
    const threadB = await launch(p, 2).ran;
    expect(threadB).not.toBe(threadA);
  });

  it('without pooling, starts a fresh worker for every VP and keeps none idle', async () => {
    const p = (pool = new VpWorkerPool(pino({ level: 'silent' }), { idle: 0 }));
    const threads = await Promise.all([launch(p, 1), launch(p, 2)].map((vp) => vp.ran));
    expect(new Set(threads).size).toBe(2);
    expect(p.stats).toMatchObject({ pooledStarts: 0, onDemandStarts: 2 });
    expect(p.idleWorkers).toBe(0);
  });

  it('keeps a pool per heap limit, emptying the least recently used beyond its configuration count', async () => {
    const p = (pool = new VpWorkerPool(pino({ level: 'silent' }), { idle: 1, configurations: 2 }));
    await p.whenReady(16);
    await p.whenReady(32);
    expect(p.idleWorkers).toBe(2);
    await p.whenReady(48); // evicts the pool for 16
    expect(p.idleWorkers).toBe(2);
  });
});
