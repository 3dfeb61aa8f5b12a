/**
 * A block I/O thread: small reads and writes into shared memory (a child's guest memory) done on a
 * thread of their own, handed over through shared rings instead of libuv's thread pool.
 *
 * Why: on the root VP, submitting a 4 KiB `fs.read` to the thread pool cost 7.9 us of the 13 us the
 * root spent per storage request (profiled at queue depth 32), almost all of it waking an idle pool
 * thread (a futex wake, an inter-processor interrupt on this VM). Here a submission is a few stores
 * into shared memory; the I/O thread polls its ring for a short window before it sleeps (an io_uring
 * SQPOLL thread, in spirit), runs `pread`/`pwrite` straight into guest memory, and wakes the client
 * only when the client waits. Large transfers stay on the thread pool, whose threads copy in
 * parallel (a 1 MiB read is a 160 us copy; one thread would serialise them).
 *
 * One I/O thread per client thread, started on first use (the first requests meanwhile take the
 * thread pool); it never keeps the process alive. Requests beyond the ring's slots, buffers that
 * are not shared, and any request while the thread is starting or gone take the thread pool too
 * (`submit` returns undefined and the caller uses `fs.read`/`fs.write`).
 *
 * Environment: VIRIDIAN_IO_THREAD=0 turns it off (every request takes the thread pool).
 */
import { constants } from 'node:os';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { compileWorkerEntry, execArgvWithoutPreloads, startWorker } from '@viridian/worker-bootstrap';
import { CHANNEL_POLL_MICROS } from '@viridian/vmbus';
import { IO_RING_BYTES, IO_SLOTS, IoControl, IoOp, IoSlotInt, IoSlotNumber, ioRingViews, type IoRingViews } from './io-ring-layout.ts';
import type { IoBufferMessage } from './io-thread-worker.ts';

/** Transfers up to this size go to the I/O thread; larger ones to the thread pool. */
export const IO_THREAD_MAX_BYTES = 64 * 1024;

const ENTRY = new URL('./io-thread-worker.ts', import.meta.url);
const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [-value, name]));

/** An error of a request, shaped like Node.js's fs errors (`code`, `errno`, `syscall`). */
function ioError(errno: number, op: 'read' | 'write'): Error {
  const code = ERRNO_NAMES.get(errno) ?? 'EIO';
  return Object.assign(new Error(`${code}: ${op} failed on the block I/O thread`), { code, errno, syscall: op });
}

interface Waiter {
  resolve(bytes: number): void;
  reject(error: Error): void;
  op: 'read' | 'write';
}

export class IoThread {
  private static current: IoThread | undefined | null;

  private readonly ring = new SharedArrayBuffer(IO_RING_BYTES);
  private readonly views: IoRingViews = ioRingViews(this.ring);
  private readonly waiters: (Waiter | undefined)[] = new Array<Waiter | undefined>(IO_SLOTS).fill(undefined);
  private readonly free: number[] = Array.from({ length: IO_SLOTS }, (_, i) => IO_SLOTS - 1 - i);
  private readonly bufferIds = new WeakMap<SharedArrayBuffer, number>();
  private readonly forget = new FinalizationRegistry<number>((id) => this.post({ id }));
  private nextBufferId = 1;
  private submitted = 0;
  private completed = 0;
  private inFlight = 0;
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private readyState: 'starting' | 'ready' | 'gone' = 'starting';
  /** Wakes the completion loop when it parked with nothing in flight. */
  private unpark: (() => void) | undefined;
  /** Resolves once the thread runs (true) or could not start (false). */
  readonly ready: Promise<boolean>;

  private constructor() {
    this.ready = this.start();
  }

  /** The calling thread's I/O thread (started on first call), or undefined when turned off. */
  static forThisThread(): IoThread | undefined {
    if (IoThread.current === undefined) IoThread.current = process.env.VIRIDIAN_IO_THREAD === '0' ? null : new IoThread();
    return IoThread.current ?? undefined;
  }

  /** Whether a transfer of `data` is one for the I/O thread: shared memory, at most IO_THREAD_MAX_BYTES. */
  static takes(data: Uint8Array): boolean {
    return data.buffer instanceof SharedArrayBuffer && data.byteLength <= IO_THREAD_MAX_BYTES;
  }

  /** Stops the calling thread's I/O thread, if any (requests in flight complete first). */
  static async shutdown(): Promise<void> {
    const thread = IoThread.current;
    IoThread.current = undefined;
    await thread?.stop();
  }

  /** Counters, for tests and benchmarks. */
  get stats(): { submitted: number; completed: number; ready: boolean } {
    return { submitted: this.submitted, completed: this.completed, ready: this.readyState === 'ready' };
  }

  /**
   * Reads into or writes from `data` at file `position` on the I/O thread, and resolves with the
   * byte count (a read past the end of the file fills the rest with zeros); rejects with an fs-style
   * error. Returns undefined when the request must take the thread pool instead (see module).
   */
  submit(op: 'read' | 'write', fd: number, data: Uint8Array, position: number): Promise<number> | undefined {
    if (this.readyState !== 'ready' || !IoThread.takes(data)) return undefined;
    const slot = this.free.pop();
    if (slot === undefined) return undefined;
    const { control, submissions, ints, numbers } = this.views;
    const i = slot * IoSlotInt.WORDS;
    const n = slot * IoSlotNumber.WORDS;
    ints[i + IoSlotInt.op] = op === 'read' ? IoOp.read : IoOp.write;
    ints[i + IoSlotInt.fd] = fd;
    ints[i + IoSlotInt.bufferId] = this.bufferId(data.buffer as SharedArrayBuffer);
    numbers[n + IoSlotNumber.position] = position;
    numbers[n + IoSlotNumber.length] = data.byteLength;
    numbers[n + IoSlotNumber.bufferOffset] = data.byteOffset;
    const done = new Promise<number>((resolve, reject) => {
      this.waiters[slot] = { resolve, reject, op };
    });
    const head = this.submitted;
    submissions[head % IO_SLOTS] = slot;
    this.submitted = head + 1;
    Atomics.store(control, IoControl.SQ_HEAD, this.submitted);
    if (Atomics.load(control, IoControl.THREAD_SLEEPING) === 1) Atomics.notify(control, IoControl.SQ_HEAD);
    if (this.inFlight++ === 0) this.unpark?.();
    return done;
  }

  private bufferId(buffer: SharedArrayBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(buffer, id);
      this.forget.register(buffer, id);
      this.post({ id, buffer });
    }
    return id;
  }

  private post(message: IoBufferMessage): void {
    this.port?.postMessage(message);
  }

  private async start(): Promise<boolean> {
    try {
      const image = await compileWorkerEntry(ENTRY);
      const { port1, port2 } = new MessageChannel();
      this.port = port1;
      this.port.unref();
      const worker = startWorker(image, {
        workerData: { ring: this.ring, port: port2, pollMicros: CHANNEL_POLL_MICROS },
        transferList: [port2],
        execArgv: execArgvWithoutPreloads(),
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
      });
      worker.unref();
      worker.on('error', () => this.fail());
      worker.on('exit', () => this.fail());
      this.worker = worker;
      this.readyState = 'ready';
      void this.complete();
      return true;
    } catch {
      this.readyState = 'gone';
      return false;
    }
  }

  /** The thread died: what was in flight fails with EIO, later requests take the thread pool. */
  private fail(): void {
    if (this.readyState === 'gone') return;
    this.readyState = 'gone';
    this.unpark?.();
    Atomics.notify(this.views.control, IoControl.CQ_HEAD); // release the completion loop's wait
    for (let slot = 0; slot < IO_SLOTS; slot++) {
      const waiter = this.waiters[slot];
      if (waiter === undefined) continue;
      this.waiters[slot] = undefined;
      waiter.reject(ioError(-5, waiter.op));
    }
    this.inFlight = 0;
  }

  private async stop(): Promise<void> {
    while (this.inFlight > 0 && this.readyState === 'ready') await new Promise((resolve) => setImmediate(resolve));
    this.readyState = 'gone';
    Atomics.store(this.views.control, IoControl.STOP, 1);
    Atomics.notify(this.views.control, IoControl.SQ_HEAD);
    this.unpark?.();
    this.port?.close();
    await this.worker?.terminate();
  }

  /** Settles completed requests as the I/O thread publishes them; parks while none is in flight. */
  private async complete(): Promise<void> {
    const { control, completions, numbers } = this.views;
    while (this.readyState === 'ready') {
      if (this.inFlight === 0) {
        await new Promise<void>((resolve) => (this.unpark = resolve));
        this.unpark = undefined;
        continue;
      }
      let head = Atomics.load(control, IoControl.CQ_HEAD);
      if (head === this.completed) {
        Atomics.store(control, IoControl.CLIENT_WAITING, 1);
        head = Atomics.load(control, IoControl.CQ_HEAD);
        if (head === this.completed) {
          const wait = Atomics.waitAsync(control, IoControl.CQ_HEAD, head);
          if (wait.async) await wait.value;
        }
        Atomics.store(control, IoControl.CLIENT_WAITING, 0);
        continue;
      }
      while (this.completed !== head) {
        const slot = completions[this.completed % IO_SLOTS]!;
        this.completed++;
        const waiter = this.waiters[slot];
        this.waiters[slot] = undefined;
        this.free.push(slot);
        this.inFlight--;
        const result = numbers[slot * IoSlotNumber.WORDS + IoSlotNumber.result]!;
        if (waiter === undefined) continue;
        if (result < 0) waiter.reject(ioError(result, waiter.op));
        else waiter.resolve(result);
      }
    }
  }
}
