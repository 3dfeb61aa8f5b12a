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
