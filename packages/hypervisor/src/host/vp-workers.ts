/**
 * VP workers: the host's logical processors (ARCHITECTURE.md "physical model"). Every VP runs in
 * a worker thread of its own; this module starts them, fast and small.
 *
 * - **Compiled images.** The VP runtime and each VP entry are compiled once, in the host, to plain
 *   JavaScript (`compileWorkerEntry`), so a VP worker is one V8 isolate that never loads tsx (in
 *   Node.js 20 tsx adds a loader-hooks thread per worker: about 17 MB and 120 ms each). An entry
 *   that cannot be compiled runs the old way, through tsx inside a fresh worker.
 * - **A pool of pre-started workers** per heap limit (resource limits are fixed when a worker
 *   starts): idle workers that already loaded the runtime and the guest library and wait for one
 *   boot message. Starting a VP hands one of them the VP's boot data (its partition's memory and its
 *   own hypercall page) and replenishes the pool in the background; an empty pool starts a worker
 *   on demand. Idle workers are unref'd: an idle pool never keeps the host alive.
 * - **Isolation** (contract 1): a pooled worker is used once. It holds nothing until its boot
 *   message, it is removed from the pool before that message is posted, and it is never returned:
 *   when its VP stops, the worker is terminated. So no worker ever held two partitions' buffers.
 */
import type { Logger } from 'pino';
import type { ResourceLimits, TransferListItem, Worker } from 'node:worker_threads';
import { compileWorkerEntry, execArgvWithoutPreloads, startWorker } from '@viridian/worker-bootstrap';
import type { VpBootData } from '../guest/boot-data.ts';
import { VP_READY_MESSAGE } from '../guest/boot-data.ts';

const VP_RUNTIME = new URL('../guest/vp-runtime.ts', import.meta.url);

/** Pool configuration. */
export interface VpWorkerOptions {
  /** Idle pre-started workers kept per heap limit (default 2; 0 starts every VP's worker on demand). */
  readonly idle?: number;
  /** Heap limits with a pool at once (default 4); the least recently used pool beyond is emptied. */
  readonly configurations?: number;
}

/** Counters of the VP workers (for tests, benchmarks and health checks). */
export interface VpWorkerStats {
  /** Workers started, pooled or not. */
  started: number;
  /** VPs started on a pre-started worker. */
  pooledStarts: number;
  /** VPs started on a worker started for them (empty pool). */
  onDemandStarts: number;
  /** VPs whose entry could not be compiled and ran through tsx. */
  tsxStarts: number;
  /** Pre-started workers that died before they were used. */
  idleFailures: number;
}

/** What the core wants to hear about a VP's worker. */
export interface VpWorkerEvents {
  error(error: Error): void;
  exit(exitCode: number): void;
}

/** Resource limits of a VP worker whose old generation is capped at `heapMb`. */
export function vpResourceLimits(heapMb: number): ResourceLimits {
  // A small young generation: a VP's allocations are short-lived and few; 8 MiB at most.
  return { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: Math.min(8, Math.max(2, Math.round(heapMb / 8))) };
}

/** The worker running one VP; the core terminates it through this handle. */
export class VpWorker {
  private current: Worker | undefined;
  private cancelled = false;

  constructor(private readonly events: VpWorkerEvents) {}

  /** The thread id of the worker running the VP (undefined until it has one). */
  get threadId(): number | undefined {
    return this.current?.threadId;
  }

  /** Stops the VP's worker (also one still waiting for its entry's image). */
  terminate(): Promise<number> {
    this.cancelled = true;
    return this.current ? this.current.terminate() : Promise.resolve(0);
  }

  /**
   * Posts `message` to the VP's worker (the only way a buffer reaches a running VP). The VP
   * receives it synchronously after its hypercall completes. Returns false without a worker.
   */
  deliver(message: unknown): boolean {
    if (this.current === undefined || this.cancelled) return false;
    this.current.postMessage(message);
    return true;
  }

  /** @internal Whether `terminate` was called. */
  get stopped(): boolean {
    return this.cancelled;
  }

  /** @internal Makes `worker` the VP's worker: its errors and exit are the VP's from now on. */
  adopt(worker: Worker): void {
    this.current = worker;
    worker.ref();
    worker.on('error', (error) => {
      if (this.current === worker) this.events.error(error);
    });
    worker.on('exit', (exitCode) => {
      if (this.current === worker && !this.cancelled) this.events.exit(exitCode);
    });
  }

  /** @internal Replaces the adopted worker (before it got any boot data) by `next`. */
  replace(next: Worker): void {
    const previous = this.current;
    this.current = undefined;
    void previous?.terminate();
    this.adopt(next);
  }
}

interface Pool {
  readonly heapMb: number;
  readonly idle: Worker[];
  readonly ready: Set<Worker>;
  waiters: { count: number; resolve: () => void }[];
}

export class VpWorkerPool {
  readonly stats: VpWorkerStats = { started: 0, pooledStarts: 0, onDemandStarts: 0, tsxStarts: 0, idleFailures: 0 };
  private readonly target: number;
  private readonly maxPools: number;
  private readonly pools = new Map<number, Pool>();
  /** Every worker ever handed to a VP: a pooled worker found here would be a reuse (never happens). */
  private readonly handedOut = new WeakSet<Worker>();
  private runtimeImage: Promise<URL> | undefined;
  private closed = false;

  constructor(
    private readonly log: Logger,
    options: VpWorkerOptions = {},
  ) {
    this.target = options.idle ?? 2;
    this.maxPools = options.configurations ?? 4;
  }

  /** Idle pre-started workers right now, over every heap limit. */
  get idleWorkers(): number {
    let n = 0;
    for (const pool of this.pools.values()) n += pool.idle.length;
    return n;
  }

  /** Starts filling the pool for `heapMb` (no-op when pooling is off). */
  warm(heapMb: number): void {
    if (this.target > 0 && !this.closed) this.fill(this.pool(heapMb));
  }

  /** Resolves once the pool for `heapMb` holds at least `count` (default: its target) loaded idle workers. */
  whenReady(heapMb: number, count = this.target): Promise<void> {
    this.warm(heapMb);
    const pool = this.pool(heapMb);
    if (pool.ready.size >= count) return Promise.resolve();
    return new Promise((resolve) => pool.waiters.push({ count, resolve }));
  }

  /** Starts compiling an entry ahead of its VP's start (SetVpRegisters of the entry module). */
  prepare(entry: string): void {
    void this.image(entry);
  }

  /**
   * Starts the worker of a VP: a pre-started one when the pool has one, else a new one; it gets
   * `boot` (with the entry replaced by its compiled image) once the image is ready.
   */
  launch(boot: VpBootData, transfer: readonly TransferListItem[], heapMb: number, events: VpWorkerEvents): VpWorker {
    const handle = new VpWorker(events);
    const pooled = this.takeIdle(heapMb);
    if (pooled) handle.adopt(pooled);
    void Promise.all([this.image(boot.entry), pooled ? undefined : this.runtime()]).then(([image, runtime]) => {
      if (handle.stopped) return;
      let worker = pooled;
      let entry = boot.entry;
      if (image === undefined) {
        // Not compilable here: tsx inside a fresh worker (the pooled one got nothing yet).
        worker = this.start(VP_RUNTIME, heapMb);
        if (pooled) handle.replace(worker);
        else handle.adopt(worker);
        this.stats.tsxStarts++;
      } else {
        entry = image;
        if (!worker) {
          worker = this.start(runtime!, heapMb);
          handle.adopt(worker);
          this.stats.onDemandStarts++;
        } else {
          this.stats.pooledStarts++;
        }
      }
      this.handedOut.add(worker);
      try {
        worker.postMessage({ ...boot, entry }, [...transfer]);
      } catch (error) {
        events.error(error instanceof Error ? error : new Error(String(error)));
      }
    });
    return handle;
  }

  /** Terminates every idle worker; no more are started. */
  async shutdown(): Promise<void> {
    this.closed = true;
    const idle = [...this.pools.values()].flatMap((pool) => pool.idle.splice(0));
    for (const pool of this.pools.values()) for (const waiter of pool.waiters.splice(0)) waiter.resolve();
    await Promise.all(idle.map((worker) => worker.terminate()));
  }

  private pool(heapMb: number): Pool {
    let pool = this.pools.get(heapMb);
    if (pool) {
      this.pools.delete(heapMb); // most recently used last
      this.pools.set(heapMb, pool);
      return pool;
    }
    pool = { heapMb, idle: [], ready: new Set(), waiters: [] };
    this.pools.set(heapMb, pool);
    if (this.pools.size > this.maxPools) {
      const [oldest, evicted] = this.pools.entries().next().value!;
      this.pools.delete(oldest);
      for (const worker of evicted.idle.splice(0)) void worker.terminate();
      for (const waiter of evicted.waiters.splice(0)) waiter.resolve();
    }
    return pool;
  }

  private takeIdle(heapMb: number): Worker | undefined {
    if (this.target === 0 || this.closed) return undefined;
    const pool = this.pool(heapMb);
    // Prefer a worker that finished loading; any idle one is still faster than a new one.
    const index = Math.max(0, pool.idle.findIndex((w) => pool.ready.has(w)));
    const worker = pool.idle.splice(index, 1)[0];
    setImmediate(() => this.fill(pool));
    if (!worker) return undefined;
    pool.ready.delete(worker);
    worker.removeAllListeners();
    if (this.handedOut.has(worker)) throw new Error('VP worker pool invariant broken: a worker was handed out twice');
    return worker;
  }

  private fill(pool: Pool): void {
    if (this.closed || this.pools.get(pool.heapMb) !== pool) return;
    if (this.stats.idleFailures >= 3 && this.stats.pooledStarts === 0) return; // the runtime does not load: stop trying
    const missing = this.target - pool.idle.length;
    if (missing <= 0) return;
    void this.runtime().then((runtime) => {
      if (this.closed || this.pools.get(pool.heapMb) !== pool) return;
      for (let i = pool.idle.length; i < this.target; i++) pool.idle.push(this.startIdle(pool, runtime));
    });
  }

  private startIdle(pool: Pool, runtime: URL): Worker {
    const worker = this.start(runtime, pool.heapMb);
    worker.unref();
    worker.on('message', (message: unknown) => {
      if (message !== VP_READY_MESSAGE) return;
      pool.ready.add(worker);
      for (const waiter of [...pool.waiters]) {
        if (pool.ready.size < waiter.count) continue;
        pool.waiters.splice(pool.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
    worker.on('error', (error) => this.log.error({ err: error }, 'pre-started VP worker failed'));
    worker.on('exit', () => {
      const at = pool.idle.indexOf(worker);
      if (at < 0) return;
      pool.idle.splice(at, 1);
      pool.ready.delete(worker);
      this.stats.idleFailures++;
      this.fill(pool);
    });
    return worker;
  }

  private start(entry: URL, heapMb: number): Worker {
    this.stats.started++;
    // A compiled runtime must not inherit the host's tsx preload (`tsx host.ts`): that would bring
    // tsx and its hooks thread back into every VP worker. The tsx fallback keeps the host's flags.
    const compiled = !entry.pathname.endsWith('.ts');
    return startWorker(entry, { resourceLimits: vpResourceLimits(heapMb), ...(compiled ? { execArgv: execArgvWithoutPreloads() } : {}) });
  }

  /** The compiled VP runtime (or its TypeScript source, run through tsx, if it cannot be compiled). */
  private runtime(): Promise<URL> {
    this.runtimeImage ??= compileWorkerEntry(VP_RUNTIME).catch((error: unknown) => {
      this.log.warn({ err: error }, 'cannot compile the VP runtime; VP workers will load it through tsx');
      return VP_RUNTIME;
    });
    return this.runtimeImage;
  }

  /** The compiled image of a VP entry, or undefined when it must run through tsx. */
  private async image(entry: string): Promise<string | undefined> {
    try {
      return (await compileWorkerEntry(entry.startsWith('file:') ? new URL(entry) : entry)).href;
    } catch (error) {
      this.log.warn({ err: error, entry }, 'cannot compile a VP entry; it runs through tsx');
      return undefined;
    }
  }
}
