/**
 * A doorbell: the interrupt line of one side of a channel, as a sequence number in shared memory.
 * Ringing it increments the sequence and wakes a waiter; a waiter first reads the sequence, then
 * re-checks its condition, then sleeps only while the sequence is unchanged, so a ring between the
 * re-check and the sleep is never lost (node-performance-facts.md: a plain 1/0 flag loses
 * wake-ups).
 *
 * Between two workers it models the SynIC event a VMBus channel raises (§3.4, §3.5); the
 * hypervisor's per-VP interrupt word has the same shape, so `new Doorbell(cells, index)` can wrap
 * it.
 */
import { InvalidArgumentError } from '../errors.ts';

/** How a wait ended: rung (or the sequence had already moved), or out of time. */
export type WaitOutcome = 'rung' | 'timed-out';

/** Keeps the event loop alive while an `Atomics.waitAsync` is pending (Node 20 does not). */
class KeepAlive {
  private static count = 0;
  private static timer: ReturnType<typeof setInterval> | undefined;

  static hold(): void {
    if (KeepAlive.count++ === 0) KeepAlive.timer = setInterval(() => {}, 1 << 30);
  }

  static release(): void {
    if (--KeepAlive.count === 0) {
      clearInterval(KeepAlive.timer);
      KeepAlive.timer = undefined;
    }
  }
}

/**
 * What a channel endpoint waits on: its party's interrupt, as a sequence number that moves on
 * every ring. {@link Doorbell} is one in shared memory (rung from another thread);
 * {@link LocalInterrupt} is one rung on the same thread (a SynIC interrupt handler waking a
 * channel's loop).
 */
export interface Interrupt {
  sequence(): number;
  ring(): void;
  /** Blocks while the sequence equals `seen` (only where blocking is possible). */
  wait(seen: number, timeoutMs?: number): WaitOutcome;
  /** Waits on the event loop while the sequence equals `seen`. */
  waitAsync(seen: number, timeoutMs?: number): Promise<WaitOutcome>;
}

/** A sequence-number doorbell over one `Int32Array` cell. */
export class Doorbell implements Interrupt {
  /**
   * @param cells shared memory holding the sequence (an `Int32Array` over a `SharedArrayBuffer`
   *   for waiting; a plain one only supports ringing and reading)
   * @param index the cell within `cells`
   * @throws {InvalidArgumentError} when `index` is outside `cells`
   */
  constructor(
    readonly cells: Int32Array,
    readonly index = 0,
  ) {
    if (!Number.isInteger(index) || index < 0 || index >= cells.length) {
      throw new InvalidArgumentError(`doorbell index ${index} is outside its ${cells.length} cells`);
    }
  }

  /** A doorbell in a fresh 4-byte `SharedArrayBuffer`. */
  static create(): Doorbell {
    return new Doorbell(new Int32Array(new SharedArrayBuffer(4)));
  }

  /** The current sequence: read it before the last re-check, then sleep on it. */
  sequence(): number {
    return Atomics.load(this.cells, this.index);
  }

  /** Rings: moves the sequence and wakes the waiter, if one sleeps. */
  ring(): void {
    Atomics.add(this.cells, this.index, 1);
    Atomics.notify(this.cells, this.index);
  }

  /**
   * Blocks the thread while the sequence still equals `seen` (worker threads only: the main
   * thread may not block).
   */
  wait(seen: number, timeoutMs = Infinity): WaitOutcome {
    return Atomics.wait(this.cells, this.index, seen, timeoutMs) === 'timed-out' ? 'timed-out' : 'rung';
  }

  /** Waits on the event loop while the sequence still equals `seen`. */
  async waitAsync(seen: number, timeoutMs = Infinity): Promise<WaitOutcome> {
    const result = Atomics.waitAsync(this.cells, this.index, seen, timeoutMs);
    if (!result.async) return result.value === 'timed-out' ? 'timed-out' : 'rung';
    KeepAlive.hold();
    try {
      return (await result.value) === 'timed-out' ? 'timed-out' : 'rung';
    } finally {
      KeepAlive.release();
    }
  }
}

/**
 * An interrupt rung and awaited on one thread: a counter and the promise of its next change. No
 * shared memory and no Atomics, so a wake-up is one promise resolution, not a cross-thread
 * notification.
 */
export class LocalInterrupt implements Interrupt {
  private count = 0;
  private waiters: (() => void)[] = [];

  sequence(): number {
    return this.count;
  }

  ring(): void {
    this.count = (this.count + 1) | 0;
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * A thread cannot block waiting for itself to ring.
   * @throws {InvalidArgumentError} always, unless the sequence already moved
   */
  wait(seen: number): WaitOutcome {
    if (this.count !== seen) return 'rung';
    throw new InvalidArgumentError('a LocalInterrupt cannot be waited on by blocking: use waitAsync');
  }

  waitAsync(seen: number, timeoutMs = Infinity): Promise<WaitOutcome> {
    if (this.count !== seen) return Promise.resolve('rung');
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = (): void => {
        clearTimeout(timer);
        resolve('rung');
      };
      this.waiters.push(wake);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== wake);
          resolve('timed-out');
        }, timeoutMs);
      }
    });
  }
}
