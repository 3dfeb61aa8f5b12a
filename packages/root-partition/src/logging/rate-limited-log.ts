/**
 * A rate limit for log lines a guest can cause (ARCHITECTURE.md "Isolation" 3: bad input gets a
 * counted and rate-limited log line). Each key may log `burst` lines per window; the rest are
 * counted and summarised in the next line that gets through.
 */
import type { Logger } from 'pino';

/** Logs at most `burst` lines per `windowMs` per key. */
export class RateLimitedLog {
  private readonly windows = new Map<string, { start: number; logged: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly burst = 10,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Logs `message` at warn level under `key`, unless this key has used up its window. */
  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    let window = this.windows.get(key);
    if (window === undefined || now - window.start >= this.windowMs) {
      const suppressed = window?.suppressed ?? 0;
      window = { start: now, logged: 0, suppressed: 0 };
      this.windows.set(key, window);
      if (suppressed > 0) fields = { ...fields, suppressedSinceLastWindow: suppressed };
    }
    if (window.logged < this.burst) {
      window.logged++;
      this.logger.warn({ ...fields, reason: key }, message);
    } else {
      window.suppressed++;
    }
  }
}
