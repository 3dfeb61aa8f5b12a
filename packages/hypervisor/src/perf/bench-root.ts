/**
 * Benchmark root entry (bench/suites/hypercall.ts): runs the measurement the host asks for over its
 * MessagePort and answers with the figures. Measurements run inside the root VP, as a root would.
 */
import type { MessagePort } from 'node:worker_threads';
import { createChildPartition, HvStatus, type ChildPartition, type HvMessage, type VpContext } from '../guest/index.ts';

const CHILD = new URL('./bench-child.ts', import.meta.url).href;
const now = () => Number(process.hrtime.bigint()) / 1000;

type Request =
  | { op: 'null'; iterations: number }
  | { op: 'port-echo' }
  | { op: 'latency'; mode: 'post' | 'signal'; iterations: number }
  | { op: 'create'; times: number }
  | { op: 'density'; max: number; memoryBytes: number };

export default function benchRoot(vp: VpContext, data: { port: MessagePort }): void {
  const { port } = data;
  const hc = vp.hypercalls;
  vp.synic.enable({ simpGpfn: 1, siefpGpfn: 2 });
  for (const sint of [0, 2, 3]) vp.synic.configureSint(sint);
  let onMessage: ((m: HvMessage) => void) | undefined;
  let onEvent: (() => void) | undefined;
  vp.onInterrupt((mask) => {
    if (mask & (1 << 3)) vp.synic.takeEventFlags(3, () => onEvent?.());
    if (mask & (1 << 2)) for (let m = vp.synic.takeMessage(2); m; m = vp.synic.takeMessage(2)) onMessage?.(m);
    if (mask & 1) while (vp.synic.takeMessage(0)) continue; // crash and intercept messages are not measured
  });
  let nextPort = 1000;
  const makeChild = (args: unknown, memoryBytes = 64 * 4096): { child: ChildPartition; portId: number } => {
    const child = createChildPartition(hc, { memoryBytes, entry: CHILD, args, suspended: true, heapLimitMb: 16 });
    const portId = nextPort++;
    must(hc.createPort(vp.partitionId, portId, child.id, { type: 'message', sint: 2, vp: 0 }));
    must(hc.createPort(vp.partitionId, portId + 100_000, child.id, { type: 'event', sint: 3, vp: 0, flagCount: 1 }));
    must(hc.connectPort(child.id, 2, vp.partitionId, portId, 'message'));
    must(hc.connectPort(child.id, 3, vp.partitionId, portId + 100_000, 'event'));
    // The root's acknowledgement path back to the child.
    must(hc.createPort(child.id, 1, vp.partitionId, { type: 'event', sint: 3, vp: 0, flagCount: 1 }));
    must(hc.connectPort(vp.partitionId, portId, child.id, 1, 'event'));
    return { child, portId };
  };
  const drop = (child: ChildPartition, portId: number) => {
    hc.disconnectPort(vp.partitionId, portId);
    hc.deletePort(vp.partitionId, portId);
    hc.deletePort(vp.partitionId, portId + 100_000);
    child.destroy();
  };

  port.on('message', (request: Request) => {
    switch (request.op) {
      case 'null': {
        const samples: number[] = [];
        for (let i = 0; i < request.iterations; i++) {
          const t0 = now();
          hc.getPartitionId();
          samples.push(now() - t0);
        }
        port.postMessage({ samples });
        return;
      }
      case 'port-echo':
        port.postMessage({ echo: true });
        return;
      case 'latency': {
        const { child, portId } = makeChild({ mode: request.mode, iterations: request.iterations });
        const received: number[] = [];
        const sent: number[] = [];
        onEvent = () => {
          received.push(now());
          hc.signalEvent(portId, 0);
        };
        onMessage = (m) => {
          const view = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
          if (m.type === 1) {
            received.push(now() - view.getFloat64(0, true));
            hc.signalEvent(portId, 0);
          } else if (m.type === 2) {
            for (let j = 0; j < m.payload.length; j += 8) sent.push(view.getFloat64(j, true));
          } else {
            const samples = request.mode === 'post' ? received : received.map((t, i) => t - (sent[i] ?? t));
            onEvent = undefined;
            onMessage = undefined;
            drop(child, portId);
            port.postMessage({ samples });
          }
        };
        child.start();
        return;
      }
      case 'create': {
        const samples: number[] = [];
        const once = () => {
          const t0 = now();
          const { child, portId } = makeChild({ mode: 'hello' });
          child.start();
          onMessage = (m) => {
            samples.push((new DataView(m.payload.buffer, m.payload.byteOffset).getFloat64(0, true) - t0) / 1000);
            drop(child, portId);
            if (samples.length < request.times) setImmediate(once);
            else {
              onMessage = undefined;
              port.postMessage({ samples });
            }
          };
        };
        once();
        return;
      }
      case 'density': {
        let count = 0;
        const grow = () => {
          if (count >= request.max) return port.postMessage({ done: count });
          let made: { child: ChildPartition; portId: number };
          try {
            made = makeChild({ mode: 'hello' }, request.memoryBytes);
          } catch (error) {
            return port.postMessage({ done: count, error: String(error) });
          }
          onMessage = () => {
            count++;
            if (count % 25 === 0) port.postMessage({ progress: count });
            setImmediate(grow);
          };
          made.child.start();
        };
        grow();
        return;
      }
    }
  });
  port.postMessage({ ready: true });
}

function must(status: number): void {
  if (status !== HvStatus.SUCCESS) throw new Error(`bench setup hypercall failed: 0x${status.toString(16)}`);
}
