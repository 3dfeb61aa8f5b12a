/**
 * The SCSI target behind storvsp: CDB parsing, disk LUN semantics, the controller's LUNs.
 */
export { parseCdb } from './cdb.ts';
export type { ScsiCommand } from './cdb.ts';
export { ScsiDisk, ioFailure, MAX_UNMAP_BLOCKS, MAX_UNMAP_DESCRIPTORS } from './scsi-disk.ts';
export type { ScsiDiskOptions } from './scsi-disk.ts';
export { ScsiController, INVALID_LUN } from './scsi-controller.ts';
export { ArrayDataBuffer, Check, checkCondition, good, senseData } from './outcome.ts';
export type { ScsiDataBuffer, ScsiOutcome } from './outcome.ts';
export type { LunIdentity, LunLimits } from './inquiry.ts';
