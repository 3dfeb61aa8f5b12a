/**
 * storvsc: the synthetic SCSI controller's VSC and the guest's disks.
 */
export { storvscDriver } from './driver.ts';
export { StorvscController } from './controller.ts';
export type { SrbData, SrbResult, GuestMemoryContext, DiskChange } from './controller.ts';
export { GuestDisk } from './disk.ts';
export { StorvscQueues, MAX_STORVSC_SUB_CHANNELS } from './queues.ts';
export type { StorvscQueueOptions } from './queues.ts';
export { StorvscProtocolError, ScsiCommandError, DiskRequestError } from './errors.ts';
