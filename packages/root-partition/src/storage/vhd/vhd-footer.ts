/**
 * Parsing and encoding of the VHD footer (vhd-layout.ts `VhdFooter`) and the checksum shared
 * with the dynamic header: the one's complement of the byte sum with the checksum field zeroed.
 * `parseVhdFooter` is the single place footer fields are validated.
 */
import { FieldReader, FieldWriter } from '../byte-fields.ts';
import { DiskCorruptError } from '../errors.ts';
import { vhdGeometry, type ChsGeometry } from './vhd-geometry.ts';
import {
  VHD_CREATOR_APP,
  VHD_CREATOR_HOST_OS,
  VHD_CREATOR_VERSION,
  VHD_DISK_TYPE,
  VHD_EPOCH_UNIX_SECONDS,
  VHD_FEATURES_RESERVED,
  VHD_FOOTER_COOKIE,
  VHD_FORMAT_VERSION,
  VHD_MAX_SIZE,
  VHD_SECTOR_SIZE,
  VhdFooter,
  type VhdDiskTypeName,
} from './vhd-layout.ts';

/** The footer's fields, decoded. */
export interface VhdFooterFields {
  readonly diskType: VhdDiskTypeName;
  /** Offset of the dynamic header; `null` for fixed disks (all ones on disk). */
  readonly dataOffset: number | null;
  /** Seconds since 2000-01-01 UTC. */
  readonly timestamp: number;
  readonly creatorApp: string;
  readonly creatorVersion: number;
  readonly creatorHostOs: number;
  readonly originalSize: number;
  readonly currentSize: number;
  readonly geometry: ChsGeometry;
  readonly uniqueId: Uint8Array;
  readonly savedState: number;
}

/** The VHD checksum of `bytes`, treating the 4 bytes at `checksumOffset` as zero. */
export function vhdChecksum(bytes: Uint8Array, checksumOffset: number): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (i >= checksumOffset && i < checksumOffset + 4) continue;
    sum += bytes[i] ?? 0;
  }
  return ~sum >>> 0;
}

/** The current time as a VHD timestamp. */
export function vhdTimestamp(now: Date = new Date()): number {
  return Math.max(0, Math.floor(now.getTime() / 1000) - VHD_EPOCH_UNIX_SECONDS) >>> 0;
}

/** Footer fields for a new disk of `size` bytes. */
export function newVhdFooter(diskType: VhdDiskTypeName, size: number, dataOffset: number | null, uniqueId: Uint8Array): VhdFooterFields {
  return {
    diskType,
    dataOffset,
    timestamp: vhdTimestamp(),
    creatorApp: VHD_CREATOR_APP,
    creatorVersion: VHD_CREATOR_VERSION,
    creatorHostOs: VHD_CREATOR_HOST_OS,
    originalSize: size,
    currentSize: size,
    geometry: vhdGeometry(size / VHD_SECTOR_SIZE),
    uniqueId,
    savedState: 0,
  };
}

/** Encodes a footer (checksum included) into a new 512-byte buffer. */
export function encodeVhdFooter(fields: VhdFooterFields): Buffer {
  const bytes = Buffer.alloc(VhdFooter.SIZE);
  const w = new FieldWriter(bytes, false);
  w.ascii(VhdFooter.cookie, VHD_FOOTER_COOKIE);
  w.u32(VhdFooter.features, VHD_FEATURES_RESERVED);
  w.u32(VhdFooter.formatVersion, VHD_FORMAT_VERSION);
  w.u64(VhdFooter.dataOffset, fields.dataOffset === null ? 0xffff_ffff_ffff_ffffn : BigInt(fields.dataOffset));
  w.u32(VhdFooter.timestamp, fields.timestamp);
  w.ascii(VhdFooter.creatorApp, fields.creatorApp.padEnd(4, '\0').slice(0, 4));
  w.u32(VhdFooter.creatorVersion, fields.creatorVersion);
  w.u32(VhdFooter.creatorHostOs, fields.creatorHostOs);
  w.u64(VhdFooter.originalSize, fields.originalSize);
  w.u64(VhdFooter.currentSize, fields.currentSize);
  w.u16(VhdFooter.cylinders, fields.geometry.cylinders);
  w.u8(VhdFooter.heads, fields.geometry.heads);
  w.u8(VhdFooter.sectorsPerTrack, fields.geometry.sectorsPerTrack);
  w.u32(VhdFooter.diskType, VHD_DISK_TYPE[fields.diskType]);
  w.bytesAt(VhdFooter.uniqueId, fields.uniqueId);
  w.u8(VhdFooter.savedState, fields.savedState);
  w.u32(VhdFooter.checksum, vhdChecksum(bytes, VhdFooter.checksum));
  return bytes;
}

/** True if `bytes` starts with the footer cookie "conectix". */
export function hasVhdFooterCookie(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString('latin1') === VHD_FOOTER_COOKIE;
}

/**
 * Decodes and validates a 512-byte footer read from `path`.
 * @throws DiskCorruptError: `bad-signature` (cookie), `bad-checksum`, `unsupported-version`,
 *   `bad-disk-type`, `bad-virtual-size` (unaligned or past 2040 GiB), `bad-header` (a dynamic
 *   disk's DataOffset is missing or a fixed disk has one).
 */
export function parseVhdFooter(bytes: Uint8Array, path: string): VhdFooterFields {
  const r = new FieldReader(bytes, false);
  if (bytes.length !== VhdFooter.SIZE) throw new DiskCorruptError('truncated', path, 'footer shorter than 512 bytes');
  if (!hasVhdFooterCookie(bytes)) throw new DiskCorruptError('bad-signature', path, 'footer cookie is not "conectix"');
  const checksum = r.u32(VhdFooter.checksum);
  const expected = vhdChecksum(bytes, VhdFooter.checksum);
  if (checksum !== expected) throw new DiskCorruptError('bad-checksum', path, `footer checksum 0x${checksum.toString(16)}, expected 0x${expected.toString(16)}`);
  const version = r.u32(VhdFooter.formatVersion);
  if (version >>> 16 !== 1) throw new DiskCorruptError('unsupported-version', path, `footer format version 0x${version.toString(16)}`);
  const typeCode = r.u32(VhdFooter.diskType);
  const diskType = (Object.keys(VHD_DISK_TYPE) as VhdDiskTypeName[]).find((name) => VHD_DISK_TYPE[name] === typeCode);
  if (diskType === undefined) throw new DiskCorruptError('bad-disk-type', path, `disk type ${typeCode}`);
  const currentSize = r.u64(VhdFooter.currentSize);
  if (currentSize === 0n || currentSize % BigInt(VHD_SECTOR_SIZE) !== 0n || currentSize > BigInt(VHD_MAX_SIZE)) {
    throw new DiskCorruptError('bad-virtual-size', path, `current size ${currentSize}`);
  }
  const rawDataOffset = r.u64(VhdFooter.dataOffset);
  let dataOffset: number | null = null;
  if (diskType === 'fixed') {
    if (rawDataOffset !== 0xffff_ffff_ffff_ffffn) throw new DiskCorruptError('bad-header', path, `fixed disk with data offset ${rawDataOffset}`);
  } else {
    if (rawDataOffset > BigInt(Number.MAX_SAFE_INTEGER) || rawDataOffset % BigInt(VHD_SECTOR_SIZE) !== 0n) {
      throw new DiskCorruptError('bad-header', path, `dynamic header offset ${rawDataOffset}`);
    }
    dataOffset = Number(rawDataOffset);
  }
  const originalSize = r.u64(VhdFooter.originalSize);
  return {
    diskType,
    dataOffset,
    timestamp: r.u32(VhdFooter.timestamp),
    creatorApp: r.ascii(VhdFooter.creatorApp, 4),
    creatorVersion: r.u32(VhdFooter.creatorVersion),
    creatorHostOs: r.u32(VhdFooter.creatorHostOs),
    originalSize: originalSize > BigInt(Number.MAX_SAFE_INTEGER) ? Number(currentSize) : Number(originalSize),
    currentSize: Number(currentSize),
    geometry: { cylinders: r.u16(VhdFooter.cylinders), heads: r.u8(VhdFooter.heads), sectorsPerTrack: r.u8(VhdFooter.sectorsPerTrack) },
    uniqueId: r.slice(VhdFooter.uniqueId, 16),
    savedState: r.u8(VhdFooter.savedState),
  };
}
