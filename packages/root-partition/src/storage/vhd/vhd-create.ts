/**
 * Creating VHDs, laid out as Hyper-V and qemu do:
 * - fixed: `size` bytes of (sparse) data, then the footer;
 * - dynamic: footer copy at 0, dynamic header at 512, BAT at 1536 (all unallocated), footer;
 * - differencing: as dynamic, plus W2ru and W2ku parent locators after the BAT, the parent's
 *   UniqueId/Timestamp/file name in the header, and by default the parent's size.
 * The file is written in full, synced, then opened through `openVhdDisk` (so a new disk passes
 * exactly the validation an old one does).
 */
import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { DiskInvalidArgumentError, DiskCorruptError } from '../errors.ts';
import type { DiskOpenContext } from '../format-registry.ts';
import { HostFile } from '../host-file.ts';
import { checkVirtualSize } from '../request-checks.ts';
import type { CreateDiskOptions, VirtualDisk } from '../virtual-disk.ts';
import { batBytes, encodeBat } from './vhd-bat.ts';
import { encodeVhdDynamicHeader, padLocators, type VhdDynamicHeaderFields } from './vhd-dynamic-header.ts';
import { encodeVhdFooter, newVhdFooter } from './vhd-footer.ts';
import { vhdIdentityOf } from './vhd-identity.ts';
import {
  VHD_BAT_UNALLOCATED,
  VHD_DEFAULT_BLOCK_SIZE,
  VHD_MAX_BLOCK_SIZE,
  VHD_MAX_SIZE,
  VHD_MIN_BLOCK_SIZE,
  VHD_SECTOR_SIZE,
  VhdDynamicHeader,
  VhdFooter,
} from './vhd-layout.ts';
import { openVhdDisk } from './vhd-open.ts';
import { encodeParentLocators } from './vhd-parent-locator.ts';

/**
 * Creates a VHD at `path` (absolute) and opens it for writing.
 * @throws DiskInvalidArgumentError (size, block size, sector size, a missing `parentPath`).
 * @throws DiskExistsError, DiskParentMissingError, DiskCorruptError (`parent-mismatch` when the
 *   parent is not a VHD), DiskIoError.
 */
export async function createVhdDisk(path: string, options: CreateDiskOptions, context: DiskOpenContext): Promise<VirtualDisk> {
  if (options.format !== 'vhd-fixed' && options.format !== 'vhd-dynamic' && options.format !== 'vhd-differencing') {
    throw new DiskInvalidArgumentError(`the VHD driver cannot create ${options.format}`);
  }
  if ((options.logicalSectorSize ?? 512) !== 512 || (options.physicalSectorSize ?? 512) !== 512) {
    throw new DiskInvalidArgumentError('VHD supports only 512-byte sectors');
  }
  const blockSize = options.blockSize ?? VHD_DEFAULT_BLOCK_SIZE;
  if (blockSize < VHD_MIN_BLOCK_SIZE || blockSize > VHD_MAX_BLOCK_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw new DiskInvalidArgumentError(`VHD block size ${blockSize} must be a power of two from ${VHD_MIN_BLOCK_SIZE} to ${VHD_MAX_BLOCK_SIZE}`);
  }

  let parent: VirtualDisk | null = null;
  try {
    let size = options.size;
    if (options.format === 'vhd-differencing') {
      if (options.parentPath === undefined) throw new DiskInvalidArgumentError('a differencing disk needs parentPath');
      parent = await context.openParent(path, [options.parentPath]);
      if (vhdIdentityOf(parent) === null) {
        throw new DiskCorruptError('parent-mismatch', path, `parent ${parent.path} is ${parent.format}; a VHD's parent must be a VHD`);
      }
      size ??= parent.virtualSize;
    }
    if (size === undefined) throw new DiskInvalidArgumentError(`a ${options.format} disk needs a size`);
    checkVirtualSize(size, VHD_SECTOR_SIZE, VHD_MAX_SIZE);

    const file = await HostFile.open(path, options.overwrite === true ? 'create-overwrite' : 'create');
    try {
      if (options.format === 'vhd-fixed') {
        const footer = newVhdFooter('fixed', size, null, randomBytes(16));
        await file.truncate(size);
        await file.writeAt(encodeVhdFooter(footer), size);
      } else {
        await writeDynamicLayout(file, path, size, blockSize, parent);
      }
      await file.sync();
    } catch (error) {
      // Leave no half-made image behind.
      await file.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw error;
    }
    await file.close();
  } finally {
    await parent?.close();
  }
  return openVhdDisk(path, {}, context);
}

async function writeDynamicLayout(file: HostFile, path: string, size: number, blockSize: number, parent: VirtualDisk | null): Promise<void> {
  const headerOffset = VhdFooter.SIZE;
  const tableOffset = headerOffset + VhdDynamicHeader.SIZE;
  const entries = Math.ceil(size / blockSize);
  let end = tableOffset + batBytes(entries);
  let header: VhdDynamicHeaderFields = {
    tableOffset,
    maxTableEntries: entries,
    blockSize,
    parentUniqueId: new Uint8Array(16),
    parentTimestamp: 0,
    parentUnicodeName: '',
    parentLocators: padLocators([]),
  };
  if (parent !== null) {
    const identity = vhdIdentityOf(parent);
    if (identity === null) throw new DiskCorruptError('parent-mismatch', path, `parent ${parent.path} is ${parent.format}; a VHD's parent must be a VHD`);
    const { locators, data } = encodeParentLocators(path, parent.path, end);
    await file.writeAt(data, end);
    end += data.length;
    header = {
      ...header,
      parentUniqueId: identity.uniqueId,
      parentTimestamp: identity.timestamp,
      parentUnicodeName: basename(parent.path),
      parentLocators: padLocators(locators),
    };
  }
  const footer = encodeVhdFooter(newVhdFooter(parent === null ? 'dynamic' : 'differencing', size, headerOffset, randomBytes(16)));
  await file.writeAt(footer, 0);
  await file.writeAt(encodeVhdDynamicHeader(header), headerOffset);
  await file.writeAt(encodeBat(new Uint32Array(entries).fill(VHD_BAT_UNALLOCATED)), tableOffset);
  await file.writeAt(footer, end);
}
