/**
 * The one place storvsp turns a guest packet into a request (STYLE rules 13, 14, 16; ARCHITECTURE
 * "Isolation" 3). The ring already copied the packet and checked its framing and GPA ranges
 * against the packet; here the vstor packet is decoded once (`decodeVstorPacket`), the SRB's CDB
 * is parsed and checked against its opcode's length, and the data buffer is checked: exactly one
 * GPA range for a transfer, every page of it inside the guest's memory, the transfer no longer
 * than the range or the announced maximum, no transfer without a range. What comes out is a
 * {@link StorvspRequest}; the handler never sees bytes.
 */
import {
  GpaRangeAccess,
  GuestMemoryError,
  StorvscProtocol,
  VstorOperation,
  decodeVstorPacket,
  type IncomingPacket,
  type ScsiRequestFields,
  type VstorDecodeFailure,
} from '@viridian/vmbus';
import { parseCdb, type ScsiCommand } from './scsi/cdb.ts';
import type { ScsiDataBuffer } from './scsi/outcome.ts';
import type { InitMessage } from './state.ts';

/** Why a packet was refused. */
export type StorvspMalformedReason =
  | VstorDecodeFailure
  /** A packet of a kind storvsc never sends (transfer pages, completions, unknown types). */
  | 'packet-kind'
  /** An operation number the VSC may not send. */
  | 'unrecognized-operation'
  /** The CDB is shorter than its opcode requires. */
  | 'cdb-too-short'
  /** A GPA-direct SRB with other than one range. */
  | 'range-count'
  /** A range whose pages are not all inside the guest's memory (or whose PFN count is wrong). */
  | 'range-outside-memory'
  /** `data_transfer_length` is larger than the range. */
  | 'transfer-exceeds-range'
  /** `data_transfer_length` is larger than QUERY_PROPERTIES announced. */
  | 'transfer-too-large'
  /** A non-zero `data_transfer_length` in an in-band packet (no buffer). */
  | 'transfer-without-range';

/** A guest packet, parsed. */
export type StorvspRequest =
  | { readonly kind: 'init'; readonly message: InitMessage }
  | { readonly kind: 'srb'; readonly srb: ScsiRequestFields; readonly command: ScsiCommand; readonly buffer: ScsiDataBuffer | undefined }
  /** CREATE_SUB_CHANNELS: `count` as the guest wrote it (a u16; `sub-channels.ts` bounds it). */
  | { readonly kind: 'create-sub-channels'; readonly count: number }
  /** A known operation this VSP does not implement (resets, FC): answered NOT_SUPPORTED. */
  | { readonly kind: 'unsupported'; readonly operation: number }
  /** Refused. `srb` is set when the SRB fields decoded (the answer echoes them). */
  | { readonly kind: 'malformed'; readonly reason: StorvspMalformedReason; readonly operation: number; readonly srb?: ScsiRequestFields };

/** The bytes of a guest's GPA-direct range, as the SCSI target sees its data buffer. */
export class GuestDataBuffer implements ScsiDataBuffer {
  constructor(
    private readonly range: GpaRangeAccess,
    /** `data_transfer_length`, at most the range's size (checked by {@link parseStorvspPacket}). */
    readonly length: number,
  ) {}
  write(offset: number, source: Uint8Array): void {
    this.check(offset, source.length);
    this.range.write(offset, source, 0, source.length);
  }
  read(offset: number, target: Uint8Array): void {
    this.check(offset, target.length);
    this.range.read(offset, target, 0, target.length);
  }
  views(offset: number, length: number): Uint8Array[] {
    this.check(offset, length);
    return this.range.views(offset, length);
  }
  /** @throws {RangeError} a target bug: the SCSI code stays inside the transfer length */
  private check(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.length) throw new RangeError(`[${offset}, +${length}) is outside a ${this.length}-byte transfer`);
  }
}

/**
 * Parses one guest packet. `memory` is the guest's memory (GPA = byte offset).
 * Never throws for guest input.
 */
export function parseStorvspPacket(packet: IncomingPacket, memory: ArrayBufferLike, maxTransferBytes = StorvscProtocol.MAX_TRANSFER_BYTES): StorvspRequest {
  if (packet.kind !== 'inband' && packet.kind !== 'gpa-direct') return { kind: 'malformed', reason: 'packet-kind', operation: 0 };
  const decoded = decodeVstorPacket(packet.bytes, packet.payloadOffset, packet.payloadLength);
  if (!decoded.ok) return { kind: 'malformed', reason: decoded.reason, operation: decoded.operation };
  const message = decoded.message;
  switch (message.op) {
    case 'begin-initialization':
    case 'end-initialization':
    case 'query-properties':
      return { kind: 'init', message: { op: message.op } };
    case 'query-protocol-version':
      return { kind: 'init', message: { op: message.op, version: message.version } };
    case 'create-sub-channels':
      return { kind: 'create-sub-channels', count: message.count };
    case 'other':
      return { kind: 'unsupported', operation: message.operation };
    case 'unrecognized':
      return { kind: 'malformed', reason: 'unrecognized-operation', operation: message.operation };
    case 'execute-srb':
      break;
    default:
      return unreachable(message);
  }
  const srb = message.srb;
  const operation = VstorOperation.executeSrb;
  const refuse = (reason: StorvspMalformedReason): StorvspRequest => ({ kind: 'malformed', reason, operation, srb });
  const command = parseCdb(srb.cdb);
  if (command.op === 'cdb-too-short') return refuse('cdb-too-short');
  const length = srb.dataTransferLength;
  if (packet.kind === 'inband') {
    if (length !== 0) return refuse('transfer-without-range');
    return { kind: 'srb', srb, command, buffer: undefined };
  }
  if (packet.ranges.length !== 1) return refuse('range-count');
  if (length > maxTransferBytes) return refuse('transfer-too-large');
  let range: GpaRangeAccess;
  try {
    range = new GpaRangeAccess(memory, packet.ranges[0]!);
  } catch (error) {
    if (error instanceof GuestMemoryError) return refuse('range-outside-memory');
    throw error;
  }
  if (length > range.byteCount) return refuse('transfer-exceeds-range');
  return { kind: 'srb', srb, command, buffer: length === 0 ? undefined : new GuestDataBuffer(range, length) };
}

function unreachable(message: never): never {
  throw new TypeError(`unhandled vstor message ${JSON.stringify(message)}`);
}
