/**
 * Guest program of the `vmbus` benchmark: echoes `count` requests of `size` bytes through the
 * first echo device, `inFlight` at a time; with one in flight it times every round trip. Returns
 * the rate, the latency percentiles and the guest's own interrupt counters.
 */
import type { GuestApi } from '@viridian/child-partition';

export interface EchoBenchArgs {
  readonly count: number;
  readonly inFlight: number;
  readonly size: number;
}

export default async function echoBenchGuest(guest: GuestApi, args: EchoBenchArgs) {
  const device = guest.devices.echo[0];
  if (!device) throw new Error('no echo device');
  const payload = new Uint8Array(args.size).fill(7);
  const warmup = Math.min(5000, Math.floor(args.count / 2)); // the same on the MessagePort side (port-echo-worker.ts)
  for (let i = 0; i < warmup; i++) await device.echo(payload);
  const latencies: number[] = [];
  const counters = device.channel.endpoint.counters;
  const signalsBefore = counters.signalsSent;
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
  return { perSecond: (args.count / ms) * 1000, p50Us: at(50), p99Us: at(99), guestSignals: counters.signalsSent - signalsBefore, warmup };
}
