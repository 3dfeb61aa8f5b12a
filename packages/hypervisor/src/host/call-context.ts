/**
 * What a hypercall handler is given: the caller, the copied and bounds-checked input, an output
 * buffer, and the rep window; plus the shared target-resolution rules (TLFS 2.0 §4.11.2, §5).
 *
 * Input bytes are a private copy (STYLE.md rule 13): the dispatcher copied them out of the VP's
 * input page once, and the reader cannot run past what the call's shape declared, so a handler
 * never touches shared memory for its inputs.
 */
import { PARTITION_ID_SELF, type PartitionId } from '../abi/ids.ts';
import { HvPrivilege } from '../abi/partition.ts';
import { HvStatus } from '../abi/status.ts';
import type { HypervisorCore } from './core.ts';
import type { Partition } from './partition.ts';
import type { Vp } from './vp.ts';

/** Little-endian reads over the private input copy. Offsets are the call's own layout constants. */
export class InputReader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8(offset: number): number {
    return this.view.getUint8(offset);
  }
  u16(offset: number): number {
    return this.view.getUint16(offset, true);
  }
  u32(offset: number): number {
    return this.view.getUint32(offset, true);
  }
  u64(offset: number): bigint {
    return this.view.getBigUint64(offset, true);
  }
  /** A u64 that must fit a JavaScript number; larger values come back as Infinity (always invalid). */
  u64n(offset: number): number {
    const hi = this.view.getUint32(offset + 4, true);
    return hi >= 0x20_0000 ? Infinity : hi * 0x1_0000_0000 + this.view.getUint32(offset, true);
  }
  partition(offset: number): PartitionId {
    return this.u64(offset) as PartitionId;
  }
}

/** Little-endian writes into the output scratch. */
export class OutputWriter {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u32(offset: number, value: number): void {
    this.view.setUint32(offset, value, true);
  }
  u64(offset: number, value: bigint): void {
    this.view.setBigUint64(offset, value, true);
  }
}

/** A handler's view of one call. */
export interface CallContext {
  readonly core: HypervisorCore;
  readonly caller: Partition;
  readonly vp: Vp;
  readonly input: InputReader;
  readonly output: OutputWriter;
  readonly repStart: number;
  readonly repCount: number;
}

/** A handler's result: a status, with reps completed for rep calls. */
export type CallOutcome = number | { readonly status: number; readonly reps: number };

/** Who may name a partition as a call's target. */
export type TargetRule = 'child' | 'child-or-self';

/**
 * Resolves the partition a call targets, or the status to fail with. `child`: only the caller's own
 * children; `child-or-self`: also the caller itself (or HV_PARTITION_ID_SELF). Anything else is
 * ACCESS_DENIED for a caller without CreatePartitions (it must not learn which ids exist), and
 * INVALID_PARTITION_ID / ACCESS_DENIED (unknown / someone else's) for a caller with it.
 */
export function resolveTarget(ctx: CallContext, id: PartitionId, rule: TargetRule): Partition | number {
  const { caller, core } = ctx;
  if (id === PARTITION_ID_SELF || id === caller.id) return rule === 'child-or-self' ? caller : HvStatus.ACCESS_DENIED;
  const child = caller.children.get(id);
  if (child) return child;
  if (!caller.has(HvPrivilege.CreatePartitions)) return HvStatus.ACCESS_DENIED;
  return core.partitions.has(id) ? HvStatus.ACCESS_DENIED : HvStatus.INVALID_PARTITION_ID;
}
