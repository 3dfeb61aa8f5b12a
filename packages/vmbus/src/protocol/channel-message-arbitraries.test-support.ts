/**
 * fast-check arbitraries of every channel message (test support, not shipped API): each produces
 * values within their wire fields, so encode → decode is the identity on them.
 */
import fc from 'fast-check';
import { ChannelMessageType as T, GPADL_BODY_MAX_PFNS, GPADL_HEADER_MAX_PFNS } from './channel-message-layout.ts';
import type { ChannelId, ChannelMessage, GpadlId, OpaqueMessageType } from './channel-messages.ts';
import type { Guid } from './guid.ts';
import { MAX_PFN } from './packet-layout.ts';
import { VmbusVersions } from './vmbus-version.ts';

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
export const relid = fc.integer({ min: 1, max: 2047 }) as fc.Arbitrary<ChannelId>;
export const gpadl = u32 as fc.Arbitrary<GpadlId>;
export const pfn = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: MAX_PFN }));
export const gpa = fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 2 ** 52 - 1 }));
export const guid = fc.uuid().map((u) => u.toLowerCase() as Guid);
const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });

const offer = fc.record({
  type: fc.constant(T.offerChannel),
  interfaceType: guid,
  interfaceInstance: guid,
  channelFlags: u16,
  mmioMegabytes: u16,
  userDefined: bytes(120),
  subChannelIndex: u16,
  mmioMegabytesOptional: u16,
  childRelid: relid,
  monitorId: u8,
  monitorAllocated: fc.boolean(),
  dedicatedInterrupt: fc.boolean(),
  connectionId: u32,
});

const initiateContact = fc.oneof(
  fc.record({
    type: fc.constant(T.initiateContact),
    versionRequested: fc.integer({ min: 0, max: VmbusVersions.win10V5 - 1 }),
    targetVcpu: u32,
    target: fc.record({ kind: fc.constant('interruptPage' as const), interruptPage: gpa }),
    monitorPage1: gpa,
    monitorPage2: gpa,
  }),
  fc.record({
    type: fc.constant(T.initiateContact),
    versionRequested: fc.integer({ min: VmbusVersions.win10V5, max: 0xffff_ffff }),
    targetVcpu: u32,
    target: fc.record({ kind: fc.constant('sint' as const), messageSint: u8, messageVtl: u8, featureFlags: u32 }),
    monitorPage1: gpa,
    monitorPage2: gpa,
  }),
);

const opaqueTypes: OpaqueMessageType[] = [T.openReservedChannel, T.closeReservedChannel, T.closeReservedResponse, T.tlConnectResult, T.modifyConnection, T.modifyConnectionResponse];

/** One arbitrary per message type, keyed by type number. */
export const messageArbitraries: ReadonlyMap<number, fc.Arbitrary<ChannelMessage>> = new Map<number, fc.Arbitrary<ChannelMessage>>([
  [T.offerChannel, offer],
  [T.rescindChannelOffer, fc.record({ type: fc.constant(T.rescindChannelOffer), childRelid: relid })],
  [T.requestOffers, fc.constant({ type: T.requestOffers })],
  [T.allOffersDelivered, fc.constant({ type: T.allOffersDelivered })],
  [
    T.openChannel,
    fc.record({
      type: fc.constant(T.openChannel),
      childRelid: relid,
      openId: u32,
      ringBufferGpadlId: gpadl,
      targetVp: u32,
      downstreamRingBufferPageOffset: u32,
      userData: bytes(120),
    }),
  ],
  [T.openChannelResult, fc.record({ type: fc.constant(T.openChannelResult), childRelid: relid, openId: u32, status: u32 })],
  [T.closeChannel, fc.record({ type: fc.constant(T.closeChannel), childRelid: relid })],
  [
    T.gpadlHeader,
    fc.record({
      type: fc.constant(T.gpadlHeader),
      childRelid: relid,
      gpadlId: gpadl,
      rangeBufferLength: u16,
      rangeCount: u16,
      byteCount: u32,
      byteOffset: u32,
      pfns: fc.array(pfn, { maxLength: GPADL_HEADER_MAX_PFNS }),
    }),
  ],
  [
    T.gpadlBody,
    fc.record({ type: fc.constant(T.gpadlBody), messageNumber: u32, gpadlId: gpadl, pfns: fc.array(pfn, { minLength: 1, maxLength: GPADL_BODY_MAX_PFNS }) }),
  ],
  [T.gpadlCreated, fc.record({ type: fc.constant(T.gpadlCreated), childRelid: relid, gpadlId: gpadl, status: u32 })],
  [T.gpadlTeardown, fc.record({ type: fc.constant(T.gpadlTeardown), childRelid: relid, gpadlId: gpadl })],
  [T.gpadlTorndown, fc.record({ type: fc.constant(T.gpadlTorndown), gpadlId: gpadl })],
  [T.relidReleased, fc.record({ type: fc.constant(T.relidReleased), childRelid: relid })],
  [T.initiateContact, initiateContact],
  [T.versionResponse, fc.record({ type: fc.constant(T.versionResponse), versionSupported: fc.boolean(), connectionState: u8, messageConnectionId: u32 })],
  [T.unload, fc.constant({ type: T.unload })],
  [T.unloadResponse, fc.constant({ type: T.unloadResponse })],
  [T.tlConnectRequest, fc.record({ type: fc.constant(T.tlConnectRequest), guestEndpointId: guid, hostServiceId: guid })],
  [T.modifyChannel, fc.record({ type: fc.constant(T.modifyChannel), childRelid: relid, targetVp: u32 })],
  [T.modifyChannelResponse, fc.record({ type: fc.constant(T.modifyChannelResponse), childRelid: relid, status: u32 })],
  ...opaqueTypes.map(
    (type) => [type, fc.record({ type: fc.constant(type), body: fc.uint8Array({ maxLength: 232 }) })] as [number, fc.Arbitrary<ChannelMessage>],
  ),
]);

/** Any channel message. */
export const anyMessage: fc.Arbitrary<ChannelMessage> = fc.oneof(...messageArbitraries.values());
