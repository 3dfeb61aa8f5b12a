/**
 * VHDX (hyperv-tlfs.md §7): the `VhdxDisk` virtual disk, creation, and the driver, which importing
 * this module registers with the storage format registry.
 */
import { registerDiskFormat } from '../format-registry.ts';
import { vhdxDriver } from './driver.ts';

registerDiskFormat(vhdxDriver);

export { VhdxDisk } from './vhdx-disk.ts';
export { createVhdx, DEFAULT_BLOCK_SIZE, DEFAULT_DIFFERENCING_BLOCK_SIZE, DEFAULT_LOG_LENGTH } from './create.ts';
export { vhdxDriver } from './driver.ts';
