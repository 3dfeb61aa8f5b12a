/**
 * Index arithmetic shared by both ends of a ring (vmbus-wire.md §1.3), and the check applied to
 * every index read from the peer's side of the control page.
 */
import { RingCorruptError } from '../errors.ts';
import { PacketDescriptor } from '../protocol/packet-layout.ts';
import { PACKET_ALIGNMENT, PACKET_TRAILER_SIZE } from '../protocol/ring-layout.ts';

/** Bytes written but not yet read, from read position `read` to write position `write`. */
export function bytesToRead(write: number, read: number, dataSize: number): number {
  return write >= read ? write - read : dataSize - read + write;
}

/**
 * Bytes the writer may use. The writer must leave more than it writes (see {@link fitsInRing}),
 * so `read == write` always means empty.
 */
export function bytesFree(write: number, read: number, dataSize: number): number {
  return write >= read ? dataSize - (write - read) : read - write;
}

/**
 * Whether `total` bytes (packet plus trailer) may be written into `free` bytes. Strictly greater:
 * filling the ring exactly would make the new write index equal the read index, which reads as
 * empty. Everything is a multiple of 8, so at least one 8-byte slot always stays free.
 */
export function fitsInRing(free: number, total: number): boolean {
  return free > total;
}

/** Rounds up to the 8-byte packet alignment. */
export function align8(length: number): number {
  return (length + PACKET_ALIGNMENT - 1) & ~(PACKET_ALIGNMENT - 1);
}

/** Ring bytes an in-band-style packet occupies: descriptor/header + payload, padded, + trailer. */
export function packetFootprint(headerLength: number, payloadLength: number): number {
  return align8(headerLength + payloadLength) + PACKET_TRAILER_SIZE;
}

/** Ring bytes a plain in-band packet with `payloadLength` bytes occupies. */
export function inbandFootprint(payloadLength: number): number {
  return packetFootprint(PacketDescriptor.SIZE, payloadLength);
}

/**
 * Checks an index loaded from the control page: inside the data area and 8-byte aligned.
 * @throws {RingCorruptError}
 */
export function checkIndex(index: number, dataSize: number, which: string): number {
  if (index >= dataSize) throw new RingCorruptError('index-out-of-range', `${which} ${index} is outside the ${dataSize}-byte data area`);
  if ((index & (PACKET_ALIGNMENT - 1)) !== 0) throw new RingCorruptError('index-unaligned', `${which} ${index} is not 8-byte aligned`);
  return index;
}
