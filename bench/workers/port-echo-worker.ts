/**
 * Baseline worker of the `vmbus` benchmark: the same echo over a `MessagePort`. The `server` echoes
 * every message back; the `client` sends `count` messages of `size` bytes, `inFlight` at a time,
 * timing round trips when one is in flight.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';

interface PortEchoConfig {
  readonly role: 'server' | 'client';
  readonly port: MessagePort;
  readonly count: number;
  readonly inFlight: number;
  readonly size: number;
}

const config = workerData as PortEchoConfig;
const port = config.port;
if (config.role === 'server') {
  port.on('message', (message: Uint8Array) => port.postMessage(message));
} else {
  const payload = new Uint8Array(config.size).fill(7);
  const warmup = Math.min(5000, Math.floor(config.count / 2)); // the same on the VMBus side (echo-bench-guest.ts)
  const total = warmup + config.count;
  const latencies: number[] = [];
  let sent = 0;
  let received = 0;
  let started = 0;
  const sentAt: number[] = [];
  const send = (): void => {
    sentAt[sent % config.inFlight] = performance.now();
    port.postMessage(payload);
    sent++;
  };
  port.on('message', () => {
    received++;
    if (received === warmup) started = performance.now();
    if (received > warmup && config.inFlight === 1) latencies.push((performance.now() - sentAt[0]!) * 1000);
    if (received === total) {
      const ms = performance.now() - started;
      parentPort?.postMessage({ perSecond: (config.count / ms) * 1000, latenciesUs: latencies });
      port.close();
      return;
    }
    if (sent < total) send();
  });
  for (let i = 0; i < Math.min(config.inFlight, total); i++) send();
}
