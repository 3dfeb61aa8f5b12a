/**
 * Partition life-cycle and property hypercalls (TLFS 2.0 §5.5-5.6; hyperv-tlfs.md §1):
 * CreatePartition, Initialize/Finalize/DeletePartition, Get/SetPartitionProperty, GetPartitionId,
 * GetNextChildPartition. Privileges are checked by the dispatcher; targets and states here.
 */
import { CreatePartitionInput, GetPropertyInput, NextChildInput, PartitionIdInput, SetPropertyInput } from '../../abi/inputs.ts';
import { HvPartitionProperty, HvPrivilege } from '../../abi/partition.ts';
import { HvStatus } from '../../abi/status.ts';
import { resolveTarget, type CallContext, type CallOutcome } from '../call-context.ts';
import { HvCosts } from '../memory-pool.ts';
import type { Partition } from '../partition.ts';

/** Largest GPA space a partition may ask for, in pages (64 GiB of address space). */
export const MAX_GPA_SPACE_PAGES = 16 * 1024 * 1024;
/** VP heap limit bounds, MiB. */
export const VP_HEAP_LIMIT_MB = Object.freeze({ MIN: 8, MAX: 4096 });

export function createPartition(ctx: CallContext): CallOutcome {
  const { caller, core, input, output } = ctx;
  if (input.u64(CreatePartitionInput.FLAGS) !== 0n) return HvStatus.INVALID_PARAMETER;
  if (caller.depth + 1 > core.limits.maxNestingDepth) return HvStatus.PARTITION_TOO_DEEP;
  if (!caller.pool.draw(HvCosts.PARTITION_RECORD)) return HvStatus.INSUFFICIENT_MEMORY;
  const child = core.createRecord(caller);
  output.u64(0, child.id);
  return HvStatus.SUCCESS;
}

export function initializePartition(ctx: CallContext): CallOutcome {
  const target = resolveTarget(ctx, ctx.input.partition(PartitionIdInput.PARTITION), 'child');
  if (typeof target === 'number') return target;
  if (target.state.kind !== 'uninitialized') return HvStatus.INVALID_PARTITION_STATE;
  return ctx.core.initialize(target) ? HvStatus.SUCCESS : HvStatus.INSUFFICIENT_MEMORY;
}

export function finalizePartition(ctx: CallContext): CallOutcome {
  const target = resolveTarget(ctx, ctx.input.partition(PartitionIdInput.PARTITION), 'child');
  if (typeof target === 'number') return target;
  if (target.state.kind !== 'active') return HvStatus.INVALID_PARTITION_STATE;
  if (target.children.size > 0) return HvStatus.OPERATION_DENIED;
  ctx.core.finalize(target, undefined);
  return HvStatus.SUCCESS;
}

export function deletePartition(ctx: CallContext): CallOutcome {
  const target = resolveTarget(ctx, ctx.input.partition(PartitionIdInput.PARTITION), 'child');
  if (typeof target === 'number') return target;
  if (target.state.kind === 'active') return HvStatus.INVALID_PARTITION_STATE;
  if (target.pool.available + target.pool.inUse > 0 || target.children.size > 0) return HvStatus.OPERATION_DENIED;
  ctx.core.deleteRecord(target);
  return HvStatus.SUCCESS;
}

export function getPartitionProperty(ctx: CallContext): CallOutcome {
  const target = resolveTarget(ctx, ctx.input.partition(GetPropertyInput.PARTITION), 'child-or-self');
  if (typeof target === 'number') return target;
  const value = readProperty(target, ctx.input.u32(GetPropertyInput.CODE));
  if (value === undefined) return HvStatus.UNKNOWN_PROPERTY;
  ctx.output.u64(0, value);
  return HvStatus.SUCCESS;
}

export function setPartitionProperty(ctx: CallContext): CallOutcome {
  const { input, caller } = ctx;
  const target = resolveTarget(ctx, input.partition(SetPropertyInput.PARTITION), 'child-or-self');
  if (typeof target === 'number') return target;
  // Only the root may set its own properties (TLFS "P or R-self").
  if (target === caller && caller.parent !== undefined) return HvStatus.ACCESS_DENIED;
  const code = input.u32(SetPropertyInput.CODE);
  const value = input.u64(SetPropertyInput.VALUE);
  const p = target.properties;
  switch (code) {
    case HvPartitionProperty.PrivilegeFlags:
      // A parent cannot grant what it does not hold; the root's own mask is fixed.
      if (target === caller || (value & ~caller.properties.privileges) !== 0n) return HvStatus.PROPERTY_VALUE_OUT_OF_RANGE;
      p.privileges = value;
      return HvStatus.SUCCESS;
    case HvPartitionProperty.CpuReserve:
    case HvPartitionProperty.CpuCap:
      if (value > 0x10000n) return HvStatus.PROPERTY_VALUE_OUT_OF_RANGE;
      if (code === HvPartitionProperty.CpuReserve) p.cpuReserve = Number(value);
      else p.cpuCap = Number(value);
      return p.cpuReserve <= p.cpuCap ? HvStatus.SUCCESS : HvStatus.PROPERTY_VALUE_OUT_OF_RANGE;
    case HvPartitionProperty.CpuWeight:
      if (value < 1n || value > 10000n) return HvStatus.PROPERTY_VALUE_OUT_OF_RANGE;
      p.cpuWeight = Number(value);
      return HvStatus.SUCCESS;
    case HvPartitionProperty.GpaSpacePages:
      if (target.state.kind !== 'uninitialized') return HvStatus.INVALID_PARTITION_STATE;
      if (value < 1n || value > BigInt(MAX_GPA_SPACE_PAGES)) return HvStatus.PROPERTY_VALUE_OUT_OF_RANGE;
      p.gpaSpacePages = Number(value);
      return HvStatus.SUCCESS;
    case HvPartitionProperty.VpHeapLimitMb:
      if (target.state.kind !== 'uninitialized') return HvStatus.INVALID_PARTITION_STATE;
      if (value < BigInt(VP_HEAP_LIMIT_MB.MIN) || value > BigInt(VP_HEAP_LIMIT_MB.MAX)) return HvStatus.PROPERTY_VALUE_OUT_OF_RANGE;
      p.vpHeapLimitMb = Number(value);
      return HvStatus.SUCCESS;
    default:
      return HvStatus.UNKNOWN_PROPERTY;
  }
}

export function getPartitionId(ctx: CallContext): CallOutcome {
  ctx.output.u64(0, ctx.caller.id);
  return HvStatus.SUCCESS;
}

export function getNextChildPartition(ctx: CallContext): CallOutcome {
  const { input, caller, output } = ctx;
  const parent = input.partition(NextChildInput.PARENT);
  if (parent !== caller.id && parent !== 0xffff_ffff_ffff_ffffn) return HvStatus.ACCESS_DENIED;
  const previous = input.u64(NextChildInput.PREVIOUS);
  const ids = [...caller.children.keys()];
  const at = previous === 0n ? -1 : ids.indexOf(previous as (typeof ids)[number]);
  if (previous !== 0n && at < 0) return HvStatus.INVALID_PARTITION_ID;
  output.u64(0, ids[at + 1] ?? 0n);
  return HvStatus.SUCCESS;
}

function readProperty(target: Partition, code: number): bigint | undefined {
  const p = target.properties;
  switch (code) {
    case HvPartitionProperty.PrivilegeFlags:
      return p.privileges;
    case HvPartitionProperty.CpuReserve:
      return BigInt(p.cpuReserve);
    case HvPartitionProperty.CpuCap:
      return BigInt(p.cpuCap);
    case HvPartitionProperty.CpuWeight:
      return BigInt(p.cpuWeight);
    case HvPartitionProperty.GpaSpacePages:
      return BigInt(p.gpaSpacePages);
    case HvPartitionProperty.VpHeapLimitMb:
      return BigInt(p.vpHeapLimitMb);
    default:
      return undefined;
  }
}

/** Privilege the partition calls need (beyond the target rules). */
export const PARTITION_CALL_PRIVILEGE = HvPrivilege.CreatePartitions;
