/**
 * The vstor protocol of the synthetic SCSI controller, shared by storvsp (root) and storvsc
 * (guest): vmbus-wire.md §8.1. Every message is one 64-byte `vstor_packet` (operation, flags,
 * status, then a 52-byte union); SCSI requests carry a `vmscsi_request` in the union and, when
 * they move data, travel as GPA-direct packets (§2.2) whose single range names the guest's buffer.
 * Protocol file: numbers and offsets only, no logic (STYLE rule 6); the codec is `codec.ts`.
 *
 * Only the Win8+ request layout (52 bytes, sense 20 bytes) is spoken: current Linux no longer
 * supports older hosts, and neither does Viridian (versions 5.1, 6.0, 6.2).
 */
import { parseGuid } from '../../protocol/guid.ts';

/** A vstor protocol version: u16 `major << 8 | minor` (§8.1). */
export function storvscVersion(major: number, minor: number): number {
  return ((major & 0xff) << 8) | (minor & 0xff);
}

/** The known vstor versions. */
export const StorvscVersions = Object.freeze({
  win6: storvscVersion(2, 0),
  win7: storvscVersion(4, 2),
  win8: storvscVersion(5, 1),
  win8_1: storvscVersion(6, 0),
  win10: storvscVersion(6, 2),
} as const);

/** What both sides negotiate, newest first (the VSC proposes them in this order). */
export const STORVSC_NEGOTIABLE_VERSIONS: readonly number[] = Object.freeze([StorvscVersions.win10, StorvscVersions.win8_1, StorvscVersions.win8]);

export const StorvscProtocol = Object.freeze({
  /** Device class (`if_type`) of the synthetic SCSI controller (Hyper-V's SCSI GUID). */
  classId: parseGuid('ba6163d9-04a1-4d29-b605-72e2ffb1dc7f'),
  /** Instance id of the first controller; the last byte is the controller number. */
  defaultInstance: parseGuid('5e0b1d2a-7c4f-4e8a-9a51-3f2d6c0b5c00'),
  /** Guest-to-host ring (control page included): room for many queued GPA-direct requests. */
  sendRingBytes: 512 * 1024 + 4096,
  /** Host-to-guest ring: completions are 88 bytes on the ring; 256 of them need ~22 KiB. */
  receiveRingBytes: 128 * 1024 + 4096,
  /** Requests the VSP serves at once per channel; more are answered with SRB status BUSY. */
  MAX_IN_FLIGHT: 256,
  /** Largest data transfer of one SRB (QUERY_PROPERTIES `max_transfer_bytes`). */
  MAX_TRANSFER_BYTES: 2 * 1024 * 1024,
  /** LUNs one controller addresses (target 0, LUN 0..63, as Linux's storvsc scans). */
  MAX_LUNS: 64,
  /** The Linux `VMBUS_RQST_INIT` transaction id of the initialization steps. */
  INIT_TRANSACTION_ID: 0xffff_ffff_ffff_fffdn,
});

/** `vstor_packet`: the fixed 64-byte message of every operation. */
export const VstorPacket = Object.freeze({
  /** u32 ({@link VstorOperation}). */
  operation: 0,
  /** u32 ({@link VstorFlags}). */
  flags: 4,
  /** u32 NT status ({@link VstorStatus}); 0 = success. */
  status: 8,
  /** The 52-byte union: a {@link ScsiRequest}, {@link ProtocolVersion}, {@link ChannelProperties}… */
  union: 12,
  UNION_SIZE: 52,
  SIZE: 64,
});

/** `vstor_packet.flags`. */
export const VstorFlags = Object.freeze({
  requestCompletion: 0x1,
} as const);

/** `enum vstor_packet_operation`. */
export const VstorOperation = Object.freeze({
  completeIo: 1,
  removeDevice: 2,
  executeSrb: 3,
  resetLun: 4,
  resetAdapter: 5,
  resetBus: 6,
  beginInitialization: 7,
  endInitialization: 8,
  queryProtocolVersion: 9,
  queryProperties: 10,
  enumerateBus: 11,
  fcHbaData: 12,
  createSubChannels: 13,
} as const);
export type VstorOperationName = keyof typeof VstorOperation;
export type VstorOperationValue = (typeof VstorOperation)[VstorOperationName];

/** NT status codes the VSP puts in `vstor_packet.status` (u32). */
export const VstorStatus = Object.freeze({
  success: 0x0000_0000,
  unsuccessful: 0xc000_0001,
  invalidParameter: 0xc000_000d,
  /** A version the VSP does not speak (QUERY_PROTOCOL_VERSION: the VSC tries the next). */
  revisionMismatch: 0xc000_0059,
  /** An operation out of order (e.g. EXECUTE_SRB before END_INITIALIZATION). */
  invalidDeviceState: 0xc000_0184,
  /** An operation this VSP does not implement. */
  notSupported: 0xc000_00bb,
} as const);

/** `vmstorage_protocol_version`, offsets from the packet start. */
export const ProtocolVersion = Object.freeze({
  /** u16 `major << 8 | minor`. */
  majorMinor: 12,
  /** u16, 0. */
  revision: 14,
  SIZE: 4,
});

/** `vmstorage_channel_properties`, offsets from the packet start. */
export const ChannelProperties = Object.freeze({
  reserved: 12,
  /** u16: sub-channels the VSP can offer. */
  maxChannelCount: 16,
  reserved1: 18,
  /** u32 ({@link ChannelPropertyFlags}). */
  flags: 20,
  /** u32: largest data transfer of one SRB. */
  maxTransferBytes: 24,
  reserved2: 28,
  SIZE: 24,
});

export const ChannelPropertyFlags = Object.freeze({
  supportsMultiChannel: 0x1,
} as const);

/** CREATE_SUB_CHANNELS's union, offsets from the packet start: the sub-channels asked for. */
export const SubChannelRequest = Object.freeze({
  /** u16: sub-channels the VSC asks the VSP to offer. */
  count: 12,
  SIZE: 2,
});

/** `vmscsi_request` (Win8+ layout), offsets from the packet start (union at 12). */
export const ScsiRequest = Object.freeze({
  /** u16, {@link ScsiRequest.SIZE}. */
  length: 12,
  /** u8 ({@link SrbStatus}), set by the VSP. */
  srbStatus: 14,
  /** u8 SCSI status (`ScsiStatus`), set by the VSP. */
  scsiStatus: 15,
  portNumber: 16,
  pathId: 17,
  targetId: 18,
  lun: 19,
  /** u8, 1..16. */
  cdbLength: 20,
  /** u8: request: sense buffer size (20); completion: sense bytes returned. */
  senseInfoLength: 21,
  /** u8 ({@link DataDirection}). */
  dataIn: 22,
  reserved: 23,
  /** u32: request: buffer size; completion: bytes moved. */
  dataTransferLength: 24,
  /** 16 bytes of CDB in the request, 20 bytes of sense data in the completion (a union). */
  cdb: 28,
  senseData: 28,
  CDB_SIZE: 16,
  SENSE_SIZE: 20,
  /** Win8 extension. */
  reserve: 48,
  queueTag: 50,
  queueAction: 51,
  /** u32 ({@link SrbFlags}). */
  srbFlags: 52,
  /** u32 seconds. */
  timeOutValue: 56,
  queueSortKey: 60,
  /** The `length` field's value: bytes of the request. */
  SIZE: 52,
});

/** `vmscsi_request.data_in`. */
export const DataDirection = Object.freeze({
  write: 0,
  read: 1,
  unknown: 2,
} as const);

/** SRB status (low 6 bits) and its high flag bits. */
export const SrbStatus = Object.freeze({
  pending: 0x00,
  success: 0x01,
  aborted: 0x02,
  error: 0x04,
  busy: 0x05,
  invalidRequest: 0x06,
  dataOverrun: 0x12,
  invalidLun: 0x20,
  internalError: 0x30,
  /** Flag: `sense_data` holds `sense_info_length` bytes of sense. */
  autosenseValid: 0x80,
  /** Flag: the queue is frozen (never set by Viridian). */
  queueFrozen: 0x40,
  /** Mask of the status proper. */
  STATUS_MASK: 0x3f,
} as const);

/** `srb_flags` bits Linux sets (§8.1). */
export const SrbFlags = Object.freeze({
  queueActionEnable: 0x2,
  disableSynchTransfer: 0x8,
  dataIn: 0x40,
  dataOut: 0x80,
  noQueueFreeze: 0x100,
} as const);
