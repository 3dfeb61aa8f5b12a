/**
 * Baseline worker: the same one-way transfer as the ring benchmark, over a `MessagePort` with
 * `postMessage` (structured clone: a copy per message, like the ring's copy in and out).
 * Flow control: the sender keeps at most `window` messages unacknowledged; the receiver
 * acknowledges every `window / 4`, so the queue, not memory, bounds the run.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';

interface PortTrafficConfig {
  readonly role: 'send' | 'receive';
  readonly port: MessagePort;
  readonly packets: number;
  readonly size: number;
  readonly window: number;
}

const config = workerData as PortTrafficConfig;
const port = config.port;
const ackEvery = Math.max(1, config.window >> 2);

if (config.role === 'send') {
  const payload = new Uint8Array(config.size).fill(7);
  let sent = 0;
  let acknowledged = 0;
  const pump = (): void => {
    while (sent < config.packets && sent - acknowledged < config.window) {
      port.postMessage(payload);
      sent++;
    }
  };
  port.on('message', (count: number) => {
    acknowledged = count;
    if (acknowledged >= config.packets) {
      parentPort?.postMessage({ done: true });
      port.close();
    } else pump();
  });
  pump();
} else {
  let received = 0;
  let bytes = 0;
  // Measure the steady state only: after the first tenth (JIT warm-up), as the ring runs do.
  const steadyFrom = Math.floor(config.packets / 10);
  let started = 0;
  port.on('message', (message: Uint8Array) => {
    if (received === steadyFrom) started = performance.now();
    if (received >= steadyFrom) bytes += message.length;
    received++;
    if (received % ackEvery === 0 || received === config.packets) port.postMessage(received);
    if (received === config.packets) {
      parentPort?.postMessage({ elapsedMs: performance.now() - started, bytes, packets: received - steadyFrom });
      port.close();
    }
  });
}
