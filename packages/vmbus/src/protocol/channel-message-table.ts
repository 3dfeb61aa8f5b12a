/**
 * The control-plane protocol as ONE declarative table (STYLE rule 9, OpenVMM's `vmbus_messages!`):
 * message number → name → direction → minimum version → required features → minimum length →
 * codec. `decodeChannelMessage` and `encodeChannelMessage` (channel-message-codec.ts) are driven by
 * it, and the server uses `direction` to refuse host→guest types a guest sends.
 *
 * Minimum lengths: the guest's table of §4.2 for host→guest types, the full struct for guest→host
 * types (the host is as strict as the guest). Longer messages (up to 240 bytes) are accepted and
 * their tail ignored, as both sides do for the [MS-hdr] extensions. Minimum versions: §4.2-§4.4
 * where the reference gives one; for types 18-26 Microsoft's header comments ("Since
 * VMBUS_VERSION_WIN10", "…RS3_0", "…IRON", "…COPPER"), as OpenVMM's table also has them.
 *
 * Decoders never throw: the table's minimum length is checked before a field is read, and every
 * guest-controlled value with a range is checked here and becomes a {@link DecodeFailure}.
 */
import { InvalidArgumentError } from '../errors.ts';
import { ChannelMessageWriter, type ChannelMessageReader } from './channel-message-bytes.ts';
import {
  ChannelMessageHeader,
  ChannelMessageType,
  GPADL_BODY_MAX_PFNS,
  GPADL_HEADER_MAX_PFNS,
  GpadlBodyLayout,
  GpadlCreatedLayout,
  GpadlHeaderLayout,
  GpadlTeardownLayout,
  GpadlTorndownLayout,
  HeaderOnlyLayout,
  InitiateContactLayout,
  MAX_CHANNEL_MESSAGE_SIZE,
  ModifyChannelLayout,
  ModifyChannelResponseLayout,
  OfferChannelLayout,
  OpenChannelLayout,
  OpenChannelResultLayout,
  RelidOnlyLayout,
  TlConnectRequestLayout,
  VersionResponseLayout,
} from './channel-message-layout.ts';
import {
  isChannelId,
  type ChannelId,
  type ChannelMessage,
  type ChannelMessageOf,
  type GpadlId,
  type OpaqueChannelMessage,
  type OpaqueMessageType,
} from './channel-messages.ts';
import { MAX_PFN } from './packet-layout.ts';
import { MESSAGE_CONNECTION_ID_SWITCH_VERSION, VmbusFeature, VmbusVersions, type VmbusVersion } from './vmbus-version.ts';

/** Who sends a message type. */
export type MessageDirection = 'guestToHost' | 'hostToGuest';

/** Why bytes were not a valid channel message: one stable reason per validation branch. */
export type DecodeFailureReason =
  /** Shorter than the 8-byte header or than the type's minimum. */
  | 'too-short'
  /** Longer than the 240-byte SynIC payload. */
  | 'oversize'
  /** A message number the table does not know (0 included). */
  | 'unknown-type'
  /** The type needs a newer protocol version than the one negotiated. */
  | 'not-in-version'
  /** The type needs a feature flag that was not negotiated. */
  | 'missing-feature'
  /** A PFN list whose length is not a whole number of u64s. */
  | 'misaligned-length'
  /** A channel id of 0 or above 2047. */
  | 'relid-out-of-range'
  /** A PFN beyond 52-bit guest physical addresses. */
  | 'pfn-out-of-range'
  /** A guest physical address beyond 52 bits. */
  | 'address-out-of-range';

/** A rejected message: the reason, a human detail, and the type number when it was readable. */
export interface DecodeFailure {
  readonly ok: false;
  readonly reason: DecodeFailureReason;
  readonly detail: string;
  readonly messageType?: number;
}

/** One row of the table. Methods (not function properties) so rows of every type share one type. */
export interface ChannelMessageSpec<M extends ChannelMessage = ChannelMessage> {
  readonly type: M['type'];
  /** The Linux name (`CHANNELMSG_*`), for logs. */
  readonly name: string;
  readonly direction: MessageDirection;
  /** Oldest negotiated version the type is valid in; `undefined` = valid before negotiation too. */
  readonly minVersion: VmbusVersion | undefined;
  /** Feature flags ({@link VmbusFeature}) that must have been negotiated; 0 = none. */
  readonly features: number;
  /** Shortest acceptable message, header included. */
  readonly minSize: number;
  /** Decodes a message whose length is in [minSize, 240] (checked by the caller). */
  decode(reader: ChannelMessageReader): M | DecodeFailure;
  /** @throws {InvalidArgumentError} when a field is out of range for its wire width */
  encode(message: M): Uint8Array;
}

/** The largest guest physical address: 52 bits (a 40-bit PFN of 4 KiB pages). */
const MAX_GPA = (MAX_PFN + 1) * 4096 - 1;

function failure(reason: DecodeFailureReason, detail: string, messageType?: number): DecodeFailure {
  return messageType === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, messageType };
}

/** Whether a decoder returned a failure. */
export function isDecodeFailure(value: object): value is DecodeFailure {
  return (value as { ok?: unknown }).ok === false;
}

function relid(r: ChannelMessageReader, offset: number): ChannelId | DecodeFailure {
  const id = r.u32(offset);
  return isChannelId(id) ? id : failure('relid-out-of-range', `child_relid ${id} is outside 1..2047`);
}

function address(r: ChannelMessageReader, offset: number, field: string): number | DecodeFailure {
  const gpa = r.u64(offset);
  return gpa <= MAX_GPA ? gpa : failure('address-out-of-range', `${field} 0x${gpa.toString(16)} is beyond 52 bits`);
}

function pfnList(r: ChannelMessageReader, start: number): number[] | DecodeFailure {
  const bytes = r.length - start;
  if (bytes % 8 !== 0) return failure('misaligned-length', `${bytes} bytes of PFNs is not a multiple of 8`);
  const pfns = new Array<number>(bytes / 8);
  for (let i = 0; i < pfns.length; i++) {
    const pfn = r.u64(start + i * 8);
    if (pfn > MAX_PFN) return failure('pfn-out-of-range', `PFN ${i} (0x${pfn.toString(16)}) is beyond 52-bit addresses`);
    pfns[i] = pfn;
  }
  return pfns;
}

function check(ok: boolean, field: string, value: unknown, range: string): void {
  if (!ok) throw new InvalidArgumentError(`${field} must be ${range}, got ${String(value)}`);
}
const isU8 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xff;
const isU16 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffff;
const isU32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;

function u8(w: ChannelMessageWriter, offset: number, value: number, field: string): void {
  check(isU8(value), field, value, 'a u8');
  w.u8(offset, value);
}
function u16(w: ChannelMessageWriter, offset: number, value: number, field: string): void {
  check(isU16(value), field, value, 'a u16');
  w.u16(offset, value);
}
function u32(w: ChannelMessageWriter, offset: number, value: number, field: string): void {
  check(isU32(value), field, value, 'a u32');
  w.u32(offset, value);
}
function relidField(w: ChannelMessageWriter, offset: number, value: number): void {
  check(isChannelId(value), 'childRelid', value, 'in 1..2047');
  w.u32(offset, value);
}
function gpaField(w: ChannelMessageWriter, offset: number, value: number, field: string): void {
  check(Number.isInteger(value) && value >= 0 && value <= MAX_GPA, field, value, 'a 52-bit address');
  w.u64(offset, value);
}
function pfnFields(w: ChannelMessageWriter, offset: number, pfns: readonly number[]): void {
  pfns.forEach((pfn, i) => {
    check(Number.isInteger(pfn) && pfn >= 0 && pfn <= MAX_PFN, `pfns[${i}]`, pfn, `in 0..${MAX_PFN}`);
    w.u64(offset + i * 8, pfn);
  });
}
function bytesField(w: ChannelMessageWriter, offset: number, value: Uint8Array, size: number, field: string): void {
  check(value.byteLength === size, field, `${value.byteLength} bytes`, `exactly ${size} bytes`);
  w.set(offset, value);
}
function start(type: number, size: number): ChannelMessageWriter {
  const w = new ChannelMessageWriter(size);
  w.u32(ChannelMessageHeader.messageType, type);
  return w;
}

type Row<K extends ChannelMessage['type']> = ChannelMessageSpec<ChannelMessageOf<K>>;
const T = ChannelMessageType;
const V = VmbusVersions;

/** A row for a message that is the 8-byte header alone. */
type HeaderOnlyMessage = ChannelMessageOf<(typeof T)['requestOffers' | 'allOffersDelivered' | 'unload' | 'unloadResponse']>;
type RelidOnlyMessage = ChannelMessageOf<(typeof T)['rescindChannelOffer' | 'closeChannel' | 'relidReleased']>;

function headerOnly(type: HeaderOnlyMessage['type'], name: string, direction: MessageDirection): ChannelMessageSpec<HeaderOnlyMessage> {
  return {
    type,
    name,
    direction,
    minVersion: V.win8,
    features: 0,
    minSize: HeaderOnlyLayout.SIZE,
    decode: () => ({ type }) as HeaderOnlyMessage,
    encode: () => start(type, HeaderOnlyLayout.SIZE).bytes,
  };
}

/** A row for a message that is the header and a relid. */
function relidOnly(type: RelidOnlyMessage['type'], name: string, direction: MessageDirection): ChannelMessageSpec<RelidOnlyMessage> {
  return {
    type,
    name,
    direction,
    minVersion: V.win8,
    features: 0,
    minSize: RelidOnlyLayout.SIZE,
    decode(r) {
      const childRelid = relid(r, RelidOnlyLayout.childRelid);
      return typeof childRelid === 'number' ? ({ type, childRelid } as RelidOnlyMessage) : childRelid;
    },
    encode(m) {
      const w = start(type, RelidOnlyLayout.SIZE);
      relidField(w, RelidOnlyLayout.childRelid, m.childRelid);
      return w.bytes;
    },
  };
}

/** A row for a type whose layout the reference does not give: the body is kept as bytes. */
function opaque(type: OpaqueMessageType, name: string, direction: MessageDirection, minVersion: VmbusVersion, features = 0): ChannelMessageSpec<OpaqueChannelMessage> {
  return {
    type,
    name,
    direction,
    minVersion,
    features,
    minSize: ChannelMessageHeader.SIZE,
    decode: (r) => ({ type, body: r.copy(ChannelMessageHeader.SIZE, r.length - ChannelMessageHeader.SIZE) }),
    encode(m) {
      check(m.body.byteLength <= MAX_CHANNEL_MESSAGE_SIZE - ChannelMessageHeader.SIZE, 'body', `${m.body.byteLength} bytes`, 'at most 232 bytes');
      const w = start(type, ChannelMessageHeader.SIZE + m.body.byteLength);
      w.set(ChannelMessageHeader.SIZE, m.body);
      return w.bytes;
    },
  };
}

const offerChannel: Row<(typeof T)['offerChannel']> = {
  type: T.offerChannel,
  name: 'CHANNELMSG_OFFERCHANNEL',
  direction: 'hostToGuest',
  minVersion: V.win8,
  features: 0,
  minSize: OfferChannelLayout.SIZE,
  decode(r) {
    const L = OfferChannelLayout;
    const childRelid = relid(r, L.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return {
      type: T.offerChannel,
      interfaceType: r.guid(L.interfaceType),
      interfaceInstance: r.guid(L.interfaceInstance),
      channelFlags: r.u16(L.channelFlags),
      mmioMegabytes: r.u16(L.mmioMegabytes),
      userDefined: r.copy(L.userDefined, L.USER_DEFINED_SIZE),
      subChannelIndex: r.u16(L.subChannelIndex),
      mmioMegabytesOptional: r.u16(L.mmioMegabytesOptional),
      childRelid,
      monitorId: r.u8(L.monitorId),
      monitorAllocated: (r.u8(L.monitorAllocated) & 1) !== 0,
      dedicatedInterrupt: (r.u16(L.isDedicatedInterrupt) & 1) !== 0,
      connectionId: r.u32(L.connectionId),
    };
  },
  encode(m) {
    const L = OfferChannelLayout;
    const w = start(T.offerChannel, L.SIZE);
    w.guid(L.interfaceType, m.interfaceType);
    w.guid(L.interfaceInstance, m.interfaceInstance);
    u16(w, L.channelFlags, m.channelFlags, 'channelFlags');
    u16(w, L.mmioMegabytes, m.mmioMegabytes, 'mmioMegabytes');
    bytesField(w, L.userDefined, m.userDefined, L.USER_DEFINED_SIZE, 'userDefined');
    u16(w, L.subChannelIndex, m.subChannelIndex, 'subChannelIndex');
    u16(w, L.mmioMegabytesOptional, m.mmioMegabytesOptional, 'mmioMegabytesOptional');
    relidField(w, L.childRelid, m.childRelid);
    u8(w, L.monitorId, m.monitorId, 'monitorId');
    w.u8(L.monitorAllocated, m.monitorAllocated ? 1 : 0);
    w.u16(L.isDedicatedInterrupt, m.dedicatedInterrupt ? 1 : 0);
    u32(w, L.connectionId, m.connectionId, 'connectionId');
    return w.bytes;
  },
};

const openChannel: Row<(typeof T)['openChannel']> = {
  type: T.openChannel,
  name: 'CHANNELMSG_OPENCHANNEL',
  direction: 'guestToHost',
  minVersion: V.win8,
  features: 0,
  minSize: OpenChannelLayout.SIZE,
  decode(r) {
    const L = OpenChannelLayout;
    const childRelid = relid(r, L.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return {
      type: T.openChannel,
      childRelid,
      openId: r.u32(L.openId),
      ringBufferGpadlId: r.u32(L.ringBufferGpadlHandle) as GpadlId,
      targetVp: r.u32(L.targetVp),
      downstreamRingBufferPageOffset: r.u32(L.downstreamRingBufferPageOffset),
      userData: r.copy(L.userData, L.USER_DATA_SIZE),
    };
  },
  encode(m) {
    const L = OpenChannelLayout;
    const w = start(T.openChannel, L.SIZE);
    relidField(w, L.childRelid, m.childRelid);
    u32(w, L.openId, m.openId, 'openId');
    u32(w, L.ringBufferGpadlHandle, m.ringBufferGpadlId, 'ringBufferGpadlId');
    u32(w, L.targetVp, m.targetVp, 'targetVp');
    u32(w, L.downstreamRingBufferPageOffset, m.downstreamRingBufferPageOffset, 'downstreamRingBufferPageOffset');
    bytesField(w, L.userData, m.userData, L.USER_DATA_SIZE, 'userData');
    return w.bytes;
  },
};

const openChannelResult: Row<(typeof T)['openChannelResult']> = {
  type: T.openChannelResult,
  name: 'CHANNELMSG_OPENCHANNEL_RESULT',
  direction: 'hostToGuest',
  minVersion: V.win8,
  features: 0,
  minSize: OpenChannelResultLayout.SIZE,
  decode(r) {
    const L = OpenChannelResultLayout;
    const childRelid = relid(r, L.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return { type: T.openChannelResult, childRelid, openId: r.u32(L.openId), status: r.u32(L.status) };
  },
  encode(m) {
    const L = OpenChannelResultLayout;
    const w = start(T.openChannelResult, L.SIZE);
    relidField(w, L.childRelid, m.childRelid);
    u32(w, L.openId, m.openId, 'openId');
    u32(w, L.status, m.status, 'status');
    return w.bytes;
  },
};

const gpadlHeader: Row<(typeof T)['gpadlHeader']> = {
  type: T.gpadlHeader,
  name: 'CHANNELMSG_GPADL_HEADER',
  direction: 'guestToHost',
  minVersion: V.win8,
  features: 0,
  minSize: GpadlHeaderLayout.SIZE,
  decode(r) {
    const L = GpadlHeaderLayout;
    const childRelid = relid(r, L.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    const pfns = pfnList(r, L.pfns);
    if (!Array.isArray(pfns)) return pfns;
    return {
      type: T.gpadlHeader,
      childRelid,
      gpadlId: r.u32(L.gpadl) as GpadlId,
      rangeBufferLength: r.u16(L.rangeBufferLength),
      rangeCount: r.u16(L.rangeCount),
      byteCount: r.u32(L.rangeByteCount),
      byteOffset: r.u32(L.rangeByteOffset),
      pfns,
    };
  },
  encode(m) {
    const L = GpadlHeaderLayout;
    check(m.pfns.length <= GPADL_HEADER_MAX_PFNS, 'pfns', `${m.pfns.length} PFNs`, `at most ${GPADL_HEADER_MAX_PFNS}`);
    const w = start(T.gpadlHeader, L.SIZE + m.pfns.length * L.PFN_SIZE);
    relidField(w, L.childRelid, m.childRelid);
    u32(w, L.gpadl, m.gpadlId, 'gpadlId');
    u16(w, L.rangeBufferLength, m.rangeBufferLength, 'rangeBufferLength');
    u16(w, L.rangeCount, m.rangeCount, 'rangeCount');
    u32(w, L.rangeByteCount, m.byteCount, 'byteCount');
    u32(w, L.rangeByteOffset, m.byteOffset, 'byteOffset');
    pfnFields(w, L.pfns, m.pfns);
    return w.bytes;
  },
};

const gpadlBody: Row<(typeof T)['gpadlBody']> = {
  type: T.gpadlBody,
  name: 'CHANNELMSG_GPADL_BODY',
  direction: 'guestToHost',
  minVersion: V.win8,
  features: 0,
  /** A body carries at least one PFN: an empty one could only be a flood. */
  minSize: GpadlBodyLayout.SIZE + GpadlBodyLayout.PFN_SIZE,
  decode(r) {
    const L = GpadlBodyLayout;
    const pfns = pfnList(r, L.pfns);
    if (!Array.isArray(pfns)) return pfns;
    return { type: T.gpadlBody, messageNumber: r.u32(L.messageNumber), gpadlId: r.u32(L.gpadl) as GpadlId, pfns };
  },
  encode(m) {
    const L = GpadlBodyLayout;
    check(m.pfns.length >= 1 && m.pfns.length <= GPADL_BODY_MAX_PFNS, 'pfns', `${m.pfns.length} PFNs`, `1..${GPADL_BODY_MAX_PFNS}`);
    const w = start(T.gpadlBody, L.SIZE + m.pfns.length * L.PFN_SIZE);
    u32(w, L.messageNumber, m.messageNumber, 'messageNumber');
    u32(w, L.gpadl, m.gpadlId, 'gpadlId');
    pfnFields(w, L.pfns, m.pfns);
    return w.bytes;
  },
};

const gpadlCreated: Row<(typeof T)['gpadlCreated']> = {
  type: T.gpadlCreated,
  name: 'CHANNELMSG_GPADL_CREATED',
  direction: 'hostToGuest',
  minVersion: V.win8,
  features: 0,
  minSize: GpadlCreatedLayout.SIZE,
  decode(r) {
    const L = GpadlCreatedLayout;
    const childRelid = relid(r, L.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return { type: T.gpadlCreated, childRelid, gpadlId: r.u32(L.gpadl) as GpadlId, status: r.u32(L.status) };
  },
  encode(m) {
    const L = GpadlCreatedLayout;
    const w = start(T.gpadlCreated, L.SIZE);
    relidField(w, L.childRelid, m.childRelid);
    u32(w, L.gpadl, m.gpadlId, 'gpadlId');
    u32(w, L.status, m.status, 'status');
    return w.bytes;
  },
};

const gpadlTeardown: Row<(typeof T)['gpadlTeardown']> = {
  type: T.gpadlTeardown,
  name: 'CHANNELMSG_GPADL_TEARDOWN',
  direction: 'guestToHost',
  minVersion: V.win8,
  features: 0,
  minSize: GpadlTeardownLayout.SIZE,
  decode(r) {
    const L = GpadlTeardownLayout;
    const childRelid = relid(r, L.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return { type: T.gpadlTeardown, childRelid, gpadlId: r.u32(L.gpadl) as GpadlId };
  },
  encode(m) {
    const L = GpadlTeardownLayout;
    const w = start(T.gpadlTeardown, L.SIZE);
    relidField(w, L.childRelid, m.childRelid);
    u32(w, L.gpadl, m.gpadlId, 'gpadlId');
    return w.bytes;
  },
};

const gpadlTorndown: Row<(typeof T)['gpadlTorndown']> = {
  type: T.gpadlTorndown,
  name: 'CHANNELMSG_GPADL_TORNDOWN',
  direction: 'hostToGuest',
  minVersion: V.win8,
  features: 0,
  minSize: GpadlTorndownLayout.SIZE,
  decode: (r) => ({ type: T.gpadlTorndown, gpadlId: r.u32(GpadlTorndownLayout.gpadl) as GpadlId }),
  encode(m) {
    const w = start(T.gpadlTorndown, GpadlTorndownLayout.SIZE);
    u32(w, GpadlTorndownLayout.gpadl, m.gpadlId, 'gpadlId');
    return w.bytes;
  },
};

const initiateContact: Row<(typeof T)['initiateContact']> = {
  type: T.initiateContact,
  name: 'CHANNELMSG_INITIATE_CONTACT',
  direction: 'guestToHost',
  minVersion: undefined,
  features: 0,
  minSize: InitiateContactLayout.SIZE,
  decode(r) {
    const L = InitiateContactLayout;
    const versionRequested = r.u32(L.versionRequested);
    const monitorPage1 = address(r, L.monitorPage1, 'monitor_page1');
    if (typeof monitorPage1 !== 'number') return monitorPage1;
    const monitorPage2 = address(r, L.monitorPage2, 'monitor_page2');
    if (typeof monitorPage2 !== 'number') return monitorPage2;
    let target: ChannelMessageOf<(typeof T)['initiateContact']>['target'];
    if (versionRequested >= MESSAGE_CONNECTION_ID_SWITCH_VERSION) {
      target = { kind: 'sint', messageSint: r.u8(L.messageSint), messageVtl: r.u8(L.messageVtl), featureFlags: r.u32(L.featureFlags) };
    } else {
      const interruptPage = address(r, L.interruptPage, 'interrupt_page');
      if (typeof interruptPage !== 'number') return interruptPage;
      target = { kind: 'interruptPage', interruptPage };
    }
    return { type: T.initiateContact, versionRequested, targetVcpu: r.u32(L.targetVcpu), target, monitorPage1, monitorPage2 };
  },
  encode(m) {
    const L = InitiateContactLayout;
    const w = start(T.initiateContact, L.SIZE);
    u32(w, L.versionRequested, m.versionRequested, 'versionRequested');
    u32(w, L.targetVcpu, m.targetVcpu, 'targetVcpu');
    const wantsSint = m.versionRequested >= MESSAGE_CONNECTION_ID_SWITCH_VERSION;
    check(wantsSint === (m.target.kind === 'sint'), 'target.kind', m.target.kind, wantsSint ? "'sint' from 5.0 on" : "'interruptPage' before 5.0");
    if (m.target.kind === 'sint') {
      u8(w, L.messageSint, m.target.messageSint, 'messageSint');
      u8(w, L.messageVtl, m.target.messageVtl, 'messageVtl');
      u32(w, L.featureFlags, m.target.featureFlags, 'featureFlags');
    } else {
      gpaField(w, L.interruptPage, m.target.interruptPage, 'interruptPage');
    }
    gpaField(w, L.monitorPage1, m.monitorPage1, 'monitorPage1');
    gpaField(w, L.monitorPage2, m.monitorPage2, 'monitorPage2');
    return w.bytes;
  },
};

const versionResponse: Row<(typeof T)['versionResponse']> = {
  type: T.versionResponse,
  name: 'CHANNELMSG_VERSION_RESPONSE',
  direction: 'hostToGuest',
  minVersion: undefined,
  features: 0,
  minSize: VersionResponseLayout.SIZE,
  decode(r) {
    const L = VersionResponseLayout;
    return {
      type: T.versionResponse,
      versionSupported: r.u8(L.versionSupported) !== 0,
      connectionState: r.u8(L.connectionState),
      messageConnectionId: r.u32(L.messageConnectionId),
    };
  },
  encode(m) {
    const L = VersionResponseLayout;
    const w = start(T.versionResponse, L.SIZE);
    w.u8(L.versionSupported, m.versionSupported ? 1 : 0);
    u8(w, L.connectionState, m.connectionState, 'connectionState');
    u32(w, L.messageConnectionId, m.messageConnectionId, 'messageConnectionId');
    return w.bytes;
  },
};

const tlConnectRequest: Row<(typeof T)['tlConnectRequest']> = {
  type: T.tlConnectRequest,
  name: 'CHANNELMSG_TL_CONNECT_REQUEST',
  direction: 'guestToHost',
  minVersion: V.win10,
  features: 0,
  minSize: TlConnectRequestLayout.SIZE,
  decode: (r) => ({
    type: T.tlConnectRequest,
    guestEndpointId: r.guid(TlConnectRequestLayout.guestEndpointId),
    hostServiceId: r.guid(TlConnectRequestLayout.hostServiceId),
  }),
  encode(m) {
    const w = start(T.tlConnectRequest, TlConnectRequestLayout.SIZE);
    w.guid(TlConnectRequestLayout.guestEndpointId, m.guestEndpointId);
    w.guid(TlConnectRequestLayout.hostServiceId, m.hostServiceId);
    return w.bytes;
  },
};

const modifyChannel: Row<(typeof T)['modifyChannel']> = {
  type: T.modifyChannel,
  name: 'CHANNELMSG_MODIFYCHANNEL',
  direction: 'guestToHost',
  minVersion: V.win10V4_1,
  features: 0,
  minSize: ModifyChannelLayout.SIZE,
  decode(r) {
    const childRelid = relid(r, ModifyChannelLayout.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return { type: T.modifyChannel, childRelid, targetVp: r.u32(ModifyChannelLayout.targetVp) };
  },
  encode(m) {
    const w = start(T.modifyChannel, ModifyChannelLayout.SIZE);
    relidField(w, ModifyChannelLayout.childRelid, m.childRelid);
    u32(w, ModifyChannelLayout.targetVp, m.targetVp, 'targetVp');
    return w.bytes;
  },
};

const modifyChannelResponse: Row<(typeof T)['modifyChannelResponse']> = {
  type: T.modifyChannelResponse,
  name: 'CHANNELMSG_MODIFYCHANNEL_RESPONSE',
  direction: 'hostToGuest',
  minVersion: V.win10V5_3,
  features: 0,
  minSize: ModifyChannelResponseLayout.SIZE,
  decode(r) {
    const childRelid = relid(r, ModifyChannelResponseLayout.childRelid);
    if (typeof childRelid !== 'number') return childRelid;
    return { type: T.modifyChannelResponse, childRelid, status: r.u32(ModifyChannelResponseLayout.status) };
  },
  encode(m) {
    const w = start(T.modifyChannelResponse, ModifyChannelResponseLayout.SIZE);
    relidField(w, ModifyChannelResponseLayout.childRelid, m.childRelid);
    u32(w, ModifyChannelResponseLayout.status, m.status, 'status');
    return w.bytes;
  },
};

/** The table: every message type of §4.2 (and [MS-hdr] 25-26), in number order. */
export const CHANNEL_MESSAGE_TABLE: readonly ChannelMessageSpec[] = Object.freeze([
  offerChannel,
  relidOnly(T.rescindChannelOffer, 'CHANNELMSG_RESCIND_CHANNELOFFER', 'hostToGuest'),
  headerOnly(T.requestOffers, 'CHANNELMSG_REQUESTOFFERS', 'guestToHost'),
  headerOnly(T.allOffersDelivered, 'CHANNELMSG_ALLOFFERS_DELIVERED', 'hostToGuest'),
  openChannel,
  openChannelResult,
  relidOnly(T.closeChannel, 'CHANNELMSG_CLOSECHANNEL', 'guestToHost'),
  gpadlHeader,
  gpadlBody,
  gpadlCreated,
  gpadlTeardown,
  gpadlTorndown,
  relidOnly(T.relidReleased, 'CHANNELMSG_RELID_RELEASED', 'guestToHost'),
  initiateContact,
  versionResponse,
  // Linux sends UNLOAD only from 3.0 on; Microsoft's header has the pair since Win7, so no gate.
  headerOnly(T.unload, 'CHANNELMSG_UNLOAD', 'guestToHost'),
  headerOnly(T.unloadResponse, 'CHANNELMSG_UNLOAD_RESPONSE', 'hostToGuest'),
  opaque(T.openReservedChannel, 'CHANNELMSG_18 (OpenReservedChannel)', 'guestToHost', V.win10),
  opaque(T.closeReservedChannel, 'CHANNELMSG_19 (CloseReservedChannel)', 'guestToHost', V.win10),
  opaque(T.closeReservedResponse, 'CHANNELMSG_20 (CloseReservedResponse)', 'hostToGuest', V.win10),
  tlConnectRequest,
  modifyChannel,
  opaque(T.tlConnectResult, 'CHANNELMSG_TL_CONNECT_RESULT', 'hostToGuest', V.win10V4_1),
  modifyChannelResponse,
  opaque(T.modifyConnection, 'ModifyConnection', 'guestToHost', V.win10V6_0, VmbusFeature.modifyConnection),
  opaque(T.modifyConnectionResponse, 'ModifyConnectionResponse', 'hostToGuest', V.win10V6_0, VmbusFeature.modifyConnection),
] as ChannelMessageSpec[]);

const BY_TYPE: ReadonlyMap<number, ChannelMessageSpec> = new Map(CHANNEL_MESSAGE_TABLE.map((spec) => [spec.type, spec]));

/** The row of message number `type`, or `undefined` for an unknown number. */
export function channelMessageSpec(type: number): ChannelMessageSpec | undefined {
  return BY_TYPE.get(type);
}

/** The same value as {@link failure}, for the codec module. */
export { failure as decodeFailure };
