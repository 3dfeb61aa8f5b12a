/**
 * @viridian/child-partition: the guest kernel: the VMBus client driver, the VSC framework and its
 * drivers, and (to come) the API guest programs use.
 */

// VMBus
export { VmbusGuest } from './vmbus/vmbus-guest.ts';
export type { VmbusGuestOptions, RingSizes, OfferChange } from './vmbus/vmbus-guest.ts';
export { GuestChannel } from './vmbus/guest-channel.ts';
export type { UnsolicitedPacket } from './vmbus/guest-channel.ts';
export { SubChannelList, GuestSubChannels } from './vmbus/guest-subchannels.ts';
export type { GuestSubChannelCounters } from './vmbus/guest-subchannels.ts';
export type { GuestTransport, PostOutcome } from './vmbus/guest-transport.ts';

// VSC drivers
export type { VscDriver } from './drivers/vsc-driver.ts';
export { EchoClient, echoDriver } from './drivers/echo/driver.ts';

export { ReportClient, reportDriver } from './drivers/report/driver.ts';
export { storvscDriver, StorvscController, GuestDisk, StorvscProtocolError, ScsiCommandError, DiskRequestError } from './drivers/storvsc/index.ts';
export type { SrbData, SrbResult, GuestMemoryContext, DiskChange, StorvscQueueOptions } from './drivers/storvsc/index.ts';
export { StorvscQueues, MAX_STORVSC_SUB_CHANNELS } from './drivers/storvsc/index.ts';

// The guest kernel and the API guest programs use
export type { GuestApi, GuestProgram } from './kernel/guest-api.ts';
export type { GuestKernelArgs } from './kernel/guest-kernel.ts';
export { GuestDriverModuleError } from './kernel/driver-modules.ts';

// Errors
export { GuestKernelError, GuestChannelClosedError, VmbusOperationError, GuestOutOfMemoryError } from './errors.ts';
