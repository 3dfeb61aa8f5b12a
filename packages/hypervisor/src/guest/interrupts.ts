/**
 * The VP's interrupt doorbell: how a VP learns that a SINT was delivered (vp-page.ts).
 *
 * Contract: on every delivery (a message copied into a SIM slot, or an event flag going from 0 to
 * 1) the hypervisor ORs the SINT's bit into PENDING_SINTS, then increments INTERRUPT_SEQ and
 * notifies it. A consumer remembers the sequence it has seen, takes the pending mask with
 * `takePending()` (an atomic exchange), handles those SINTs, and waits only while the sequence
 * still equals what it saw: a delivery between the take and the wait changes the sequence, so the
 * wait returns at once and nothing is lost. Wait synchronously (`wait`, Atomics.wait: for
 * drain loops that own the thread) or asynchronously (`onInterrupt`, Atomics.waitAsync: for a
 * VP that also runs an event loop). One consumer per VP: the mask is taken, not peeked.
 */
import { VpPageLayout } from '../abi/vp-page.ts';

const SEQ = VpPageLayout.INTERRUPT_SEQ >> 2;
const PENDING = VpPageLayout.PENDING_SINTS >> 2;

/** Keeps the worker's event loop alive: in Node 20 a pending waitAsync does not (node-performance-facts.md). */
const KEEP_ALIVE_MS = 2 ** 30;

export class InterruptDoorbell {
  private readonly words: Int32Array;

  constructor(vpPage: SharedArrayBuffer) {
    this.words = new Int32Array(vpPage, 0, 1024);
  }

  /** The current delivery sequence. */
  get sequence(): number {
    return Atomics.load(this.words, SEQ);
  }

  /** Takes the mask of SINTs delivered since the last take (bit n = SINT n). */
  takePending(): number {
    return Atomics.exchange(this.words, PENDING, 0);
  }

  /**
   * Blocks (Atomics.wait) while the sequence equals `seen`, up to `timeoutMs`; returns the new
   * sequence (equal to `seen` on timeout).
   */
  wait(seen: number, timeoutMs = Infinity): number {
    Atomics.wait(this.words, SEQ, seen, timeoutMs);
    return this.sequence;
  }

  /** Resolves once the sequence differs from `seen` (holding the event loop alive meanwhile). */
  async next(seen: number): Promise<number> {
    const result = Atomics.waitAsync(this.words, SEQ, seen);
    if (!result.async) return this.sequence;
    const keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    try {
      await result.value;
    } finally {
      clearInterval(keepAlive);
    }
    return this.sequence;
  }

  /**
   * Runs `handler(sintMask)` on the event loop for every batch of deliveries, until the returned
   * function is called. Pending deliveries from before the call are handled first.
   */
  onInterrupt(handler: (sints: number) => void): () => void {
    let active = true;
    const keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    let seen = this.sequence;
    const fire = (): void => {
      if (!active) return;
      seen = this.sequence;
      const mask = this.takePending();
      if (mask !== 0) handler(mask);
      arm();
    };
    const arm = (): void => {
      if (!active) return;
      const result = Atomics.waitAsync(this.words, SEQ, seen);
      if (result.async) void result.value.then(fire);
      else setImmediate(fire);
    };
    if (Atomics.load(this.words, PENDING) !== 0) setImmediate(fire);
    else arm();
    return () => {
      active = false;
      clearInterval(keepAlive);
    };
  }
}
