/**
 * A disk LUN: the SCSI target semantics (SPC-4, SBC-3) of one {@link VirtualDisk}. It executes
 * decoded CDBs against the disk and the guest's data buffer and answers every command with a
 * SCSI status, the bytes moved and, for CHECK CONDITION, fixed-format sense:
 * - data moves straight between the guest's pages and the disk file: each physically contiguous
 *   run of the buffer ({@link ScsiDataBuffer.views}) is one `readInto`/`write` at its offset, all
 *   in flight at once; only a buffer whose runs do not fall on sector boundaries goes through a
 *   bounce buffer;
 * - out-of-range LBAs get ILLEGAL REQUEST / LOGICAL BLOCK ADDRESS OUT OF RANGE, unknown opcodes
 *   INVALID COMMAND OPERATION CODE, bad fields INVALID FIELD IN CDB (or PARAMETER LIST);
 * - host failures become sense: EIO → MEDIUM ERROR (UNRECOVERED READ ERROR / WRITE ERROR),
 *   ENOSPC → DATA PROTECT / SPACE ALLOCATION FAILED WRITE PROTECT, corrupt metadata → MEDIUM ERROR
 *   / MEDIUM FORMAT CORRUPTED, anything else → HARDWARE ERROR / INTERNAL TARGET FAILURE.
 * Commands that need no I/O answer synchronously (no promise on the hot path of small commands).
 */
import { AdditionalSense, ReadCapacity10Data, ReadCapacity16Data, SenseKey, UnmapParameters } from '@viridian/vmbus';
import { DiskCorruptError, DiskError, DiskIoError, DiskOutOfRangeError, DiskReadOnlyError } from '../../../storage/errors.ts';
import type { VirtualDisk } from '../../../storage/virtual-disk.ts';
import type { ScsiCommand } from './cdb.ts';
import { standardInquiry, vpdPage, type LunIdentity, type LunLimits } from './inquiry.ts';
import { modeSenseData } from './mode-sense.ts';
import { ArrayDataBuffer, Check, checkCondition, good, senseData, type ScsiDataBuffer, type ScsiOutcome } from './outcome.ts';

/** Most UNMAP block descriptors one command may carry. */
export const MAX_UNMAP_DESCRIPTORS = 256;
/** Most blocks one UNMAP descriptor may name (1 GiB of 512-byte sectors). */
export const MAX_UNMAP_BLOCKS = 2 * 1024 * 1024;

const EMPTY_BUFFER: ScsiDataBuffer = new ArrayDataBuffer(new Uint8Array(0));

export interface ScsiDiskOptions {
  readonly identity: LunIdentity;
  /** Largest READ/WRITE, bytes (what QUERY_PROPERTIES announced). */
  readonly maxTransferBytes: number;
}

export class ScsiDisk {
  readonly blockSize: number;
  private readonly limits: LunLimits;
  /** Sense of the last CHECK CONDITION, for REQUEST SENSE. */
  private lastSense: Uint8Array | undefined;
  /** Commands with disk I/O running, and who waits for there to be none. */
  private running = 0;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    readonly disk: VirtualDisk,
    private readonly options: ScsiDiskOptions,
  ) {
    this.blockSize = disk.logicalSectorSize;
    this.limits = {
      blockSize: disk.logicalSectorSize,
      physicalBlockSize: disk.physicalSectorSize,
      maxTransferBytes: options.maxTransferBytes,
      maxUnmapBlocks: MAX_UNMAP_BLOCKS,
      maxUnmapDescriptors: MAX_UNMAP_DESCRIPTORS,
      trimReadsZeros: disk.trimReadsZeros,
      thin: !(disk.format === 'raw' || disk.format.endsWith('-fixed')),
    };
  }

  /** Blocks of the disk now (a resize changes it). */
  get blocks(): number {
    return Math.floor(this.disk.virtualSize / this.blockSize);
  }

  /**
   * Executes `command` with the guest's `buffer` (undefined: no data). Never rejects: every
   * failure is an outcome with sense.
   */
  execute(command: ScsiCommand, buffer: ScsiDataBuffer | undefined): ScsiOutcome | Promise<ScsiOutcome> {
    return this.dispatch(command, buffer ?? EMPTY_BUFFER);
  }

  /** Resolves when no command of this LUN has disk I/O running (for hot removal). */
  idle(): Promise<void> {
    return this.running === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Keeps the sense of a CHECK CONDITION for REQUEST SENSE. */
  private remember(outcome: ScsiOutcome): ScsiOutcome {
    if (outcome.sense !== undefined) this.lastSense = outcome.sense;
    return outcome;
  }

  /** Every synchronous outcome passes `remember`; asynchronous ones do so in `io`. */
  private dispatch(command: ScsiCommand, buffer: ScsiDataBuffer): ScsiOutcome | Promise<ScsiOutcome> {
    const outcome = this.dispatchUnremembered(command, buffer);
    return outcome instanceof Promise ? outcome : this.remember(outcome);
  }

  private dispatchUnremembered(command: ScsiCommand, buffer: ScsiDataBuffer): ScsiOutcome | Promise<ScsiOutcome> {
    switch (command.op) {
      case 'test-unit-ready':
        return good();
      case 'inquiry': {
        const data = command.evpd ? vpdPage(command.page, this.options.identity, this.limits) : standardInquiry();
        return data === undefined ? Check.invalidFieldInCdb() : dataIn(buffer, data, command.allocationLength);
      }
      case 'read-capacity-10': {
        const data = new Uint8Array(ReadCapacity10Data.SIZE);
        const v = new DataView(data.buffer);
        v.setUint32(ReadCapacity10Data.lastLba, Math.min(this.blocks - 1, 0xffff_ffff));
        v.setUint32(ReadCapacity10Data.blockLength, this.blockSize);
        return dataIn(buffer, data, data.length);
      }
      case 'read-capacity-16': {
        const data = new Uint8Array(ReadCapacity16Data.SIZE);
        const v = new DataView(data.buffer);
        v.setBigUint64(ReadCapacity16Data.lastLba, BigInt(this.blocks - 1));
        v.setUint32(ReadCapacity16Data.blockLength, this.blockSize);
        data[ReadCapacity16Data.exponent] = Math.log2(Math.max(1, this.disk.physicalSectorSize / this.blockSize)) & 0x0f;
        v.setUint16(ReadCapacity16Data.provisioning, 0x8000 | (this.disk.trimReadsZeros ? 0x4000 : 0)); // LBPME, LBPRZ
        return dataIn(buffer, data, command.allocationLength);
      }
      case 'mode-sense':
        return dataIn(buffer, modeSenseData(command, { blocks: this.blocks, blockSize: this.blockSize, readOnly: this.disk.readOnly }), command.allocationLength);
      case 'request-sense': {
        const sense = this.lastSense ?? senseData(SenseKey.noSense, AdditionalSense.none);
        this.lastSense = undefined;
        return dataIn(buffer, sense, command.allocationLength);
      }
      case 'read':
      case 'write':
        return this.readWrite(command.op, command.lba, command.blocks, command.fua, buffer);
      case 'synchronize-cache':
        return this.io('write', this.disk.flush());
      case 'unmap':
        return this.unmap(command.parameterListLength, buffer);
      case 'report-luns':
        // Answered by the controller, which knows the LUNs; a LUN on its own reports itself only.
        return Check.invalidOpcode();
      case 'cdb-too-short':
      case 'invalid-field':
        return Check.invalidFieldInCdb();
      case 'lba-out-of-range':
        return Check.lbaOutOfRange();
      case 'unsupported':
        return Check.invalidOpcode();
      default:
        return unreachable(command);
    }
  }

  private readWrite(op: 'read' | 'write', lba: number, blocks: number, fua: boolean, buffer: ScsiDataBuffer): ScsiOutcome | Promise<ScsiOutcome> {
    if (lba + blocks > this.blocks) return Check.lbaOutOfRange();
    if (op === 'write' && this.disk.readOnly) return Check.writeProtected();
    if (blocks === 0) return good();
    const bytes = blocks * this.blockSize;
    if (bytes > this.options.maxTransferBytes || bytes > buffer.length) return Check.invalidFieldInCdb();
    const offset = lba * this.blockSize;
    let work: Promise<unknown>;
    try {
      work = op === 'read' ? this.readInto(offset, bytes, buffer) : this.writeFrom(offset, bytes, buffer, fua);
    } catch (error) {
      work = Promise.reject(error); // a synchronous failure is answered with sense like any other
    }
    return this.io(op, work, bytes);
  }

  private async readIntoRuns(offset: number, bytes: number, buffer: ScsiDataBuffer, views: readonly Uint8Array[]): Promise<void> {
    if (this.aligned(views)) {
      const reads: Promise<void>[] = [];
      let at = offset;
      for (const view of views) {
        reads.push(this.disk.readInto(at, view));
        at += view.length;
      }
      await Promise.all(reads);
      return;
    }
    buffer.write(0, await this.disk.read(offset, bytes));
  }

  /** The data in one run of guest pages (the common case): the disk's own promise, no wrapper. */
  private readInto(offset: number, bytes: number, buffer: ScsiDataBuffer): Promise<unknown> {
    const views = buffer.views(0, bytes);
    return views.length === 1 ? this.disk.readInto(offset, views[0]!) : this.readIntoRuns(offset, bytes, buffer, views);
  }

  private writeFrom(offset: number, bytes: number, buffer: ScsiDataBuffer, fua: boolean): Promise<unknown> {
    const views = buffer.views(0, bytes);
    if (views.length === 1 && !fua) return this.disk.write(offset, views[0]!);
    return this.writeFromRuns(offset, bytes, buffer, fua, views);
  }

  private async writeFromRuns(offset: number, bytes: number, buffer: ScsiDataBuffer, fua: boolean, views: readonly Uint8Array[]): Promise<void> {
    if (views.length === 1) {
      await this.disk.write(offset, views[0]!);
    } else if (this.aligned(views)) {
      const writes: Promise<void>[] = [];
      let at = offset;
      for (const view of views) {
        writes.push(this.disk.write(at, view));
        at += view.length;
      }
      await Promise.all(writes);
    } else {
      const bounce = new Uint8Array(bytes);
      buffer.read(0, bounce);
      await this.disk.write(offset, bounce);
    }
    if (fua) await this.disk.flush();
  }

  /** Whether every run is whole sectors (so each can be its own disk request). */
  private aligned(views: readonly Uint8Array[]): boolean {
    for (const view of views) if (view.length % this.blockSize !== 0) return false;
    return true;
  }

  private unmap(listLength: number, buffer: ScsiDataBuffer): ScsiOutcome | Promise<ScsiOutcome> {
    if (this.disk.readOnly) return Check.writeProtected();
    if (listLength === 0) return good();
    if (listLength < UnmapParameters.HEADER_SIZE || listLength > buffer.length) return Check.parameterListLengthError();
    const list = new Uint8Array(listLength);
    buffer.read(0, list);
    const v = new DataView(list.buffer);
    const descriptorBytes = v.getUint16(UnmapParameters.descriptorDataLength);
    if (descriptorBytes % UnmapParameters.DESCRIPTOR_SIZE !== 0 || UnmapParameters.HEADER_SIZE + descriptorBytes > listLength) return Check.parameterListLengthError();
    const count = descriptorBytes / UnmapParameters.DESCRIPTOR_SIZE;
    if (count > MAX_UNMAP_DESCRIPTORS) return Check.invalidFieldInParameterList();
    const ranges: [number, number][] = [];
    for (let i = 0; i < count; i++) {
      const at = UnmapParameters.HEADER_SIZE + i * UnmapParameters.DESCRIPTOR_SIZE;
      const lba = Number(v.getBigUint64(at + UnmapParameters.descriptorLba));
      const blocks = v.getUint32(at + UnmapParameters.descriptorCount);
      if (blocks > MAX_UNMAP_BLOCKS) return Check.invalidFieldInParameterList();
      if (!Number.isSafeInteger(lba) || lba + blocks > this.blocks) return Check.lbaOutOfRange();
      if (blocks > 0) ranges.push([lba * this.blockSize, blocks * this.blockSize]);
    }
    return this.io('write', Promise.all(ranges.map(([offset, length]) => this.disk.trim(offset, length))), 0);
  }

  /**
   * Waits for disk I/O, turns its failure into sense, keeps the sense for REQUEST SENSE and counts
   * the command as running until then (for `idle`). One `then`, no `async` wrapper: this is every
   * disk command's path.
   */
  private io(op: 'read' | 'write', work: Promise<unknown>, transferred = 0): Promise<ScsiOutcome> {
    this.running++;
    return work.then(
      () => this.settled(good(transferred)),
      (error: unknown) => this.settled(this.remember(ioFailure(op, error))),
    );
  }

  private settled(outcome: ScsiOutcome): ScsiOutcome {
    if (--this.running === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    return outcome;
  }
}

/** The sense of a failed disk operation. */
export function ioFailure(op: 'read' | 'write', error: unknown): ScsiOutcome {
  if (error instanceof DiskIoError) {
    if (error.errno === 'ENOSPC' || error.errno === 'EDQUOT') return checkCondition(SenseKey.dataProtect, AdditionalSense.spaceAllocationFailedWriteProtect);
    if (error.errno === 'EIO') return checkCondition(SenseKey.mediumError, op === 'read' ? AdditionalSense.unrecoveredReadError : AdditionalSense.writeError);
  }
  if (error instanceof DiskCorruptError) return checkCondition(SenseKey.mediumError, AdditionalSense.mediumFormatCorrupted);
  if (error instanceof DiskOutOfRangeError) return Check.lbaOutOfRange();
  if (error instanceof DiskReadOnlyError) return Check.writeProtected();
  if (error instanceof DiskError || error instanceof Error) return checkCondition(SenseKey.hardwareError, AdditionalSense.internalTargetFailure);
  return checkCondition(SenseKey.hardwareError, AdditionalSense.internalTargetFailure);
}

/** Copies up to `allocationLength` bytes of `data` into the buffer. */
function dataIn(buffer: ScsiDataBuffer, data: Uint8Array, allocationLength: number): ScsiOutcome {
  const length = Math.min(data.length, allocationLength, buffer.length);
  if (length > 0) buffer.write(0, data.subarray(0, length));
  return good(length);
}

function unreachable(command: never): never {
  throw new TypeError(`unhandled SCSI command ${JSON.stringify(command)}`);
}
