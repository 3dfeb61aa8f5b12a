/**
 * The one place a packet from a peer is validated and decoded (vmbus-wire.md §1.5 and §2;
 * OpenVMM's `vmbus_ring` validation). Input is a private copy: the descriptor was copied out of
 * shared memory once, and every decision here is made on that copy.
 *
 * Rules, each a {@link RingCorruptError} reason when broken:
 * - `len8 * 8` is at least the 16-byte descriptor, fits the bytes the writer published (trailer
 *   included), and is at most the reader's maximum packet size;
 * - `offset8` is at least 2 and `offset8 * 8` is at most `len8 * 8`;
 * - no unknown flag bit is set;
 * - GPA-direct: the 24-byte header fits before the payload, at least one range, every range (with
 *   its derived PFN count) inside the header block, byte offsets below 4096, no empty range, PFNs
 *   within 52-bit guest physical addresses;
 * - transfer-page: the 24-byte header and every 8-byte range fit before the payload.
 * Unknown packet types are not corruption: they decode as `unrecognized` for the caller to judge.
 */
import { RingCorruptError } from '../errors.ts';
import {
  GpaDirectHeader,
  GpaRangeLayout,
  KNOWN_PACKET_FLAGS,
  MAX_PFN,
  PacketDescriptor,
  PacketType,
  TransferPageHeader,
} from '../protocol/packet-layout.ts';
import { PAGE_SIZE, PACKET_TRAILER_SIZE } from '../protocol/ring-layout.ts';
import type { GpaRange, PacketSlot, TransferPageRange } from './incoming-packet.ts';

/** The descriptor fields the ring needs before it copies the rest of the packet. */
export interface DescriptorCheck {
  packetLength: number;
  payloadOffset: number;
}

/**
 * Validates a descriptor copied into `view[0..16)` against the bytes available to the reader.
 * Writes the packet and payload offsets into `out` (reused, so the hot path does not allocate).
 * @throws {RingCorruptError}
 */
export function checkDescriptor(view: DataView, available: number, maxPacketSize: number, out: DescriptorCheck): void {
  const len = view.getUint16(PacketDescriptor.len8, true) * 8;
  const offset = view.getUint16(PacketDescriptor.offset8, true) * 8;
  const flags = view.getUint16(PacketDescriptor.flags, true);
  if (len < PacketDescriptor.SIZE) {
    throw new RingCorruptError('length-too-small', `len8*8 = ${len} is below the ${PacketDescriptor.SIZE}-byte descriptor`);
  }
  if (len + PACKET_TRAILER_SIZE > available) {
    throw new RingCorruptError('length-beyond-available', `packet of ${len}+${PACKET_TRAILER_SIZE} bytes but ${available} available`);
  }
  if (len > maxPacketSize) {
    throw new RingCorruptError('length-beyond-maximum', `packet of ${len} bytes exceeds the maximum ${maxPacketSize}`);
  }
  if (offset < PacketDescriptor.SIZE) {
    throw new RingCorruptError('offset-too-small', `offset8*8 = ${offset} is inside the descriptor`);
  }
  if (offset > len) {
    throw new RingCorruptError('offset-beyond-length', `offset8*8 = ${offset} is beyond len8*8 = ${len}`);
  }
  if ((flags & ~KNOWN_PACKET_FLAGS) !== 0) {
    throw new RingCorruptError('unknown-flags', `flags 0x${flags.toString(16)} has unknown bits`);
  }
  out.packetLength = len;
  out.payloadOffset = offset;
}

/**
 * Decodes a whole validated-length packet held in `slot.bytes` into the slot.
 * @throws {RingCorruptError} when a type-specific header is malformed
 */
export function decodePacket(view: DataView, check: DescriptorCheck, slot: PacketSlot): void {
  const type = view.getUint16(PacketDescriptor.type, true);
  slot.type = type;
  slot.flags = view.getUint16(PacketDescriptor.flags, true);
  slot.transactionIdLow = view.getUint32(PacketDescriptor.transactionId, true);
  slot.transactionIdHigh = view.getUint32(PacketDescriptor.transactionId + 4, true);
  slot.packetLength = check.packetLength;
  slot.payloadOffset = check.payloadOffset;
  slot.payloadLength = check.packetLength - check.payloadOffset;
  switch (type) {
    case PacketType.dataInband:
      slot.kind = 'inband';
      return;
    case PacketType.completion:
      slot.kind = 'completion';
      return;
    case PacketType.dataUsingGpaDirect:
      slot.kind = 'gpa-direct';
      slot.gpaRanges = decodeGpaRanges(view, check.payloadOffset);
      return;
    case PacketType.dataUsingTransferPages:
      slot.kind = 'transfer-page';
      decodeTransferPages(view, check.payloadOffset, slot);
      return;
    default:
      slot.kind = 'unrecognized';
  }
}

/** GPA-direct ranges live between the 24-byte header and the payload offset. */
function decodeGpaRanges(view: DataView, headerEnd: number): GpaRange[] {
  if (headerEnd < GpaDirectHeader.SIZE) {
    throw new RingCorruptError('header-beyond-offset', `GPA-direct header needs ${GpaDirectHeader.SIZE} bytes, payload starts at ${headerEnd}`);
  }
  const count = view.getUint32(GpaDirectHeader.rangeCount, true);
  if (count === 0) throw new RingCorruptError('zero-ranges', 'GPA-direct packet with no ranges');
  // Every range needs at least its 8-byte header and one PFN: bound the count before looping.
  const minimumRange = GpaRangeLayout.SIZE + GpaRangeLayout.PFN_SIZE;
  if (count > (headerEnd - GpaDirectHeader.SIZE) / minimumRange) {
    throw new RingCorruptError('range-beyond-header', `${count} ranges cannot fit ${headerEnd - GpaDirectHeader.SIZE} header bytes`);
  }
  const ranges: GpaRange[] = [];
  let at: number = GpaDirectHeader.ranges;
  for (let r = 0; r < count; r++) {
    if (at + GpaRangeLayout.SIZE > headerEnd) {
      throw new RingCorruptError('range-beyond-header', `range ${r} header at ${at} passes the header end ${headerEnd}`);
    }
    const byteCount = view.getUint32(at + GpaRangeLayout.byteCount, true);
    const byteOffset = view.getUint32(at + GpaRangeLayout.byteOffset, true);
    if (byteOffset >= PAGE_SIZE) {
      throw new RingCorruptError('range-offset-beyond-page', `range ${r} byte offset ${byteOffset} is not inside its first page`);
    }
    if (byteCount === 0) throw new RingCorruptError('range-empty', `range ${r} has no bytes`);
    const pfnCount = pfnCountOf(byteOffset, byteCount);
    const pfnStart = at + GpaRangeLayout.pfns;
    if (pfnStart + pfnCount * GpaRangeLayout.PFN_SIZE > headerEnd) {
      throw new RingCorruptError('range-beyond-header', `range ${r} needs ${pfnCount} PFNs past the header end ${headerEnd}`);
    }
    const pfns = new Array<number>(pfnCount);
    for (let p = 0; p < pfnCount; p++) {
      const low = view.getUint32(pfnStart + p * 8, true);
      const high = view.getUint32(pfnStart + p * 8 + 4, true);
      const pfn = high * 2 ** 32 + low;
      if (pfn > MAX_PFN) throw new RingCorruptError('pfn-out-of-range', `range ${r} PFN 0x${pfn.toString(16)} is beyond 52-bit GPAs`);
      pfns[p] = pfn;
    }
    ranges.push({ byteCount, byteOffset, pfns });
    at = pfnStart + pfnCount * GpaRangeLayout.PFN_SIZE;
  }
  return ranges;
}

function decodeTransferPages(view: DataView, headerEnd: number, slot: PacketSlot): void {
  if (headerEnd < TransferPageHeader.SIZE) {
    throw new RingCorruptError('header-beyond-offset', `transfer-page header needs ${TransferPageHeader.SIZE} bytes, payload starts at ${headerEnd}`);
  }
  const count = view.getUint32(TransferPageHeader.rangeCount, true);
  if (count > (headerEnd - TransferPageHeader.SIZE) / TransferPageHeader.RANGE_SIZE) {
    throw new RingCorruptError('range-beyond-header', `${count} transfer-page ranges cannot fit ${headerEnd - TransferPageHeader.SIZE} header bytes`);
  }
  const ranges: TransferPageRange[] = new Array(count);
  for (let r = 0; r < count; r++) {
    const at = TransferPageHeader.ranges + r * TransferPageHeader.RANGE_SIZE;
    ranges[r] = { byteCount: view.getUint32(at, true), byteOffset: view.getUint32(at + 4, true) };
  }
  slot.pageSetId = view.getUint16(TransferPageHeader.pageSetId, true);
  slot.senderOwnsSet = view.getUint8(TransferPageHeader.senderOwnsSet) !== 0;
  slot.transferRanges = ranges;
}

/** PFN count of a range: derived from its offset and length (§2.2), never stored on the wire. */
export function pfnCountOf(byteOffset: number, byteCount: number): number {
  return Math.ceil((byteOffset + byteCount) / PAGE_SIZE);
}
