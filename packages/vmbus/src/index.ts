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
export { Doorbell, LocalInterrupt } from './ring/doorbell.ts';
export type { WaitOutcome, Interrupt } from './ring/doorbell.ts';

// Channel rings
export { ChannelRegion } from './channel/channel-region.ts';
export type { ChannelSide, ChannelRings } from './channel/channel-region.ts';
export { ChannelEndpoint } from './channel/channel-endpoint.ts';
export { HaltPoll, CHANNEL_POLL_MICROS } from './channel/halt-poll.ts';
export { RetryingPostQueue } from './channel/post-queue.ts';
export type { ChannelEndpointOptions, WaitFor, EndpointCounters } from './channel/channel-endpoint.ts';

// Errors
export { VmbusError, RingCorruptError, PacketTooLargeError, RingGeometryError, InvalidArgumentError } from './errors.ts';
export type { RingCorruptionReason } from './errors.ts';

// Control-plane protocol: GUIDs, versions, channel messages and their table, GPADL page lists
export { parseGuid, isGuid, formatGuidBraced, encodeGuid, decodeGuid, guidToBytes, GUID_SIZE, NIL_GUID } from './protocol/guid.ts';
export type { Guid } from './protocol/guid.ts';
export {
  version,
  versionMajor,
  versionMinor,
  formatVersion,
  VmbusVersions,
  NEGOTIABLE_VERSIONS,
  NEWEST_VERSION,
  MESSAGE_CONNECTION_ID_SWITCH_VERSION,
  VmbusConnectionId,
  VMBUS_MESSAGE_SINT,
  VMBUS_MESSAGE_TYPE,
  SINT_COUNT,
  VmbusFeature,
  initiateContactConnectionId,
  messageConnectionIdFor,
} from './protocol/vmbus-version.ts';
export type { VmbusVersion } from './protocol/vmbus-version.ts';
export {
  MAX_CHANNEL_MESSAGE_SIZE,
  ChannelMessageType,
  ChannelMessageHeader,
  HeaderOnlyLayout,
  OfferChannelLayout,
  OfferChannelFlags,
  RelidOnlyLayout,
  OpenChannelLayout,
  OpenChannelResultLayout,
  GpadlHeaderLayout,
  GpadlBodyLayout,
  GpadlCreatedLayout,
  GpadlTeardownLayout,
  GpadlTorndownLayout,
  InitiateContactLayout,
  VersionResponseLayout,
  ConnectionState,
  TlConnectRequestLayout,
  ModifyChannelLayout,
  ModifyChannelResponseLayout,
  ChannelStatus,
  GPADL_HEADER_MAX_PFNS,
  GPADL_BODY_MAX_PFNS,
} from './protocol/channel-message-layout.ts';
export type { ChannelMessageTypeName, ChannelMessageTypeValue } from './protocol/channel-message-layout.ts';
export { MAX_CHANNEL_ID, isChannelId, channelId, isGpadlId, gpadlId } from './protocol/channel-messages.ts';
export type {
  ChannelId,
  GpadlId,
  ChannelMessage,
  ChannelMessageOf,
  GuestToHostMessage,
  HostToGuestMessage,
  OfferChannelMessage,
  RescindChannelOfferMessage,
  RequestOffersMessage,
  AllOffersDeliveredMessage,
  OpenChannelMessage,
  OpenChannelResultMessage,
  CloseChannelMessage,
  GpadlHeaderMessage,
  GpadlBodyMessage,
  GpadlCreatedMessage,
  GpadlTeardownMessage,
  GpadlTorndownMessage,
  RelidReleasedMessage,
  ContactTarget,
  InitiateContactMessage,
  VersionResponseMessage,
  UnloadMessage,
  UnloadResponseMessage,
  TlConnectRequestMessage,
  ModifyChannelMessage,
  ModifyChannelResponseMessage,
  OpaqueMessageType,
  OpaqueChannelMessage,
} from './protocol/channel-messages.ts';
export { CHANNEL_MESSAGE_TABLE, channelMessageSpec } from './protocol/channel-message-table.ts';
export type { ChannelMessageSpec, MessageDirection, DecodeFailure, DecodeFailureReason } from './protocol/channel-message-table.ts';
export { decodeChannelMessage, encodeChannelMessage, checkMessageAllowed, channelMessageName } from './protocol/channel-message-codec.ts';
export type { DecodeResult } from './protocol/channel-message-codec.ts';
export { splitGpadl, GpadlAssembler, gpadlPageCount, gpadlRangeBufferLength, MAX_GPADL_PFNS, GPADL_HANDLE_BASE } from './protocol/gpadl.ts';
export type { GpadlRange, GpadlLimits, GpadlAssemblyStep, GpadlAssemblyErrorReason } from './protocol/gpadl.ts';
export { MessageBoundsError, ChannelStateError, ChannelIdsExhaustedError } from './errors.ts';

// Control-plane server (root side), sans-IO
export { VmbusServer } from './channel/server-state.ts';
export type { VmbusServerOptions, OfferParams } from './channel/server-state.ts';
export type { ServerEvent, ServerNotifier, ServerMetrics, ServerProtocolErrorReason } from './channel/server-events.ts';
export type {
  ConnectionInfo,
  OpenRequest,
  ServerConnectionState,
  ServerChannelState,
  ServerGpadlState,
  UnloadNext,
} from './channel/server-channel-state.ts';
export type { GpadlTableLimits } from './channel/server-gpadls.ts';

// Control-plane client (guest side), sans-IO
export { VmbusClient } from './channel/client-state.ts';
export type { VmbusClientOptions, OpenChannelParams } from './channel/client-state.ts';
export type {
  ClientEvent,
  ClientNotifier,
  ClientProtocolErrorReason,
  ClientConnectionState,
  ClientChannel,
  ClientChannelState,
  ClientGpadl,
  ClientGpadlState,
} from './channel/client-events.ts';

// Device protocols
export { EchoProtocol } from './devices/echo/protocol.ts';

// Guest memory: rings over GPADL pages, checked access to guest-named ranges, guest page allocation
export { PagedRingMemory } from './memory/paged-ring-memory.ts';
export { GpadlChannelRings, gpadlChannelRings } from './memory/gpadl-rings.ts';
export { GuestRangeAccess, GpaRangeAccess, GpadlMemory } from './memory/gpa-range-access.ts';
export { GuestPageAllocator } from './memory/guest-page-allocator.ts';
export { GuestMemoryError, PageAllocationError } from './errors.ts';
export type { GuestMemoryErrorReason, PageAllocationErrorReason } from './errors.ts';
export { ReportProtocol, ReportHeader, ReportOutcome } from './devices/report/protocol.ts';

// The synthetic SCSI controller (storvsp/storvsc): vstor protocol, SCSI numbers, codec (§8.1)
export {
  storvscVersion,
  StorvscVersions,
  STORVSC_NEGOTIABLE_VERSIONS,
  StorvscProtocol,
  VstorPacket,
  VstorFlags,
  VstorOperation,
  VstorStatus,
  ProtocolVersion,
  ChannelProperties,
  ChannelPropertyFlags,
  SubChannelRequest,
  ScsiRequest,
  DataDirection,
  SrbStatus,
  SrbFlags,
  ScsiOp,
  ServiceAction,
  ScsiStatus,
  SenseKey,
  AdditionalSense,
  FixedSense,
  VpdPage,
  ModePage,
  PERIPHERAL_DIRECT_ACCESS,
  CDB_LENGTH_BY_GROUP,
  InquiryData,
  ReadCapacity16Data,
  ReadCapacity10Data,
  UnmapParameters,
  BlockLimitsPage,
  ReportLunsData,
  decodeVstorPacket,
  readScsiRequest,
  encodeVstorHeader,
  vstorPacket,
  encodeProtocolVersion,
  encodeChannelProperties,
  encodeSubChannelCount,
  readChannelProperties,
  encodeScsiRequest,
  encodeScsiCompletion,
  readCompletionSense,
} from './devices/storvsc/index.ts';
export type {
  VstorOperationName,
  VstorOperationValue,
  ScsiRequestFields,
  VstorMessage,
  VstorDecodeFailure,
  VstorDecodeResult,
  ChannelPropertiesFields,
  ScsiRequestInit,
  ScsiCompletionFields,
} from './devices/storvsc/index.ts';
