/**
 * Benchmark child entry (bench/suites/hypercall.ts). Modes: `hello` (report its first instruction's
 * time to the root, then idle), `post` and `signal` (latency loops to the root, each send waiting for
 * the root's acknowledging event before the next).
 */
import { HvStatus, type VpContext } from '../guest/index.ts';

const TO_ROOT_MSG = 2;
const TO_ROOT_EVENT = 3;
const now = () => Number(process.hrtime.bigint()) / 1000; // microseconds, one clock for every thread

export default function benchChild(vp: VpContext, args: { mode: string; iterations?: number }): void {
  const first = now();
  const hc = vp.hypercalls;
  const payload = new Uint8Array(240);
  const view = new DataView(payload.buffer);
  if (args.mode === 'hello') {
    view.setFloat64(0, first, true);
    hc.postMessage(TO_ROOT_MSG, 1, payload.subarray(0, 8));
    return;
  }
  if (vp.synic.enable({ simpGpfn: 1, siefpGpfn: 2 }) !== HvStatus.SUCCESS) throw new Error('SynIC');
  vp.synic.configureSint(3);
  const iterations = args.iterations ?? 1000;
  const sent: number[] = [];
  let seen = vp.interrupts.sequence;
  for (let i = 0; i < iterations; i++) {
    const t0 = now();
    if (args.mode === 'post') {
      view.setFloat64(0, t0, true);
      while (hc.postMessage(TO_ROOT_MSG, 1, payload.subarray(0, 8)) === HvStatus.INSUFFICIENT_BUFFERS) continue; // retry until a buffer frees
    } else {
      sent.push(t0);
      hc.signalEvent(TO_ROOT_EVENT, 0);
    }
    // Wait for the root's acknowledgement (an event on SINT 3).
    while (vp.interrupts.sequence === seen) vp.interrupts.wait(seen, 1000);
    seen = vp.interrupts.sequence;
    vp.interrupts.takePending();
    vp.synic.takeEventFlags(3, () => {});
  }
  // Signal latencies: send the send times to the root, 30 per message.
  for (let i = 0; i < sent.length; i += 30) {
    const batch = sent.slice(i, i + 30);
    batch.forEach((t, j) => view.setFloat64(j * 8, t, true));
    while (hc.postMessage(TO_ROOT_MSG, 2, payload.subarray(0, batch.length * 8)) === HvStatus.INSUFFICIENT_BUFFERS) continue; // retry until a buffer frees
  }
  hc.postMessage(TO_ROOT_MSG, 3, new Uint8Array(1));
}
