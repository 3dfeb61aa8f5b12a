/**
 * What a reader gets from the ring: a packet already copied into private memory and validated,
 * decoded into a discriminated union on `kind` (STYLE rule 16: parse, don't validate).
 *
 * To keep the hot path free of allocation the reader reuses one {@link PacketSlot} per ring: a
 * packet is valid until the next `read()` on that ring. Copy what must outlive it.
 */

/** A GPA range of a GPA-direct packet; the PFN count is derived, never read from the wire. */
export interface GpaRange {
  readonly byteCount: number;
  /** Offset into the first page, below 4096. */
  readonly byteOffset: number;
  /** 4 KiB guest frame numbers: `ceil((byteOffset + byteCount) / 4096)` of them. */
  readonly pfns: readonly number[];
}

/** A range of a transfer-page packet: bytes of the pre-shared receive buffer. */
export interface TransferPageRange {
  readonly byteCount: number;
  readonly byteOffset: number;
}

/** Fields every packet has. */
export interface PacketCommon {
  /** The descriptor's raw type (`PacketType`). */
  readonly type: number;
  /** The descriptor's flags (only known bits: unknown ones are rejected). */
  readonly flags: number;
  readonly completionRequested: boolean;
  /** The u64 transaction id (made into a bigint only when asked for). */
  readonly transactionId: bigint;
  /**
   * The transaction id as a number when it is below 2^53 (the ids Viridian's drivers allocate),
   * else undefined (read `transactionId`). No bigint is made: the hot paths use this one.
   */
  readonly transactionIdNumber: number | undefined;
  /** The private copy of the whole packet, descriptor first; `packetLength` bytes are valid. */
  readonly bytes: Uint8Array;
  /** `len8 * 8`: the packet length without its trailer. */
  readonly packetLength: number;
  /** `offset8 * 8`: where the payload starts in `bytes`. */
  readonly payloadOffset: number;
  /** Payload bytes, padding included (§1.5: protocols carry their own lengths). */
  readonly payloadLength: number;
  /** A view of the payload in `bytes` (allocates a view; use the offsets on hot paths). */
  payload(): Uint8Array;
}

/** `VM_PKT_DATA_INBAND`: the payload is the message. */
export interface InbandPacket extends PacketCommon {
  readonly kind: 'inband';
}

/** `VM_PKT_COMP`: a completion echoing a request's transaction id. */
export interface CompletionPacket extends PacketCommon {
  readonly kind: 'completion';
}

/** `VM_PKT_DATA_USING_GPA_DIRECT`: ranges of guest pages plus an in-band payload. */
export interface GpaDirectPacket extends PacketCommon {
  readonly kind: 'gpa-direct';
  readonly ranges: readonly GpaRange[];
}

/** `VM_PKT_DATA_USING_XFER_PAGES`: ranges of a pre-shared buffer plus an in-band payload. */
export interface TransferPagePacket extends PacketCommon {
  readonly kind: 'transfer-page';
  readonly pageSetId: number;
  readonly senderOwnsSet: boolean;
  readonly ranges: readonly TransferPageRange[];
}

/** Any other type, known to the protocol or not: reported, never decoded, never a crash. */
export interface UnrecognizedPacket extends PacketCommon {
  readonly kind: 'unrecognized';
}

export type IncomingPacket = InbandPacket | CompletionPacket | GpaDirectPacket | TransferPagePacket | UnrecognizedPacket;
export type PacketKind = IncomingPacket['kind'];

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * The reader's reusable packet record. It carries the fields of every kind; callers see it
 * through the {@link IncomingPacket} union.
 */
export class PacketSlot {
  kind: PacketKind = 'unrecognized';
  type = 0;
  flags = 0;
  transactionIdLow = 0;
  transactionIdHigh = 0;
  bytes: Uint8Array;
  packetLength = 0;
  payloadOffset = 0;
  payloadLength = 0;
  gpaRanges: readonly GpaRange[] = EMPTY;
  transferRanges: readonly TransferPageRange[] = EMPTY;
  pageSetId = 0;
  senderOwnsSet = false;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  get completionRequested(): boolean {
    return (this.flags & 1) !== 0;
  }

  get transactionId(): bigint {
    return (BigInt(this.transactionIdHigh) << 32n) | BigInt(this.transactionIdLow);
  }

  get transactionIdNumber(): number | undefined {
    return this.transactionIdHigh < 0x20_0000 ? this.transactionIdHigh * 0x1_0000_0000 + this.transactionIdLow : undefined;
  }

  get ranges(): readonly (GpaRange | TransferPageRange)[] {
    return this.kind === 'gpa-direct' ? this.gpaRanges : this.transferRanges;
  }

  payload(): Uint8Array {
    return this.bytes.subarray(this.payloadOffset, this.payloadOffset + this.payloadLength);
  }

  /** The union view of this slot. */
  asPacket(): IncomingPacket {
    return this as unknown as IncomingPacket;
  }
}
