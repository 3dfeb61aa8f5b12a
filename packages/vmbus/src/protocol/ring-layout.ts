/**
 * Byte layout of one VMBus ring buffer (vmbus-wire.md §1): a 4 KiB control page
 * (`struct hv_ring_buffer`) followed by a data area of whole 4 KiB pages. Protocol file: numbers
 * and offsets only, no logic.
 */

/** The hypervisor page: every ring header, data area and PFN is in 4 KiB units. */
export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** Offsets of the control words in the ring's control page. */
export const RingControl = Object.freeze({
  /** u32: next byte the writer will fill; written only by the ring's writer. */
  writeIndex: 0,
  /** u32: next byte the reader will consume; written only by the ring's reader. */
  readIndex: 4,
  /** u32: non-zero while the reader drains: the writer does not signal then. */
  interruptMask: 8,
  /** u32: free bytes a blocked writer waits for (0 = not blocked); written only by the writer. */
  pendingSendSize: 12,
  /** u32: bit 0 = the writer publishes pending_send_sz and the peer signals on space. */
  featureBits: 64,
  /** The control page is exactly one hypervisor page. */
  SIZE: PAGE_SIZE,
});

/** Bits of `feature_bits`. */
export const RingFeature = Object.freeze({
  /** `feat_pending_send_sz`: the pending-send-size protocol of §1.2 and §3.2. */
  pendingSendSize: 1,
});

/** Every packet and index in the data area is a multiple of 8 bytes. */
export const PACKET_ALIGNMENT = 8;

/** The u64 after each packet holding its start offset in bits 63..32 (§1.4). */
export const PACKET_TRAILER_SIZE = 8;
