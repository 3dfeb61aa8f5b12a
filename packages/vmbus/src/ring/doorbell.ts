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

/** A sequence-number doorbell over one `Int32Array` cell. */
export class Doorbell {
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
