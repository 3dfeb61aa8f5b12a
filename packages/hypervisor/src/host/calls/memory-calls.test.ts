import { describe, expect, it } from 'vitest';
import { HvStatus } from '../../abi/status.ts';
import { testMachine } from '../../testing/in-process.ts';

function activeChild(deposit: number) {
  const m = testMachine();
  const hc = m.rootVp.ctx.hypercalls;
  const id = hc.createPartition().value;
  hc.depositMemory(id, deposit);
  hc.initializePartition(id);
  return { m, hc, id, partition: m.core.partitions.get(id as never)! };
}

describe('memory hypercalls (TLFS 2.0 §7-8)', () => {
  it('maps pages from the pool, growing guest memory (hot-add), and unmaps them back', () => {
    const { hc, id, partition } = activeChild(5000);
    expect(hc.mapGpaPages(id, 0, 16, 7)).toEqual({ status: HvStatus.SUCCESS, value: 16 });
    expect(partition.memory!.buffer.byteLength).toBe(16 * 4096);
    expect(partition.memory!.buffer.growable).toBe(true);
    // Hot-add past the end, more than one 4095-rep chunk.
    expect(hc.mapGpaPages(id, 100, 4500, 3)).toEqual({ status: HvStatus.SUCCESS, value: 4500 });
    expect(partition.memory!.buffer.byteLength).toBe(4600 * 4096);
    expect(hc.getMemoryBalance(id).value.inUse).toBe(1 + 16 + 4500);
    // Remapping changes rights only: no new pages.
    expect(hc.mapGpaPages(id, 0, 16, 1).status).toBe(HvStatus.SUCCESS);
    expect(partition.memory!.rightsOf(3)).toBe(1);
    expect(hc.getMemoryBalance(id).value.inUse).toBe(1 + 16 + 4500);
    new Uint8Array(partition.memory!.buffer)[5] = 42;
    expect(hc.unmapGpaPages(id, 0, 16)).toEqual({ status: HvStatus.SUCCESS, value: 16 });
    expect(new Uint8Array(partition.memory!.buffer)[5]).toBe(0); // zeroed
    expect(hc.getMemoryBalance(id).value.inUse).toBe(1 + 4500);
  });

  it('asking beyond the pool gets INSUFFICIENT_MEMORY with the reps completed', () => {
    const { hc, id } = activeChild(11);
    expect(hc.mapGpaPages(id, 0, 20, 7)).toEqual({ status: HvStatus.INSUFFICIENT_MEMORY, value: 10 });
    expect(hc.withdrawMemory(id, 5)).toEqual({ status: HvStatus.INSUFFICIENT_MEMORY, value: 0 });
  });

  it('rejects illegal rights and pages beyond the GPA space with INVALID_PARAMETER', () => {
    const { hc, id } = activeChild(100);
    for (const flags of [0x2, 0x4, 0x6, 0x8, 0xffffffff]) expect(hc.mapGpaPages(id, 0, 1, flags).status).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.mapGpaPages(id, 262_143, 2, 7).status).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.mapGpaPages(id, 2 ** 52, 1, 7).status).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.unmapGpaPages(id, 262_144, 1).status).toBe(HvStatus.INVALID_PARAMETER);
  });

  it('the root may only change rights on its own pages', () => {
    const m = testMachine();
    const hc = m.rootVp.ctx.hypercalls;
    expect(hc.mapGpaPages(m.root.id, 0, 4, 3).status).toBe(HvStatus.SUCCESS);
    expect(hc.mapGpaPages(m.root.id, 300, 1, 7)).toEqual({ status: HvStatus.ACCESS_DENIED, value: 0 });
    expect(hc.unmapGpaPages(m.root.id, 0, 1).status).toBe(HvStatus.ACCESS_DENIED);
  });

  it('rep continuation: a rep start index resumes where the reps completed left off', () => {
    const { hc, id } = activeChild(100);
    hc.input.setBigUint64(0, id, true);
    hc.input.setBigUint64(8, 0n, true);
    hc.input.setBigUint64(16, 7n, true);
    expect(hc.call(0x4b, { repCount: 10, repStart: 6 })).toEqual({ status: HvStatus.SUCCESS, repsCompleted: 10 });
    expect(hc.getMemoryBalance(id).value.inUse).toBe(1 + 4);
  });

  it('deposit into a partition the caller does not parent is refused', () => {
    const { m, hc, id } = activeChild(10);
    void m;
    expect(hc.depositMemory(id + 100n, 1).status).toBe(HvStatus.INVALID_PARTITION_ID);
  });
});
