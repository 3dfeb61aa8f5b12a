/**
 * Typed errors of the virtual-disk layer (`storage/`), each with a stable `code`. Every format
 * (raw, VHD, VHDX) throws only these, so callers (storvsp, the CLI) map them without knowing the
 * format: corruption → `VIRIDIAN_DISK_CORRUPT` with a `reason`, a missing parent →
 * `VIRIDIAN_DISK_PARENT_MISSING`, a bad request → `VIRIDIAN_DISK_OUT_OF_RANGE`/`_UNALIGNED`, a
 * host failure → `VIRIDIAN_DISK_IO` with the errno code kept.
 */

/** Base class of every error the storage layer throws. */
export class DiskError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Why an image was judged corrupt: one stable reason per validation branch, shared by all
 * formats (VHD and VHDX use the ones that apply to them).
 */
export type DiskCorruptionReason =
  /** The file is shorter than its structures need. */
  | 'truncated'
  /** A cookie/signature ("conectix", "cxsparse", "vhdxfile", "head", "regi", "metadata"…) is wrong. */
  | 'bad-signature'
  /** A checksum (VHD one's-complement sum, VHDX CRC-32C) does not match. */
  | 'bad-checksum'
  /** A format version this code does not understand. */
  | 'unsupported-version'
  /** The disk type / subformat field holds an unknown value. */
  | 'bad-disk-type'
  /** The virtual size is zero, unaligned, or past the format's maximum. */
  | 'bad-virtual-size'
  /** Block size not a power of two or out of the format's range. */
  | 'bad-block-size'
  /** Logical or physical sector size not 512/4096. */
  | 'bad-sector-size'
  /** A header field (offset, table size, entry count) is impossible. */
  | 'bad-header'
  /** A BAT (block allocation table) does not fit or has the wrong entry count. */
  | 'bad-bat'
  /** A BAT entry points past the end of the file. */
  | 'bat-entry-beyond-file'
  /** A BAT entry points at an unaligned offset or into metadata. */
  | 'bat-entry-misplaced'
  /** A BAT entry holds an undefined state (VHDX). */
  | 'bad-bat-state'
  /** Two BAT entries (or a block and metadata) share file space. */
  | 'overlapping-blocks'
  /** The VHDX region table is invalid. */
  | 'bad-region-table'
  /** A VHDX metadata table or item is invalid or missing. */
  | 'bad-metadata'
  /** The VHDX log cannot be replayed. */
  | 'bad-log'
  /** The parent locator is missing or unreadable. */
  | 'bad-parent-locator'
  /** The parent's identity (unique id, data write GUID) does not match what the child recorded. */
  | 'parent-mismatch'
  /** A differencing chain is longer than `MAX_CHAIN_DEPTH` (or loops back on itself). */
  | 'parent-chain-too-deep';

/** The image fails validation. Raised on open (or by the first I/O that meets bad metadata). */
export class DiskCorruptError extends DiskError {
  constructor(
    readonly reason: DiskCorruptionReason,
    readonly path: string,
    detail: string,
  ) {
    super('VIRIDIAN_DISK_CORRUPT', `${path}: corrupt image (${reason}): ${detail}`);
  }
}

/** A differencing disk's parent cannot be found at any of the locations it records. */
export class DiskParentMissingError extends DiskError {
  constructor(
    readonly path: string,
    /** Every absolute path tried, in order. */
    readonly tried: readonly string[],
  ) {
    super('VIRIDIAN_DISK_PARENT_MISSING', `${path}: parent not found (tried ${tried.length === 0 ? 'nothing' : tried.join(', ')})`);
  }
}

/** A request's range passes the end of the disk (or is negative). */
export class DiskOutOfRangeError extends DiskError {
  constructor(
    readonly offset: number,
    readonly length: number,
    readonly virtualSize: number,
  ) {
    super('VIRIDIAN_DISK_OUT_OF_RANGE', `range [${offset}, ${offset + length}) is outside a ${virtualSize}-byte disk`);
  }
}

/** A request's offset or length is not a multiple of the logical sector size. */
export class DiskUnalignedError extends DiskError {
  constructor(
    readonly offset: number,
    readonly length: number,
    readonly sectorSize: number,
  ) {
    super('VIRIDIAN_DISK_UNALIGNED', `range [${offset}, ${offset + length}) is not aligned to ${sectorSize}-byte sectors`);
  }
}

/** A write, trim or resize on a disk opened read-only. */
export class DiskReadOnlyError extends DiskError {
  constructor(readonly path: string) {
    super('VIRIDIAN_DISK_READ_ONLY', `${path}: disk is open read-only`);
  }
}

/** Any use of a disk after `close()`. */
export class DiskClosedError extends DiskError {
  constructor(readonly path: string) {
    super('VIRIDIAN_DISK_CLOSED', `${path}: disk is closed`);
  }
}

/** A valid request this format (or this implementation) cannot do, e.g. shrinking a VHD. */
export class DiskUnsupportedError extends DiskError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super('VIRIDIAN_DISK_UNSUPPORTED', `${path}: ${detail}`);
  }
}

/** An argument from local code (create options, a resize size) is invalid. */
export class DiskInvalidArgumentError extends DiskError {
  constructor(detail: string) {
    super('VIRIDIAN_DISK_INVALID_ARGUMENT', detail);
  }
}

/** `createDisk` without `overwrite` found a file already at the path. */
export class DiskExistsError extends DiskError {
  constructor(readonly path: string) {
    super('VIRIDIAN_DISK_EXISTS', `${path}: file exists`);
  }
}

/** The image file does not exist (opening a disk, not a parent: see `DiskParentMissingError`). */
export class DiskNotFoundError extends DiskError {
  constructor(readonly path: string) {
    super('VIRIDIAN_DISK_NOT_FOUND', `${path}: no such file`);
  }
}

/** A host file operation failed; `errno` is Node's code (`EIO`, `ENOSPC`, `EACCES`…). */
export class DiskIoError extends DiskError {
  constructor(
    readonly path: string,
    readonly operation: string,
    readonly errno: string | undefined,
    cause: unknown,
  ) {
    super('VIRIDIAN_DISK_IO', `${path}: ${operation} failed${errno === undefined ? '' : ` (${errno})`}`, { cause });
  }
}

/**
 * Wraps a host error from `operation` on `path` as a `DiskIoError`; passes `DiskError`s through
 * unchanged so layered code can rethrow blindly.
 */
export function toDiskError(error: unknown, path: string, operation: string): DiskError {
  if (error instanceof DiskError) return error;
  const errno = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  if (errno === 'ENOENT') return new DiskNotFoundError(path);
  return new DiskIoError(path, operation, errno, error);
}
