/**
 * storvsp: the synthetic SCSI controller's VSP (vmbus-wire.md §8.1; OpenVMM's storvsp is the
 * model). One device is one controller: up to 64 LUNs on target 0, each a {@link ScsiDisk} over a
 * virtual disk file.
 *
 * Architecture:
 * - Every packet is parsed once by `parseStorvspPacket` into a request union; the handler only
 *   switches on it.
 * - Initialization (BEGIN, QUERY_PROTOCOL_VERSION with negotiation, QUERY_PROPERTIES, END) is the
 *   sans-IO state machine of `state.ts`; each step is answered with COMPLETE_IO and a status.
 * - EXECUTE_SRB goes to the SCSI target. Commands without disk I/O complete synchronously in the
 *   service loop's batch; disk I/O starts in `onPacket` and completes from a later task through
 *   `HostChannel.complete` (the channel publishes such completions once per event-loop turn). Data
 *   moves straight between the guest's pages (the SRB's GPA-direct range) and the disk file.
 * - At most {@link StorvscProtocol.MAX_IN_FLIGHT} SRBs, and {@link MAX_IN_FLIGHT_BYTES} of data, run
 *   at once per channel; more are answered with SRB status BUSY (the guest retries), so a guest
 *   cannot make the root queue, buffer or fan out I/O without bound.
 * - A malformed packet gets COMPLETE_IO with INVALID_PARAMETER (SRB status INVALID_REQUEST), is
 *   counted per reason and logged at a limited rate; the channel goes on.
 * - Closing waits for the I/O in flight: no late write lands in guest pages after the channel is
 *   gone.
 * - Multi-queue (`sub-channels.ts`): with `maxSubChannels` > 0, QUERY_PROPERTIES announces it and
 *   CREATE_SUB_CHANNELS on the primary makes the VMBus host offer sub-channels; each opens into a
 *   channel of its own (own in-flight budget) that serves SRBs at its primary's version.
 * - Disks can be attached and detached while the guest runs ({@link StorvspDevice.attachDisk},
 *   {@link StorvspDevice.detachDisk}): every initialized channel then gets an unsolicited
 *   ENUMERATE_BUS (transaction id 0, §8.1) and the VSC rescans its LUNs.
 */
import {
  ScsiStatus,
  SrbStatus,
  StorvscProtocol,
  VstorOperation,
  VstorPacket,
  VstorStatus,
  encodeChannelProperties,
  encodeScsiCompletion,
  encodeVstorHeader,
  type Guid,
  type ScsiRequestFields,
} from '@viridian/vmbus';
import { RateLimitedLog } from '../../logging/rate-limited-log.ts';
import type { HostChannel } from '../../vmbus/host-channel.ts';
import type { VirtualDisk } from '../../storage/virtual-disk.ts';
import type { ChannelHandler, VmbusDevice } from '../../vmbus/vmbus-device.ts';
import { newStorvspMetrics, type StorvspMetrics } from './metrics.ts';
import { parseStorvspPacket, type StorvspRequest } from './parse.ts';
import { INVALID_LUN, ScsiController } from './scsi/scsi-controller.ts';
import type { ScsiCommand } from './scsi/cdb.ts';
import type { ScsiOutcome } from './scsi/outcome.ts';
import { INITIAL_STATE, initStep, type StorvspInitState } from './state.ts';
import { channelProperties, checkMaxSubChannels, createSubChannels, type SubChannelBudget } from './sub-channels.ts';


/** Data bytes one channel may have in flight (SRBs beyond it get BUSY). */
export const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;

export interface StorvspOptions {
  /** The guest's memory (GPA = byte offset): where SRB data buffers are. */
  readonly guestMemory: ArrayBufferLike;
  /** The controller with its LUNs (default: an empty one). */
  readonly controller?: ScsiController;
  /** The instance id (default: the protocol's default instance). */
  readonly instance?: Guid;
  /** Counters to update (default: a fresh set). */
  readonly metrics?: StorvspMetrics;
  /** SRBs in flight per channel (default 256). */
  readonly maxInFlight?: number;
  /** Data bytes in flight per channel before BUSY (default {@link MAX_IN_FLIGHT_BYTES}). */
  readonly maxInFlightBytes?: number;
  /** Versions accepted (default 6.2, 6.0, 5.1): tests narrow it to exercise negotiation. */
  readonly versions?: readonly number[];
  /** Sub-channels the guest may ask for with CREATE_SUB_CHANNELS (0..63, default 0: single queue). */
  readonly maxSubChannels?: number;
}

/** A storvsp device with its controller and counters. */
export interface StorvspDevice extends VmbusDevice {
  readonly controller: ScsiController;
  readonly metrics: StorvspMetrics;
  /**
   * Hot-adds `disk` at `lun` and tells the guest to rescan.
   * @throws {RangeError} when the LUN is out of range or taken
   */
  attachDisk(lun: number, disk: VirtualDisk): void;
  /**
   * Hot-removes the disk at `lun`, tells the guest to rescan and resolves with the disk (the caller
   * closes it) once I/O started before the removal has finished; `undefined` when no disk was there.
   */
  detachDisk(lun: number): Promise<VirtualDisk | undefined>;
}

const NO_SENSE = new Uint8Array(0);

/** @throws {RangeError} when `maxSubChannels` is out of range */
export function storvspDevice(options: StorvspOptions): StorvspDevice {
  const maxSubChannels = checkMaxSubChannels(options.maxSubChannels);
  const metrics = options.metrics ?? newStorvspMetrics();
  const controller = options.controller ?? new ScsiController(options.instance ?? StorvscProtocol.defaultInstance, StorvscProtocol.MAX_TRANSFER_BYTES, StorvscProtocol.MAX_LUNS);
  const open = new Set<StorvspChannel>();
  return {
    name: 'scsi',
    metrics,
    controller,
    offer: { interfaceType: StorvscProtocol.classId, interfaceInstance: options.instance ?? StorvscProtocol.defaultInstance },
    open: (channel) => {
      // A sub-channel starts ready, at the version its primary negotiated.
      let initial: StorvspInitState = INITIAL_STATE;
      if (channel.primary !== undefined) {
        const primary = [...open].find((handler) => handler.channelId === channel.primary);
        if (primary?.readyState === undefined) throw new RangeError(`sub-channel ${channel.id} of primary ${channel.primary}, which is not serving`);
        initial = primary.readyState;
      }
      const handler = new StorvspChannel(channel, controller, metrics, options, maxSubChannels, initial, () => open.delete(handler));
      open.add(handler);
      return handler;
    },
    attachDisk(lun, disk) {
      controller.attach(lun, disk);
      for (const channel of open) channel.enumerateBus();
    },
    async detachDisk(lun) {
      const target = controller.detach(lun);
      if (target === undefined) return undefined;
      for (const channel of open) channel.enumerateBus();
      await target.idle();
      return target.disk;
    },
  };
}

/** One open storvsp channel. */
class StorvspChannel implements ChannelHandler {
  private state: StorvspInitState;
  /** Sub-channels this (primary) channel has asked for during this open. */
  private readonly subChannels: SubChannelBudget = { offered: 0 };
  private inFlight = 0;
  /** Data bytes of the SRBs in flight: bounds the root memory and disk operations a guest causes. */
  private inFlightBytes = 0;
  private closed = false;
  private drained: (() => void) | undefined;
  /** The answer being built (the channel copies it before the next one). */
  private readonly reply = new Uint8Array(VstorPacket.SIZE);
  private readonly problems: RateLimitedLog;
  private readonly maxInFlight: number;
  private readonly maxInFlightBytes: number;

  constructor(
    private readonly channel: HostChannel,
    private readonly controller: ScsiController,
    private readonly metrics: StorvspMetrics,
    private readonly options: StorvspOptions,
    private readonly maxSubChannels: number,
    initial: StorvspInitState,
    private readonly closing: () => void,
  ) {
    this.state = initial;
    this.problems = new RateLimitedLog(channel.log);
    this.maxInFlight = options.maxInFlight ?? StorvscProtocol.MAX_IN_FLIGHT;
    this.maxInFlightBytes = options.maxInFlightBytes ?? MAX_IN_FLIGHT_BYTES;
  }

  onPacket(packet: Parameters<ChannelHandler['onPacket']>[0]): void {
    const request = parseStorvspPacket(packet, this.options.guestMemory);
    const id = packet.transactionId;
    this.handle(request, id, packet.completionRequested);
  }

  get channelId(): HostChannel['id'] {
    return this.channel.id;
  }

  /** The state a sub-channel of this one starts in: `ready` at this version, once initialized. */
  get readyState(): StorvspInitState | undefined {
    return !this.closed && this.state.kind === 'ready' ? this.state : undefined;
  }

  /** The LUN set changed: an initialized guest is told to rescan (unsolicited, transaction id 0) on the primary. */
  enumerateBus(): void {
    if (this.closed || this.state.kind !== 'ready' || this.channel.primary !== undefined) return;
    encodeVstorHeader(this.reply, VstorOperation.enumerateBus, 0, VstorStatus.success);
    this.channel.send(this.reply, 0);
  }

  async onClose(): Promise<void> {
    this.closed = true;
    this.closing();
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
  }

  private handle(request: StorvspRequest, id: bigint, completionRequested: boolean): void {
    switch (request.kind) {
      case 'init': {
        const step = initStep(this.state, request.message, this.options.versions);
        if (step.outOfOrder) this.protocolError(`${request.message.op}-out-of-order`, `vstor ${request.message.op} in state ${this.state.kind}`);
        this.state = step.next;
        encodeVstorHeader(this.reply, VstorOperation.completeIo, 0, step.status);
        if (request.message.op === 'query-properties' && step.status === VstorStatus.success) {
          encodeChannelProperties(this.reply, channelProperties(this.maxSubChannels));
        }
        this.channel.complete(this.reply, id);
        return;
      }
      case 'create-sub-channels': {
        const answer = createSubChannels(this.channel, this.state, request.count, this.maxSubChannels, this.subChannels);
        if (answer.refused !== undefined && answer.refused !== 'not-supported') this.protocolError(`create-sub-channels-${answer.refused}`, answer.detail ?? '');
        this.answerStatus(answer.status, id, completionRequested);
        return;
      }
      case 'unsupported':
        this.answerStatus(VstorStatus.notSupported, id, completionRequested);
        return;
      case 'malformed': {
        this.metrics.malformed++;
        this.metrics.malformedReasons[request.reason] = (this.metrics.malformedReasons[request.reason] ?? 0) + 1;
        this.problems.warn(`storvsp-${request.reason}`, { channel: this.channel.id, guest: { operation: request.operation } }, 'malformed vstor packet refused');
        if (request.srb !== undefined) this.completeSrb(request.srb, { srbStatus: SrbStatus.invalidRequest, scsiStatus: ScsiStatus.good, transferred: 0, sense: NO_SENSE }, id, VstorStatus.invalidParameter);
        else this.answerStatus(VstorStatus.invalidParameter, id, completionRequested);
        return;
      }
      case 'srb':
        this.executeSrb(request.srb, request.command, request.buffer, id);
        return;
      default:
        unreachable(request);
    }
  }

  private executeSrb(srb: ScsiRequestFields, command: ScsiCommand, buffer: Parameters<ScsiController['execute']>[3], id: bigint): void {
    if (this.state.kind !== 'ready') {
      this.protocolError('srb-before-ready', `EXECUTE_SRB in state ${this.state.kind}`);
      this.completeSrb(srb, { srbStatus: SrbStatus.invalidRequest, scsiStatus: ScsiStatus.good, transferred: 0, sense: NO_SENSE }, id, VstorStatus.invalidDeviceState);
      return;
    }
    const bytes = srb.dataTransferLength;
    // BUSY beyond the SRB count, or beyond the byte budget (one SRB always fits): a guest cannot
    // make the root hold more than MAX_IN_FLIGHT_BYTES of bounce buffers or disk operations.
    if (this.inFlight >= this.maxInFlight || (this.inFlight > 0 && this.inFlightBytes + bytes > this.maxInFlightBytes)) {
      this.metrics.busy++;
      this.completeSrb(srb, { srbStatus: SrbStatus.busy, scsiStatus: ScsiStatus.busy, transferred: 0, sense: NO_SENSE }, id, VstorStatus.success);
      return;
    }
    this.metrics.srbs++;
    const outcome = this.controller.execute(srb.targetId, srb.lun, command, buffer);
    if (outcome === INVALID_LUN) {
      this.metrics.invalidLun++;
      this.completeSrb(srb, { srbStatus: SrbStatus.invalidLun, scsiStatus: ScsiStatus.good, transferred: 0, sense: NO_SENSE }, id, VstorStatus.success);
      return;
    }
    if (!(outcome instanceof Promise)) {
      this.finish(srb, command, outcome, id);
      return;
    }
    this.inFlight++;
    this.inFlightBytes += bytes;
    if (this.inFlight > this.metrics.maxInFlight) this.metrics.maxInFlight = this.inFlight;
    void outcome.then((settled) => {
      this.inFlight--;
      this.inFlightBytes -= bytes;
      if (!this.closed) this.finish(srb, command, settled, id);
      else if (this.inFlight === 0) this.drained?.();
    });
  }

  private finish(srb: ScsiRequestFields, command: ScsiCommand, outcome: ScsiOutcome, id: bigint): void {
    const metrics = this.metrics;
    if (outcome.sense !== undefined) {
      metrics.checkConditions++;
    } else if (command.op === 'read') {
      metrics.reads++;
      metrics.bytesRead += outcome.transferred;
    } else if (command.op === 'write') {
      metrics.writes++;
      metrics.bytesWritten += outcome.transferred;
    } else if (command.op === 'synchronize-cache') {
      metrics.flushes++;
    } else if (command.op === 'unmap') {
      metrics.unmaps++;
    }
    const sense = outcome.sense !== undefined && srb.senseInfoLength > 0 ? outcome.sense : NO_SENSE;
    const srbStatus = outcome.sense === undefined ? SrbStatus.success : SrbStatus.error | (sense.length > 0 ? SrbStatus.autosenseValid : 0);
    this.completeSrb(srb, { srbStatus, scsiStatus: outcome.status, transferred: outcome.transferred, sense }, id, VstorStatus.success);
  }

  private completeSrb(srb: ScsiRequestFields, outcome: { srbStatus: number; scsiStatus: number; transferred: number; sense: Uint8Array }, id: bigint, status: number): void {
    encodeScsiCompletion(this.reply, srb, { srbStatus: outcome.srbStatus, scsiStatus: outcome.scsiStatus, dataTransferLength: outcome.transferred, sense: outcome.sense }, status);
    this.channel.complete(this.reply, id);
  }

  private answerStatus(status: number, id: bigint, completionRequested: boolean): void {
    if (!completionRequested) return;
    encodeVstorHeader(this.reply, VstorOperation.completeIo, 0, status);
    this.channel.complete(this.reply, id);
  }

  private protocolError(key: string, detail: string): void {
    this.metrics.protocolErrors++;
    this.problems.warn(`storvsp-${key}`, { channel: this.channel.id, detail }, 'vstor protocol error');
  }
}

function unreachable(request: never): never {
  throw new TypeError(`unhandled storvsp request ${JSON.stringify(request)}`);
}
