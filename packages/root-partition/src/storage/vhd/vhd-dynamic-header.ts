/**
 * Parsing and encoding of the 1024-byte dynamic disk header ("cxsparse", vhd-layout.ts
 * `VhdDynamicHeader`) with its eight parent locator entries. `parseVhdDynamicHeader` is the single
 * place its fields are validated (the BAT's placement against the file is vhd-bat.ts's job).
 */
import { FieldReader, FieldWriter } from '../byte-fields.ts';
import { DiskCorruptError } from '../errors.ts';
import { vhdChecksum } from './vhd-footer.ts';
import {
  VHD_DYNAMIC_COOKIE,
  VHD_HEADER_VERSION,
  VHD_MAX_BLOCK_SIZE,
  VHD_MAX_TABLE_ENTRIES,
  VHD_MIN_BLOCK_SIZE,
  VHD_PARENT_LOCATOR_COUNT,
  VHD_SECTOR_SIZE,
  VhdDynamicHeader,
  VhdParentLocatorEntry,
} from './vhd-layout.ts';

/** One parent locator entry. */
export interface VhdParentLocator {
  readonly platformCode: number;
  readonly dataSpace: number;
  readonly dataLength: number;
  readonly dataOffset: number;
}

/** The dynamic header's fields, decoded. */
export interface VhdDynamicHeaderFields {
  readonly tableOffset: number;
  readonly maxTableEntries: number;
  readonly blockSize: number;
  readonly parentUniqueId: Uint8Array;
  readonly parentTimestamp: number;
  readonly parentUnicodeName: string;
  /** Always eight entries; unused ones have platform code 0. */
  readonly parentLocators: readonly VhdParentLocator[];
}

const EMPTY_LOCATOR: VhdParentLocator = Object.freeze({ platformCode: 0, dataSpace: 0, dataLength: 0, dataOffset: 0 });

/** Eight locator entries: `locators` followed by empty ones. */
export function padLocators(locators: readonly VhdParentLocator[]): readonly VhdParentLocator[] {
  return Array.from({ length: VHD_PARENT_LOCATOR_COUNT }, (_, i) => locators[i] ?? EMPTY_LOCATOR);
}

/** Bytes of sector bitmap in front of each block: one bit per sector, padded to a sector. */
export function vhdBitmapSize(blockSize: number): number {
  const bytes = Math.ceil(blockSize / VHD_SECTOR_SIZE / 8);
  return Math.ceil(bytes / VHD_SECTOR_SIZE) * VHD_SECTOR_SIZE;
}

/** Encodes a dynamic header (checksum included) into a new 1024-byte buffer. */
export function encodeVhdDynamicHeader(fields: VhdDynamicHeaderFields): Buffer {
  const bytes = Buffer.alloc(VhdDynamicHeader.SIZE);
  const w = new FieldWriter(bytes, false);
  w.ascii(VhdDynamicHeader.cookie, VHD_DYNAMIC_COOKIE);
  w.u64(VhdDynamicHeader.dataOffset, 0xffff_ffff_ffff_ffffn);
  w.u64(VhdDynamicHeader.tableOffset, fields.tableOffset);
  w.u32(VhdDynamicHeader.headerVersion, VHD_HEADER_VERSION);
  w.u32(VhdDynamicHeader.maxTableEntries, fields.maxTableEntries);
  w.u32(VhdDynamicHeader.blockSize, fields.blockSize);
  w.bytesAt(VhdDynamicHeader.parentUniqueId, fields.parentUniqueId);
  w.u32(VhdDynamicHeader.parentTimestamp, fields.parentTimestamp);
  // The parent name is UTF-16 big-endian, like every other VHD field; truncated to 255 units.
  const name = Buffer.from(fields.parentUnicodeName.slice(0, 255), 'utf16le').swap16();
  w.bytesAt(VhdDynamicHeader.parentUnicodeName, name);
  padLocators(fields.parentLocators).forEach((locator, i) => {
    const base = VhdDynamicHeader.parentLocators + i * VhdParentLocatorEntry.SIZE;
    w.u32(base + VhdParentLocatorEntry.platformCode, locator.platformCode);
    w.u32(base + VhdParentLocatorEntry.platformDataSpace, locator.dataSpace);
    w.u32(base + VhdParentLocatorEntry.platformDataLength, locator.dataLength);
    w.u64(base + VhdParentLocatorEntry.platformDataOffset, locator.dataOffset);
  });
  w.u32(VhdDynamicHeader.checksum, vhdChecksum(bytes, VhdDynamicHeader.checksum));
  return bytes;
}

/**
 * Decodes and validates a dynamic header read from `path`.
 * @throws DiskCorruptError: `truncated`, `bad-signature`, `bad-checksum`, `unsupported-version`,
 *   `bad-block-size` (not a power of two in [512 B, 256 MiB]), `bad-bat` (no entries, more than
 *   `VHD_MAX_TABLE_ENTRIES`, or an unaligned/unrepresentable table offset).
 */
export function parseVhdDynamicHeader(bytes: Uint8Array, path: string): VhdDynamicHeaderFields {
  if (bytes.length !== VhdDynamicHeader.SIZE) throw new DiskCorruptError('truncated', path, 'dynamic header shorter than 1024 bytes');
  const r = new FieldReader(bytes, false);
  if (r.ascii(VhdDynamicHeader.cookie, 8) !== VHD_DYNAMIC_COOKIE) throw new DiskCorruptError('bad-signature', path, 'dynamic header cookie is not "cxsparse"');
  const checksum = r.u32(VhdDynamicHeader.checksum);
  const expected = vhdChecksum(bytes, VhdDynamicHeader.checksum);
  if (checksum !== expected) {
    throw new DiskCorruptError('bad-checksum', path, `dynamic header checksum 0x${checksum.toString(16)}, expected 0x${expected.toString(16)}`);
  }
  const version = r.u32(VhdDynamicHeader.headerVersion);
  if (version >>> 16 !== 1) throw new DiskCorruptError('unsupported-version', path, `dynamic header version 0x${version.toString(16)}`);
  const blockSize = r.u32(VhdDynamicHeader.blockSize);
  if (blockSize < VHD_MIN_BLOCK_SIZE || blockSize > VHD_MAX_BLOCK_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw new DiskCorruptError('bad-block-size', path, `block size ${blockSize}`);
  }
  const maxTableEntries = r.u32(VhdDynamicHeader.maxTableEntries);
  if (maxTableEntries === 0 || maxTableEntries > VHD_MAX_TABLE_ENTRIES) throw new DiskCorruptError('bad-bat', path, `${maxTableEntries} BAT entries`);
  const tableOffset = r.u64(VhdDynamicHeader.tableOffset);
  if (tableOffset > BigInt(Number.MAX_SAFE_INTEGER) || tableOffset % BigInt(VHD_SECTOR_SIZE) !== 0n) {
    throw new DiskCorruptError('bad-bat', path, `BAT offset ${tableOffset}`);
  }
  const parentLocators: VhdParentLocator[] = [];
  for (let i = 0; i < VHD_PARENT_LOCATOR_COUNT; i++) {
    const base = VhdDynamicHeader.parentLocators + i * VhdParentLocatorEntry.SIZE;
    const dataOffset = r.u64(base + VhdParentLocatorEntry.platformDataOffset);
    parentLocators.push({
      platformCode: r.u32(base + VhdParentLocatorEntry.platformCode),
      dataSpace: r.u32(base + VhdParentLocatorEntry.platformDataSpace),
      dataLength: r.u32(base + VhdParentLocatorEntry.platformDataLength),
      // An absurd offset is caught when the locator is read (bad-parent-locator), not here.
      dataOffset: dataOffset > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(dataOffset),
    });
  }
  const nameBytes = Buffer.from(r.slice(VhdDynamicHeader.parentUnicodeName, 512)).swap16().toString('utf16le');
  const nul = nameBytes.indexOf('\0');
  return {
    tableOffset: Number(tableOffset),
    maxTableEntries,
    blockSize,
    parentUniqueId: r.slice(VhdDynamicHeader.parentUniqueId, 16),
    parentTimestamp: r.u32(VhdDynamicHeader.parentTimestamp),
    parentUnicodeName: nul === -1 ? nameBytes : nameBytes.slice(0, nul),
    parentLocators,
  };
}
