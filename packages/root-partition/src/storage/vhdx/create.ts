/**
 * Creating a VHDX image (hyperv-tlfs.md §7), laid out the way qemu and Hyper-V do: the 1 MiB header
 * section (identifier, two headers with sequence numbers 0 and 1, two region table copies), a
 * 1 MiB log at 1 MiB, the BAT, a 1 MiB metadata region, then payload blocks. A fixed disk gets every
 * block allocated up front (a sparse host file); a differencing disk records its parent in a
 * parent locator (the parent's DataWriteGuid, a relative and an absolute path).
 */
import { NIL_GUID, parseGuid } from '@viridian/vmbus';
import * as nodePath from 'node:path';
import { DiskExistsError, DiskInvalidArgumentError, DiskIoError } from '../errors.ts';
import type { DiskOpenContext } from '../format-registry.ts';
import { checkSectorSize, checkVirtualSize } from '../request-checks.ts';
import type { CreateDiskOptions, VirtualDisk } from '../virtual-disk.ts';
import { Bat, batGeometry, batRegionLength, payloadEntryIndex } from './bat.ts';
import { serializeFileIdentifier, serializeHeader, type VhdxHeader } from './header.ts';
import { newGuid } from './image.ts';
import { HeaderSection, Limits, MiB, PayloadBlockState } from './layout.ts';
import { serializeMetadataRegion } from './metadata.ts';
import { locatorEntriesFor } from './parent-locator.ts';
import { REGION_TABLE_OFFSETS, serializeRegionTable } from './region-table.ts';
import { VhdxDisk } from './vhdx-disk.ts';
import { VhdxFile } from './vhdx-file.ts';

/** Default block sizes (Hyper-V's): 32 MiB for fixed and dynamic disks, 2 MiB for differencing. */
export const DEFAULT_BLOCK_SIZE = 32 * MiB;
export const DEFAULT_DIFFERENCING_BLOCK_SIZE = 2 * MiB;
/** The log Viridian creates. */
export const DEFAULT_LOG_LENGTH = 1 * MiB;

/**
 * Creates a VHDX image at `path` and opens it read-write.
 * @throws {DiskInvalidArgumentError} for a bad size, block or sector size, a differencing disk
 *   without `parentPath` or with a non-VHDX parent, or a non-VHDX `format`.
 * @throws {DiskExistsError} when the file exists and `overwrite` is not set.
 * @throws {DiskParentMissingError}, {DiskCorruptError} from opening the parent.
 * @throws {DiskIoError}
 */
export async function createVhdx(path: string, options: CreateDiskOptions, context: DiskOpenContext): Promise<VirtualDisk> {
  const { format } = options;
  if (format !== 'vhdx-fixed' && format !== 'vhdx-dynamic' && format !== 'vhdx-differencing') throw new DiskInvalidArgumentError(`VHDX cannot create ${format}`);
  const differencing = format === 'vhdx-differencing';
  let logicalSectorSize = options.logicalSectorSize ?? 512;
  let size = options.size;
  let locatorEntries: Map<string, string> | null = null;
  if (differencing) {
    if (options.parentPath === undefined) throw new DiskInvalidArgumentError('a differencing disk needs parentPath');
    const parentPath = nodePath.resolve(options.parentPath);
    const parent = await context.openParent(path, [parentPath]);
    try {
      const guid = parent.info().details['dataWriteGuid'];
      if (!parent.format.startsWith('vhdx-') || typeof guid !== 'string') throw new DiskInvalidArgumentError(`a VHDX differencing disk needs a VHDX parent, not ${parent.format}`);
      if (options.logicalSectorSize !== undefined && options.logicalSectorSize !== parent.logicalSectorSize) {
        throw new DiskInvalidArgumentError(`logical sector size ${options.logicalSectorSize} differs from the parent's ${parent.logicalSectorSize}`);
      }
      logicalSectorSize = parent.logicalSectorSize;
      size ??= parent.virtualSize;
      locatorEntries = locatorEntriesFor(path, parentPath, parseGuid(guid));
    } finally {
      await parent.close();
    }
  }
  checkSectorSize(logicalSectorSize, 'logical sector size');
  const physicalSectorSize = options.physicalSectorSize ?? 4096;
  checkSectorSize(physicalSectorSize, 'physical sector size');
  if (size === undefined) throw new DiskInvalidArgumentError('size is required');
  checkVirtualSize(size, logicalSectorSize, Limits.MAX_VIRTUAL_SIZE);
  const blockSize = options.blockSize ?? (differencing ? DEFAULT_DIFFERENCING_BLOCK_SIZE : DEFAULT_BLOCK_SIZE);
  checkBlockSize(blockSize);

  const g = batGeometry(size, blockSize, logicalSectorSize, differencing);
  const logOffset = HeaderSection.SIZE;
  const bat = { fileOffset: logOffset + DEFAULT_LOG_LENGTH, length: batRegionLength(g) };
  const metadata = { fileOffset: bat.fileOffset + bat.length, length: MiB };
  const dataStart = metadata.fileOffset + metadata.length;
  const fixed = format === 'vhdx-fixed';

  let file: VhdxFile;
  try {
    file = await VhdxFile.open(path, { writable: true, create: true, overwrite: options.overwrite === true });
  } catch (error) {
    if (error instanceof DiskIoError && error.errno === 'EEXIST') throw new DiskExistsError(path);
    throw error;
  }
  try {
    await file.truncate(fixed ? dataStart + g.payloadBlocks * blockSize : dataStart);
    await file.write(0, serializeFileIdentifier());
    const header: VhdxHeader = {
      sequenceNumber: 0n,
      fileWriteGuid: newGuid(),
      dataWriteGuid: newGuid(),
      logGuid: NIL_GUID,
      logVersion: 0,
      version: 1,
      logLength: DEFAULT_LOG_LENGTH,
      logOffset,
    };
    await file.write(HeaderSection.header1, serializeHeader(header));
    await file.write(HeaderSection.header2, serializeHeader({ ...header, sequenceNumber: 1n }));
    const table = serializeRegionTable({ bat, metadata });
    for (const offset of REGION_TABLE_OFFSETS) await file.write(offset, table);
    await file.write(
      metadata.fileOffset,
      serializeMetadataRegion(
        {
          blockSize,
          leaveBlocksAllocated: fixed,
          hasParent: differencing,
          virtualSize: size,
          logicalSectorSize,
          physicalSectorSize,
          page83: newGuid(),
          parentLocatorEntries: locatorEntries,
        },
        metadata.length,
      ),
    );
    if (fixed) {
      const entries = new Bat(Buffer.alloc(Bat.bytesFor(g)), g);
      for (let block = 0; block < g.payloadBlocks; block++) entries.set(payloadEntryIndex(g, block), PayloadBlockState.fullyPresent, dataStart + block * blockSize);
      await file.write(bat.fileOffset, entries.bytes);
    }
    await file.datasync();
  } finally {
    await file.close();
  }
  return VhdxDisk.open(path, {}, context);
}

/** A VHDX block size: a power of two from 1 MiB to 256 MiB. */
function checkBlockSize(blockSize: number): void {
  if (!Number.isSafeInteger(blockSize) || blockSize < Limits.MIN_BLOCK_SIZE || blockSize > Limits.MAX_BLOCK_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw new DiskInvalidArgumentError(`VHDX block size ${blockSize} must be a power of two from 1 MiB to 256 MiB`);
  }
}

