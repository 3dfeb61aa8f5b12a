/**
 * ViridianGetChildMemory (a Viridian extension, call code 0x8001): hands a child's guest memory
 * buffer to the calling VP of its parent. Hyper-V's root holds its children's memory (it deposited
 * the pages and maps them through its own address space); in one process that means the parent's
 * VP worker must be given the buffer. Only a parent holding CreatePartitions may ask, only for its
 * own Active child, and the buffer goes to the asking VP's worker alone (ARCHITECTURE.md
 * "Isolation" 1-2): a child never receives another partition's memory through this call.
 */
import { PartitionIdInput } from '../../abi/inputs.ts';
import { HvStatus } from '../../abi/status.ts';
import { CHILD_MEMORY_MESSAGE } from '../../guest/boot-data.ts';
import { resolveTarget, type CallContext, type CallOutcome } from '../call-context.ts';

export function getChildMemory(ctx: CallContext): CallOutcome {
  const target = resolveTarget(ctx, ctx.input.partition(PartitionIdInput.PARTITION), 'child');
  if (typeof target === 'number') return target;
  const memory = target.memory;
  if (memory === undefined) return HvStatus.INVALID_PARTITION_STATE;
  const delivered = ctx.vp.mail({ kind: CHILD_MEMORY_MESSAGE, partitionId: String(target.id), memory: memory.buffer });
  return delivered ? HvStatus.SUCCESS : HvStatus.INVALID_VP_STATE;
}
