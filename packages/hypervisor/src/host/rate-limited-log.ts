/**
 * Rate-limited logging of guest mistakes (STYLE.md rule 17): a hostile guest can fail hypercalls
 * as fast as it likes; the log takes at most `perSecond` lines per partition and counts the rest.
 */
import type { Logger } from 'pino';

export class RateLimitedLog {
  private windowStart = 0;
  private lines = 0;
  suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly perSecond = 10,
  ) {}

  /** Logs `msg` at debug with guest-derived data nested under `guest`, within the rate. */
  guestMistake(msg: string, guest: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      if (this.suppressed > 0) this.log.debug({ suppressed: this.suppressed }, 'guest mistakes suppressed');
      this.windowStart = now;
      this.lines = 0;
      this.suppressed = 0;
    }
    if (this.lines++ < this.perSecond) this.log.debug({ guest }, msg);
    else this.suppressed++;
  }
}
