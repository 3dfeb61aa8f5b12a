/**
 * Byte layouts and numbers of the legacy VHD format (hyperv-tlfs.md §7 "Legacy VHD"; Microsoft's
 * "Virtual Hard Disk Image Format Specification" 1.0; qemu block/vpc.c). Every field is
 * big-endian. Layouts are frozen offset tables with a `SIZE`; `vhd-layout.test.ts` checks them.
 * No logic here.
 */

/** VHD addresses in 512-byte sectors whatever the guest's sector size. */
export const VHD_SECTOR_SIZE = 512;

/** The 512-byte "Hard Disk Footer" (at the end of every VHD; copied at 0 for dynamic ones). */
export const VhdFooter = Object.freeze({
  cookie: 0, // char[8] "conectix"
  features: 8, // u32, bit 1 (reserved) always set
  formatVersion: 12, // u32 0x00010000
  dataOffset: 16, // u64: dynamic header offset; all ones for fixed disks
  timestamp: 24, // u32 seconds since 2000-01-01 00:00 UTC
  creatorApp: 28, // char[4]
  creatorVersion: 32, // u32
  creatorHostOs: 36, // u32 ("Wi2k")
  originalSize: 40, // u64 bytes
  currentSize: 48, // u64 bytes
  cylinders: 56, // u16
  heads: 58, // u8
  sectorsPerTrack: 59, // u8
  diskType: 60, // u32 (VHD_DISK_TYPE)
  checksum: 64, // u32 one's complement of the byte sum with this field zero
  uniqueId: 68, // u8[16]
  savedState: 84, // u8
  reserved: 85, // u8[427]
  SIZE: 512,
});

/** The 1024-byte dynamic disk header ("cxsparse") at the footer's DataOffset. */
export const VhdDynamicHeader = Object.freeze({
  cookie: 0, // char[8] "cxsparse"
  dataOffset: 8, // u64 all ones (unused)
  tableOffset: 16, // u64 absolute offset of the BAT
  headerVersion: 24, // u32 0x00010000
  maxTableEntries: 28, // u32 BAT entries
  blockSize: 32, // u32 bytes of data per block (not counting the sector bitmap)
  checksum: 36, // u32 as the footer's
  parentUniqueId: 40, // u8[16] the parent footer's UniqueId (differencing)
  parentTimestamp: 56, // u32 the parent footer's Timestamp
  reserved1: 60, // u32
  parentUnicodeName: 64, // u16[256] UTF-16BE file name of the parent
  parentLocators: 576, // 8 × VhdParentLocatorEntry
  reserved2: 768, // u8[256]
  SIZE: 1024,
});

/** One of the eight 24-byte parent locator entries in the dynamic header. */
export const VhdParentLocatorEntry = Object.freeze({
  platformCode: 0, // u32 (VHD_PLATFORM_CODE)
  platformDataSpace: 4, // u32 space reserved for the locator (Windows writes bytes; see vhd-parent-locator.ts)
  platformDataLength: 8, // u32 bytes of locator data
  reserved: 12, // u32
  platformDataOffset: 16, // u64 absolute file offset of the locator data
  SIZE: 24,
});

/** Number of parent locator entries in the dynamic header. */
export const VHD_PARENT_LOCATOR_COUNT = 8;

/** Cookies (ASCII). */
export const VHD_FOOTER_COOKIE = 'conectix';
export const VHD_DYNAMIC_COOKIE = 'cxsparse';

/** Disk types (footer DiskType). */
export const VHD_DISK_TYPE = Object.freeze({ fixed: 2, dynamic: 3, differencing: 4 } as const);
export type VhdDiskTypeName = keyof typeof VHD_DISK_TYPE;

/** Format versions (footer FormatVersion and dynamic header HeaderVersion). */
export const VHD_FORMAT_VERSION = 0x0001_0000;
export const VHD_HEADER_VERSION = 0x0001_0000;
/** Footer Features: bit 1 is "reserved, must be set". */
export const VHD_FEATURES_RESERVED = 0x0000_0002;

/** Parent locator platform codes (ASCII four-character codes as big-endian u32). */
export const VHD_PLATFORM_CODE = Object.freeze({
  none: 0,
  /** Windows relative path, UTF-16LE. */
  w2ru: 0x5732_7275,
  /** Windows absolute path, UTF-16LE. */
  w2ku: 0x5732_6b75,
  /** Deprecated Windows codes (ANSI paths); not written, ignored on read. */
  wi2r: 0x5769_3272,
  wi2k: 0x5769_326b,
  /** Mac OS X: a UTF-8 file URL. */
  macx: 0x4d61_6358,
} as const);

/** BAT entry of an unallocated block. */
export const VHD_BAT_UNALLOCATED = 0xffff_ffff;
/** DataOffset of a fixed disk (and the dynamic header's unused DataOffset). */
export const VHD_NO_DATA_OFFSET = 0xffff_ffff_ffff_ffffn;

/** Seconds from the Unix epoch to the VHD epoch (2000-01-01T00:00:00Z). */
export const VHD_EPOCH_UNIX_SECONDS = 946_684_800;

/** Microsoft's size limit for VHD (2040 GiB); qemu's is the same (`VHD_MAX_SECTORS`). */
export const VHD_MAX_SIZE = 2040 * 2 ** 30;
/** Default block size of dynamic and differencing disks (Hyper-V and qemu). */
export const VHD_DEFAULT_BLOCK_SIZE = 2 * 2 ** 20;
/** Smallest and largest block sizes accepted (powers of two). */
export const VHD_MIN_BLOCK_SIZE = 512;
export const VHD_MAX_BLOCK_SIZE = 256 * 2 ** 20;
/** Cap on BAT entries read on open (64 MiB of BAT): bounds memory whatever the header says. */
export const VHD_MAX_TABLE_ENTRIES = 2 ** 24;
/** Cap on one parent locator's data length. */
export const VHD_MAX_LOCATOR_BYTES = 64 * 1024;
/** Space reserved for each parent locator Viridian writes. */
export const VHD_LOCATOR_SPACE = 512 * 2;

/**
 * Creator application written into footers. qemu sizes a VHD from its CHS geometry unless the
 * creator is one it knows to use CurrentSize ("win " = Hyper-V, "qem2", "d2v ", "tap\0",
 * "CTXS"); Viridian follows Hyper-V's semantics (CurrentSize is the size), so it writes "win "
 * for qemu and Hyper-V to agree on the size. CreatorVersion records Viridian's own version.
 */
export const VHD_CREATOR_APP = 'win ';
export const VHD_CREATOR_VERSION = 0x000a_0000;
export const VHD_CREATOR_HOST_OS = 0x5769_326b; // "Wi2k"
