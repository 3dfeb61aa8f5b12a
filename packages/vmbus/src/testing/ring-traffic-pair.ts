/**
 * Starts two worker threads exchanging ring traffic over one channel region, the guest party
 * writing the send ring and the host party the receive ring, and resolves with both results.
 */
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '@viridian/worker-bootstrap';
import { ChannelRegion } from '../channel/channel-region.ts';
import type { PayloadSizes } from './traffic-pattern.ts';
import type { RingTrafficConfig, RingTrafficResult, TrafficRole } from './ring-traffic.ts';

/** A traffic run between two workers. */
export interface RingTrafficPairOptions {
  /** Bytes of each ring, control page included (default 256 KiB + 4 KiB). */
  readonly ringSize?: number;
  readonly packets: number;
  readonly sizes: PayloadSizes;
  /** Roles of the guest and the host party (default: guest sends, host receives). */
  readonly guestRole?: TrafficRole;
  readonly hostRole?: TrafficRole;
  readonly batch?: number;
  readonly verify?: boolean;
  readonly spinMicros?: number;
}

/** A running pair: both results, and live counters of packets handled by each party. */
export interface RingTrafficPair {
  readonly results: Promise<{ guest: RingTrafficResult; host: RingTrafficResult }>;
  /** Packets each party has handled so far (updated once per batch). */
  progress(): { guest: number; host: number };
  /** Stops both workers. */
  terminate(): Promise<void>;
}

const DEFAULT_RING_SIZE = 256 * 1024 + 4096;

/** Starts the two workers. */
export function startRingTrafficPair(options: RingTrafficPairOptions): RingTrafficPair {
  const ringSize = options.ringSize ?? DEFAULT_RING_SIZE;
  const region = ChannelRegion.allocate(ringSize, ringSize);
  region.initialize();
  const cells = new Int32Array(new SharedArrayBuffer(16));
  const [guestInterrupt, hostInterrupt, guestProgress, hostProgress] = [0, 1, 2, 3].map((i) => cells.subarray(i, i + 1)) as [Int32Array, Int32Array, Int32Array, Int32Array];
  const common = {
    buffer: region.buffer as SharedArrayBuffer,
    byteOffset: region.byteOffset,
    sendRingSize: region.sendRingSize,
    receiveRingSize: region.receiveRingSize,
    packets: options.packets,
    sizes: options.sizes,
    batch: options.batch ?? 32,
    verify: options.verify ?? true,
    spinMicros: options.spinMicros,
  };
  const guest: RingTrafficConfig = { ...common, side: 'guest', role: options.guestRole ?? 'send', interrupt: guestInterrupt, peerInterrupt: hostInterrupt, progress: guestProgress };
  const host: RingTrafficConfig = { ...common, side: 'host', role: options.hostRole ?? 'receive', interrupt: hostInterrupt, peerInterrupt: guestInterrupt, progress: hostProgress };
  const entry = new URL('./ring-traffic-worker.ts', import.meta.url);
  const workers = [startWorker(entry, { workerData: guest }), startWorker(entry, { workerData: host })] as const;
  const results = Promise.all([resultOf(workers[0]), resultOf(workers[1])]).then(([g, h]) => ({ guest: g, host: h }));
  return {
    results,
    progress: () => ({ guest: Atomics.load(guestProgress, 0), host: Atomics.load(hostProgress, 0) }),
    terminate: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

async function resultOf(worker: Worker): Promise<RingTrafficResult> {
  const exited = once(worker, 'exit').then(([code]) => {
    throw new Error(`ring traffic worker exited with code ${code} before reporting`);
  });
  const failed = once(worker, 'error').then(([error]) => {
    throw error;
  });
  const [result] = (await Promise.race([once(worker, 'message'), exited, failed])) as [RingTrafficResult];
  return result;
}
