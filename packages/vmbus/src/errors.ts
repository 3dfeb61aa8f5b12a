/**
 * Typed errors of @viridian/vmbus. Each has a stable `code`. Expected outcomes (a ring is empty,
 * a ring is full) are return values, not errors; these are for corruption and misuse.
 */

/** Base class of every error this package throws. */
export class VmbusError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Why a ring was judged corrupt: one stable reason per validation branch. */
export type RingCorruptionReason =
  | 'index-out-of-range'
  | 'index-unaligned'
  | 'truncated-packet'
  | 'length-too-small'
  | 'length-beyond-available'
  | 'length-beyond-maximum'
  | 'offset-too-small'
  | 'offset-beyond-length'
  | 'unknown-flags'
  | 'header-beyond-offset'
  | 'zero-ranges'
  | 'range-beyond-header'
  | 'range-offset-beyond-page'
  | 'range-empty'
  | 'pfn-out-of-range';

/**
 * The peer broke the ring protocol (an index or a packet failed validation). The ring that raised
 * it is stopped: every later operation on it throws the same error.
 */
export class RingCorruptError extends VmbusError {
  constructor(
    readonly reason: RingCorruptionReason,
    detail: string,
  ) {
    super('VIRIDIAN_RING_CORRUPT', `ring corrupt (${reason}): ${detail}`);
  }
}

/** A packet can never fit the ring (it needs at least as many bytes as the data area holds). */
export class PacketTooLargeError extends VmbusError {
  constructor(
    readonly bytesNeeded: number,
    readonly ringDataSize: number,
  ) {
    super('VIRIDIAN_PACKET_TOO_LARGE', `packet needs ${bytesNeeded} bytes; ring data area is ${ringDataSize}`);
  }
}

/** A ring or channel region has an impossible geometry (sizes not whole pages, too small, misplaced). */
export class RingGeometryError extends VmbusError {
  constructor(detail: string) {
    super('VIRIDIAN_RING_GEOMETRY', `invalid ring geometry: ${detail}`);
  }
}

/** An argument supplied by local code (not by a peer) is out of its allowed range. */
export class InvalidArgumentError extends VmbusError {
  constructor(detail: string) {
    super('VIRIDIAN_INVALID_ARGUMENT', detail);
  }
}

/** A channel-message codec read or wrote outside its message: a codec bug, never a peer's doing. */
export class MessageBoundsError extends VmbusError {
  constructor(
    readonly offset: number,
    readonly length: number,
    readonly size: number,
  ) {
    super('VIRIDIAN_MESSAGE_BOUNDS', `field [${offset}, ${offset + length}) is outside a ${size}-byte message`);
  }
}

/**
 * Local code (a device, a driver, an adapter) asked a VMBus server or client state machine for
 * something its current state does not allow, e.g. completing an open that is not pending. Guest
 * and host mistakes never raise it: they become protocol replies and `protocolError` effects.
 */
export class ChannelStateError extends VmbusError {
  constructor(detail: string) {
    super('VIRIDIAN_CHANNEL_STATE', detail);
  }
}

/** The server has no free channel id (1..2047) for another offer. */
export class ChannelIdsExhaustedError extends VmbusError {
  constructor(readonly limit: number) {
    super('VIRIDIAN_CHANNEL_IDS_EXHAUSTED', `all ${limit} channel ids are in use`);
  }
}

/** Why a guest's description of its own memory (a page list, a range, an access into it) was refused. */
export type GuestMemoryErrorReason =
  /** A PFN that is not a non-negative safe integer. */
  | 'pfn-invalid'
  /** A PFN at or beyond the end of the guest's memory (its current `byteLength`). */
  | 'pfn-beyond-memory'
  /** A PFN listed twice where pages must be distinct (a ring would alias itself). */
  | 'pfn-repeated'
  /** A ring of fewer than two pages (control page plus at least one data page). */
  | 'ring-too-small'
  /** A ring whose data area does not fit the u32 ring indices. */
  | 'ring-too-large'
  /** A ring GPADL whose `byte_offset` is not 0. */
  | 'gpadl-offset-nonzero'
  /** A ring GPADL whose `byte_count` is not its PFN count × 4096. */
  | 'gpadl-size-mismatch'
  /** OPENCHANNEL's `downstream_ringbuffer_pageoffset` is not strictly inside the GPADL. */
  | 'downstream-offset-out-of-range'
  /** A range's `byte_count` or `byte_offset` is not a u32. */
  | 'range-invalid'
  /** A range of zero bytes. */
  | 'range-empty'
  /** A range's `byte_offset` is not inside its first page. */
  | 'range-offset-beyond-page'
  /** A range whose PFN count is not `ceil((byte_offset + byte_count) / 4096)`. */
  | 'range-page-count-mismatch'
  /** An access (offset, length) that is not inside the range or GPADL. */
  | 'access-out-of-range';

/**
 * A guest-supplied description of guest memory (a ring GPADL, a GPA-direct range, a GPADL used as
 * a pre-shared buffer) or an access into one failed its checks. Guest-reachable: the caller turns
 * it into a protocol status (a failed OPENCHANNEL_RESULT, a failed request), never a crash.
 */
export class GuestMemoryError extends VmbusError {
  constructor(
    readonly reason: GuestMemoryErrorReason,
    detail: string,
  ) {
    super('VIRIDIAN_GUEST_MEMORY', `guest memory refused (${reason}): ${detail}`);
  }
}

/** Why a page allocator refused a free. */
export type PageAllocationErrorReason =
  /** The run is not inside the allocator's usable pages. */
  | 'out-of-range'
  /** Every page of the run is already free. */
  | 'double-free'
  /** Some pages of the run are free and some allocated. */
  | 'overlap';

/** A guest page allocator was asked to free pages it does not hold as allocated: a kernel bug. */
export class PageAllocationError extends VmbusError {
  constructor(
    readonly reason: PageAllocationErrorReason,
    readonly firstPfn: number,
    readonly pages: number,
    detail: string,
  ) {
    super('VIRIDIAN_PAGE_ALLOCATION', `cannot free ${pages} pages at PFN ${firstPfn} (${reason}): ${detail}`);
  }
}
