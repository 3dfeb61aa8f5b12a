/**
 * Adaptive polling before sleeping, after KVM's halt polling (`halt_poll_ns`): a reader that runs
 * out of packets keeps looking for a short window before it unmasks its ring and sleeps, because a
 * wake-up costs far more than a look (node-performance-facts.md: 13 us of the signaller's time for
 * the notify alone, and the sleeper's wake latency on top, 15-90 us on this VM), and while it looks
 * with the ring still masked the peer need not signal at all.
 *
 * The window adapts to what polling buys:
 * - a poll that finds work keeps the full window;
 * - a sleep longer than the window after a poll that found nothing means the peer went idle: the
 *   window halves (down to 0), so an idle host stops spinning after a few sleeps;
 * - a sleep shorter than the window while not polling means a poll would have caught it: polling
 *   starts again at the full window;
 * - several full polls in a row that find nothing (a peer that cannot run, for example because it
 *   shares this thread's core on a busy machine) pause polling for a number of sleeps, so an
 *   overloaded host does not burn its cores spinning.
 *
 * Measured on the 2-core VM (echo across partitions, `bench/suites/vmbus.ts`): 200 us catches the
 * peer's whole turn at 32 requests in flight (signals per packet fall from 0.03 to 0.002); 50 us
 * is too short and only costs.
 */

/**
 * The longest window the VMBus channels of both kernels poll before sleeping, microseconds; the
 * environment variable VIRIDIAN_CHANNEL_POLL_US overrides it (0 turns polling off).
 */
export const CHANNEL_POLL_MICROS = pollMicrosFromEnv(process.env.VIRIDIAN_CHANNEL_POLL_US, 200);

/** Full polls in a row that find nothing before polling pauses. */
const FAILED_POLLS_BEFORE_PAUSE = 4;
/** Sleeps polling stays paused for. */
const PAUSE_SLEEPS = 32;

function pollMicrosFromEnv(value: string | undefined, fallback: number): number {
  const parsed = value === undefined || value === '' ? NaN : Number(value);
  return Number.isFinite(parsed) && parsed >= 0 && parsed <= 10_000 ? parsed : fallback;
}

export class HaltPoll {
  /** The current window, microseconds (0: sleep at once). */
  windowUs: number;
  private failures = 0;
  private paused = 0;

  constructor(
    /** The full window, microseconds. */
    readonly maxUs: number,
  ) {
    this.windowUs = maxUs;
  }

  /** A poll found work within the window. */
  hit(): void {
    this.failures = 0;
    this.windowUs = this.maxUs;
  }

  /** The endpoint slept for `sleptUs`, after a poll of `polledUs` (0: none) that found nothing. */
  slept(sleptUs: number, polledUs: number): void {
    if (this.paused > 0) {
      if (--this.paused === 0) this.windowUs = this.maxUs;
      return;
    }
    if (polledUs >= this.maxUs && ++this.failures >= FAILED_POLLS_BEFORE_PAUSE) {
      this.failures = 0;
      this.paused = PAUSE_SLEEPS;
      this.windowUs = 0;
      return;
    }
    if (sleptUs > this.maxUs) this.windowUs = this.windowUs / 2 < 1 ? 0 : this.windowUs / 2;
    else if (polledUs === 0) this.windowUs = this.maxUs;
  }
}
