/**
 * The storvsc controller: one synthetic SCSI controller as the guest drives it (vmbus-wire.md
 * §8.1). {@link StorvscController.attach} runs the vstor initialization like Linux's storvsc
 * (BEGIN_INITIALIZATION, QUERY_PROTOCOL_VERSION newest first, QUERY_PROPERTIES,
 * END_INITIALIZATION), then finds the LUNs (REPORT LUNS) and builds a {@link GuestDisk} for each.
 *
 * SRBs: {@link StorvscController.execute} sends one EXECUTE_SRB. A command with data goes as a
 * GPA-direct packet whose one range names guest pages: the host reads or writes them in place.
 * Data inside a DMA buffer ({@link StorvscController.dma}, `dma-buffers.ts`) is named where it
 * lies, with no copy in the guest; other data goes through bounce pages taken from the kernel's
 * allocator (one copy). Up to {@link StorvscProtocol.MAX_IN_FLIGHT} SRBs are in flight; callers
 * beyond that wait in order. A BUSY answer is retried.
 *
 * Multi-queue (`queues.ts`): when the VSP announces it, attach asks for sub-channels after
 * END_INITIALIZATION and SRBs are spread over the primary and its open sub-channels.
 *
 * Hot add and removal: an unsolicited ENUMERATE_BUS (or REMOVE_DEVICE) from the VSP makes the
 * controller rescan (REPORT LUNS, one rescan at a time): new LUNs get disks, vanished ones are
 * dropped from {@link StorvscController.disks}; {@link StorvscController.diskChanges$} tells.
 */
import {
  DataDirection,
  FixedSense,
  PAGE_SIZE,
  STORVSC_NEGOTIABLE_VERSIONS,
  ScsiOp,
  ScsiStatus,
  SrbFlags,
  SrbStatus,
  StorvscProtocol,
  VstorFlags,
  VstorOperation,
  VstorPacket,
  VstorStatus,
  encodeProtocolVersion,
  encodeScsiRequest,
  readChannelProperties,
  readCompletionSense,
  readScsiRequest,
  vstorPacket,
  type ChannelPropertiesFields,
  type GuestPageAllocator,
} from '@viridian/vmbus';
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { GuestChannel } from '../../vmbus/guest-channel.ts';
import { DmaBuffers } from './dma-buffers.ts';
import { GuestDisk } from './disk.ts';
import { ScsiCommandError, StorvscProtocolError } from './errors.ts';
import { PagePool } from './page-pool.ts';
import { StorvscQueues, requestSubChannels, type StorvscQueueOptions } from './queues.ts';

/**
 * The data of one SRB: `in` fills `length` bytes the caller gets back, `out` sends `data`. With
 * `into` (exactly `length` bytes) the bytes land there: in place when `into` lies in a DMA buffer,
 * else copied once out of bounce pages. `data` inside a DMA buffer is sent in place too.
 */
export type SrbData =
  | { readonly direction: 'none' }
  | { readonly direction: 'in'; readonly length: number; readonly into?: Uint8Array }
  | { readonly direction: 'out'; readonly data: Uint8Array };

/** A completed SRB. */
export interface SrbResult {
  readonly srbStatus: number;
  readonly scsiStatus: number;
  /** Bytes the target moved. */
  readonly transferred: number;
  /** Data in: the `transferred` bytes read. */
  readonly data: Uint8Array;
  readonly sense: Uint8Array;
}

/** Where guest memory and page allocation come from. */
export interface GuestMemoryContext {
  readonly memory: SharedArrayBuffer;
  readonly pages: GuestPageAllocator;
}

/** A disk that appeared or vanished on a rescan. */
export interface DiskChange {
  readonly kind: 'added' | 'removed';
  readonly disk: GuestDisk;
}

/** BUSY answers retried before giving up. */
const BUSY_RETRIES = 1000;

export class StorvscController {
  /** One block device per LUN, by LUN. */
  readonly disks: GuestDisk[] = [];
  private inFlight = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private readonly pool: PagePool;
  /** Guest buffers SRB data moves through in place (`GuestDisk.allocateBuffer`). */
  readonly dma: DmaBuffers;
  private readonly changes = new Subject<DiskChange>();
  private rescanning: Promise<void> = Promise.resolve();
  private readonly subscription: Subscription;
  /** The primary channel and its sub-channels: where each SRB goes. */
  readonly queues: StorvscQueues;

  private constructor(
    readonly channel: GuestChannel,
    private readonly context: GuestMemoryContext,
    /** The negotiated vstor version (`major << 8 | minor`). */
    readonly version: number,
    readonly properties: ChannelPropertiesFields,
  ) {
    this.pool = new PagePool(context.pages);
    this.queues = new StorvscQueues(channel);
    this.dma = new DmaBuffers(context.memory, this.pool);
    this.subscription = channel.unsolicited$.subscribe({
      next: (packet) => {
        if (packet.payload.length < 4) return;
        const operation = new DataView(packet.payload.buffer, packet.payload.byteOffset, 4).getUint32(0, true);
        if (operation === VstorOperation.enumerateBus || operation === VstorOperation.removeDevice) {
          // A failed rescan (channel closing) leaves the disks as they were.
          this.rescan().catch(() => {});
        }
      },
      error: () => this.changes.complete(),
      complete: () => this.changes.complete(),
    });
  }

  /** Disks added or removed by rescans after attach. */
  get diskChanges$(): Observable<DiskChange> {
    return this.changes.asObservable();
  }

  /** Stops listening for rescans (the kernel calls it when the channel goes away). */
  detach(): void {
    this.subscription.unsubscribe();
    this.changes.complete();
  }

  /** Largest transfer of one SRB. */
  get maxTransferBytes(): number {
    return Math.min(this.properties.maxTransferBytes, StorvscProtocol.MAX_TRANSFER_BYTES);
  }

  /** SRBs in flight. */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /**
   * Initializes the controller on `channel`, opens its sub-channels (when the VSP offers
   * multi-queue and `context.subChannels` is not 0) and finds its disks.
   * @throws {StorvscProtocolError} when the VSP refuses a step or every version
   * @throws {ScsiCommandError} when LUN discovery fails
   */
  static async attach(channel: GuestChannel, context: GuestMemoryContext & StorvscQueueOptions): Promise<StorvscController> {
    await step(channel, VstorOperation.beginInitialization, 'BEGIN_INITIALIZATION');
    let version: number | undefined;
    for (const candidate of STORVSC_NEGOTIABLE_VERSIONS) {
      const packet = vstorPacket(VstorOperation.queryProtocolVersion, VstorFlags.requestCompletion);
      encodeProtocolVersion(packet, candidate);
      const status = replyStatus(await channel.request(packet), 'QUERY_PROTOCOL_VERSION');
      if (status === VstorStatus.success) {
        version = candidate;
        break;
      }
      if (status !== VstorStatus.revisionMismatch) throw new StorvscProtocolError('QUERY_PROTOCOL_VERSION', status, 'refused');
    }
    if (version === undefined) throw new StorvscProtocolError('QUERY_PROTOCOL_VERSION', VstorStatus.revisionMismatch, 'no common version');
    const properties = readChannelProperties(await step(channel, VstorOperation.queryProperties, 'QUERY_PROPERTIES'));
    await step(channel, VstorOperation.endInitialization, 'END_INITIALIZATION');
    await requestSubChannels(channel, properties, context);
    const controller = new StorvscController(channel, context, version, properties);
    await controller.rescan();
    return controller;
  }

  /**
   * Finds the LUNs (REPORT LUNS): builds a disk for each new one, drops vanished ones. Rescans run
   * one at a time, in order.
   * @throws {ScsiCommandError}
   */
  rescan(): Promise<void> {
    const next = this.rescanning.catch(() => {}).then(() => this.rescanOnce());
    this.rescanning = next;
    return next;
  }

  private async rescanOnce(): Promise<void> {
    const allocation = 8 + StorvscProtocol.MAX_LUNS * 8;
    const cdb = Uint8Array.of(ScsiOp.reportLuns, 0, 0, 0, 0, 0, allocation >>> 24, (allocation >>> 16) & 0xff, (allocation >>> 8) & 0xff, allocation & 0xff, 0, 0);
    const { data } = await this.command(0, cdb, { direction: 'in', length: allocation });
    const listLength = new DataView(data.buffer, data.byteOffset, data.length).getUint32(0);
    const luns: number[] = [];
    for (let at = 8; at + 8 <= Math.min(data.length, 8 + listLength); at += 8) luns.push(data[at + 1]!);
    for (let i = this.disks.length - 1; i >= 0; i--) {
      const disk = this.disks[i]!;
      if (luns.includes(disk.lun)) continue;
      this.disks.splice(i, 1);
      this.changes.next({ kind: 'removed', disk });
    }
    for (const lun of luns) {
      if (this.disks.some((disk) => disk.lun === lun)) continue;
      const disk = await GuestDisk.probe(this, lun);
      this.disks.push(disk);
      this.disks.sort((a, b) => a.lun - b.lun);
      this.changes.next({ kind: 'added', disk });
    }
  }

  /**
   * Runs one SCSI command and fails unless it completed GOOD.
   * @throws {ScsiCommandError} with the SRB status, SCSI status and sense
   */
  command(lun: number, cdb: Uint8Array, data: SrbData): Promise<SrbResult> {
    return this.execute(lun, cdb, data).then((result) => {
      if ((result.srbStatus & SrbStatus.STATUS_MASK) !== SrbStatus.success || result.scsiStatus !== ScsiStatus.good) {
        const sense = result.sense;
        const has = sense.length > FixedSense.ascq;
        throw new ScsiCommandError(cdb[0]!, result.srbStatus, result.scsiStatus, has ? sense[FixedSense.senseKey]! & 0x0f : undefined, has ? sense[FixedSense.asc] : undefined, has ? sense[FixedSense.ascq] : undefined);
      }
      return result;
    });
  }

  /**
   * Sends one EXECUTE_SRB and resolves with its completion, whatever its status.
   * @throws {StorvscProtocolError} when the VSP refuses the packet itself
   * @throws {GuestChannelClosedError} when the channel closes first
   */
  execute(lun: number, cdb: Uint8Array, data: SrbData): Promise<SrbResult> {
    // A free slot is taken without a promise (the common case); otherwise wait in line.
    if (this.inFlight < StorvscProtocol.MAX_IN_FLIGHT) {
      this.inFlight++;
      return this.executeHoldingSlot(lun, cdb, data);
    }
    return this.waitForSlot().then(() => this.executeHoldingSlot(lun, cdb, data));
  }

  /** Sends the SRB (again while BUSY) and gives the slot back when it settles. */
  private executeHoldingSlot(lun: number, cdb: Uint8Array, data: SrbData): Promise<SrbResult> {
    return this.executeOnce(lun, cdb, data).then(
      (result) => {
        if (isBusy(result)) return this.retryBusy(lun, cdb, data);
        this.giveSlot();
        return result;
      },
      (error: unknown) => {
        this.giveSlot();
        throw error;
      },
    );
  }

  /** The target answered BUSY: retry after a turn of the event loop, up to {@link BUSY_RETRIES} times. */
  private async retryBusy(lun: number, cdb: Uint8Array, data: SrbData): Promise<SrbResult> {
    try {
      for (let attempt = 1; ; attempt++) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        const result = await this.executeOnce(lun, cdb, data);
        if (!isBusy(result) || attempt >= BUSY_RETRIES) return result;
      }
    } finally {
      this.giveSlot();
    }
  }

  private async executeOnce(lun: number, cdb: Uint8Array, data: SrbData): Promise<SrbResult> {
    const length = data.direction === 'none' ? 0 : data.direction === 'in' ? data.length : data.data.length;
    const packet = vstorPacket(VstorOperation.executeSrb, VstorFlags.requestCompletion);
    encodeScsiRequest(packet, {
      lun,
      cdb,
      dataIn: data.direction === 'in' ? DataDirection.read : data.direction === 'out' ? DataDirection.write : DataDirection.unknown,
      dataTransferLength: length,
      srbFlags: SrbFlags.disableSynchTransfer | (data.direction === 'in' ? SrbFlags.dataIn : data.direction === 'out' ? SrbFlags.dataOut : 0),
    });
    const queue = this.queues.pick();
    if (length === 0) return this.complete(await queue.request(packet), undefined);
    const inPlace = data.direction === 'in' ? data.into : data.direction === 'out' ? data.data : undefined;
    const span = inPlace !== undefined && inPlace.length === length ? this.dma.take(inPlace) : undefined;
    if (span !== undefined) {
      try {
        const reply = await queue.requestGpaDirect([{ byteCount: length, byteOffset: span.byteOffset, pfns: consecutive(span.firstPfn, span.pages) }], packet);
        return this.complete(reply, data.direction === 'in' ? inPlace : undefined, IN_PLACE);
      } finally {
        this.dma.done(span);
      }
    }
    const pages = Math.ceil(length / PAGE_SIZE);
    const pfn = await this.pool.acquire(pages);
    try {
      const buffer = new Uint8Array(this.context.memory, pfn * PAGE_SIZE, length);
      if (data.direction === 'out') buffer.set(data.data);
      const reply = await queue.requestGpaDirect([{ byteCount: length, byteOffset: 0, pfns: consecutive(pfn, pages) }], packet);
      return this.complete(reply, data.direction === 'in' ? buffer : undefined, data.direction === 'in' ? data.into : undefined);
    } finally {
      this.pool.release(pfn, pages);
    }
  }

  /**
   * Decodes a completion. Data in: `buffer` holds it; it is copied into `into`, or (with
   * {@link IN_PLACE}) `buffer` is the caller's own array, or it is sliced out.
   */
  private complete(reply: Uint8Array, buffer: Uint8Array | undefined, into?: Uint8Array | typeof IN_PLACE): SrbResult {
    const status = replyStatus(reply, 'EXECUTE_SRB');
    const fields = readScsiRequest(reply, 0, false);
    if (!('srbStatus' in fields)) throw new StorvscProtocolError('EXECUTE_SRB', status, 'unreadable completion');
    if (status !== VstorStatus.success) throw new StorvscProtocolError('EXECUTE_SRB', status, `SRB status 0x${fields.srbStatus.toString(16)}`);
    const transferred = Math.min(fields.dataTransferLength, buffer?.length ?? fields.dataTransferLength);
    return {
      srbStatus: fields.srbStatus,
      scsiStatus: fields.scsiStatus,
      transferred,
      data: buffer === undefined ? EMPTY : into === IN_PLACE ? buffer.subarray(0, transferred) : into === undefined ? buffer.slice(0, transferred) : copyInto(into, buffer.subarray(0, transferred)),
      sense: (fields.srbStatus & SrbStatus.autosenseValid) !== 0 ? readCompletionSense(reply) : EMPTY,
    };
  }

  /** Waits for a slot (all are taken): `giveSlot` passes one over. */
  private waitForSlot(): Promise<void> {
    return new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  private giveSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next(); // the slot passes straight to the next caller
    else this.inFlight--;
  }
}

const EMPTY = new Uint8Array(0);

function isBusy(result: SrbResult): boolean {
  return (result.srbStatus & SrbStatus.STATUS_MASK) === SrbStatus.busy;
}

/** `complete`'s marker: the data landed in the caller's own array (a DMA buffer). */
const IN_PLACE = Symbol('in place');

/** The PFNs `first`, `first + 1`, … (`count` of them). */
function consecutive(first: number, count: number): number[] {
  const pfns = new Array<number>(count);
  for (let i = 0; i < count; i++) pfns[i] = first + i;
  return pfns;
}

function copyInto(target: Uint8Array, source: Uint8Array): Uint8Array {
  target.set(source.subarray(0, Math.min(source.length, target.length)));
  return target.subarray(0, Math.min(source.length, target.length));
}

/** Sends a header-only init packet and checks its answer. */
async function step(channel: GuestChannel, operation: number, name: string): Promise<Uint8Array> {
  const reply = await channel.request(vstorPacket(operation, VstorFlags.requestCompletion));
  const status = replyStatus(reply, name);
  if (status !== VstorStatus.success) throw new StorvscProtocolError(name, status, 'refused');
  return reply;
}

/**
 * The status of a COMPLETE_IO answer (one DataView per answer).
 * @throws {StorvscProtocolError} when the answer is not a 64-byte COMPLETE_IO
 */
function replyStatus(reply: Uint8Array, name: string): number {
  if (reply.length < VstorPacket.SIZE) throw new StorvscProtocolError(name, VstorStatus.unsuccessful, `answer of ${reply.length} bytes`);
  const view = new DataView(reply.buffer, reply.byteOffset, reply.length);
  const operation = view.getUint32(VstorPacket.operation, true);
  if (operation !== VstorOperation.completeIo) throw new StorvscProtocolError(name, VstorStatus.unsuccessful, `answer with operation ${operation}`);
  return view.getUint32(VstorPacket.status, true);
}
