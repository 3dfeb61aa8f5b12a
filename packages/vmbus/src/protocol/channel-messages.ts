/**
 * The channel-management messages as values (vmbus-wire.md §4.2, §4.4, §4.5): one interface per
 * message, all joined in the discriminated union {@link ChannelMessage} on the numeric `type`
 * (a {@link ChannelMessageType} literal), plus the branded ids they carry. Bytes become these values
 * in one place, `decodeChannelMessage`; handlers never see raw buffers.
 *
 * Reserved header and padding fields are not modelled: they are written as zero and ignored on read.
 * Types whose layout the reference does not give (18-20, 23, 25, 26) decode as opaque messages
 * carrying their body bytes.
 */
import { InvalidArgumentError } from '../errors.ts';
import type { ChannelMessageType } from './channel-message-layout.ts';
import type { Guid } from './guid.ts';

/** A channel id (`child_relid`), 1..2047; 0 is reserved. */
export type ChannelId = number & { readonly __brand: 'ChannelId' };

/** A GPADL handle (u32), chosen by the guest. */
export type GpadlId = number & { readonly __brand: 'GpadlId' };

/** The largest channel id: the SINT 2 event-flag bits (§5.3). */
export const MAX_CHANNEL_ID = 2047;

/** Whether `n` is a valid channel id. */
export function isChannelId(n: number): n is ChannelId {
  return Number.isInteger(n) && n >= 1 && n <= MAX_CHANNEL_ID;
}

/**
 * Brands `n` as a channel id.
 * @throws {InvalidArgumentError} when `n` is not in 1..2047
 */
export function channelId(n: number): ChannelId {
  if (!isChannelId(n)) throw new InvalidArgumentError(`channel id must be an integer in 1..${MAX_CHANNEL_ID}, got ${n}`);
  return n;
}

/** Whether `n` is a u32 (every u32 is a possible GPADL handle). */
export function isGpadlId(n: number): n is GpadlId {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
}

/**
 * Brands `n` as a GPADL handle.
 * @throws {InvalidArgumentError} when `n` is not a u32
 */
export function gpadlId(n: number): GpadlId {
  if (!isGpadlId(n)) throw new InvalidArgumentError(`GPADL id must be a u32, got ${n}`);
  return n;
}

type T = typeof ChannelMessageType;

/** OFFERCHANNEL (1), host→guest. */
export interface OfferChannelMessage {
  readonly type: T['offerChannel'];
  readonly interfaceType: Guid;
  readonly interfaceInstance: Guid;
  /** `chn_flags` (OfferChannelFlags bits). */
  readonly channelFlags: number;
  readonly mmioMegabytes: number;
  /** Exactly 120 bytes. */
  readonly userDefined: Uint8Array;
  readonly subChannelIndex: number;
  readonly mmioMegabytesOptional: number;
  readonly childRelid: ChannelId;
  readonly monitorId: number;
  readonly monitorAllocated: boolean;
  readonly dedicatedInterrupt: boolean;
  /** Connection id the guest signals this channel on (HvSignalEvent). */
  readonly connectionId: number;
}

/** RESCIND_CHANNELOFFER (2), host→guest. */
export interface RescindChannelOfferMessage {
  readonly type: T['rescindChannelOffer'];
  readonly childRelid: ChannelId;
}

/** REQUESTOFFERS (3), guest→host. */
export interface RequestOffersMessage {
  readonly type: T['requestOffers'];
}

/** ALLOFFERS_DELIVERED (4), host→guest. */
export interface AllOffersDeliveredMessage {
  readonly type: T['allOffersDelivered'];
}

/** OPENCHANNEL (5), guest→host. */
export interface OpenChannelMessage {
  readonly type: T['openChannel'];
  readonly childRelid: ChannelId;
  readonly openId: number;
  readonly ringBufferGpadlId: GpadlId;
  readonly targetVp: number;
  /** First page of the host→guest ring inside the GPADL, in 4 KiB pages. */
  readonly downstreamRingBufferPageOffset: number;
  /** Exactly 120 bytes. */
  readonly userData: Uint8Array;
}

/** OPENCHANNEL_RESULT (6), host→guest. */
export interface OpenChannelResultMessage {
  readonly type: T['openChannelResult'];
  readonly childRelid: ChannelId;
  readonly openId: number;
  /** 0 = success (ChannelStatus). */
  readonly status: number;
}

/** CLOSECHANNEL (7), guest→host; no reply. */
export interface CloseChannelMessage {
  readonly type: T['closeChannel'];
  readonly childRelid: ChannelId;
}

/** GPADL_HEADER (8), guest→host: the first part of a GPADL's page list. */
export interface GpadlHeaderMessage {
  readonly type: T['gpadlHeader'];
  readonly childRelid: ChannelId;
  readonly gpadlId: GpadlId;
  /** `range_buflen`: bytes of range data across header and bodies. */
  readonly rangeBufferLength: number;
  readonly rangeCount: number;
  /** `range[0].byte_count`. */
  readonly byteCount: number;
  /** `range[0].byte_offset`. */
  readonly byteOffset: number;
  /** The PFNs this message carries (at most 26). */
  readonly pfns: readonly number[];
}

/** GPADL_BODY (9), guest→host: more PFNs of a GPADL under construction. */
export interface GpadlBodyMessage {
  readonly type: T['gpadlBody'];
  readonly messageNumber: number;
  readonly gpadlId: GpadlId;
  /** The PFNs this message carries (1 to 28). */
  readonly pfns: readonly number[];
}

/** GPADL_CREATED (10), host→guest. */
export interface GpadlCreatedMessage {
  readonly type: T['gpadlCreated'];
  readonly childRelid: ChannelId;
  readonly gpadlId: GpadlId;
  /** `creation_status`, 0 = success. */
  readonly status: number;
}

/** GPADL_TEARDOWN (11), guest→host. */
export interface GpadlTeardownMessage {
  readonly type: T['gpadlTeardown'];
  readonly childRelid: ChannelId;
  readonly gpadlId: GpadlId;
}

/** GPADL_TORNDOWN (12), host→guest. */
export interface GpadlTorndownMessage {
  readonly type: T['gpadlTorndown'];
  readonly gpadlId: GpadlId;
}

/** RELID_RELEASED (13), guest→host. */
export interface RelidReleasedMessage {
  readonly type: T['relidReleased'];
  readonly childRelid: ChannelId;
}

/** Where host→guest messages go: before 5.0 an interrupt page, from 5.0 a SINT and VTL. */
export type ContactTarget =
  | { readonly kind: 'interruptPage'; /** GPA of the 4 KiB interrupt page. */ readonly interruptPage: number }
  | { readonly kind: 'sint'; readonly messageSint: number; readonly messageVtl: number; /** From 6.0. */ readonly featureFlags: number };

/** INITIATE_CONTACT (14), guest→host. */
export interface InitiateContactMessage {
  readonly type: T['initiateContact'];
  readonly versionRequested: number;
  readonly targetVcpu: number;
  /** Decoded by `versionRequested`: `sint` from 5.0 on, `interruptPage` before. */
  readonly target: ContactTarget;
  /** GPA of the parent→child monitor page. */
  readonly monitorPage1: number;
  /** GPA of the child→parent monitor page. */
  readonly monitorPage2: number;
}

/** VERSION_RESPONSE (15), host→guest. */
export interface VersionResponseMessage {
  readonly type: T['versionResponse'];
  readonly versionSupported: boolean;
  readonly connectionState: number;
  /** Message connection id for later guest→host messages (used from 5.0 on). */
  readonly messageConnectionId: number;
}

/** UNLOAD (16), guest→host. */
export interface UnloadMessage {
  readonly type: T['unload'];
}

/** UNLOAD_RESPONSE (17), host→guest. */
export interface UnloadResponseMessage {
  readonly type: T['unloadResponse'];
}

/** TL_CONNECT_REQUEST (21), guest→host: an hv_sock connect. */
export interface TlConnectRequestMessage {
  readonly type: T['tlConnectRequest'];
  readonly guestEndpointId: Guid;
  readonly hostServiceId: Guid;
}

/** MODIFYCHANNEL (22), guest→host: retarget a channel's interrupts. */
export interface ModifyChannelMessage {
  readonly type: T['modifyChannel'];
  readonly childRelid: ChannelId;
  readonly targetVp: number;
}

/** MODIFYCHANNEL_RESPONSE (24), host→guest (sent from 5.3 on). */
export interface ModifyChannelResponseMessage {
  readonly type: T['modifyChannelResponse'];
  readonly childRelid: ChannelId;
  readonly status: number;
}

/** The types whose layout the reference does not give: decoded as opaque bodies. */
export type OpaqueMessageType =
  | T['openReservedChannel']
  | T['closeReservedChannel']
  | T['closeReservedResponse']
  | T['tlConnectResult']
  | T['modifyConnection']
  | T['modifyConnectionResponse'];

/** A message of a known number whose layout is not modelled: its bytes after the header. */
export interface OpaqueChannelMessage {
  readonly type: OpaqueMessageType;
  /** The bytes after the 8-byte header (a private copy). */
  readonly body: Uint8Array;
}

/** Every channel-management message, discriminated on `type`. */
export type ChannelMessage =
  | OfferChannelMessage
  | RescindChannelOfferMessage
  | RequestOffersMessage
  | AllOffersDeliveredMessage
  | OpenChannelMessage
  | OpenChannelResultMessage
  | CloseChannelMessage
  | GpadlHeaderMessage
  | GpadlBodyMessage
  | GpadlCreatedMessage
  | GpadlTeardownMessage
  | GpadlTorndownMessage
  | RelidReleasedMessage
  | InitiateContactMessage
  | VersionResponseMessage
  | UnloadMessage
  | UnloadResponseMessage
  | TlConnectRequestMessage
  | ModifyChannelMessage
  | ModifyChannelResponseMessage
  | OpaqueChannelMessage;

/** The message whose `type` is `K`. */
export type ChannelMessageOf<K extends ChannelMessage['type']> = Extract<ChannelMessage, { readonly type: K }>;

/** Messages a guest sends to the host. */
export type GuestToHostMessage =
  | RequestOffersMessage
  | OpenChannelMessage
  | CloseChannelMessage
  | GpadlHeaderMessage
  | GpadlBodyMessage
  | GpadlTeardownMessage
  | RelidReleasedMessage
  | InitiateContactMessage
  | UnloadMessage
  | TlConnectRequestMessage
  | ModifyChannelMessage;

/** Messages the host sends to a guest. */
export type HostToGuestMessage =
  | OfferChannelMessage
  | RescindChannelOfferMessage
  | AllOffersDeliveredMessage
  | OpenChannelResultMessage
  | GpadlCreatedMessage
  | GpadlTorndownMessage
  | VersionResponseMessage
  | UnloadResponseMessage
  | ModifyChannelResponseMessage;
