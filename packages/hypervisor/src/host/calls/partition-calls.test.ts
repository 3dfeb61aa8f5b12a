import { describe, expect, it } from 'vitest';
import { HvPartitionProperty, HvPrivilege, ALL_PRIVILEGES, DEFAULT_CHILD_PRIVILEGES } from '../../abi/partition.ts';
import { HvStatus } from '../../abi/status.ts';
import { makeChild } from '../../testing/children.ts';
import { testMachine } from '../../testing/in-process.ts';

describe('partition life cycle (TLFS 2.0 §5)', () => {
  it('create → deposit → initialize → finalize → withdraw → delete', () => {
    const m = testMachine();
    const hc = m.rootVp.ctx.hypercalls;
    const created = hc.createPartition();
    expect(created.status).toBe(HvStatus.SUCCESS);
    const id = created.value;
    expect(id).toBeGreaterThan(m.root.id);
    expect(hc.depositMemory(id, 10)).toEqual({ status: HvStatus.SUCCESS, value: 10 });
    expect(hc.initializePartition(id)).toBe(HvStatus.SUCCESS);
    expect(hc.getMemoryBalance(id).value).toEqual({ available: 9, inUse: 1 });
    expect(hc.finalizePartition(id)).toBe(HvStatus.SUCCESS);
    expect(hc.getMemoryBalance(id).value).toEqual({ available: 10, inUse: 0 });
    expect(hc.deletePartition(id)).toBe(HvStatus.OPERATION_DENIED); // pool not empty
    expect(hc.withdrawMemory(id, 10)).toEqual({ status: HvStatus.SUCCESS, value: 10 });
    expect(hc.deletePartition(id)).toBe(HvStatus.SUCCESS);
    expect(m.core.partitions.has(id as never)).toBe(false);
  });

  it('returns INVALID_PARTITION_STATE for calls in the wrong state', () => {
    const m = testMachine();
    const hc = m.rootVp.ctx.hypercalls;
    const id = hc.createPartition().value;
    expect(hc.finalizePartition(id)).toBe(HvStatus.INVALID_PARTITION_STATE); // uninitialized
    expect(hc.createVp(id, 0)).toBe(HvStatus.INVALID_PARTITION_STATE);
    expect(hc.mapGpaPages(id, 0, 1, 7).status).toBe(HvStatus.INVALID_PARTITION_STATE);
    expect(hc.depositMemory(id, 4).status).toBe(HvStatus.SUCCESS);
    expect(hc.initializePartition(id)).toBe(HvStatus.SUCCESS);
    expect(hc.initializePartition(id)).toBe(HvStatus.INVALID_PARTITION_STATE);
    expect(hc.deletePartition(id)).toBe(HvStatus.INVALID_PARTITION_STATE); // active
    expect(hc.finalizePartition(id)).toBe(HvStatus.SUCCESS);
    expect(hc.finalizePartition(id)).toBe(HvStatus.INVALID_PARTITION_STATE);
    expect(hc.depositMemory(id, 1).status).toBe(HvStatus.INVALID_PARTITION_STATE);
    expect(hc.setPartitionProperty(id, HvPartitionProperty.GpaSpacePages, 16n)).toBe(HvStatus.INVALID_PARTITION_STATE);
  });

  it('initialize without memory in the pool gets INSUFFICIENT_MEMORY; create beyond the budget too', () => {
    const m = testMachine(300, 256);
    const hc = m.rootVp.ctx.hypercalls;
    const id = hc.createPartition().value;
    expect(hc.initializePartition(id)).toBe(HvStatus.INSUFFICIENT_MEMORY);
    const left = hc.getMemoryBalance(m.root.id).value.available;
    expect(hc.depositMemory(id, left + 5)).toEqual({ status: HvStatus.INSUFFICIENT_MEMORY, value: left });
    expect(hc.createPartition().status).toBe(HvStatus.INSUFFICIENT_MEMORY);
  });

  it('enforces the nesting depth with PARTITION_TOO_DEEP', () => {
    const m = testMachine(65_536, 256, 2); // root (depth 1) + one level
    const child = makeChild(m, { privileges: HvPrivilege.CreatePartitions | HvPrivilege.AccessMemoryPool });
    expect(child.vp.ctx.hypercalls.createPartition().status).toBe(HvStatus.PARTITION_TOO_DEEP);
    const deeper = testMachine(65_536, 256, 3);
    const child3 = makeChild(deeper, { privileges: HvPrivilege.CreatePartitions | HvPrivilege.AccessMemoryPool });
    expect(child3.vp.ctx.hypercalls.createPartition().status).toBe(HvStatus.SUCCESS);
  });

  it('finalize of a partition with children is OPERATION_DENIED', () => {
    const m = testMachine();
    const child = makeChild(m, { privileges: HvPrivilege.CreatePartitions | HvPrivilege.AccessMemoryPool, extraPages: 4 });
    expect(child.vp.ctx.hypercalls.createPartition().status).toBe(HvStatus.SUCCESS);
    expect(m.rootVp.ctx.hypercalls.finalizePartition(child.partition.id)).toBe(HvStatus.OPERATION_DENIED);
  });

  it('gets and sets properties; privileges cannot exceed the parent’s', () => {
    const m = testMachine();
    const hc = m.rootVp.ctx.hypercalls;
    const id = hc.createPartition().value;
    expect(hc.getPartitionProperty(id, HvPartitionProperty.PrivilegeFlags)).toEqual({ status: HvStatus.SUCCESS, value: DEFAULT_CHILD_PRIVILEGES });
    expect(hc.getPartitionProperty(m.root.id, HvPartitionProperty.PrivilegeFlags).value).toBe(ALL_PRIVILEGES);
    expect(hc.setPartitionProperty(id, HvPartitionProperty.CpuWeight, 200n)).toBe(HvStatus.SUCCESS);
    expect(hc.getPartitionProperty(id, HvPartitionProperty.CpuWeight).value).toBe(200n);
    expect(hc.setPartitionProperty(id, HvPartitionProperty.CpuWeight, 0n)).toBe(HvStatus.PROPERTY_VALUE_OUT_OF_RANGE);
    expect(hc.setPartitionProperty(id, HvPartitionProperty.CpuCap, 0x20000n)).toBe(HvStatus.PROPERTY_VALUE_OUT_OF_RANGE);
    expect(hc.setPartitionProperty(id, HvPartitionProperty.VpHeapLimitMb, 1n)).toBe(HvStatus.PROPERTY_VALUE_OUT_OF_RANGE);
    expect(hc.setPartitionProperty(id, HvPartitionProperty.GpaSpacePages, 0n)).toBe(HvStatus.PROPERTY_VALUE_OUT_OF_RANGE);
    expect(hc.setPartitionProperty(id, 0x1234, 1n)).toBe(HvStatus.UNKNOWN_PROPERTY);
    expect(hc.getPartitionProperty(id, 0x1234).status).toBe(HvStatus.UNKNOWN_PROPERTY);
    expect(hc.setPartitionProperty(m.root.id, HvPartitionProperty.PrivilegeFlags, 0n)).toBe(HvStatus.PROPERTY_VALUE_OUT_OF_RANGE);
    // A child with CreatePartitions cannot grant its own child CreatePort, which it lacks.
    const child = makeChild(m, { privileges: HvPrivilege.CreatePartitions | HvPrivilege.AccessMemoryPool, extraPages: 4 });
    const grand = child.vp.ctx.hypercalls.createPartition().value;
    expect(child.vp.ctx.hypercalls.setPartitionProperty(grand, HvPartitionProperty.PrivilegeFlags, HvPrivilege.CreatePort)).toBe(HvStatus.PROPERTY_VALUE_OUT_OF_RANGE);
  });

  it('GetPartitionId and GetNextChildPartition enumerate in creation order', () => {
    const m = testMachine();
    const hc = m.rootVp.ctx.hypercalls;
    expect(hc.getPartitionId()).toEqual({ status: HvStatus.SUCCESS, value: m.root.id });
    const a = hc.createPartition().value;
    const b = hc.createPartition().value;
    expect(hc.getNextChildPartition(m.root.id, 0n).value).toBe(a);
    expect(hc.getNextChildPartition(m.root.id, a).value).toBe(b);
    expect(hc.getNextChildPartition(m.root.id, b)).toEqual({ status: HvStatus.SUCCESS, value: 0n });
    expect(hc.getNextChildPartition(m.root.id, 999n).status).toBe(HvStatus.INVALID_PARTITION_ID);
    expect(hc.getNextChildPartition(a, 0n).status).toBe(HvStatus.ACCESS_DENIED);
  });

  it('an unknown partition id gets INVALID_PARTITION_ID for a privileged caller', () => {
    const hc = testMachine().rootVp.ctx.hypercalls;
    expect(hc.initializePartition(12345n)).toBe(HvStatus.INVALID_PARTITION_ID);
    expect(hc.deletePartition(12345n)).toBe(HvStatus.INVALID_PARTITION_ID);
  });
});
