/**
 * The raw format's driver: it probes true for any file (at the lowest priority, so every
 * signature-based format wins first), opens files as they are and creates sparse files.
 */
import { DiskInvalidArgumentError } from '../errors.ts';
import type { DiskFormatDriver } from '../format-registry.ts';
import { HostFile } from '../host-file.ts';
import { checkSectorSize, checkVirtualSize } from '../request-checks.ts';
import type { CreateDiskOptions, OpenDiskOptions } from '../virtual-disk.ts';
import { RAW_MAX_SIZE, RawDisk } from './raw-disk.ts';

/** Logical sector size of an opened raw file (raw files do not record one). */
export const RAW_SECTOR_SIZE = 512;

/**
 * Opens a raw image.
 * @throws DiskNotFoundError, DiskIoError.
 */
export async function openRawDisk(path: string, options: OpenDiskOptions = {}): Promise<RawDisk> {
  const readOnly = options.readOnly === true;
  const file = await HostFile.open(path, readOnly ? 'read' : 'read-write');
  try {
    const size = await file.size();
    return new RawDisk(file, size - (size % RAW_SECTOR_SIZE), RAW_SECTOR_SIZE, RAW_SECTOR_SIZE, readOnly);
  } catch (error) {
    await file.close();
    throw error;
  }
}

/**
 * Creates a sparse raw image of `options.size` bytes.
 * @throws DiskInvalidArgumentError, DiskExistsError, DiskIoError.
 */
export async function createRawDisk(path: string, options: CreateDiskOptions): Promise<RawDisk> {
  if (options.format !== 'raw') throw new DiskInvalidArgumentError(`the raw driver cannot create ${options.format}`);
  const logical = options.logicalSectorSize ?? RAW_SECTOR_SIZE;
  checkSectorSize(logical, 'logical sector size');
  const physical = options.physicalSectorSize ?? logical;
  checkSectorSize(physical, 'physical sector size');
  if (options.size === undefined) throw new DiskInvalidArgumentError('a raw image needs a size');
  checkVirtualSize(options.size, logical, RAW_MAX_SIZE);
  const file = await HostFile.open(path, options.overwrite === true ? 'create-overwrite' : 'create');
  try {
    await file.truncate(options.size);
    return new RawDisk(file, options.size, logical, physical, false);
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** The raw format: anything that no other driver claims. */
export const rawDriver: DiskFormatDriver = Object.freeze({
  family: 'raw' as const,
  formats: Object.freeze(['raw'] as const),
  priority: 0,
  probe: () => true,
  open: (path: string, options: OpenDiskOptions) => openRawDisk(path, options),
  create: (path: string, options: CreateDiskOptions) => createRawDisk(path, options),
});
