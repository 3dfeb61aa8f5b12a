/**
 * @viridian/root-partition: the parent partition: the VMBus host and the VSP framework, its
 * devices, and (to come) the real drivers, the virtual switch, the management service and the CLI.
 */

// Script API: boot a host, create and run VMs
export { Host, MiB, ManagementRequestError } from './host/host.ts';
export type { HostOptions, CreateVmOptions } from './host/host.ts';
export { Vm, GuestProgramError } from './host/vm.ts';
export type { VmStats } from './host/vm.ts';
export type { DeviceSpec, VmSpec } from './kernel/management-protocol.ts';

// VMBus host and the VSP framework
export { VmbusHost, CHANNEL_CONNECTION_BASE } from './vmbus/vmbus-host.ts';
export type { VmbusHostOptions } from './vmbus/vmbus-host.ts';
export { HostChannel } from './vmbus/host-channel.ts';
export type { ObservedPacket, HostChannelCounters, HostChannelPlace } from './vmbus/host-channel.ts';
export { HostSubChannels, MAX_SUB_CHANNELS_PER_PRIMARY } from './vmbus/host-subchannels.ts';
export type { HostTransport } from './vmbus/host-transport.ts';
export type { VmbusDevice, DeviceOffer, ChannelHandler } from './vmbus/vmbus-device.ts';

// Devices
export { echoDevice } from './devices/echo/index.ts';
export type { EchoDevice, EchoDeviceOptions, EchoMetrics } from './devices/echo/index.ts';

export { reportDevice, parseReport } from './devices/report/device.ts';
export type { GuestReport, ReportRefusal } from './devices/report/device.ts';

// Logging
export { RateLimitedLog } from './logging/rate-limited-log.ts';

// Storage: virtual disks (the interface, the dispatcher, the format registry, errors; raw and VHD)
export { openDisk, createDisk, detectDiskFormat } from './storage/disk-files.ts';
export { DISK_FORMATS, formatFamily } from './storage/virtual-disk.ts';
export type { VirtualDisk, DiskInfo, DiskFormat, DiskFormatFamily, DiskDetailValue, OpenDiskOptions, CreateDiskOptions, ResizeOptions } from './storage/virtual-disk.ts';
export { registerDiskFormat, registeredDiskFormats, diskFormatDriver, MAX_CHAIN_DEPTH } from './storage/format-registry.ts';
export type { DiskFormatDriver, DiskOpenContext, ProbeInput } from './storage/format-registry.ts';
export {
  DiskError,
  DiskCorruptError,
  DiskParentMissingError,
  DiskOutOfRangeError,
  DiskUnalignedError,
  DiskReadOnlyError,
  DiskClosedError,
  DiskUnsupportedError,
  DiskInvalidArgumentError,
  DiskExistsError,
  DiskNotFoundError,
  DiskIoError,
} from './storage/errors.ts';
export type { DiskCorruptionReason } from './storage/errors.ts';
export { RawDisk } from './storage/raw/raw-disk.ts';
export { VhdFixedDisk, VhdDynamicDisk, vhdGeometry } from './storage/vhd/index.ts';
export type { ChsGeometry } from './storage/vhd/index.ts';
export { VhdxDisk, createVhdx, vhdxDriver, DEFAULT_BLOCK_SIZE as VHDX_DEFAULT_BLOCK_SIZE } from './storage/vhdx/index.ts';

// Users' devices, channel observation and fault injection (the VMBus test bed: './testing')
export type { DeviceOption } from './host/host.ts';
export type { ChannelFault } from './kernel/management-protocol.ts';
export type { PacketFault, PacketFate, PacketInterceptor, GuestRingState } from './vmbus/host-channel.ts';

// The synthetic SCSI controller: storvsp and its SCSI target
export { storvspDevice, newStorvspMetrics, parseStorvspPacket, ScsiController, ScsiDisk, INVALID_LUN, parseCdb, ArrayDataBuffer, initStep } from './devices/storvsp/index.ts';
export type { StorvspDevice, StorvspOptions, StorvspMetrics, StorvspRequest, StorvspMalformedReason, StorvspInitState, ScsiCommand, ScsiDataBuffer, ScsiOutcome } from './devices/storvsp/index.ts';
