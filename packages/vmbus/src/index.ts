/**
 * @viridian/vmbus: the VMBus wire protocol shared by the root and child partitions. So far: the
 * ring buffer (vmbus-wire.md §1-3) and a channel's ring pair with its signalling discipline.
 */

// Protocol layouts and numbers
export { PAGE_SIZE, PAGE_SHIFT, RingControl, RingFeature, PACKET_ALIGNMENT, PACKET_TRAILER_SIZE } from './protocol/ring-layout.ts';
export {
  PacketDescriptor,
  PacketType,
  PacketFlags,
  KNOWN_PACKET_FLAGS,
  GpaDirectHeader,
  GpaRangeLayout,
  TransferPageHeader,
  MAX_PFN,
} from './protocol/packet-layout.ts';
export type { PacketTypeName, PacketTypeValue } from './protocol/packet-layout.ts';

// Ring mechanism
export { ContiguousRingMemory, flatRingMemory, sharedRingMemory, checkRingGeometry } from './ring/ring-memory.ts';
export type { RingMemory } from './ring/ring-memory.ts';
export { IncomingRing } from './ring/incoming-ring.ts';
export type { IncomingRingOptions } from './ring/incoming-ring.ts';
export { OutgoingRing } from './ring/outgoing-ring.ts';
export type { TransactionId, WriteResult, OutgoingGpaRange } from './ring/outgoing-ring.ts';
export type {
  IncomingPacket,
  PacketKind,
  PacketCommon,
  InbandPacket,
  CompletionPacket,
  GpaDirectPacket,
  TransferPagePacket,
  UnrecognizedPacket,
  GpaRange,
  TransferPageRange,
} from './ring/incoming-packet.ts';
export { bytesToRead, bytesFree, fitsInRing, align8, packetFootprint, inbandFootprint } from './ring/ring-space.ts';
export { pfnCountOf } from './ring/packet-parser.ts';
export { Doorbell } from './ring/doorbell.ts';
export type { WaitOutcome } from './ring/doorbell.ts';

// Channel rings
export { ChannelRegion } from './channel/channel-region.ts';
export type { ChannelSide } from './channel/channel-region.ts';
export { ChannelEndpoint } from './channel/channel-endpoint.ts';
export type { ChannelEndpointOptions, WaitFor, EndpointCounters } from './channel/channel-endpoint.ts';

// Errors
export { VmbusError, RingCorruptError, PacketTooLargeError, RingGeometryError, InvalidArgumentError } from './errors.ts';
export type { RingCorruptionReason } from './errors.ts';
