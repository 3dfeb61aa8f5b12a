/**
 * VHDX checksums (hyperv-tlfs.md §7): CRC-32C (Castagnoli, seed 0xFFFFFFFF, final XOR, i.e. the
 * standard CRC-32C) over a whole structure with its own 4-byte checksum field read as zero.
 */
import { crc32c } from '@node-rs/crc32';

/** CRC-32C of `bytes` with the u32 at `fieldOffset` taken as zero (`bytes` is not modified). */
export function vhdxChecksum(bytes: Uint8Array, fieldOffset: number): number {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, fieldOffset);
  const tail = Buffer.from(bytes.buffer, bytes.byteOffset + fieldOffset + 4, bytes.byteLength - fieldOffset - 4);
  let crc = crc32c(head);
  crc = crc32c(ZERO_FIELD, crc);
  return crc32c(tail, crc) >>> 0;
}

/** CRC-32C of several buffers in order, as if concatenated. */
export function vhdxChecksumOf(parts: readonly Uint8Array[]): number {
  let crc = 0;
  for (const part of parts) crc = crc32c(Buffer.from(part.buffer, part.byteOffset, part.byteLength), crc);
  return crc >>> 0;
}

/** Computes the checksum of `bytes` and stores it at `fieldOffset` (little-endian). */
export function sealChecksum(bytes: Uint8Array, fieldOffset: number): void {
  const value = vhdxChecksum(bytes, fieldOffset);
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(fieldOffset, value, true);
}

/** Whether the checksum stored at `fieldOffset` matches. */
export function checksumMatches(bytes: Uint8Array, fieldOffset: number): boolean {
  if (bytes.byteLength < fieldOffset + 4) return false;
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(fieldOffset, true);
  return stored === vhdxChecksum(bytes, fieldOffset);
}

const ZERO_FIELD = Buffer.alloc(4);
