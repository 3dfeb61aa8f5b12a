/**
 * The guest-side hypercall client: typed wrappers over `VpExits.hypercall`, one per call, that lay
 * out the input in the VP's input page (or fast registers), issue the call and decode the output.
 *
 * Every wrapper returns the HV_STATUS (with its outputs); none throws for a failing status, since
 * INSUFFICIENT_BUFFERS and friends are expected outcomes a guest retries. Rep calls larger than
 * the 12-bit rep count are split into chunks, and a chunk the hypervisor returns early is resumed
 * at its rep start index (TLFS 2.0 §4.3 continuation).
 */
import { HvCallCode } from '../abi/call-codes.ts';
import { decodeResult, encodeInput, MAX_REP_COUNT, type HypercallResult } from '../abi/control.ts';
import { VP_INDEX_SELF, PARTITION_ID_SELF } from '../abi/ids.ts';
import {
  ConnectPortInput,
  CreatePartitionInput,
  CreatePortInput,
  CreateVpInput,
  GetPropertyInput,
  InstallInterceptInput,
  MapGpaInput,
  MemoryBalanceOutput,
  NextChildInput,
  PostMessageInput,
  SetPropertyInput,
  VpInput,
} from '../abi/inputs.ts';
import { RegisterAssocLayout, STRING_REGISTERS } from '../abi/registers.ts';
import { HvStatus } from '../abi/status.ts';
import { HvMessageLayout, HvPortType } from '../abi/synic.ts';
import { PAGE_SIZE, VpPageLayout } from '../abi/vp-page.ts';
import type { MailReader } from './hypervisor-mail.ts';
import { SignalCells } from './signal-cells.ts';
import type { VpExits } from './vp-exits.ts';

/** A status with one value. */
export interface StatusWith<T> {
  readonly status: number;
  readonly value: T;
}

/** Port info for CreatePort. */
export type PortSpec =
  | { readonly type: 'message'; readonly sint: number; readonly vp?: number }
  | { readonly type: 'event'; readonly sint: number; readonly vp?: number; readonly baseFlag?: number; readonly flagCount: number };

/** One register to set: numeric registers take a bigint, string registers a string. */
export interface RegisterValue {
  readonly name: number;
  readonly value: bigint | string;
}

const encoder = new TextEncoder();

export class HypercallClient {
  /** The input parameter page (write inputs here before `call`). */
  readonly input: DataView;
  /** The output parameter page. */
  readonly output: DataView;
  readonly inputBytes: Uint8Array;
  /** Direct event cells `signalEvent` tries first (set by `useSignalCells`). */
  signalCells: SignalCells | undefined;

  constructor(readonly exits: VpExits) {
    this.input = new DataView(exits.page, VpPageLayout.INPUT_PAGE, PAGE_SIZE);
    this.output = new DataView(exits.page, VpPageLayout.OUTPUT_PAGE, PAGE_SIZE);
    this.inputBytes = new Uint8Array(exits.page, VpPageLayout.INPUT_PAGE, PAGE_SIZE);
  }

  /** Issues call `code` with the inputs already in place (memory convention or fast registers). */
  call(code: number, options: { fast?: boolean; repCount?: number; repStart?: number } = {}): HypercallResult {
    const { lo, hi } = encodeInput({ code, ...options });
    const result = this.exits.hypercall(lo, hi);
    return decodeResult(result.lo, result.hi);
  }

  /** Issues a fast call whose 16-byte input is `a` (RDX) and `b` (R8). */
  fast(code: number, a: bigint, b = 0n): number {
    const view = new DataView(this.exits.page, VpPageLayout.ARG0_LO, 16);
    view.setBigUint64(0, BigInt.asUintN(64, a), true);
    view.setBigUint64(8, BigInt.asUintN(64, b), true);
    return this.call(code, { fast: true }).status;
  }

  createPartition(flags = 0n): StatusWith<bigint> {
    this.input.setBigUint64(CreatePartitionInput.FLAGS, flags, true);
    this.input.setBigUint64(CreatePartitionInput.PROXIMITY, 0n, true);
    return this.withU64(this.call(HvCallCode.CreatePartition).status);
  }

  initializePartition(id: bigint): number {
    return this.fast(HvCallCode.InitializePartition, id);
  }

  finalizePartition(id: bigint): number {
    return this.fast(HvCallCode.FinalizePartition, id);
  }

  deletePartition(id: bigint): number {
    return this.fast(HvCallCode.DeletePartition, id);
  }

  getPartitionProperty(id: bigint, code: number): StatusWith<bigint> {
    this.input.setBigUint64(GetPropertyInput.PARTITION, id, true);
    this.input.setBigUint64(GetPropertyInput.CODE, BigInt(code >>> 0), true);
    return this.withU64(this.call(HvCallCode.GetPartitionProperty).status);
  }

  setPartitionProperty(id: bigint, code: number, value: bigint): number {
    this.input.setBigUint64(SetPropertyInput.PARTITION, id, true);
    this.input.setBigUint64(SetPropertyInput.CODE, BigInt(code >>> 0), true);
    this.input.setBigUint64(SetPropertyInput.VALUE, value, true);
    return this.call(HvCallCode.SetPartitionProperty).status;
  }

  getPartitionId(): StatusWith<bigint> {
    return this.withU64(this.call(HvCallCode.GetPartitionId).status);
  }

  getNextChildPartition(parent: bigint, previous: bigint): StatusWith<bigint> {
    this.input.setBigUint64(NextChildInput.PARENT, parent, true);
    this.input.setBigUint64(NextChildInput.PREVIOUS, previous, true);
    return this.withU64(this.call(HvCallCode.GetNextChildPartition).status);
  }

  /** Moves `pages` pages from the caller's pool into `id`'s pool; value = pages moved. */
  depositMemory(id: bigint, pages: number): StatusWith<number> {
    return this.repPages(HvCallCode.DepositMemory, pages, () => this.input.setBigUint64(0, id, true));
  }

  /** Moves `pages` pages from `id`'s pool back to the caller's; value = pages moved. */
  withdrawMemory(id: bigint, pages: number): StatusWith<number> {
    return this.repPages(HvCallCode.WithdrawMemory, pages, () => {
      this.input.setBigUint64(0, id, true);
      this.input.setBigUint64(8, 0n, true);
    });
  }

  getMemoryBalance(id: bigint): StatusWith<{ available: number; inUse: number }> {
    this.input.setBigUint64(0, id, true);
    const status = this.call(HvCallCode.GetMemoryBalance).status;
    return {
      status,
      value: { available: Number(this.output.getBigUint64(MemoryBalanceOutput.AVAILABLE, true)), inUse: Number(this.output.getBigUint64(MemoryBalanceOutput.IN_USE, true)) },
    };
  }

  /** Maps `pages` pages of `id` from `gpfn` with HV_MAP_GPA `flags`; value = pages mapped. */
  mapGpaPages(id: bigint, gpfn: number, pages: number, flags: number): StatusWith<number> {
    return this.repPages(HvCallCode.MapGpaPages, pages, (done) => {
      this.input.setBigUint64(MapGpaInput.PARTITION, id, true);
      this.input.setBigUint64(MapGpaInput.TARGET_GPFN, BigInt(gpfn + done), true);
      this.input.setBigUint64(MapGpaInput.FLAGS, BigInt(flags >>> 0), true);
    });
  }

  /** Unmaps `pages` pages of `id` from `gpfn`; value = pages unmapped. */
  unmapGpaPages(id: bigint, gpfn: number, pages: number): StatusWith<number> {
    return this.repPages(HvCallCode.UnmapGpaPages, pages, (done) => {
      this.input.setBigUint64(0, id, true);
      this.input.setBigUint64(8, BigInt(gpfn + done), true);
    });
  }

  installIntercept(id: bigint, type: number, access: number, parameter: bigint): number {
    this.input.setBigUint64(InstallInterceptInput.PARTITION, id, true);
    this.input.setUint32(InstallInterceptInput.ACCESS, access, true);
    this.input.setUint32(InstallInterceptInput.TYPE, type, true);
    this.input.setBigUint64(InstallInterceptInput.PARAMETER, parameter, true);
    return this.call(HvCallCode.InstallIntercept).status;
  }

  createVp(id: bigint, vpIndex: number): number {
    new Uint8Array(this.exits.page, VpPageLayout.INPUT_PAGE, CreateVpInput.SIZE).fill(0);
    this.input.setBigUint64(CreateVpInput.PARTITION, id, true);
    this.input.setUint32(CreateVpInput.VP, vpIndex, true);
    return this.call(HvCallCode.CreateVp).status;
  }

  deleteVp(id: bigint, vpIndex: number): number {
    return this.fast(HvCallCode.DeleteVp, id, BigInt(vpIndex >>> 0));
  }

  /** Reads registers; value = their 64-bit values (low halves of the 128-bit registers). */
  getVpRegisters(id: bigint, vpIndex: number, names: readonly number[]): StatusWith<bigint[]> {
    this.input.setBigUint64(VpInput.PARTITION, id, true);
    this.input.setBigUint64(VpInput.VP, BigInt(vpIndex >>> 0), true);
    names.forEach((name, i) => this.input.setUint32(VpInput.SIZE + i * 4, name, true));
    const result = this.call(HvCallCode.GetVpRegisters, { repCount: names.length });
    const values = Array.from({ length: result.repsCompleted }, (_, i) => this.output.getBigUint64(i * 16, true));
    return { status: result.status, value: values };
  }

  /** Sets registers in order; value = registers set. String registers carry their bytes after the list. */
  setVpRegisters(id: bigint, vpIndex: number, registers: readonly RegisterValue[]): StatusWith<number> {
    this.input.setBigUint64(VpInput.PARTITION, id, true);
    this.input.setBigUint64(VpInput.VP, BigInt(vpIndex >>> 0), true);
    let heap = VpInput.SIZE + registers.length * RegisterAssocLayout.SIZE;
    if (heap > PAGE_SIZE) return { status: HvStatus.INVALID_ALIGNMENT, value: 0 };
    for (const [i, register] of registers.entries()) {
      const at = VpInput.SIZE + i * RegisterAssocLayout.SIZE;
      this.inputBytes.fill(0, at, at + RegisterAssocLayout.SIZE);
      this.input.setUint32(at + RegisterAssocLayout.NAME, register.name, true);
      if (typeof register.value === 'string' || STRING_REGISTERS.has(register.name)) {
        const bytes = encoder.encode(String(register.value));
        if (heap + bytes.length > PAGE_SIZE) return { status: HvStatus.INVALID_PARAMETER, value: i };
        this.inputBytes.set(bytes, heap);
        this.input.setUint32(at + RegisterAssocLayout.STRING_OFFSET, heap, true);
        this.input.setUint32(at + RegisterAssocLayout.STRING_LENGTH, bytes.length, true);
        heap += bytes.length;
      } else {
        this.input.setBigUint64(at + RegisterAssocLayout.VALUE_LO, BigInt.asUintN(64, register.value), true);
      }
    }
    const result = this.call(HvCallCode.SetVpRegisters, { repCount: registers.length });
    return { status: result.status, value: result.repsCompleted };
  }

  createPort(portPartition: bigint, portId: number, connectionPartition: bigint, spec: PortSpec): number {
    new Uint8Array(this.exits.page, VpPageLayout.INPUT_PAGE, CreatePortInput.SIZE).fill(0);
    const i = this.input;
    i.setBigUint64(CreatePortInput.PORT_PARTITION, portPartition, true);
    i.setUint32(CreatePortInput.PORT_ID, portId, true);
    i.setBigUint64(CreatePortInput.CONNECTION_PARTITION, connectionPartition, true);
    i.setUint32(CreatePortInput.PORT_TYPE, spec.type === 'message' ? HvPortType.Message : HvPortType.Event, true);
    i.setUint32(CreatePortInput.TARGET_SINT, spec.sint, true);
    i.setUint32(CreatePortInput.TARGET_VP, spec.vp ?? 0xffff_ffff, true);
    if (spec.type === 'event') {
      i.setUint16(CreatePortInput.BASE_FLAG, spec.baseFlag ?? 0, true);
      i.setUint16(CreatePortInput.FLAG_COUNT, spec.flagCount, true);
    }
    return this.call(HvCallCode.CreatePort).status;
  }

  deletePort(portPartition: bigint, portId: number): number {
    this.input.setBigUint64(0, portPartition, true);
    this.input.setBigUint64(8, BigInt(portId >>> 0), true);
    return this.call(HvCallCode.DeletePort).status;
  }

  connectPort(connectionPartition: bigint, connectionId: number, portPartition: bigint, portId: number, type: 'message' | 'event'): number {
    new Uint8Array(this.exits.page, VpPageLayout.INPUT_PAGE, ConnectPortInput.SIZE).fill(0);
    const i = this.input;
    i.setBigUint64(ConnectPortInput.CONNECTION_PARTITION, connectionPartition, true);
    i.setUint32(ConnectPortInput.CONNECTION_ID, connectionId, true);
    i.setBigUint64(ConnectPortInput.PORT_PARTITION, portPartition, true);
    i.setUint32(ConnectPortInput.PORT_ID, portId, true);
    i.setUint32(ConnectPortInput.PORT_TYPE, type === 'message' ? HvPortType.Message : HvPortType.Event, true);
    return this.call(HvCallCode.ConnectPort).status;
  }

  disconnectPort(connectionPartition: bigint, connectionId: number): number {
    return this.fast(HvCallCode.DisconnectPort, connectionPartition, BigInt(connectionId >>> 0));
  }

  /**
   * ViridianGetChildMemory: asks the hypervisor to hand child `id`'s guest memory to this VP's
   * worker (received with `VpContext.childMemory`). Returns the status.
   */
  getChildMemory(id: bigint): number {
    this.input.setBigUint64(0, id, true);
    return this.call(HvCallCode.ViridianGetChildMemory).status;
  }

  /** Posts `payload` (at most 240 bytes) as a message of `type` on connection `connectionId`. */
  postMessage(connectionId: number, type: number, payload: Uint8Array): number {
    const i = this.input;
    i.setUint32(PostMessageInput.CONNECTION_ID, connectionId, true);
    i.setUint32(4, 0, true);
    i.setUint32(PostMessageInput.MESSAGE_TYPE, type, true);
    i.setUint32(PostMessageInput.PAYLOAD_SIZE, payload.length, true);
    if (payload.length > HvMessageLayout.PAYLOAD_MAX) return HvStatus.INVALID_PARAMETER;
    this.inputBytes.set(payload, PostMessageInput.PAYLOAD);
    return this.call(HvCallCode.PostMessage).status;
  }

  /**
   * Makes `signalEvent` go through direct event cells where the target allows it
   * (abi/direct-events.ts), with `mail` receiving the cells the hypervisor hands over.
   */
  useSignalCells(mail: MailReader): void {
    this.signalCells = new SignalCells(this.exits.words, (id) => this.getSignalCell(id), mail);
  }

  /** ViridianEnableDirectEvents: this VP opts in to (or out of) direct event cells. */
  enableDirectEvents(enable: boolean): number {
    this.input.setUint32(0, enable ? 1 : 0, true);
    this.input.setUint32(4, 0, true);
    return this.call(HvCallCode.ViridianEnableDirectEvents).status;
  }

  /** ViridianGetSignalCell: the hypervisor mails the cell of event connection `connectionId`. */
  getSignalCell(connectionId: number): number {
    this.input.setUint32(0, connectionId, true);
    this.input.setUint32(4, 0, true);
    return this.call(HvCallCode.ViridianGetSignalCell).status;
  }

  /** ViridianGetDirectEventCells: the hypervisor mails the cells that target this VP. */
  getDirectEventCells(): number {
    return this.call(HvCallCode.ViridianGetDirectEventCells).status;
  }

  /**
   * Signals event flag `flag` through connection `connectionId`: through the connection's direct
   * event cell when there is one (no exit), else with the SignalEvent hypercall (fast call).
   */
  signalEvent(connectionId: number, flag = 0): number {
    if (this.signalCells?.signal(connectionId, flag)) return HvStatus.SUCCESS;
    return this.signalEventHypercall(connectionId, flag);
  }

  /** Signals event flag `flag` through connection `connectionId` with the SignalEvent hypercall. */
  signalEventHypercall(connectionId: number, flag = 0): number {
    const w = this.exits.words;
    w[VpPageLayout.ARG0_LO >> 2] = connectionId;
    w[VpPageLayout.ARG0_HI >> 2] = flag & 0xffff;
    return this.call(HvCallCode.SignalEvent, { fast: true }).status;
  }

  private withU64(status: number): StatusWith<bigint> {
    return { status, value: status === HvStatus.SUCCESS ? this.output.getBigUint64(0, true) : 0n };
  }

  private repPages(code: number, pages: number, header: (done: number) => void): StatusWith<number> {
    let done = 0;
    while (done < pages) {
      const chunk = Math.min(MAX_REP_COUNT, pages - done);
      header(done);
      let start = 0;
      let result: HypercallResult;
      do {
        result = this.call(code, { repCount: chunk, repStart: start });
        start = result.repsCompleted;
      } while (result.status === HvStatus.SUCCESS && start < chunk);
      done += result.repsCompleted;
      if (result.status !== HvStatus.SUCCESS) return { status: result.status, value: done };
    }
    return { status: HvStatus.SUCCESS, value: done };
  }
}

/** `HV_PARTITION_ID_SELF` and `HV_VP_INDEX_SELF`, re-exported for callers of the client. */
export const SELF = Object.freeze({ partition: PARTITION_ID_SELF as bigint, vp: VP_INDEX_SELF as number });
