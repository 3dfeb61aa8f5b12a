/**
 * Benchmark `ring`: one-way packets between two worker threads over a VMBus ring pair (2 MiB
 * rings, commits every 32 packets, the ChannelEndpoint's signalling), for 64 B to 16 KiB payloads;
 * in the same run the same transfer with `MessagePort.postMessage`. Medians of several runs, each
 * timed over its steady state (after the first tenth of the packets).
 */
import { startRingTrafficPair } from '@viridian/vmbus/testing';
import { measurePortTraffic } from '../lib/port-traffic.ts';
import { median, repeat } from '../lib/stats.ts';
import { row, type BenchRow, type BenchSuite } from '../lib/suite.ts';

const SIZES = [64, 1024, 4096, 16384] as const;
const RING_SIZE = 2 * 1024 * 1024 + 4096;
const BASELINE = 'MessagePort.postMessage (copy)';

/** Packets per run: enough for about half a second at the expected rates (a tenth when quick). */
function packetsFor(size: number, quick: boolean): number {
  const full = size <= 1024 ? 2_000_000 : size <= 4096 ? 600_000 : 200_000;
  return quick ? full / 10 : full;
}

const suite: BenchSuite = {
  name: 'ring',
  description: 'one-way packets between two worker threads: VMBus ring vs MessagePort',
  async run({ quick, progress }) {
    const rows: BenchRow[] = [];
    const repetitions = quick ? 1 : 5;
    for (const size of SIZES) {
      const packets = packetsFor(size, quick);
      const ring = await repeat(repetitions, async (i) => {
        progress(`ring ${size} B, run ${i + 1}/${repetitions}`);
        const { guest, host } = await startRingTrafficPair({ packets, sizes: { fixed: size }, verify: false, ringSize: RING_SIZE }).results;
        return {
          packetsPerSecond: (host.steadyPackets / host.steadyMs) * 1000,
          bytesPerSecond: ((host.steadyPackets * size) / host.steadyMs) * 1000,
          signalsPerPacket: (guest.signalsSent + host.signalsSent) / host.packets,
        };
      });
      const port = await repeat(repetitions, async (i) => {
        progress(`MessagePort ${size} B, run ${i + 1}/${repetitions}`);
        return measurePortTraffic(size <= 1024 ? packets / 4 : packets / 2, size);
      });
      const label = size >= 1024 ? `${size / 1024} KiB payload` : `${size} B payload`;
      rows.push(
        row(label, 'packets_per_s', median(ring.map((r) => r.packetsPerSecond)), { name: BASELINE, value: median(port.map((p) => p.packetsPerSecond)) }),
        row(label, 'bytes_per_s', median(ring.map((r) => r.bytesPerSecond)), { name: BASELINE, value: median(port.map((p) => p.bytesPerSecond)) }),
        row(label, 'signals_per_packet', median(ring.map((r) => r.signalsPerPacket))),
      );
    }
    return rows;
  },
};

export default suite;
