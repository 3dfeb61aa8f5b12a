/**
 * Guest program of the `vmbus` benchmark: echoes `count` requests of `size` bytes through the
 * first echo device, `inFlight` at a time; with one in flight it times every round trip. Returns
 * the rate, the latency percentiles and the guest's own interrupt counters.
 */
import type { GuestApi } from '@viridian/child-partition';

/** Warm-up: at least this long and this many requests before timing (as port-echo-worker.ts). */
export const WARMUP_MS = 500;
export const MIN_WARMUP = 5000;

export interface EchoBenchArgs {
  readonly count: number;
  readonly inFlight: number;
  readonly size: number;
}

export default async function echoBenchGuest(guest: GuestApi, args: EchoBenchArgs) {
  const device = guest.devices.echo[0];
  if (!device) throw new Error('no echo device');
  const payload = new Uint8Array(args.size).fill(7);
  // Warm-up, the same on the MessagePort side (port-echo-worker.ts): the measured pattern for
  // WARMUP_MS and at least MIN_WARMUP requests, so both sides are timed in steady state (JIT tiers
  // and heap sizes settled).
  const counters = device.channel.endpoint.counters;
  const signalsBefore = counters.signalsSent; // counted over warm-up too, as the host's are
  let warmup = 0;
  const warmStart = performance.now();
  const warm = async (): Promise<void> => {
    while (warmup < MIN_WARMUP || performance.now() - warmStart < WARMUP_MS) {
      warmup++;
      await device.echo(payload);
    }
  };
  await Promise.all(Array.from({ length: args.inFlight }, warm));
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < args.count) {
      next++;
      const t = performance.now();
      await device.echo(payload);
      if (args.inFlight === 1) latencies.push((performance.now() - t) * 1000);
    }
  };
  await Promise.all(Array.from({ length: args.inFlight }, lane));
  const ms = performance.now() - started;
  // The report carries at most 48 KiB of JSON: send percentiles, not every latency.
  latencies.sort((a, b) => a - b);
  const at = (p: number): number => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? Number.NaN;
  return { perSecond: (args.count / ms) * 1000, p50Us: at(50), p99Us: at(99), guestSignals: counters.signalsSent - signalsBefore, warmup, guestSleeps: counters.sleeps, guestPollHits: counters.pollHits };
}
