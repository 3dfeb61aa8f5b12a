/**
 * Privilege and isolation (ARCHITECTURE.md "Isolation" 1 and 5): a child without privileges gets
 * ACCESS_DENIED for every parent-only call, whichever partition it names; it can post and signal
 * only through its own connections; and no call hands it another partition's memory.
 */
import { describe, expect, it } from 'vitest';
import { CALL_SHAPES, HvCallCode } from '../abi/call-codes.ts';
import { directEventCellBytes } from '../abi/direct-events.ts';
import { PARTITION_ID_SELF } from '../abi/ids.ts';
import { HvPartitionProperty, HvPrivilege } from '../abi/partition.ts';
import { HvRegister } from '../abi/registers.ts';
import { HvStatus } from '../abi/status.ts';
import { PAGE_SIZE, VpPageLayout } from '../abi/vp-page.ts';
import { enableSynic, makeChild } from '../testing/children.ts';
import { testMachine } from '../testing/in-process.ts';

describe('privileges and isolation', () => {
  it('a child without privileges is denied every privileged call, naming any partition', () => {
    const m = testMachine();
    const a = makeChild(m, { privileges: 0n });
    const b = makeChild(m, { privileges: 0n });
    const hc = a.vp.ctx.hypercalls;
    const targets = [m.root.id, b.partition.id, a.partition.id, PARTITION_ID_SELF as bigint, 999n];
    expect(hc.createPartition().status).toBe(HvStatus.ACCESS_DENIED);
    expect(hc.getPartitionId().status).toBe(HvStatus.ACCESS_DENIED);
    for (const t of targets) {
      expect(hc.initializePartition(t)).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.finalizePartition(t)).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.deletePartition(t)).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.setPartitionProperty(t, HvPartitionProperty.PrivilegeFlags, -1n & 0xffff_ffff_ffff_ffffn)).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.depositMemory(t, 1).status).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.withdrawMemory(t, 1).status).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.getMemoryBalance(t).status).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.mapGpaPages(t, 0, 1, 7).status).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.unmapGpaPages(t, 0, 1).status).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.installIntercept(t, 0, 1, 0x60n)).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.createVp(t, 5)).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.deleteVp(t, 0)).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.setVpRegisters(t, 0, [{ name: HvRegister.ExplicitSuspend, value: 1n }]).status).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.createPort(t, 1, a.partition.id, { type: 'message', sint: 2 })).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.deletePort(t, 1)).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.connectPort(t, 1, m.root.id, 1, 'message')).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.disconnectPort(t, 1)).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.getNextChildPartition(t, 0n).status).toBe(HvStatus.ACCESS_DENIED);
    }
    // Reading another partition's properties or registers is denied even without a privilege gate.
    for (const t of [m.root.id, b.partition.id, 999n]) {
      expect(hc.getPartitionProperty(t, HvPartitionProperty.PrivilegeFlags).status).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.getVpRegisters(t, 0, [HvRegister.Simp]).status).toBe(HvStatus.ACCESS_DENIED);
    }
    expect(hc.postMessage(1, 1, new Uint8Array(1))).toBe(HvStatus.ACCESS_DENIED); // no PostMessages
    expect(hc.signalEvent(1, 0)).toBe(HvStatus.ACCESS_DENIED); // no SignalEvents
  });

  it('a child with CreatePartitions still cannot touch a sibling or the root', () => {
    const m = testMachine();
    const a = makeChild(m, { privileges: HvPrivilege.CreatePartitions | HvPrivilege.AccessMemoryPool });
    const b = makeChild(m);
    const hc = a.vp.ctx.hypercalls;
    for (const t of [m.root.id, b.partition.id]) {
      expect(hc.mapGpaPages(t, 0, 1, 7).status).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.unmapGpaPages(t, 0, 1).status).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.finalizePartition(t)).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.depositMemory(t, 1).status).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.withdrawMemory(t, 1).status).toBe(HvStatus.ACCESS_DENIED);
      expect(hc.setVpRegisters(t, 0, [{ name: HvRegister.ExplicitSuspend, value: 1n }]).status).toBe(HvStatus.ACCESS_DENIED);
    }
    expect(hc.mapGpaPages(999n, 0, 1, 7).status).toBe(HvStatus.INVALID_PARTITION_ID);
  });

  it('a child can post and signal only through connections made for it', () => {
    const m = testMachine();
    enableSynic(m.rootVp);
    const a = makeChild(m);
    const b = makeChild(m);
    const hc = m.rootVp.ctx.hypercalls;
    expect(hc.createPort(m.root.id, 10, a.partition.id, { type: 'message', sint: 2 })).toBe(HvStatus.SUCCESS);
    expect(hc.createPort(m.root.id, 11, a.partition.id, { type: 'event', sint: 3, flagCount: 1 })).toBe(HvStatus.SUCCESS);
    expect(hc.connectPort(a.partition.id, 1, m.root.id, 10, 'message')).toBe(HvStatus.SUCCESS);
    expect(hc.connectPort(a.partition.id, 2, m.root.id, 11, 'event')).toBe(HvStatus.SUCCESS);
    // B uses A's connection ids: they are not B's.
    expect(b.vp.ctx.hypercalls.postMessage(1, 1, new Uint8Array(1))).toBe(HvStatus.INVALID_CONNECTION_ID);
    expect(b.vp.ctx.hypercalls.signalEvent(2, 0)).toBe(HvStatus.INVALID_CONNECTION_ID);
    // The root cannot connect B to ports made for A.
    expect(hc.connectPort(b.partition.id, 1, m.root.id, 10, 'message')).toBe(HvStatus.ACCESS_DENIED);
    expect(a.vp.ctx.hypercalls.postMessage(1, 1, new Uint8Array(1))).toBe(HvStatus.SUCCESS);
  });

  it('hypervisor mail never hands a child memory: only signal cells of its own connections and cells that target it', () => {
    const m = testMachine();
    enableSynic(m.rootVp);
    const a = makeChild(m);
    const b = makeChild(m);
    enableSynic(a.vp);
    const hc = m.rootVp.ctx.hypercalls;
    // The root listens directly on an event port for A; A listens directly on one for the root.
    expect(m.rootVp.ctx.hypercalls.enableDirectEvents(true)).toBe(HvStatus.SUCCESS);
    expect(a.vp.ctx.hypercalls.enableDirectEvents(true)).toBe(HvStatus.SUCCESS);
    expect(hc.createPort(m.root.id, 11, a.partition.id, { type: 'event', sint: 3, vp: 0, flagCount: 1 })).toBe(HvStatus.SUCCESS);
    expect(hc.connectPort(a.partition.id, 2, m.root.id, 11, 'event')).toBe(HvStatus.SUCCESS);
    expect(hc.createPort(a.partition.id, 5, m.root.id, { type: 'event', sint: 2, vp: 0, flagCount: 2048 })).toBe(HvStatus.SUCCESS);
    expect(hc.connectPort(m.root.id, 7, a.partition.id, 5, 'event')).toBe(HvStatus.SUCCESS);
    expect(m.rootVp.ctx.hypercalls.signalEvent(7, 3)).toBe(HvStatus.SUCCESS); // makes A's cell
    const mailed: unknown[] = [];
    for (const child of [a, b]) {
      const inner = child.vp.vp.mailbox!;
      child.vp.vp.mailbox = (message) => {
        mailed.push(message);
        inner(message);
      };
    }
    for (const child of [a, b]) {
      const c = child.vp.ctx.hypercalls;
      for (let id = 0; id < 8; id++) c.getSignalCell(id);
      c.getDirectEventCells();
      for (const target of [m.root.id, a.partition.id, b.partition.id]) c.getChildMemory(target);
    }
    const memories = [m.root, a.partition, b.partition].map((p) => p.memory!.buffer);
    const buffers = mailed.flatMap((body) => Object.values(body as object).flatMap((v) => (Array.isArray(v) ? v.flatMap((x) => Object.values(x as object)) : [v]))).filter((v) => v instanceof SharedArrayBuffer);
    expect(buffers.length).toBe(2); // A's signal cell for connection 2, and the cell of A's own port 5
    for (const buffer of buffers) {
      expect(memories).not.toContain(buffer);
      expect(buffer.byteLength).toBeLessThanOrEqual(directEventCellBytes(2048));
    }
  });

  it('no call returns memory: outputs are ids, counts and register values, and the VP page stays the VP’s own', () => {
    const m = testMachine();
    const a = makeChild(m);
    // The child's VP page and memory are the only buffers in its context.
    const ctx = a.vp.ctx;
    expect(ctx.memory).toBe(a.partition.memory!.buffer);
    expect(ctx.exits.page).toBe(a.vp.vp.page);
    for (const [code, shape] of Object.entries(CALL_SHAPES)) {
      // The largest output of any call is a page of 16-byte register values or u64s: never a buffer.
      expect(shape.output + shape.outputElement * 255, `0x${Number(code).toString(16)}`).toBeLessThanOrEqual(PAGE_SIZE);
    }
    expect(HvCallCode.MapGpaPages).toBe(0x4b);
    expect(VpPageLayout.SIZE).toBe(3 * PAGE_SIZE);
  });
});
