/**
 * Encoding and decoding of `vstor_packet`s (vmbus-wire.md §8.1), for both ends of the synthetic
 * SCSI controller. {@link decodeVstorPacket} is the one place a guest's vstor bytes become a
 * message: it copies every field it needs out of the packet once, checks the lengths and ranges
 * the wire fixes (packet size, SRB `length`, CDB and sense lengths, data direction) and returns a
 * discriminated union or a failure reason, never throwing (STYLE rules 13, 14, 16). Semantic
 * checks that need the device (LUN, CDB length against the opcode, data buffer against the GPA
 * range) are the VSP's.
 */
import { DataDirection, ProtocolVersion, ChannelProperties, ScsiRequest, SubChannelRequest, VstorOperation, VstorPacket } from './protocol.ts';

/** The fields of a `vmscsi_request`, copied out of the packet. */
export interface ScsiRequestFields {
  readonly srbStatus: number;
  readonly scsiStatus: number;
  readonly portNumber: number;
  readonly pathId: number;
  readonly targetId: number;
  readonly lun: number;
  readonly cdbLength: number;
  readonly senseInfoLength: number;
  /** `DataDirection`. */
  readonly dataIn: number;
  readonly dataTransferLength: number;
  /** Request: the CDB (`cdbLength` bytes, a private copy). Completion: empty. */
  readonly cdb: Uint8Array;
  readonly queueTag: number;
  readonly queueAction: number;
  readonly srbFlags: number;
  readonly timeOutValue: number;
}

/** A vstor message a VSC sends, decoded. */
export type VstorMessage =
  | { readonly op: 'begin-initialization' }
  | { readonly op: 'end-initialization' }
  | { readonly op: 'query-protocol-version'; readonly version: number; readonly revision: number }
  | { readonly op: 'query-properties' }
  | { readonly op: 'execute-srb'; readonly srb: ScsiRequestFields }
  /** CREATE_SUB_CHANNELS: `count` sub-channels asked for (a u16, any value: the VSP bounds it). */
  | { readonly op: 'create-sub-channels'; readonly count: number }
  /** A known operation a VSC may send that needs no fields here (resets, FC data). */
  | { readonly op: 'other'; readonly operation: number }
  /** An operation number the protocol does not define, or one only a VSP sends. */
  | { readonly op: 'unrecognized'; readonly operation: number };

/** Why a vstor packet was refused. */
export type VstorDecodeFailure = 'packet-too-short' | 'srb-length' | 'cdb-length' | 'sense-length' | 'data-direction';

export type VstorDecodeResult =
  | { readonly ok: true; readonly flags: number; readonly status: number; readonly message: VstorMessage }
  | { readonly ok: false; readonly reason: VstorDecodeFailure; readonly operation: number };

/**
 * Decodes the vstor packet at `bytes[offset…offset + length)` (a packet payload; padding
 * included). Reads every field once.
 */
export function decodeVstorPacket(bytes: Uint8Array, offset: number, length: number): VstorDecodeResult {
  if (length < VstorPacket.SIZE || offset < 0 || offset + VstorPacket.SIZE > bytes.length) {
    const operation = length >= 4 && offset >= 0 && offset + 4 <= bytes.length ? view(bytes, offset).getUint32(VstorPacket.operation, true) : 0;
    return { ok: false, reason: 'packet-too-short', operation };
  }
  const v = view(bytes, offset);
  const operation = v.getUint32(VstorPacket.operation, true);
  const flags = v.getUint32(VstorPacket.flags, true);
  const status = v.getUint32(VstorPacket.status, true);
  let message: VstorMessage;
  switch (operation) {
    case VstorOperation.beginInitialization:
      message = { op: 'begin-initialization' };
      break;
    case VstorOperation.endInitialization:
      message = { op: 'end-initialization' };
      break;
    case VstorOperation.queryProtocolVersion:
      message = { op: 'query-protocol-version', version: v.getUint16(ProtocolVersion.majorMinor, true), revision: v.getUint16(ProtocolVersion.revision, true) };
      break;
    case VstorOperation.queryProperties:
      message = { op: 'query-properties' };
      break;
    case VstorOperation.executeSrb: {
      const srb = readScsiRequest(bytes, offset, true);
      if (!('cdb' in srb)) return { ok: false, reason: srb.failure, operation };
      message = { op: 'execute-srb', srb };
      break;
    }
    case VstorOperation.createSubChannels:
      message = { op: 'create-sub-channels', count: v.getUint16(SubChannelRequest.count, true) };
      break;
    case VstorOperation.resetLun:
    case VstorOperation.resetAdapter:
    case VstorOperation.resetBus:
    case VstorOperation.fcHbaData:
      message = { op: 'other', operation };
      break;
    default:
      message = { op: 'unrecognized', operation };
  }
  return { ok: true, flags, status, message };
}

/**
 * Reads the `vmscsi_request` of the 64-byte vstor packet at `bytes[offset…]`. As a request
 * (`request = true`) it checks `length`, the CDB and sense lengths and the direction and copies
 * the CDB; as a completion it copies no CDB (the union holds sense data instead).
 */
export function readScsiRequest(bytes: Uint8Array, offset: number, request: boolean): ScsiRequestFields | { readonly failure: VstorDecodeFailure } {
  const v = view(bytes, offset);
  const length = v.getUint16(ScsiRequest.length, true);
  const cdbLength = v.getUint8(ScsiRequest.cdbLength);
  const senseInfoLength = v.getUint8(ScsiRequest.senseInfoLength);
  const dataIn = v.getUint8(ScsiRequest.dataIn);
  if (request) {
    if (length !== ScsiRequest.SIZE) return { failure: 'srb-length' };
    if (cdbLength === 0 || cdbLength > ScsiRequest.CDB_SIZE) return { failure: 'cdb-length' };
    if (senseInfoLength > ScsiRequest.SENSE_SIZE) return { failure: 'sense-length' };
    if (dataIn > DataDirection.unknown) return { failure: 'data-direction' };
  }
  return {
    srbStatus: v.getUint8(ScsiRequest.srbStatus),
    scsiStatus: v.getUint8(ScsiRequest.scsiStatus),
    portNumber: v.getUint8(ScsiRequest.portNumber),
    pathId: v.getUint8(ScsiRequest.pathId),
    targetId: v.getUint8(ScsiRequest.targetId),
    lun: v.getUint8(ScsiRequest.lun),
    cdbLength,
    senseInfoLength,
    dataIn,
    dataTransferLength: v.getUint32(ScsiRequest.dataTransferLength, true),
    cdb: request ? bytes.slice(offset + ScsiRequest.cdb, offset + ScsiRequest.cdb + cdbLength) : EMPTY,
    queueTag: v.getUint8(ScsiRequest.queueTag),
    queueAction: v.getUint8(ScsiRequest.queueAction),
    srbFlags: v.getUint32(ScsiRequest.srbFlags, true),
    timeOutValue: v.getUint32(ScsiRequest.timeOutValue, true),
  };
}

/** Writes a vstor packet header into the 64 bytes at `target[offset…]` and zeroes the union. */
export function encodeVstorHeader(target: Uint8Array, operation: number, flags: number, status: number, offset = 0): void {
  target.fill(0, offset, offset + VstorPacket.SIZE);
  const v = view(target, offset);
  v.setUint32(VstorPacket.operation, operation, true);
  v.setUint32(VstorPacket.flags, flags, true);
  v.setUint32(VstorPacket.status, status >>> 0, true);
}

/** A new 64-byte vstor packet with only a header (BEGIN/END_INITIALIZATION, QUERY_PROPERTIES…). */
export function vstorPacket(operation: number, flags: number, status = 0): Uint8Array {
  const packet = new Uint8Array(VstorPacket.SIZE);
  encodeVstorHeader(packet, operation, flags, status);
  return packet;
}

/** Writes the `vmstorage_protocol_version` union of the packet at `target[offset…]`. */
export function encodeProtocolVersion(target: Uint8Array, version: number, offset = 0): void {
  const v = view(target, offset);
  v.setUint16(ProtocolVersion.majorMinor, version, true);
  v.setUint16(ProtocolVersion.revision, 0, true);
}

/** Writes CREATE_SUB_CHANNELS's `sub_channel_count` into the packet at `target[offset…]`. */
export function encodeSubChannelCount(target: Uint8Array, count: number, offset = 0): void {
  view(target, offset).setUint16(SubChannelRequest.count, count, true);
}

/** Channel properties as QUERY_PROPERTIES returns them. */
export interface ChannelPropertiesFields {
  readonly maxChannelCount: number;
  readonly flags: number;
  readonly maxTransferBytes: number;
}

export function encodeChannelProperties(target: Uint8Array, properties: ChannelPropertiesFields, offset = 0): void {
  const v = view(target, offset);
  v.setUint16(ChannelProperties.maxChannelCount, properties.maxChannelCount, true);
  v.setUint32(ChannelProperties.flags, properties.flags, true);
  v.setUint32(ChannelProperties.maxTransferBytes, properties.maxTransferBytes, true);
}

export function readChannelProperties(bytes: Uint8Array, offset = 0): ChannelPropertiesFields {
  const v = view(bytes, offset);
  return {
    maxChannelCount: v.getUint16(ChannelProperties.maxChannelCount, true),
    flags: v.getUint32(ChannelProperties.flags, true),
    maxTransferBytes: v.getUint32(ChannelProperties.maxTransferBytes, true),
  };
}

/** The request fields a VSC fills in (the rest are zero). */
export interface ScsiRequestInit {
  readonly targetId?: number;
  readonly lun: number;
  readonly cdb: Uint8Array;
  readonly dataIn: number;
  readonly dataTransferLength: number;
  readonly srbFlags: number;
  readonly senseInfoLength?: number;
  readonly timeOutValue?: number;
}

/** Writes an EXECUTE_SRB request's `vmscsi_request` into the packet at `target[offset…]`. */
export function encodeScsiRequest(target: Uint8Array, init: ScsiRequestInit, offset = 0): void {
  const v = view(target, offset);
  v.setUint16(ScsiRequest.length, ScsiRequest.SIZE, true);
  v.setUint8(ScsiRequest.targetId, init.targetId ?? 0);
  v.setUint8(ScsiRequest.lun, init.lun);
  v.setUint8(ScsiRequest.cdbLength, init.cdb.length);
  v.setUint8(ScsiRequest.senseInfoLength, init.senseInfoLength ?? ScsiRequest.SENSE_SIZE);
  v.setUint8(ScsiRequest.dataIn, init.dataIn);
  v.setUint32(ScsiRequest.dataTransferLength, init.dataTransferLength, true);
  target.set(init.cdb.subarray(0, ScsiRequest.CDB_SIZE), offset + ScsiRequest.cdb);
  v.setUint32(ScsiRequest.srbFlags, init.srbFlags, true);
  v.setUint32(ScsiRequest.timeOutValue, init.timeOutValue ?? 60, true);
}

/** The outcome of an SRB, as the VSP writes it into the COMPLETE_IO packet. */
export interface ScsiCompletionFields {
  readonly srbStatus: number;
  readonly scsiStatus: number;
  readonly dataTransferLength: number;
  /** Sense bytes (at most 20), written when non-empty (the VSP sets AUTOSENSE_VALID). */
  readonly sense: Uint8Array;
}

/**
 * Writes a COMPLETE_IO packet for `request` into `target[offset…]` (64 bytes): the request's
 * address fields echoed, then the outcome.
 */
export function encodeScsiCompletion(target: Uint8Array, request: ScsiRequestFields | undefined, outcome: ScsiCompletionFields, status: number, offset = 0): void {
  encodeVstorHeader(target, VstorOperation.completeIo, 0, status, offset);
  const v = view(target, offset);
  v.setUint16(ScsiRequest.length, ScsiRequest.SIZE, true);
  if (request !== undefined) {
    v.setUint8(ScsiRequest.portNumber, request.portNumber);
    v.setUint8(ScsiRequest.pathId, request.pathId);
    v.setUint8(ScsiRequest.targetId, request.targetId);
    v.setUint8(ScsiRequest.lun, request.lun);
    v.setUint8(ScsiRequest.cdbLength, request.cdbLength);
    v.setUint8(ScsiRequest.dataIn, request.dataIn);
    v.setUint8(ScsiRequest.queueTag, request.queueTag);
    v.setUint8(ScsiRequest.queueAction, request.queueAction);
    v.setUint32(ScsiRequest.srbFlags, request.srbFlags, true);
    v.setUint32(ScsiRequest.timeOutValue, request.timeOutValue, true);
  }
  v.setUint8(ScsiRequest.srbStatus, outcome.srbStatus);
  v.setUint8(ScsiRequest.scsiStatus, outcome.scsiStatus);
  v.setUint32(ScsiRequest.dataTransferLength, outcome.dataTransferLength, true);
  const sense = outcome.sense.subarray(0, Math.min(outcome.sense.length, ScsiRequest.SENSE_SIZE, request?.senseInfoLength ?? ScsiRequest.SENSE_SIZE));
  v.setUint8(ScsiRequest.senseInfoLength, sense.length);
  target.set(sense, offset + ScsiRequest.senseData);
}

/** The sense bytes of a completion (`sense_info_length` of them, at most 20). */
export function readCompletionSense(bytes: Uint8Array, offset = 0): Uint8Array {
  const length = Math.min(bytes[offset + ScsiRequest.senseInfoLength] ?? 0, ScsiRequest.SENSE_SIZE);
  return bytes.slice(offset + ScsiRequest.senseData, offset + ScsiRequest.senseData + length);
}

const EMPTY = new Uint8Array(0);

/**
 * A DataView of `bytes` from `offset` on. The hot path decodes and encodes packets in the same few
 * buffers at the same offsets (a ring's reusable packet record, a VSC's request scratch), so the
 * last view is kept and reused when the window is the same: no allocation per packet.
 */
function view(bytes: Uint8Array, offset: number): DataView {
  const start = bytes.byteOffset + offset;
  const length = bytes.length - offset;
  const last = lastView;
  if (last !== undefined && last.buffer === bytes.buffer && last.byteOffset === start && last.byteLength === length) return last;
  return (lastView = new DataView(bytes.buffer, start, length));
}

let lastView: DataView | undefined;
