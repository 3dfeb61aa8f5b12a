/**
 * Adaptive polling before sleeping, after KVM's halt polling (`halt_poll_ns`): a reader that runs
 * out of packets keeps looking for a short window before it unmasks its ring and sleeps, because a
 * wake-up costs far more than a look (node-performance-facts.md: 13 us of the signaller's time for
 * the notify alone, and the sleeper's wake latency on top), and while it looks with the ring still
 * masked the peer need not signal at all.
 *
 * The window adapts to what polling buys:
 * - a poll that finds work keeps the window;
 * - a sleep that ended sooner than the longest window would have been caught by a longer poll:
 *   the window grows (doubling from `startUs`, up to `maxUs`);
 * - a sleep longer than `maxUs` means the peer is idle (or, on a busy machine, not running): the
 *   window halves, down to 0, so an idle or overloaded host stops spinning.
 */

/**
 * The longest window the VMBus channels of both kernels poll before sleeping, microseconds; the
 * environment variable VIRIDIAN_CHANNEL_POLL_US overrides it (0 turns polling off).
 */
export const CHANNEL_POLL_MICROS = pollMicrosFromEnv(process.env.VIRIDIAN_CHANNEL_POLL_US, 0);

function pollMicrosFromEnv(value: string | undefined, fallback: number): number {
  const parsed = value === undefined || value === '' ? NaN : Number(value);
  return Number.isFinite(parsed) && parsed >= 0 && parsed <= 10_000 ? parsed : fallback;
}

export class HaltPoll {
  /** The current window, microseconds. */
  windowUs: number;

  constructor(
    /** The longest window, microseconds (0 disables polling). */
    readonly maxUs: number,
    /** The window polling starts again from after it shrank to 0, microseconds. */
    readonly startUs = Math.min(10, maxUs),
  ) {
    this.windowUs = startUs;
  }

  /** A poll found work within the window. */
  hit(): void {
    if (this.windowUs < this.startUs) this.windowUs = this.startUs;
  }

  /** The endpoint slept for `sleptUs` after its poll found nothing. */
  slept(sleptUs: number): void {
    if (sleptUs <= this.maxUs) {
      this.windowUs = Math.min(this.maxUs, Math.max(this.startUs, this.windowUs * 2));
    } else {
      this.windowUs = this.windowUs / 2 < 1 ? 0 : this.windowUs / 2;
    }
  }
}
