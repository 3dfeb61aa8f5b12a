/**
 * @viridian/root-partition/testing: the VMBus test bed for users' own VSP/VSC pairs (boot a host
 * and a child with them, observe their channel, inject faults).
 */
export { vmbusTestbed } from './vmbus-testbed.ts';
export type { VmbusTestbed, VmbusTestbedOptions } from './vmbus-testbed.ts';
export type { ChannelFault } from '../kernel/management-protocol.ts';
export type { ObservedPacket, PacketFault, GuestRingState } from '../vmbus/host-channel.ts';
