/**
 * The `vmbus` benchmark's baseline: the same echo between two worker threads over a
 * `MessagePort` (`bench/workers/port-echo-worker.ts`), with the same warm-up as the VMBus side.
 */
import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { startWorker } from '@viridian/worker-bootstrap';

/** One run: the rate, and with one request in flight every round trip's latency. */
export interface EchoRun {
  readonly perSecond: number;
  readonly latenciesUs: number[];
}

/** Echoes `count` messages of `size` bytes, `inFlight` at a time, between two fresh workers. */
export async function portEcho(count: number, inFlight: number, size: number): Promise<EchoRun> {
  const { port1, port2 } = new MessageChannel();
  const entry = new URL('../workers/port-echo-worker.ts', import.meta.url);
  const server = startWorker(entry, { workerData: { role: 'server', port: port2, count, inFlight, size }, transferList: [port2] });
  const client = startWorker(entry, { workerData: { role: 'client', port: port1, count, inFlight, size }, transferList: [port1] });
  const [result] = (await once(client, 'message')) as [EchoRun];
  await Promise.all([client.terminate(), server.terminate()]);
  return result;
}
