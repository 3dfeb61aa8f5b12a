/**
 * Benchmark `vmbus`: echo requests and responses through a VSP/VSC pair across partitions (a
 * child's echo VSC, VMBus rings in the child's memory, the root's echo VSP), 64-byte payloads:
 * latency with one request in flight, throughput with 1 and 32 in flight, and interrupts per
 * packet; in the same run, the same echo between two threads over a `MessagePort`. Medians of the
 * runs' percentiles and rates.
 */
import { Host, MiB } from '@viridian/root-partition';
import { portEcho } from '../lib/port-echo.ts';
import { median, percentile, repeat } from '../lib/stats.ts';
import { row, type BenchRow, type BenchSuite } from '../lib/suite.ts';

const BASELINE = 'MessagePort echo between two threads';
const SIZE = 64;

const suite: BenchSuite = {
  name: 'vmbus',
  description: 'echo through a VSP/VSC pair across partitions vs a MessagePort echo between threads',
  async run({ quick, progress }) {
    const repetitions = quick ? 1 : 3;
    const counts = { 1: quick ? 2000 : 20000, 32: quick ? 20000 : 300000 } as const;
    const host = await Host.boot({ memoryBytes: 512 * MiB });
    const program = new URL('../guests/echo-bench-guest.ts', import.meta.url);
    let vmIndex = 0;
    const viridian = async (inFlight: 1 | 32) => {
      const vm = await host.createVm({ name: `bench-${vmIndex++}`, memoryBytes: 16 * MiB, program, args: { count: counts[inFlight], inFlight, size: SIZE }, devices: [{ kind: 'echo' }] });
      await vm.start();
      const result = (await vm.result) as { perSecond: number; p50Us: number; p99Us: number; guestSignals: number; warmup: number };
      const stats = await vm.stats();
      const packets = 2 * (counts[inFlight] + result.warmup);
      return { ...result, signalsPerPacket: (result.guestSignals + stats.channels[0]!.signalsSent) / packets };
    };
    const rows: BenchRow[] = [];
    try {
      for (const inFlight of [1, 32] as const) {
        const ours = await repeat(repetitions, (i) => {
          progress(`VMBus echo, ${inFlight} in flight, run ${i + 1}/${repetitions}`);
          return viridian(inFlight);
        });
        const theirs = await repeat(repetitions, (i) => {
          progress(`MessagePort echo, ${inFlight} in flight, run ${i + 1}/${repetitions}`);
          return portEcho(counts[inFlight], inFlight, SIZE);
        });
        const label = `${SIZE} B echo, ${inFlight} in flight`;
        if (inFlight === 1) {
          const base = theirs.map((r) => ({ p50: percentile(r.latenciesUs, 50), p99: percentile(r.latenciesUs, 99) }));
          rows.push(row(label, 'latency_us_p50', median(ours.map((r) => r.p50Us)), { name: BASELINE, value: median(base.map((b) => b.p50)) }));
          rows.push(row(label, 'latency_us_p99', median(ours.map((r) => r.p99Us)), { name: BASELINE, value: median(base.map((b) => b.p99)) }));
        }
        rows.push(row(label, 'packets_per_s', median(ours.map((r) => r.perSecond)), { name: BASELINE, value: median(theirs.map((r) => r.perSecond)) }));
        rows.push(row(label, 'signals_per_packet', median(ours.map((r) => r.signalsPerPacket))));
      }
    } finally {
      await host.shutdown();
    }
    return rows;
  },
};

export default suite;
