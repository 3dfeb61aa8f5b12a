/**
 * VHDX on-disk layout (hyperv-tlfs.md §7, after qemu `block/vhdx.h` and the MS VHDX 1.0 spec):
 * frozen tables of field offsets plus a `SIZE` for every structure, the well-known GUIDs, block
 * states and limits. Protocol file: numbers and offsets only, no logic. All integers are
 * little-endian; GUIDs use Microsoft's mixed-endian layout (data1 u32, data2 u16, data3 u16 LE,
 * data4 as bytes).
 *
 * File map: the first 1 MiB is the header section (file identifier, header 1, header 2, region
 * table 1, region table 2, in 64 KiB slots); the log, BAT, metadata region and payload blocks
 * follow at 1 MiB-aligned offsets the region table and headers name.
 */
import { parseGuid } from '@viridian/vmbus';

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** Offsets of the five 64 KiB slots of the header section. */
export const HeaderSection = Object.freeze({
  fileIdentifier: 0,
  header1: 64 * KiB,
  header2: 128 * KiB,
  regionTable1: 192 * KiB,
  regionTable2: 256 * KiB,
  /** Each slot is 64 KiB. */
  SLOT_SIZE: 64 * KiB,
  /** Everything before 1 MiB belongs to the header section. */
  SIZE: 1 * MiB,
});

/** File identifier at offset 0. */
export const FileIdentifierLayout = Object.freeze({
  /** u64 `"vhdxfile"`. */
  signature: 0,
  /** UTF-16LE creator string, diagnostic only. */
  creator: 8,
  CREATOR_SIZE: 512,
  SIZE: 520,
});

/** A header (in a 64 KiB slot; the checksum covers its first 4 KiB). */
export const HeaderLayout = Object.freeze({
  /** u32 `"head"`. */
  signature: 0,
  /** u32 CRC-32C of the 4 KiB with this field zero. */
  checksum: 4,
  /** u64; the valid header with the higher number is current. */
  sequenceNumber: 8,
  fileWriteGuid: 16,
  dataWriteGuid: 32,
  /** Zero: no log to replay. */
  logGuid: 48,
  /** u16, 0. */
  logVersion: 64,
  /** u16, 1. */
  version: 66,
  /** u32, a multiple of 1 MiB. */
  logLength: 68,
  /** u64, a multiple of 1 MiB. */
  logOffset: 72,
  SIZE: 80,
  /** Bytes the checksum covers. */
  CHECKSUM_SIZE: 4 * KiB,
});

/** Region table header (the table occupies a 64 KiB slot, all of it checksummed). */
export const RegionTableHeaderLayout = Object.freeze({
  /** u32 `"regi"`. */
  signature: 0,
  checksum: 4,
  /** u32, at most `MAX_REGION_ENTRIES`. */
  entryCount: 8,
  reserved: 12,
  SIZE: 16,
  /** Bytes the checksum covers. */
  TABLE_SIZE: 64 * KiB,
});

/** One region table entry. */
export const RegionTableEntryLayout = Object.freeze({
  guid: 0,
  /** u64, a multiple of 1 MiB. */
  fileOffset: 16,
  /** u32, a multiple of 1 MiB. */
  length: 24,
  /** u32: bit 0 = required. */
  flags: 28,
  SIZE: 32,
});

/** Metadata table header, at the start of the metadata region (the table is 64 KiB). */
export const MetadataTableHeaderLayout = Object.freeze({
  /** u64 `"metadata"`. */
  signature: 0,
  reserved: 8,
  /** u16, at most `MAX_METADATA_ENTRIES`. */
  entryCount: 10,
  reserved2: 12,
  SIZE: 32,
  TABLE_SIZE: 64 * KiB,
});

/** One metadata table entry. */
export const MetadataTableEntryLayout = Object.freeze({
  itemId: 0,
  /** u32 from the start of the metadata region; ≥ 64 KiB (0 only when length is 0). */
  offset: 16,
  /** u32, at most 1 MiB. */
  length: 20,
  /** u32 ({@link MetadataFlags}). */
  flags: 24,
  reserved: 28,
  SIZE: 32,
});

/** File Parameters item. */
export const FileParametersLayout = Object.freeze({
  /** u32 power of two, 1 MiB–256 MiB. */
  blockSize: 0,
  /** u32 ({@link FileParameterFlags}). */
  flags: 4,
  SIZE: 8,
});

/** Virtual Disk Size item: one u64. */
export const VirtualDiskSizeLayout = Object.freeze({ size: 0, SIZE: 8 });
/** Logical / Physical Sector Size items: one u32. */
export const SectorSizeLayout = Object.freeze({ size: 0, SIZE: 4 });
/** Page 83 Data item: one GUID. */
export const Page83Layout = Object.freeze({ guid: 0, SIZE: 16 });

/** Parent locator header; entries follow, key/value strings after them (offsets from the item). */
export const ParentLocatorHeaderLayout = Object.freeze({
  locatorType: 0,
  reserved: 16,
  /** u16. */
  keyValueCount: 18,
  SIZE: 20,
});

/** One parent locator key/value entry. */
export const ParentLocatorEntryLayout = Object.freeze({
  /** u32 from the start of the parent locator item. */
  keyOffset: 0,
  valueOffset: 4,
  /** u16 byte lengths of the UTF-16LE strings. */
  keyLength: 8,
  valueLength: 10,
  SIZE: 12,
});

/** Log entry header, at the start of each entry's first 4 KiB sector. */
export const LogEntryHeaderLayout = Object.freeze({
  /** u32 `"loge"`. */
  signature: 0,
  /** u32 CRC-32C over the whole entry with this field zero. */
  checksum: 4,
  /** u32, a multiple of 4 KiB. */
  entryLength: 8,
  /** u32: log offset of the first entry of the sequence this entry ends. */
  tail: 12,
  /** u64, never 0. */
  sequenceNumber: 16,
  /** u32. */
  descriptorCount: 24,
  reserved: 28,
  logGuid: 32,
  /** u64: the file was at least this long when the entry was written. */
  flushedFileOffset: 48,
  /** u64: every structure fits below this offset. */
  lastFileOffset: 56,
  SIZE: 64,
});

/** A log descriptor: `"desc"` (one data sector) or `"zero"` (a zeroed range). */
export const LogDescriptorLayout = Object.freeze({
  signature: 0,
  /** desc: bytes 4092..4095 of the target sector; zero: reserved. */
  trailingBytes: 4,
  /** desc: bytes 0..7 of the target sector; zero: u64 length of the zeroed range. */
  leadingBytes: 8,
  /** u64, a multiple of 4 KiB. */
  fileOffset: 16,
  /** u64, equal to the entry's. */
  sequenceNumber: 24,
  SIZE: 32,
});

/** A log data sector: bytes 8..4091 of one target sector, wrapped by the sequence number halves. */
export const LogDataSectorLayout = Object.freeze({
  /** u32 `"data"`. */
  signature: 0,
  sequenceHigh: 4,
  data: 8,
  DATA_SIZE: 4084,
  sequenceLow: 4092,
  SIZE: 4096,
});

/** 4-byte signatures as little-endian u32s, 8-byte ones as ASCII. */
export const Signature = Object.freeze({
  file: 'vhdxfile',
  metadata: 'metadata',
  head: 0x64616568,
  regi: 0x69676572,
  loge: 0x65676f6c,
  desc: 0x63736564,
  zero: 0x6f72657a,
  data: 0x61746164,
});

/** Region table GUIDs. */
export const RegionGuid = Object.freeze({
  bat: parseGuid('2dc27766-f623-4200-9d64-115e9bfd4a08'),
  metadata: parseGuid('8b7ca206-4790-4b9a-b8fe-575f050f886e'),
});

/** System metadata item GUIDs. */
export const MetadataGuid = Object.freeze({
  fileParameters: parseGuid('caa16737-fa36-4d43-b3b6-33f0aa44e76b'),
  virtualDiskSize: parseGuid('2fa54224-cd1b-4876-b211-5dbed83bf4b8'),
  logicalSectorSize: parseGuid('8141bf1d-a96f-4709-ba47-f233a8faab5f'),
  physicalSectorSize: parseGuid('cda348c7-445d-4471-9cc9-e9885251c556'),
  page83Data: parseGuid('beca12ab-b2e6-4523-93ef-c309e000c746'),
  parentLocator: parseGuid('a8d35f2d-b30b-454d-abf7-d3d84834ab0c'),
});

/** Parent locator type of a VHDX parent. */
export const VHDX_PARENT_LOCATOR_TYPE = parseGuid('b04aefb7-d19e-4a81-b789-25b8e9445913');

/** Region table entry flag. */
export const REGION_REQUIRED = 0x1;

/** Metadata table entry flags. */
export const MetadataFlags = Object.freeze({ isUser: 0x1, isVirtualDisk: 0x2, isRequired: 0x4 });

/** File Parameters flags. */
export const FileParameterFlags = Object.freeze({ leaveBlocksAllocated: 0x1, hasParent: 0x2 });

/** Payload block states (BAT entry bits 2:0). */
export const PayloadBlockState = Object.freeze({
  notPresent: 0,
  undefined: 1,
  zero: 2,
  /** 3 in the 1.0 spec text, 5 in what Hyper-V writes (qemu accepts both). */
  unmappedV095: 3,
  unmapped: 5,
  fullyPresent: 6,
  partiallyPresent: 7,
} as const);
export type PayloadBlockStateValue = (typeof PayloadBlockState)[keyof typeof PayloadBlockState];

/** Sector bitmap block states. */
export const SectorBitmapState = Object.freeze({ notPresent: 0, present: 6 } as const);

/** BAT entry field geometry. */
export const BatEntryLayout = Object.freeze({
  STATE_MASK: 0x7,
  /** File offset in MiB lives in bits 63:20. */
  OFFSET_SHIFT: 20,
  SIZE: 8,
});

/** Limits from the spec. */
export const Limits = Object.freeze({
  MAX_REGION_ENTRIES: 2047,
  MAX_METADATA_ENTRIES: 2047,
  MIN_METADATA_ITEM_OFFSET: 64 * KiB,
  MAX_METADATA_ITEM_LENGTH: 1 * MiB,
  MIN_BLOCK_SIZE: 1 * MiB,
  MAX_BLOCK_SIZE: 256 * MiB,
  MAX_VIRTUAL_SIZE: 64 * 1024 * 1024 * MiB,
  /** Sectors one 1 MiB sector bitmap block describes (2^23). */
  SECTORS_PER_BITMAP_BLOCK: 2 ** 23,
  SECTOR_BITMAP_BLOCK_SIZE: 1 * MiB,
  LOG_SECTOR_SIZE: 4 * KiB,
  /** Every region and block starts on a 1 MiB boundary. */
  ALIGNMENT: 1 * MiB,
});
