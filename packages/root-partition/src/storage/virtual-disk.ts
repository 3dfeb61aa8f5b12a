/**
 * The virtual-disk interface every image format implements (raw, VHD, VHDX; hyperv-tlfs.md §7).
 *
 * A `VirtualDisk` is a block device backed by a host file: byte offsets and lengths are multiples
 * of `logicalSectorSize` (like SCSI LBAs), and every request checks its range first. Many requests
 * may be in flight at once; a format serializes only its metadata updates (block allocation,
 * header/footer rewrites), never plain data I/O. Requests that overlap and run concurrently
 * complete in an unspecified order, exactly like a real disk's queue.
 *
 * Durability: a resolved `write` is in the host's page cache; only a resolved `flush` makes every
 * earlier acknowledged write (and the metadata it needed) durable.
 *
 * Differencing disks hold their parent open (read-only) and close it in `close()`. Formats are
 * found and opened through `disk-files.ts`; drivers plug in through `format-registry.ts`.
 */

/** Every image format and subformat Viridian knows. */
export const DISK_FORMATS = [
  'raw',
  'vhd-fixed',
  'vhd-dynamic',
  'vhd-differencing',
  'vhdx-fixed',
  'vhdx-dynamic',
  'vhdx-differencing',
] as const;

/** One image format and subformat. */
export type DiskFormat = (typeof DISK_FORMATS)[number];

/** The container format of a `DiskFormat`: which driver handles it. */
export type DiskFormatFamily = 'raw' | 'vhd' | 'vhdx';

/** The container family of `format` (`'vhd-dynamic'` → `'vhd'`). */
export function formatFamily(format: DiskFormat): DiskFormatFamily {
  if (format === 'raw') return 'raw';
  return format.startsWith('vhdx-') ? 'vhdx' : 'vhd';
}

/** A JSON-able value in `DiskInfo.details`. */
export type DiskDetailValue = string | number | boolean | null;

/**
 * A JSON-able description of an open disk (what `viridian disk info --json` prints).
 * Sizes are in bytes.
 */
export interface DiskInfo {
  /** Absolute path of the image file. */
  readonly path: string;
  readonly format: DiskFormat;
  /** Size the guest sees. */
  readonly virtualSize: number;
  readonly logicalSectorSize: number;
  readonly physicalSectorSize: number;
  /** Allocation unit of a dynamic or differencing format; `null` when the format has no blocks. */
  readonly blockSize: number | null;
  /** Current size of the image file on the host. */
  readonly fileSize: number;
  /**
   * Guest-visible bytes this file holds data for: allocated blocks × block size for dynamic and
   * differencing formats, `virtualSize` for fixed and raw ones.
   */
  readonly allocatedBytes: number;
  readonly readOnly: boolean;
  /** Absolute path of the parent image (differencing formats), else `null`. */
  readonly parentPath: string | null;
  /** The parent's own info (and so on up the chain), else `null`. */
  readonly parent: DiskInfo | null;
  /** Format-specific facts (VHD geometry, creator, unique id, VHDX GUIDs…), all JSON-able. */
  readonly details: Readonly<Record<string, DiskDetailValue>>;
}

/** Options for `VirtualDisk.resize`. */
export interface ResizeOptions {
  /** Allow `newSize < virtualSize` (data past the new end is lost). Default false. */
  readonly allowShrink?: boolean;
}

/**
 * An open virtual disk. Offsets and lengths are bytes and must be multiples of
 * `logicalSectorSize`; `offset + length` must not pass `virtualSize`.
 *
 * Every method may throw (reject with) these, besides the ones it lists:
 * - `DiskClosedError` (`VIRIDIAN_DISK_CLOSED`) after `close()`;
 * - `DiskIoError` (`VIRIDIAN_DISK_IO`) when the host file operation fails (its `cause` and
 *   `errno` code, e.g. `EIO` or `ENOSPC`, are kept so storvsp can map them to SCSI sense).
 */
export interface VirtualDisk {
  readonly format: DiskFormat;
  /** Absolute path of the image file. */
  readonly path: string;
  readonly readOnly: boolean;
  /** Size the guest sees, in bytes; changes only through `resize`. */
  readonly virtualSize: number;
  /** 512 or 4096. The unit of addressing. */
  readonly logicalSectorSize: number;
  /** 512 or 4096. A hint for the guest (optimal I/O granularity). */
  readonly physicalSectorSize: number;
  /**
   * True when a trimmed range is guaranteed to read back as zeros afterwards (SCSI LBPRZ = 1);
   * false when it reads either its old contents or zeros (or, for differencing disks, the parent's).
   */
  readonly trimReadsZeros: boolean;

  /**
   * Reads `length` bytes at `offset` into a new buffer.
   * @throws DiskOutOfRangeError if the range passes `virtualSize`.
   * @throws DiskUnalignedError if `offset` or `length` is not a multiple of `logicalSectorSize`.
   * @throws DiskCorruptError if metadata met on the way is invalid (never a wrong read).
   */
  read(offset: number, length: number): Promise<Buffer>;

  /**
   * Reads `target.byteLength` bytes at `offset` into `target` (which may be a view into guest
   * memory; no intermediate copy for formats that can avoid one).
   * @throws DiskOutOfRangeError, DiskUnalignedError, DiskCorruptError as `read`.
   */
  readInto(offset: number, target: Uint8Array): Promise<void>;

  /**
   * Writes `data` at `offset`, allocating blocks as needed.
   * @throws DiskOutOfRangeError, DiskUnalignedError as `read`.
   * @throws DiskReadOnlyError if the disk was opened read-only.
   */
  write(offset: number, data: Uint8Array): Promise<void>;

  /**
   * Makes every write acknowledged before this call durable (data, then metadata).
   * @throws DiskIoError if the host cannot sync.
   */
  flush(): Promise<void>;

  /**
   * Tells the disk the guest no longer needs `[offset, offset + length)` (SCSI UNMAP). Advisory:
   * see `trimReadsZeros` for what the range reads afterwards. Formats without allocation treat it
   * as a no-op.
   * @throws DiskOutOfRangeError, DiskUnalignedError, DiskReadOnlyError as `write`.
   */
  trim(offset: number, length: number): Promise<void>;

  /**
   * Changes `virtualSize` to `newSize` (a multiple of `logicalSectorSize`). Growing keeps all data
   * and the new range reads as zeros.
   * @throws DiskInvalidArgumentError if `newSize` is unaligned, negative or above the format's maximum.
   * @throws DiskUnsupportedError if shrinking without `allowShrink`, or the format cannot shrink.
   * @throws DiskReadOnlyError if the disk was opened read-only.
   */
  resize(newSize: number, options?: ResizeOptions): Promise<void>;

  /** Describes the disk (and its parent chain); cheap and synchronous. */
  info(): DiskInfo;

  /**
   * Flushes (when writable), closes the file and the parent chain. Idempotent.
   * @throws DiskIoError if the final flush or close fails.
   */
  close(): Promise<void>;
}

/** Options for `openDisk`. */
export interface OpenDiskOptions {
  /** Open without write access (parents in a differencing chain are always read-only). */
  readonly readOnly?: boolean;
  /**
   * Skip signature detection and use this family's driver. Mainly `'raw'`, to read a file that
   * happens to start with another format's signature as plain bytes.
   */
  readonly family?: DiskFormatFamily;
}

/** Options for `createDisk`. */
export interface CreateDiskOptions {
  readonly format: DiskFormat;
  /**
   * Virtual size in bytes, a multiple of the logical sector size. Required except for
   * differencing formats, which take the parent's size when it is omitted.
   */
  readonly size?: number;
  /** Block size for dynamic/differencing formats; each format has its own default (VHD: 2 MiB). */
  readonly blockSize?: number;
  /** Parent image of a differencing disk (absolute, or relative to the working directory). */
  readonly parentPath?: string;
  /** 512 (default) or 4096 where the format allows (VHD: 512 only). */
  readonly logicalSectorSize?: number;
  /** 512 or 4096; defaults to the logical sector size (VHDX: 4096). */
  readonly physicalSectorSize?: number;
  /** Replace an existing file instead of failing with `DiskExistsError`. */
  readonly overwrite?: boolean;
}
