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
 *
 * Adaptive polling (spin.ts): before sleeping, a waiter spins on the sequence for `spinUs` (default
 * `INTERRUPT_SPIN_US`), so a VP in a busy exchange is not put to sleep and woken for every
 * interrupt; a VP that stays quiet longer than that sleeps and costs nothing.
 */
import { VpPageLayout } from '../abi/vp-page.ts';
import { INTERRUPT_SPIN_US, spinWhileEqual } from './spin.ts';

const SEQ = VpPageLayout.INTERRUPT_SEQ >> 2;
const PENDING = VpPageLayout.PENDING_SINTS >> 2;
const WAITERS = VpPageLayout.INTERRUPT_WAITERS >> 2;

/** Keeps the worker's event loop alive: in Node 20 a pending waitAsync does not (node-performance-facts.md). */
const KEEP_ALIVE_MS = 2 ** 30;
/** The longest `onInterrupt` keeps handling back-to-back interrupts before yielding to the event loop. */
const POLL_SLICE_MS = 1;

export class InterruptDoorbell {
  private readonly words: Int32Array;

  constructor(
    vpPage: SharedArrayBuffer,
    /** How long a waiter spins before it sleeps, microseconds (0: never spin). */
    readonly spinUs = INTERRUPT_SPIN_US,
  ) {
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
    if (spinWhileEqual(this.words, SEQ, seen, Math.min(this.spinUs, timeoutMs * 1000))) return this.sequence;
    // Announce the waiter before the wait re-checks the sequence (vp-page.ts INTERRUPT_WAITERS).
    Atomics.add(this.words, WAITERS, 1);
    Atomics.wait(this.words, SEQ, seen, timeoutMs);
    Atomics.sub(this.words, WAITERS, 1);
    return this.sequence;
  }

  /** Resolves once the sequence differs from `seen` (holding the event loop alive meanwhile). */
  async next(seen: number): Promise<number> {
    if (spinWhileEqual(this.words, SEQ, seen, this.spinUs)) return this.sequence;
    Atomics.add(this.words, WAITERS, 1);
    const result = Atomics.waitAsync(this.words, SEQ, seen);
    if (!result.async) {
      Atomics.sub(this.words, WAITERS, 1);
      return this.sequence;
    }
    const keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    try {
      await result.value;
    } finally {
      Atomics.sub(this.words, WAITERS, 1);
      clearInterval(keepAlive);
    }
    return this.sequence;
  }

  /**
   * Runs `handler(sintMask)` on the event loop for every batch of deliveries, until the returned
   * function is called. Pending deliveries from before the call are handled first. `onWake` runs on
   * every wake, even one without a SINT (the hypervisor rings the doorbell when the VP's direct
   * event cells change).
   */
  onInterrupt(handler: (sints: number) => void, onWake?: () => void): () => void {
    let active = true;
    const keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    let seen = this.sequence;
    const fire = (): void => {
      // Handle batches while they keep coming within the spin window, but yield to the event loop
      // after POLL_SLICE_MS so a stream of interrupts cannot starve the VP's other work.
      const sliceEnd = performance.now() + POLL_SLICE_MS;
      for (;;) {
        if (!active) return;
        seen = this.sequence;
        onWake?.();
        const mask = this.takePending();
        if (mask !== 0) handler(mask);
        if (!active || performance.now() >= sliceEnd) break;
        // Just handled a batch: another interrupt is likely soon, so poll briefly before sleeping.
        if (!spinWhileEqual(this.words, SEQ, seen, this.spinUs)) break;
      }
      arm();
    };
    const woken = (): void => {
      Atomics.sub(this.words, WAITERS, 1);
      fire();
    };
    const arm = (): void => {
      if (!active) return;
      Atomics.add(this.words, WAITERS, 1);
      const result = Atomics.waitAsync(this.words, SEQ, seen);
      if (result.async) void result.value.then(woken);
      else {
        Atomics.sub(this.words, WAITERS, 1);
        setImmediate(fire);
      }
    };
    if (Atomics.load(this.words, PENDING) !== 0) setImmediate(fire);
    else arm();
    return () => {
      active = false;
      clearInterval(keepAlive);
    };
  }
}
