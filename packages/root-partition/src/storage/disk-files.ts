/**
 * Opening and creating image files: `openDisk` detects the format by signature (VHDX "vhdxfile"
 * at 0, VHD "conectix" at 0 or in the last 512 bytes; raw is anything else) and routes to the
 * registered driver; `createDisk` routes by the requested format. Differencing parents open
 * through the same path (read-only, one level deeper), so chains of any format and depth up to
 * `MAX_CHAIN_DEPTH` resolve here, and a missing parent is a `DiskParentMissingError`.
 *
 * Raw and VHD register here; VHDX registers itself (`format-registry.ts`).
 */
import { resolve } from 'node:path';
import { DiskCorruptError, DiskInvalidArgumentError, DiskNotFoundError, DiskParentMissingError, DiskUnsupportedError } from './errors.ts';
import {
  MAX_CHAIN_DEPTH,
  PROBE_HEAD_BYTES,
  PROBE_TAIL_BYTES,
  diskFormatDriver,
  registerDiskFormat,
  registeredDiskFormats,
  type DiskFormatDriver,
  type DiskOpenContext,
  type ProbeInput,
} from './format-registry.ts';
import { HostFile } from './host-file.ts';
import { rawDriver } from './raw/raw-driver.ts';
import { vhdDriver } from './vhd/vhd-driver.ts';
import { DISK_FORMATS, formatFamily, type CreateDiskOptions, type DiskFormatFamily, type OpenDiskOptions, type VirtualDisk } from './virtual-disk.ts';

registerDiskFormat(rawDriver);
registerDiskFormat(vhdDriver);

/**
 * Opens an image file, detecting its format.
 * @throws DiskNotFoundError if `path` does not exist.
 * @throws DiskCorruptError if the image fails validation (with a `reason`).
 * @throws DiskParentMissingError if a differencing parent cannot be found.
 * @throws DiskUnsupportedError if `options.family` names a format with no registered driver.
 * @throws DiskIoError for host failures.
 */
export function openDisk(path: string, options: OpenDiskOptions = {}): Promise<VirtualDisk> {
  return openAt(resolve(path), options, 0);
}

/**
 * Creates an image file of `options.format` and returns it open for writing.
 * @throws DiskInvalidArgumentError for bad sizes, block sizes or a missing parent path.
 * @throws DiskExistsError if the file exists and `options.overwrite` is not set.
 * @throws DiskParentMissingError if a differencing parent does not exist.
 * @throws DiskUnsupportedError if the format's driver is not registered.
 * @throws DiskIoError for host failures.
 */
export function createDisk(path: string, options: CreateDiskOptions): Promise<VirtualDisk> {
  if (!(DISK_FORMATS as readonly string[]).includes(options.format)) throw new DiskInvalidArgumentError(`unknown disk format ${String(options.format)}`);
  const absolute = resolve(path);
  return driverFor(formatFamily(options.format), absolute).create(absolute, options, contextAt(0));
}

/**
 * Which family's driver would open `path` (signature detection only, no validation).
 * @throws DiskNotFoundError, DiskIoError.
 */
export async function detectDiskFormat(path: string): Promise<DiskFormatFamily> {
  const absolute = resolve(path);
  return probe(await readProbe(absolute)).family;
}

async function openAt(path: string, options: OpenDiskOptions, depth: number): Promise<VirtualDisk> {
  const driver = options.family === undefined ? probe(await readProbe(path)) : driverFor(options.family, path);
  return driver.open(path, options, contextAt(depth));
}

function driverFor(family: DiskFormatFamily, path: string): DiskFormatDriver {
  const driver = diskFormatDriver(family);
  if (driver === undefined) throw new DiskUnsupportedError(path, `no driver registered for ${family} images`);
  return driver;
}

function probe(input: ProbeInput): DiskFormatDriver {
  for (const driver of registeredDiskFormats()) if (driver.probe(input)) return driver;
  // Unreachable while raw is registered (it accepts anything).
  throw new DiskUnsupportedError(input.path, 'no registered driver recognizes this file');
}

async function readProbe(path: string): Promise<ProbeInput> {
  const file = await HostFile.open(path, 'read');
  try {
    const fileSize = await file.size();
    const head = Buffer.alloc(Math.min(PROBE_HEAD_BYTES, fileSize));
    const tail = Buffer.alloc(Math.min(PROBE_TAIL_BYTES, fileSize));
    await file.readAt(head, 0);
    await file.readAt(tail, fileSize - tail.length);
    return { path, fileSize, head, tail };
  } finally {
    await file.close();
  }
}

function contextAt(depth: number): DiskOpenContext {
  return {
    depth,
    async openParent(childPath, candidates) {
      if (depth + 1 > MAX_CHAIN_DEPTH) {
        throw new DiskCorruptError('parent-chain-too-deep', childPath, `more than ${MAX_CHAIN_DEPTH} parents (or a loop)`);
      }
      const tried: string[] = [];
      for (const candidate of candidates) {
        const absolute = resolve(candidate);
        if (tried.includes(absolute)) continue;
        tried.push(absolute);
        try {
          return await openAt(absolute, { readOnly: true }, depth + 1);
        } catch (error) {
          if (error instanceof DiskNotFoundError && error.path === absolute) continue;
          throw error;
        }
      }
      throw new DiskParentMissingError(childPath, tried);
    },
  };
}
