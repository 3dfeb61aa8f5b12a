/**
 * The registry of image-format drivers. `disk-files.ts` registers the built-in ones (raw, VHD);
 * other formats (VHDX) register themselves from their own module with `registerDiskFormat`, so the
 * dispatcher never imports them directly.
 *
 * Detection: `openDisk` reads the head and tail of the file once and asks each driver's `probe`,
 * highest `priority` first; raw probes true for anything, at the lowest priority.
 */
import type { CreateDiskOptions, DiskFormat, DiskFormatFamily, OpenDiskOptions, VirtualDisk } from './virtual-disk.ts';

/** How many bytes of the file's start `ProbeInput.head` holds (fewer if the file is shorter). */
export const PROBE_HEAD_BYTES = 4096;
/** How many bytes of the file's end `ProbeInput.tail` holds (fewer if the file is shorter). */
export const PROBE_TAIL_BYTES = 512;
/** The longest differencing chain `openDisk` follows: a guard against loops and runaway chains. */
export const MAX_CHAIN_DEPTH = 64;

/** What a driver's `probe` sees of a file. */
export interface ProbeInput {
  readonly path: string;
  readonly fileSize: number;
  /** The first `min(PROBE_HEAD_BYTES, fileSize)` bytes. */
  readonly head: Buffer;
  /** The last `min(PROBE_TAIL_BYTES, fileSize)` bytes. */
  readonly tail: Buffer;
}

/** Services the dispatcher gives a driver while it opens or creates a disk. */
export interface DiskOpenContext {
  /** How deep in a differencing chain this disk sits (0 = the disk the caller asked for). */
  readonly depth: number;
  /**
   * Opens a parent image read-only, trying each absolute candidate path in order (for example
   * the relative locator resolved against the child's folder, then the absolute one).
   * @throws DiskParentMissingError if no candidate exists (`childPath` names the child).
   * @throws DiskCorruptError (`parent-chain-too-deep`) past `MAX_CHAIN_DEPTH`.
   * @throws whatever opening the parent throws (its own corruption, I/O errors).
   */
  openParent(childPath: string, candidates: readonly string[]): Promise<VirtualDisk>;
}

/** One image-format driver (a family and its subformats). */
export interface DiskFormatDriver {
  readonly family: DiskFormatFamily;
  /** The subformats this driver creates and opens. */
  readonly formats: readonly DiskFormat[];
  /** Higher probes first. Raw uses 0; signature-based formats use 100 or more. */
  readonly priority: number;
  /** True if the file looks like this format (a signature match; full validation is `open`'s). */
  probe(input: ProbeInput): boolean;
  /**
   * Opens and validates an existing image.
   * @throws DiskCorruptError, DiskParentMissingError, DiskIoError.
   */
  open(path: string, options: OpenDiskOptions, context: DiskOpenContext): Promise<VirtualDisk>;
  /**
   * Creates a new image (the file must not exist unless `options.overwrite`) and opens it.
   * @throws DiskInvalidArgumentError, DiskExistsError, DiskParentMissingError, DiskIoError.
   */
  create(path: string, options: CreateDiskOptions, context: DiskOpenContext): Promise<VirtualDisk>;
}

const drivers = new Map<DiskFormatFamily, DiskFormatDriver>();

/** Adds (or replaces) the driver for `driver.family`. */
export function registerDiskFormat(driver: DiskFormatDriver): void {
  drivers.set(driver.family, driver);
}

/** Every registered driver, highest priority first. */
export function registeredDiskFormats(): readonly DiskFormatDriver[] {
  return [...drivers.values()].sort((a, b) => b.priority - a.priority);
}

/** The driver for a family, or `undefined` if none registered. */
export function diskFormatDriver(family: DiskFormatFamily): DiskFormatDriver | undefined {
  return drivers.get(family);
}
