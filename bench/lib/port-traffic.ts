/**
 * Runs the `MessagePort.postMessage` baseline between two worker threads: `packets` messages of
 * `size` bytes, one way, and returns packets and bytes per second as seen by the receiver.
 */
import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { startWorker } from '@viridian/worker-bootstrap';

export interface TransferRate {
  readonly packetsPerSecond: number;
  readonly bytesPerSecond: number;
}

const entry = new URL('../workers/port-traffic-worker.ts', import.meta.url);

export async function measurePortTraffic(packets: number, size: number, window = 4096): Promise<TransferRate> {
  const { port1, port2 } = new MessageChannel();
  const receiver = startWorker(entry, { workerData: { role: 'receive', port: port2, packets, size, window }, transferList: [port2] });
  const sender = startWorker(entry, { workerData: { role: 'send', port: port1, packets, size, window }, transferList: [port1] });
  const senderDone = once(sender, 'message');
  const [result] = (await once(receiver, 'message')) as [{ elapsedMs: number; bytes: number; packets: number }];
  await senderDone;
  await Promise.all([sender.terminate(), receiver.terminate()]);
  return { packetsPerSecond: (result.packets / result.elapsedMs) * 1000, bytesPerSecond: (result.bytes / result.elapsedMs) * 1000 };
}
