/**
 * VMBus packet formats in a ring's data area (vmbus-wire.md §2): the 16-byte
 * `vmpacket_descriptor`, the packet types, and the GPA-direct and transfer-page headers.
 * Protocol file: numbers and offsets only, no logic.
 */

/** `vmpacket_descriptor`, at the start of every packet. */
export const PacketDescriptor = Object.freeze({
  /** u16 packet type ({@link PacketType}). */
  type: 0,
  /** u16: payload start, in 8-byte units from the descriptor (2 for plain in-band). */
  offset8: 2,
  /** u16: whole packet length in 8-byte units, padding included, trailer excluded. */
  len8: 4,
  /** u16 ({@link PacketFlags}). */
  flags: 6,
  /** u64 transaction id; a completion echoes its request's id. */
  transactionId: 8,
  SIZE: 16,
});

/** `enum vmbus_packet_type`. */
export const PacketType = Object.freeze({
  invalid: 0x0,
  synch: 0x1,
  addTransferPageSet: 0x2,
  removeTransferPageSet: 0x3,
  establishGpadl: 0x4,
  teardownGpadl: 0x5,
  dataInband: 0x6,
  dataUsingTransferPages: 0x7,
  dataUsingGpadl: 0x8,
  dataUsingGpaDirect: 0x9,
  cancelRequest: 0xa,
  completion: 0xb,
  dataUsingAdditionalPacket: 0xc,
  additionalData: 0xd,
} as const);
export type PacketTypeName = keyof typeof PacketType;
export type PacketTypeValue = (typeof PacketType)[PacketTypeName];

/** Descriptor flag bits; any other bit set is a malformed packet. */
export const PacketFlags = Object.freeze({
  /** `VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED`. */
  completionRequested: 0x1,
});
export const KNOWN_PACKET_FLAGS = PacketFlags.completionRequested;

/** GPA-direct packet (type 9): descriptor, reserved u32, range count u32, ranges. */
export const GpaDirectHeader = Object.freeze({
  reserved: 16,
  rangeCount: 20,
  ranges: 24,
  /** Smallest descriptor block: the fixed header with no ranges. */
  SIZE: 24,
});

/** One `gpa_range`: byte_count, byte_offset into the first page, then the PFNs (count derived). */
export const GpaRangeLayout = Object.freeze({
  byteCount: 0,
  byteOffset: 4,
  pfns: 8,
  /** Fixed part before the PFN array. */
  SIZE: 8,
  PFN_SIZE: 8,
});

/** Transfer-page packet (type 7): descriptor, page-set id, sender-owns flag, ranges. */
export const TransferPageHeader = Object.freeze({
  pageSetId: 16,
  senderOwnsSet: 18,
  reserved: 19,
  rangeCount: 20,
  ranges: 24,
  SIZE: 24,
  /** Each range: byte_count u32, byte_offset u32 into the pre-shared buffer. */
  RANGE_SIZE: 8,
});

/** The largest guest physical frame number: GPAs are at most 52 bits wide on x64 (TLFS). */
export const MAX_PFN = 2 ** 40 - 1;
