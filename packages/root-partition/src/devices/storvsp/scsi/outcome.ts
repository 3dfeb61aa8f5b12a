/**
 * What a SCSI command comes to: a SCSI status, the bytes moved, and (for CHECK CONDITION) the
 * fixed-format sense data (SPC-4 4.5.3). Also the buffer abstraction commands move data through:
 * the guest's pages of a GPA-direct range in storvsp, a plain array in unit tests.
 */
import { AdditionalSense, FixedSense, ScsiStatus, SenseKey } from '@viridian/vmbus';

/** The guest's data buffer of one command: `length` bytes. */
export interface ScsiDataBuffer {
  readonly length: number;
  /** Copies `source` into the buffer at `offset` (data in: target to initiator). */
  write(offset: number, source: Uint8Array): void;
  /** Copies `target.length` bytes at `offset` out of the buffer (data out: initiator to target). */
  read(offset: number, target: Uint8Array): void;
  /**
   * Views of the buffer's memory holding `[offset, offset + length)`, for I/O straight between the
   * guest's pages and the disk file: one per physically contiguous run.
   */
  views(offset: number, length: number): Uint8Array[];
}

/** The outcome of one command. */
export interface ScsiOutcome {
  readonly status: number;
  /** Bytes moved to or from the buffer. */
  readonly transferred: number;
  /** Fixed-format sense data when `status` is CHECK CONDITION. */
  readonly sense?: Uint8Array;
}

/** GOOD, `transferred` bytes moved. */
export function good(transferred = 0): ScsiOutcome {
  return { status: ScsiStatus.good, transferred };
}

/** Fixed-format sense data (18 bytes) for `key` and `ascAscq` (`AdditionalSense`). */
export function senseData(key: number, ascAscq: number): Uint8Array {
  const sense = new Uint8Array(FixedSense.SIZE);
  sense[FixedSense.responseCode] = FixedSense.CURRENT;
  sense[FixedSense.senseKey] = key & 0x0f;
  sense[FixedSense.additionalLength] = FixedSense.SIZE - 8;
  sense[FixedSense.asc] = ascAscq >> 8;
  sense[FixedSense.ascq] = ascAscq & 0xff;
  return sense;
}

/** CHECK CONDITION with sense `key`/`ascAscq`. */
export function checkCondition(key: number, ascAscq: number, transferred = 0): ScsiOutcome {
  return { status: ScsiStatus.checkCondition, transferred, sense: senseData(key, ascAscq) };
}

/** The common CHECK CONDITIONs. */
export const Check = Object.freeze({
  invalidOpcode: () => checkCondition(SenseKey.illegalRequest, AdditionalSense.invalidCommandOperationCode),
  invalidFieldInCdb: () => checkCondition(SenseKey.illegalRequest, AdditionalSense.invalidFieldInCdb),
  lbaOutOfRange: () => checkCondition(SenseKey.illegalRequest, AdditionalSense.lbaOutOfRange),
  invalidFieldInParameterList: () => checkCondition(SenseKey.illegalRequest, AdditionalSense.invalidFieldInParameterList),
  parameterListLengthError: () => checkCondition(SenseKey.illegalRequest, AdditionalSense.parameterListLengthError),
  writeProtected: () => checkCondition(SenseKey.dataProtect, AdditionalSense.writeProtected),
});

/** A `ScsiDataBuffer` over a local array (tests; bounce buffers). */
export class ArrayDataBuffer implements ScsiDataBuffer {
  constructor(readonly bytes: Uint8Array) {}
  get length(): number {
    return this.bytes.length;
  }
  write(offset: number, source: Uint8Array): void {
    this.bytes.set(source, offset);
  }
  read(offset: number, target: Uint8Array): void {
    target.set(this.bytes.subarray(offset, offset + target.length));
  }
  views(offset: number, length: number): Uint8Array[] {
    return [this.bytes.subarray(offset, offset + length)];
  }
}
