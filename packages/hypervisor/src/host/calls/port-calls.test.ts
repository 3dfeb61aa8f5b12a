import { describe, expect, it } from 'vitest';
import { HvStatus } from '../../abi/status.ts';
import { HvSynicMsr, MESSAGE_FLAG_PENDING, PORT_MESSAGE_BUFFERS } from '../../abi/synic.ts';
import { enableSynic, makeChild } from '../../testing/children.ts';
import { testMachine } from '../../testing/in-process.ts';

function wired() {
  const m = testMachine();
  const root = m.rootVp;
  enableSynic(root);
  const child = makeChild(m);
  const hc = root.ctx.hypercalls;
  // Root receives on message port 10 (SINT 2) and event port 11 (SINT 3, flags 5..9), from the child.
  expect(hc.createPort(m.root.id, 10, child.partition.id, { type: 'message', sint: 2, vp: 0 })).toBe(HvStatus.SUCCESS);
  expect(hc.createPort(m.root.id, 11, child.partition.id, { type: 'event', sint: 3, baseFlag: 5, flagCount: 5 })).toBe(HvStatus.SUCCESS);
  expect(hc.connectPort(child.partition.id, 1, m.root.id, 10, 'message')).toBe(HvStatus.SUCCESS);
  expect(hc.connectPort(child.partition.id, 2, m.root.id, 11, 'event')).toBe(HvStatus.SUCCESS);
  return { m, root, child, hc };
}

describe('ports, connections, PostMessage, SignalEvent (TLFS 2.0 §14)', () => {
  it('delivers a posted message into the SIM slot, rings the doorbell, and EOM delivers the next', () => {
    const { root, child } = wired();
    const before = root.ctx.interrupts.sequence;
    const c = child.vp.ctx.hypercalls;
    expect(c.postMessage(1, 7, new Uint8Array([1, 2, 3]))).toBe(HvStatus.SUCCESS);
    expect(c.postMessage(1, 8, new Uint8Array([4]))).toBe(HvStatus.SUCCESS);
    expect(root.ctx.interrupts.sequence).toBe(before + 1);
    expect(root.ctx.interrupts.takePending()).toBe(1 << 2);
    const first = root.ctx.synic.takeMessage(2)!;
    expect(first).toMatchObject({ sint: 2, type: 7, sender: 10n, payload: new Uint8Array([1, 2, 3]) });
    expect(first.flags & MESSAGE_FLAG_PENDING).toBe(MESSAGE_FLAG_PENDING); // so it wrote EOM
    const second = root.ctx.synic.takeMessage(2)!;
    expect(second).toMatchObject({ type: 8, payload: new Uint8Array([4]) });
    expect(root.ctx.synic.takeMessage(2)).toBeUndefined();
  });

  it('16 buffers per port: the 17th undelivered post gets INSUFFICIENT_BUFFERS', () => {
    const { root, child } = wired();
    const c = child.vp.ctx.hypercalls;
    // One message goes straight into the slot (its buffer is freed); 16 more wait in the queue.
    for (let i = 0; i < PORT_MESSAGE_BUFFERS + 1; i++) expect(c.postMessage(1, 1, new Uint8Array([i]))).toBe(HvStatus.SUCCESS);
    expect(c.postMessage(1, 1, new Uint8Array([99]))).toBe(HvStatus.INSUFFICIENT_BUFFERS);
    for (let i = 0; i < PORT_MESSAGE_BUFFERS + 1; i++) expect(root.ctx.synic.takeMessage(2)!.payload[0]).toBe(i);
    expect(c.postMessage(1, 1, new Uint8Array([100]))).toBe(HvStatus.SUCCESS);
  });

  it('rejects bad messages with INVALID_PARAMETER and unknown connections with INVALID_CONNECTION_ID', () => {
    const { child } = wired();
    const c = child.vp.ctx.hypercalls;
    expect(c.postMessage(1, 0, new Uint8Array(1))).toBe(HvStatus.INVALID_PARAMETER);
    expect(c.postMessage(1, 0x80000001, new Uint8Array(1))).toBe(HvStatus.INVALID_PARAMETER);
    c.input.setUint32(12, 241, true);
    expect(c.call(0x5c).status).toBe(HvStatus.INVALID_PARAMETER);
    expect(c.postMessage(3, 1, new Uint8Array(1))).toBe(HvStatus.INVALID_CONNECTION_ID);
    expect(c.signalEvent(3, 0)).toBe(HvStatus.INVALID_CONNECTION_ID);
    expect(c.postMessage(2, 1, new Uint8Array(1))).toBe(HvStatus.INVALID_PORT_ID); // an event port
    expect(c.signalEvent(1, 0)).toBe(HvStatus.INVALID_PORT_ID); // a message port
  });

  it('SignalEvent sets base+flag in the SIEF page and interrupts only on a 0→1 edge', () => {
    const { root, child } = wired();
    const c = child.vp.ctx.hypercalls;
    const before = root.ctx.interrupts.sequence;
    expect(c.signalEvent(2, 0)).toBe(HvStatus.SUCCESS);
    expect(c.signalEvent(2, 0)).toBe(HvStatus.SUCCESS);
    expect(c.signalEvent(2, 4)).toBe(HvStatus.SUCCESS);
    expect(root.ctx.interrupts.sequence).toBe(before + 2);
    expect(c.signalEvent(2, 5)).toBe(HvStatus.INVALID_PARAMETER);
    const flags: number[] = [];
    expect(root.ctx.synic.takeEventFlags(3, (f) => flags.push(f))).toBe(2);
    expect(flags.sort((a, b) => a - b)).toEqual([5, 9]);
    expect(root.ctx.synic.takeEventFlags(3, () => {})).toBe(0);
  });

  it('a masked SINT refuses events (INVALID_SYNIC_STATE); a disabled SIMP refuses messages', () => {
    const { root, child } = wired();
    const c = child.vp.ctx.hypercalls;
    expect(root.ctx.synic.configureSint(3, { masked: true })).toBe(HvStatus.SUCCESS);
    expect(c.signalEvent(2, 0)).toBe(HvStatus.INVALID_SYNIC_STATE);
    expect(root.ctx.exits.writeMsr(HvSynicMsr.Simp, 0)).toBe(HvStatus.SUCCESS);
    expect(c.postMessage(1, 1, new Uint8Array(1))).toBe(HvStatus.INVALID_SYNIC_STATE);
  });

  it('unmasking a SINT re-raises an interrupt for a message or event delivered while it was masked', () => {
    const { root, child } = wired();
    const c = child.vp.ctx.hypercalls;
    expect(root.ctx.synic.configureSint(2, { masked: true })).toBe(HvStatus.SUCCESS);
    root.ctx.interrupts.takePending();
    const before = root.ctx.interrupts.sequence;
    expect(c.postMessage(1, 1, new Uint8Array([5]))).toBe(HvStatus.SUCCESS);
    expect(root.ctx.interrupts.sequence).toBe(before); // masked: no interrupt
    expect(root.ctx.synic.configureSint(2)).toBe(HvStatus.SUCCESS);
    expect(root.ctx.interrupts.sequence).toBe(before + 1);
    expect(root.ctx.interrupts.takePending()).toBe(1 << 2);
    expect(root.ctx.synic.takeMessage(2)!.payload[0]).toBe(5);
  });

  it('deleting a port leaves connections stale (INVALID_PORT_ID); disconnect removes them', () => {
    const { m, child, hc } = wired();
    const c = child.vp.ctx.hypercalls;
    expect(hc.deletePort(m.root.id, 10)).toBe(HvStatus.SUCCESS);
    expect(hc.deletePort(m.root.id, 10)).toBe(HvStatus.INVALID_PORT_ID);
    expect(c.postMessage(1, 1, new Uint8Array(1))).toBe(HvStatus.INVALID_PORT_ID);
    expect(hc.disconnectPort(child.partition.id, 1)).toBe(HvStatus.SUCCESS);
    expect(hc.disconnectPort(child.partition.id, 1)).toBe(HvStatus.INVALID_CONNECTION_ID);
    expect(c.postMessage(1, 1, new Uint8Array(1))).toBe(HvStatus.INVALID_CONNECTION_ID);
  });

  it('CreatePort and ConnectPort validate ids, SINTs, types, flags and the connection partition', () => {
    const { m, child, hc } = wired();
    const root = m.root.id;
    const kid = child.partition.id;
    expect(hc.createPort(root, 10, kid, { type: 'message', sint: 2 })).toBe(HvStatus.INVALID_PORT_ID); // in use
    expect(hc.createPort(root, 0x1000000, kid, { type: 'message', sint: 2 })).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.createPort(root, 20, kid, { type: 'message', sint: 0 })).toBe(HvStatus.INVALID_PARAMETER); // SINT0 reserved
    expect(hc.createPort(root, 20, kid, { type: 'message', sint: 16 })).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.createPort(root, 20, kid, { type: 'event', sint: 2, flagCount: 0 })).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.createPort(root, 20, kid, { type: 'event', sint: 2, baseFlag: 2000, flagCount: 100 })).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.createPort(root, 20, 999n, { type: 'message', sint: 2 })).toBe(HvStatus.INVALID_PARTITION_ID);
    expect(hc.createPort(root, 20, kid, { type: 'message', sint: 2, vp: 100 })).toBe(HvStatus.INVALID_VP_INDEX);
    expect(hc.connectPort(kid, 1, root, 10, 'message')).toBe(HvStatus.INVALID_CONNECTION_ID); // id in use
    expect(hc.connectPort(kid, 5, root, 77, 'message')).toBe(HvStatus.INVALID_PORT_ID);
    expect(hc.connectPort(kid, 5, root, 11, 'message')).toBe(HvStatus.INVALID_PARAMETER); // type mismatch
    expect(hc.connectPort(kid, 5, 999n, 10, 'message')).toBe(HvStatus.INVALID_PARTITION_ID);
    // Port 10 names the child as its connection partition: the root cannot connect to it.
    expect(hc.connectPort(root, 5, root, 10, 'message')).toBe(HvStatus.ACCESS_DENIED);
  });

  it('ports draw from the receiver’s pool and connections from the sender’s', () => {
    const m = testMachine();
    const child = makeChild(m, { extraPages: 0 });
    const hc = m.rootVp.ctx.hypercalls;
    const kid = child.partition.id;
    const spare = hc.getMemoryBalance(kid).value.available;
    expect(spare).toBeGreaterThan(0);
    const rootBefore = hc.getMemoryBalance(m.root.id).value.available;
    for (let i = 0; i < spare; i++) {
      expect(hc.createPort(m.root.id, 100 + i, kid, { type: 'message', sint: 2 })).toBe(HvStatus.SUCCESS);
      expect(hc.connectPort(kid, 100 + i, m.root.id, 100 + i, 'message')).toBe(HvStatus.SUCCESS);
    }
    expect(hc.getMemoryBalance(m.root.id).value.available).toBe(rootBefore - spare);
    expect(hc.createPort(m.root.id, 5000, kid, { type: 'message', sint: 2 })).toBe(HvStatus.SUCCESS);
    expect(hc.connectPort(kid, 5000, m.root.id, 5000, 'message')).toBe(HvStatus.INSUFFICIENT_MEMORY);
    // A port owned by the child draws on the child's (empty) pool.
    expect(hc.createPort(kid, 1, m.root.id, { type: 'message', sint: 2 })).toBe(HvStatus.INSUFFICIENT_MEMORY);
  });
});
