/**
 * The parent-side library over the partition hypercalls: create and start a child in a few lines
 * (TLFS 2.0 §5.4: CreatePartition, set properties, DepositMemory, InitializePartition, MapGpaPages,
 * CreateVp, SetVpRegisters, resume), suspend and resume its VPs, and tear it down (Finalize,
 * Withdraw, Delete). Plus decoders for the hypervisor's messages to a parent on SINT0 (a child's
 * intercepted I/O access, a child's crash).
 *
 * These helpers throw `HypercallFailedError` on a failing status: creating a child is a management
 * operation where any failure aborts the whole sequence (and what was created is torn down).
 */
import { CrashMessage, IoInterceptMessage } from '../abi/inputs.ts';
import { HvMapGpaFlags, HvPartitionProperty, HvPrivilege } from '../abi/partition.ts';
import { HvRegister } from '../abi/registers.ts';
import { HvStatus } from '../abi/status.ts';
import { HvMessageType } from '../abi/synic.ts';
import { PAGE_SIZE } from '../abi/vp-page.ts';
import { HvCosts } from '../abi/costs.ts';
import { HypercallFailedError } from '../errors.ts';
import type { HypercallClient } from './hypercall-client.ts';
import type { HvMessage } from './synic-client.ts';

/** Privileges a child gets by default from `createChildPartition`: IPC and its own id. */
export const DEFAULT_CHILD_GRANTS = HvPrivilege.PostMessages | HvPrivilege.SignalEvents | HvPrivilege.AccessPartitionId;
/** MSR privileges every new partition has (TLFS default). */
const MSR_BITS = 0xffff_ffffn;

/** Options for a new child. */
export interface ChildPartitionOptions {
  /** Guest memory in bytes (a multiple of 4096), mapped RWX from GPA 0. */
  readonly memoryBytes: number;
  /** The VPs' entry module (file URL or absolute path). */
  readonly entry: URL | string;
  /** Entry arguments (JSON-serializable). */
  readonly args?: unknown;
  /** VP count (default 1). */
  readonly vpCount?: number;
  /** Hypercall privileges to grant (default `DEFAULT_CHILD_GRANTS`). */
  readonly privileges?: bigint;
  /** Each VP worker's heap limit, MiB. */
  readonly heapLimitMb?: number;
  /** Extra pool pages for ports and connections the child or its parent will create (default 16). */
  readonly extraPages?: number;
  /** Create VPs and set their registers but leave them suspended (default false: start now). */
  readonly suspended?: boolean;
}

/** A child partition as its parent sees it. */
export class ChildPartition {
  constructor(
    private readonly hc: HypercallClient,
    readonly id: bigint,
    readonly vpCount: number,
  ) {}

  /** Clears ExplicitSuspend on every VP (the first time, this starts the VP workers). */
  start(): void {
    for (let vp = 0; vp < this.vpCount; vp++) this.setSuspend(vp, 0n);
  }

  /** Sets ExplicitSuspend on VP `vp` (it stops at its next exit). */
  suspend(vp = 0): void {
    this.setSuspend(vp, 1n);
  }

  /** Clears ExplicitSuspend on VP `vp`. */
  resume(vp = 0): void {
    this.setSuspend(vp, 0n);
  }

  /** Completes an intercepted I/O access of VP `vp` (with `value` for a read) and resumes it. */
  completeIo(vp: number, value = 0): void {
    const r = this.hc.setVpRegisters(this.id, vp, [
      { name: HvRegister.Rax, value: BigInt(value >>> 0) },
      { name: HvRegister.InterceptSuspend, value: 0n },
    ]);
    check('SetVpRegisters', r.status);
  }

  /** Finalizes (unless already finalized, e.g. crashed), withdraws every page, deletes. */
  destroy(): void {
    const finalized = this.hc.finalizePartition(this.id);
    if (finalized !== HvStatus.SUCCESS && finalized !== HvStatus.INVALID_PARTITION_STATE) check('FinalizePartition', finalized);
    const balance = this.hc.getMemoryBalance(this.id);
    check('GetMemoryBalance', balance.status);
    if (balance.value.available > 0) check('WithdrawMemory', this.hc.withdrawMemory(this.id, balance.value.available).status);
    check('DeletePartition', this.hc.deletePartition(this.id));
  }

  private setSuspend(vp: number, value: bigint): void {
    check('SetVpRegisters', this.hc.setVpRegisters(this.id, vp, [{ name: HvRegister.ExplicitSuspend, value }]).status);
  }
}

/**
 * Creates, configures and (unless `suspended`) starts a child partition.
 * @throws {HypercallFailedError} on the first failing hypercall (after tearing down what was made).
 */
export function createChildPartition(hc: HypercallClient, options: ChildPartitionOptions): ChildPartition {
  const vpCount = options.vpCount ?? 1;
  const pages = Math.ceil(options.memoryBytes / PAGE_SIZE);
  const created = hc.createPartition();
  check('CreatePartition', created.status);
  const id = created.value;
  const child = new ChildPartition(hc, id, vpCount);
  try {
    check('SetPartitionProperty', hc.setPartitionProperty(id, HvPartitionProperty.PrivilegeFlags, MSR_BITS | (options.privileges ?? DEFAULT_CHILD_GRANTS)));
    check('SetPartitionProperty', hc.setPartitionProperty(id, HvPartitionProperty.GpaSpacePages, BigInt(Math.max(pages, 1))));
    if (options.heapLimitMb !== undefined) check('SetPartitionProperty', hc.setPartitionProperty(id, HvPartitionProperty.VpHeapLimitMb, BigInt(options.heapLimitMb)));
    const poolPages = pages + HvCosts.PARTITION_TABLES + vpCount * HvCosts.VP + (options.extraPages ?? 16);
    check('DepositMemory', hc.depositMemory(id, poolPages).status);
    check('InitializePartition', hc.initializePartition(id));
    check('MapGpaPages', hc.mapGpaPages(id, 0, pages, HvMapGpaFlags.Readable | HvMapGpaFlags.Writable | HvMapGpaFlags.Executable).status);
    const entry = typeof options.entry === 'string' ? options.entry : options.entry.href;
    const args = JSON.stringify(options.args ?? null);
    for (let vp = 0; vp < vpCount; vp++) {
      check('CreateVp', hc.createVp(id, vp));
      check('SetVpRegisters', hc.setVpRegisters(id, vp, [
        { name: HvRegister.EntryModule, value: entry },
        { name: HvRegister.EntryArguments, value: args },
      ]).status);
    }
    if (!options.suspended) child.start();
    return child;
  } catch (error) {
    try {
      child.destroy();
    } catch {
      // Best effort: the original failure is the one to report.
    }
    throw error;
  }
}

/** A child's intercepted I/O access, decoded from a SINT0 message. */
export interface IoIntercept {
  readonly partitionId: bigint;
  readonly vpIndex: number;
  readonly port: number;
  readonly size: number;
  readonly write: boolean;
  /** The value written (for writes). */
  readonly value: number;
}

/** Decodes an X64IoPortIntercept message, or undefined for any other message. */
export function parseIoIntercept(message: HvMessage): IoIntercept | undefined {
  if (message.type !== HvMessageType.X64IoPortIntercept || message.payload.length < IoInterceptMessage.SIZE) return undefined;
  const view = new DataView(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength);
  return {
    partitionId: message.sender,
    vpIndex: view.getUint32(IoInterceptMessage.VP_INDEX, true),
    port: view.getUint16(IoInterceptMessage.PORT, true),
    size: view.getUint8(IoInterceptMessage.ACCESS_INFO) & 0x7,
    write: view.getUint8(IoInterceptMessage.ACCESS_TYPE) === 1,
    value: view.getUint32(IoInterceptMessage.RAX, true),
  };
}

/** A child's crash, decoded from an UnrecoverableException message. */
export interface ChildCrash {
  readonly partitionId: bigint;
  readonly vpIndex: number;
  readonly reason: number;
  readonly exitCode: number;
}

/** Decodes an UnrecoverableException message, or undefined for any other message. */
export function parseChildCrash(message: HvMessage): ChildCrash | undefined {
  if (message.type !== HvMessageType.UnrecoverableException || message.payload.length < CrashMessage.SIZE) return undefined;
  const view = new DataView(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength);
  return {
    partitionId: message.sender,
    vpIndex: view.getUint32(CrashMessage.VP_INDEX, true),
    reason: view.getUint32(CrashMessage.REASON, true),
    exitCode: view.getInt32(CrashMessage.EXIT_CODE, true),
  };
}

function check(call: string, status: number): void {
  if (status !== HvStatus.SUCCESS) throw new HypercallFailedError(call, status);
}
