/**
 * Adaptive polling of VP exits on the hypervisor's thread (node-performance-facts.md "Waking a
 * sleeping thread"; guest/spin.ts). Each VP's exit doorbell is an `Atomics.waitAsync` on its
 * CALL_SEQ, and waking the main thread through it costs 8-50 us. After an exit, the hypervisor
 * instead keeps reading the CALL_SEQ words of the recently active ("hot") VPs for up to `budgetUs`,
 * restarting the window on every exit it finds, so a busy exchange (a child signalling the root,
 * the root answering) pays no wake-ups at all.
 *
 * The handshake (vp-page.ts HV_POLLING): while it polls a VP, the hypervisor keeps bumping the
 * VP's HV_POLLING word (a heartbeat, 0 = not polling); a VP that sees it non-zero after bumping
 * CALL_SEQ skips the notify and spins for DONE_SEQ while the beat moves (if it stands still, the
 * hypervisor shares the VP's core and the VP sleeps instead of keeping it off). When polling stops, the hypervisor clears HV_POLLING and then reads CALL_SEQ once
 * more (both sequentially consistent, so either the VP saw the clear and notified, or the
 * hypervisor sees its exit), and re-arms the doorbells. Skipping the notify is not only cheaper:
 * in Node 20, an `Atomics.notify` that resolves a `waitAsync` of the polling thread on the word it
 * polls slows every later exit on that word to the VP's full spin until the main thread returns to
 * its event loop (measured: 0.3 us round trips became 29 us), so a polled VP's doorbell stays
 * silent and is re-armed only after the poll.
 *
 * Bounds: polling stops after `budgetUs` without an exit (an idle host never spins), and after
 * `sliceUs` in all, so the main thread's event loop (and every other VP's doorbell) gets its turn.
 * A VP stays hot for `HOT_MS` after its last exit.
 */
import type { Vp } from './vp.ts';

/** How long the hypervisor polls after an exit before it sleeps, microseconds. */
export const EXIT_POLL_US = 50;
/** The longest continuous polling before yielding to the event loop, microseconds. */
export const EXIT_POLL_SLICE_US = 1000;
/** A VP counts as hot (polled) this long after its last exit, ms. */
const HOT_MS = 20;
/** Sweeps over the hot VPs between two looks at the clock. */
const SWEEPS_PER_CLOCK = 16;

export class ExitPoller {
  private readonly hot = new Map<Vp, number>();
  private polling = false;
  /** The heartbeat published to polled VPs (never 0). */
  private beat = 1;
  /** Time spent in `activity` (handling and polling), microseconds. */
  busyUs = 0;
  /** Exits handled while polling (each one a wake-up saved). */
  polledExits = 0;

  constructor(
    readonly budgetUs = EXIT_POLL_US,
    readonly sliceUs = EXIT_POLL_SLICE_US,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /**
   * `vp`'s doorbell rang (its waitAsync resolved; it is not armed now): handles its exit, polls the
   * hot VPs as the module comment says, then re-arms the doorbells of the runnable ones.
   */
  activity(vp: Vp): void {
    if (this.polling) return; // not reentrant: the outer poll covers it
    const start = this.clock();
    this.polling = true;
    try {
      for (const [hot, last] of this.hot) if (!hot.runnable || start - last > HOT_MS) this.forget(hot);
      this.hot.set(vp, start);
      for (const hot of this.hot.keys()) hot.setPolled(this.beat);
      vp.pollExit();
      if (this.budgetUs > 0) this.poll(start);
    } finally {
      for (const hot of this.hot.keys()) hot.setPolled(0);
      // An exit made just before the clear went unannounced: take it now.
      for (const hot of this.hot.keys()) hot.pollExit();
      for (const hot of this.hot.keys()) if (hot.runnable) hot.watch();
      this.polling = false;
      this.busyUs += (this.clock() - start) * 1000;
    }
  }

  private poll(start: number): void {
    const sliceEnd = start + this.sliceUs / 1000;
    let quietEnd = this.clock() + this.budgetUs / 1000;
    for (;;) {
      let found = false;
      for (let i = 0; i < SWEEPS_PER_CLOCK && !found; i++) {
        for (const vp of this.hot.keys()) {
          if (!vp.pollExit()) continue;
          found = true;
          this.polledExits++;
        }
      }
      const now = this.clock();
      this.beat = (this.beat + 1) & 0x3fffffff || 1;
      for (const vp of this.hot.keys()) vp.setPolled(this.beat);
      if (found) {
        quietEnd = now + this.budgetUs / 1000;
        for (const vp of this.hot.keys()) {
          if (vp.runnable) this.hot.set(vp, now);
          else this.forget(vp);
        }
      }
      if (now >= quietEnd || now >= sliceEnd || this.hot.size === 0) return;
    }
  }

  private forget(vp: Vp): void {
    vp.setPolled(0);
    this.hot.delete(vp);
  }
}
