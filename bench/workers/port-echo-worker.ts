/**
 * Baseline worker of the `vmbus` benchmark: the same echo over a `MessagePort`. The `server` echoes
 * every message back; the `client` sends `count` messages of `size` bytes, `inFlight` at a time,
 * timing round trips when one is in flight.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { MIN_WARMUP, WARMUP_MS } from '../guests/echo-bench-guest.ts';

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
  // Warm-up as on the VMBus side (echo-bench-guest.ts): WARMUP_MS and at least MIN_WARMUP round
  // trips of the measured pattern, then `count` timed ones.
  const warmStart = performance.now();
  let warming = true;
  let warmup = 0;
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
    if (warming) {
      warmup++;
      if (warmup >= MIN_WARMUP && performance.now() - warmStart >= WARMUP_MS) {
        warming = false;
        sent = config.inFlight - 1; // the ones still in flight count as sent
        started = performance.now();
      }
      send();
      return;
    }
    received++;
    if (config.inFlight === 1) latencies.push((performance.now() - sentAt[0]!) * 1000);
    if (received === config.count) {
      const ms = performance.now() - started;
      parentPort?.postMessage({ perSecond: (config.count / ms) * 1000, latenciesUs: latencies });
      port.close();
      return;
    }
    if (sent < config.count) send();
  });
  for (let i = 0; i < config.inFlight; i++) send();
}
