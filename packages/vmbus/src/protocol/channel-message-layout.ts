/**
 * Byte layouts of the VMBus channel-management messages (vmbus-wire.md §4.1, §4.2, §4.4, §4.5):
 * the message type numbers and, per message, a frozen table of field offsets from the start of the
 * message (header included) plus its `SIZE`. Protocol file: numbers and offsets only, no logic;
 * the codecs live in `channel-message-table.ts`.
 */

/** Every control message is one SynIC payload: at most 240 bytes (`MAX_SIZE_CHANNEL_MESSAGE`). */
export const MAX_CHANNEL_MESSAGE_SIZE = 240;

/** `enum vmbus_channel_message_type` (§4.2), plus the [MS-hdr] numbers 25 and 26. */
export const ChannelMessageType = Object.freeze({
  invalid: 0,
  offerChannel: 1,
  rescindChannelOffer: 2,
  requestOffers: 3,
  allOffersDelivered: 4,
  openChannel: 5,
  openChannelResult: 6,
  closeChannel: 7,
  gpadlHeader: 8,
  gpadlBody: 9,
  gpadlCreated: 10,
  gpadlTeardown: 11,
  gpadlTorndown: 12,
  relidReleased: 13,
  initiateContact: 14,
  versionResponse: 15,
  unload: 16,
  unloadResponse: 17,
  /** [MS-hdr] OpenReservedChannel; a placeholder in Linux. */
  openReservedChannel: 18,
  /** [MS-hdr] CloseReservedChannel; a placeholder in Linux. */
  closeReservedChannel: 19,
  /** [MS-hdr] CloseReservedResponse; a placeholder in Linux. */
  closeReservedResponse: 20,
  tlConnectRequest: 21,
  modifyChannel: 22,
  tlConnectResult: 23,
  modifyChannelResponse: 24,
  /** [MS-hdr] ModifyConnection (beyond Linux's CHANNELMSG_COUNT). */
  modifyConnection: 25,
  /** [MS-hdr] ModifyConnectionResponse. */
  modifyConnectionResponse: 26,
} as const);
export type ChannelMessageTypeName = keyof typeof ChannelMessageType;
export type ChannelMessageTypeValue = (typeof ChannelMessageType)[ChannelMessageTypeName];

/** Common 8-byte header of every message. */
export const ChannelMessageHeader = Object.freeze({
  /** u32 message type ({@link ChannelMessageType}). */
  messageType: 0,
  /** u32, zero. */
  padding: 4,
  SIZE: 8,
});

/** Messages that are the header alone: REQUESTOFFERS, ALLOFFERS_DELIVERED, UNLOAD, UNLOAD_RESPONSE. */
export const HeaderOnlyLayout = Object.freeze({ SIZE: 8 });

/** OFFERCHANNEL (`vmbus_channel_offer_channel`, §4.4). */
export const OfferChannelLayout = Object.freeze({
  /** GUID: class of the device; selects the driver. */
  interfaceType: 8,
  /** GUID: this device instance. */
  interfaceInstance: 24,
  /** u64 reserved (may be non-zero before Win8). */
  reserved1: 40,
  /** u64 reserved. */
  reserved2: 48,
  /** u16 ({@link OfferChannelFlags}). */
  channelFlags: 56,
  /** u16 MMIO space the device needs, MiB. */
  mmioMegabytes: 58,
  /** 120 bytes of device-defined data (pipe mode: `pipe_mode` u32 then 116 bytes). */
  userDefined: 60,
  /** u16: 0 = primary channel. */
  subChannelIndex: 180,
  /** u16 reserved ([MS-hdr] MmioMegabytesOptional). */
  mmioMegabytesOptional: 182,
  /** u32 channel id (1..2047). */
  childRelid: 184,
  /** u8 monitor id (group = id / 32, bit = id % 32). */
  monitorId: 188,
  /** u8, bit 0 = monitor allocated. */
  monitorAllocated: 189,
  /** u16, bit 0 = dedicated interrupt. */
  isDedicatedInterrupt: 190,
  /** u32: connection id for HvSignalEvent. */
  connectionId: 192,
  USER_DEFINED_SIZE: 120,
  SIZE: 196,
});

/** `chn_flags` bits of an offer (§4.4). */
export const OfferChannelFlags = Object.freeze({
  enumerateDeviceInterface: 0x0001,
  /** Was SERVER_SUPPORTS_TRANSFER_PAGES; renamed in 2025. */
  confidentialRingBuffer: 0x0002,
  /** Was SERVER_SUPPORTS_GPADLS; renamed in 2025. */
  confidentialExternalMemory: 0x0004,
  namedPipeMode: 0x0010,
  loopbackOffer: 0x0100,
  parentOffer: 0x0200,
  requestMonitoredNotification: 0x0400,
  tlnpiProviderOffer: 0x2000,
} as const);

/** RESCIND_CHANNELOFFER, CLOSECHANNEL and RELID_RELEASED: the header and a relid. */
export const RelidOnlyLayout = Object.freeze({
  /** u32 channel id. */
  childRelid: 8,
  SIZE: 12,
});

/** OPENCHANNEL (`vmbus_channel_open_channel`, §4.4). */
export const OpenChannelLayout = Object.freeze({
  childRelid: 8,
  /** u32, echoed by the result (Linux uses the relid). */
  openId: 12,
  /** u32 GPADL holding both rings. */
  ringBufferGpadlHandle: 16,
  /** u32 VP that gets host→guest interrupts. */
  targetVp: 20,
  /** u32: first page of the host→guest (receive) ring inside the GPADL. */
  downstreamRingBufferPageOffset: 24,
  /** 120 bytes of driver-defined data. */
  userData: 28,
  USER_DATA_SIZE: 120,
  SIZE: 148,
});

/** OPENCHANNEL_RESULT (§4.4). */
export const OpenChannelResultLayout = Object.freeze({
  childRelid: 8,
  openId: 12,
  /** u32, 0 = success. */
  status: 16,
  SIZE: 20,
});

/** GPADL_HEADER (`vmbus_channel_gpadl_header`, §4.5): fixed part, then `k` PFNs at `pfns`. */
export const GpadlHeaderLayout = Object.freeze({
  childRelid: 8,
  /** u32 GPADL handle, chosen by the guest. */
  gpadl: 12,
  /** u16: bytes of range data across all messages = 8 + 8 × total PFNs for one range. */
  rangeBufferLength: 16,
  /** u16 number of ranges (Linux: 1). */
  rangeCount: 18,
  /** u32 `range[0].byte_count`. */
  rangeByteCount: 20,
  /** u32 `range[0].byte_offset` into the first page. */
  rangeByteOffset: 24,
  /** u64 PFNs. */
  pfns: 28,
  /** Where the range data (`range_buflen` bytes) starts. */
  RANGE_DATA: 20,
  PFN_SIZE: 8,
  /** The fixed part: header, relid, gpadl, buflen, count and one range header, no PFN. */
  SIZE: 28,
});

/** GPADL_BODY (`vmbus_channel_gpadl_body`, §4.5): fixed part, then PFNs at `pfns`. */
export const GpadlBodyLayout = Object.freeze({
  /** u32, always 0 from Linux. */
  messageNumber: 8,
  gpadl: 12,
  pfns: 16,
  PFN_SIZE: 8,
  SIZE: 16,
});

/** GPADL_CREATED (§4.5). */
export const GpadlCreatedLayout = Object.freeze({
  childRelid: 8,
  gpadl: 12,
  /** u32 `creation_status`, 0 = success. */
  status: 16,
  SIZE: 20,
});

/** GPADL_TEARDOWN (§4.5). */
export const GpadlTeardownLayout = Object.freeze({
  childRelid: 8,
  gpadl: 12,
  SIZE: 16,
});

/** GPADL_TORNDOWN (§4.5): matched by gpadl alone. */
export const GpadlTorndownLayout = Object.freeze({
  gpadl: 8,
  SIZE: 12,
});

/** INITIATE_CONTACT (`vmbus_channel_initiate_contact`, §4.4). */
export const InitiateContactLayout = Object.freeze({
  versionRequested: 8,
  /** u32 VP that receives VMBus messages. */
  targetVcpu: 12,
  /** u64 before 5.0: GPA of the interrupt page. */
  interruptPage: 16,
  /** u8 from 5.0: SINT for host→guest messages. */
  messageSint: 16,
  /** u8 from 5.0: the guest's VTL. */
  messageVtl: 17,
  /** u16 reserved from 5.0. */
  reserved: 18,
  /** u32 from 6.0: feature flags. */
  featureFlags: 20,
  /** u64 GPA of the parent→child monitor page. */
  monitorPage1: 24,
  /** u64 GPA of the child→parent monitor page. */
  monitorPage2: 32,
  SIZE: 40,
});

/** VERSION_RESPONSE (16 bytes as Linux reads it, §4.4). */
export const VersionResponseLayout = Object.freeze({
  /** u8 boolean. */
  versionSupported: 8,
  /** u8 ([MS-hdr] 0 ok, 1 low resources, 2 unknown failure). */
  connectionState: 9,
  /** u16 padding. */
  padding: 10,
  /** u32 message connection id for later guest→host messages (≥ 5.0). */
  messageConnectionId: 12,
  SIZE: 16,
});

/** `connection_state` values of VERSION_RESPONSE ([MS-hdr]). */
export const ConnectionState = Object.freeze({
  successful: 0,
  lowResources: 1,
  unknownFailure: 2,
} as const);

/** TL_CONNECT_REQUEST (§4.4, hv_sock). */
export const TlConnectRequestLayout = Object.freeze({
  guestEndpointId: 8,
  hostServiceId: 24,
  SIZE: 40,
});

/** MODIFYCHANNEL (§4.4). */
export const ModifyChannelLayout = Object.freeze({
  childRelid: 8,
  targetVp: 12,
  SIZE: 16,
});

/** MODIFYCHANNEL_RESPONSE (§4.4). */
export const ModifyChannelResponseLayout = Object.freeze({
  childRelid: 8,
  /** u32, 0 = ok. */
  status: 12,
  SIZE: 16,
});

/**
 * Status values the host puts in OPENCHANNEL_RESULT, GPADL_CREATED and MODIFYCHANNEL_RESPONSE.
 * Linux only tests for zero; the failure values are the NTSTATUS codes Hyper-V and OpenVMM use.
 */
export const ChannelStatus = Object.freeze({
  success: 0,
  /** STATUS_UNSUCCESSFUL: OpenVMM's answer to a bad GPADL. */
  unsuccessful: 0xc000_0001,
  /** STATUS_INVALID_PARAMETER: a field out of range (bad target VP, page offset, GPADL). */
  invalidParameter: 0xc000_000d,
  /** STATUS_INVALID_DEVICE_STATE: the channel is not in a state that allows the request. */
  invalidDeviceState: 0xc000_0184,
  /** STATUS_INSUFFICIENT_RESOURCES: a per-connection limit was reached. */
  insufficientResources: 0xc000_009a,
} as const);

/** PFNs in a full GPADL_HEADER: (240 − 20 − 8) / 8 = 26, so a full header is 236 bytes (§4.5). */
export const GPADL_HEADER_MAX_PFNS = 26;

/** PFNs in a full GPADL_BODY: (240 − 16) / 8 = 28, so a full body is 240 bytes (§4.5). */
export const GPADL_BODY_MAX_PFNS = 28;
