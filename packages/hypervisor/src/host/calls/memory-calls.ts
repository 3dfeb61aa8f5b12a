/**
 * Memory hypercalls (TLFS 2.0 §7-8; hyperv-tlfs.md §3): DepositMemory, WithdrawMemory,
 * GetMemoryBalance, MapGpaPages, UnmapGpaPages. See `call-codes.ts` for why Deposit, Withdraw and
 * MapGpaPages are rep calls without an element list in Viridian: rep `i` is one page.
 */
import { DepositInput, MapGpaInput, MemoryBalanceOutput, UnmapGpaInput, WithdrawInput } from '../../abi/inputs.ts';
import { LEGAL_MAP_FLAGS } from '../../abi/partition.ts';
import { HvStatus } from '../../abi/status.ts';
import { resolveTarget, type CallContext, type CallOutcome } from '../call-context.ts';

export function depositMemory(ctx: CallContext): CallOutcome {
  const { caller, repStart, repCount } = ctx;
  const target = resolveTarget(ctx, ctx.input.partition(DepositInput.PARTITION), 'child-or-self');
  if (typeof target === 'number') return { status: target, reps: repStart };
  if (target.state.kind === 'finalized') return { status: HvStatus.INVALID_PARTITION_STATE, reps: repStart };
  const want = repCount - repStart;
  const moved = target === caller ? Math.min(want, caller.pool.available) : caller.pool.moveTo(target.pool, want);
  return { status: moved === want ? HvStatus.SUCCESS : HvStatus.INSUFFICIENT_MEMORY, reps: repStart + moved };
}

export function withdrawMemory(ctx: CallContext): CallOutcome {
  const { caller, repStart, repCount } = ctx;
  const target = resolveTarget(ctx, ctx.input.partition(WithdrawInput.PARTITION), 'child-or-self');
  if (typeof target === 'number') return { status: target, reps: repStart };
  const want = repCount - repStart;
  const moved = target === caller ? Math.min(want, caller.pool.available) : target.pool.moveTo(caller.pool, want);
  return { status: moved === want ? HvStatus.SUCCESS : HvStatus.INSUFFICIENT_MEMORY, reps: repStart + moved };
}

export function getMemoryBalance(ctx: CallContext): CallOutcome {
  const target = resolveTarget(ctx, ctx.input.partition(DepositInput.PARTITION), 'child-or-self');
  if (typeof target === 'number') return target;
  ctx.output.u64(MemoryBalanceOutput.AVAILABLE, BigInt(target.pool.available));
  ctx.output.u64(MemoryBalanceOutput.IN_USE, BigInt(target.pool.inUse));
  return HvStatus.SUCCESS;
}

export function mapGpaPages(ctx: CallContext): CallOutcome {
  const { input, caller, repStart, repCount } = ctx;
  const target = resolveTarget(ctx, input.partition(MapGpaInput.PARTITION), 'child-or-self');
  if (typeof target === 'number') return { status: target, reps: repStart };
  const memory = target.memory;
  if (!memory) return { status: HvStatus.INVALID_PARTITION_STATE, reps: repStart };
  const flags = input.u32(MapGpaInput.FLAGS);
  if (!LEGAL_MAP_FLAGS.has(flags)) return { status: HvStatus.INVALID_PARAMETER, reps: repStart };
  const base = input.u64n(MapGpaInput.TARGET_GPFN);
  if (base + repCount > memory.spacePages) return { status: HvStatus.INVALID_PARAMETER, reps: repStart };
  const first = base + repStart;
  const count = repCount - repStart;
  if (target === caller) {
    // The root may only change the rights of pages it already has (TLFS 2.0 §22.4).
    for (let i = 0; i < count; i++) if (!memory.isMapped(first + i)) return { status: HvStatus.ACCESS_DENIED, reps: repStart + i };
  }
  const result = memory.mapUnchecked(first, count, flags, target.pool);
  return { status: result.shortOfMemory ? HvStatus.INSUFFICIENT_MEMORY : HvStatus.SUCCESS, reps: repStart + result.done };
}

export function unmapGpaPages(ctx: CallContext): CallOutcome {
  const { input, repStart, repCount } = ctx;
  const target = resolveTarget(ctx, input.partition(UnmapGpaInput.PARTITION), 'child');
  if (typeof target === 'number') return { status: target, reps: repStart };
  const memory = target.memory;
  if (!memory) return { status: HvStatus.INVALID_PARTITION_STATE, reps: repStart };
  const base = input.u64n(UnmapGpaInput.TARGET_GPFN);
  if (base + repCount > memory.spacePages) return { status: HvStatus.INVALID_PARAMETER, reps: repStart };
  memory.unmapUnchecked(base + repStart, repCount - repStart, target.pool);
  return { status: HvStatus.SUCCESS, reps: repCount };
}
