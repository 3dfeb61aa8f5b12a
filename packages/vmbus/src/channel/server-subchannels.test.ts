/**
 * Sub-channels in the VMBus server state machine, message by message with a recording notifier:
 * offers that mirror the primary, opens over their own GPADLs, the revocation of every
 * sub-channel when the primary closes, is rescinded or the connection unloads, and the refusals a
 * device or a guest gets for misplaced requests (sub-channels of a closed primary, bad or reused
 * indices, opens of a revoked sub-channel). Also MODIFYCHANNEL on a sub-channel and at 5.2 (no
 * MODIFYCHANNEL_RESPONSE before 5.3).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ChannelStateError, InvalidArgumentError } from '../errors.ts';
import { encodeChannelMessage } from '../protocol/channel-message-codec.ts';
import { ChannelMessageType as T, ChannelStatus } from '../protocol/channel-message-layout.ts';
import { channelId, gpadlId, type ChannelId, type ChannelMessage, type GpadlId, type OfferChannelMessage } from '../protocol/channel-messages.ts';
import { splitGpadl } from '../protocol/gpadl.ts';
import { parseGuid } from '../protocol/guid.ts';
import { VmbusVersions, type VmbusVersion } from '../protocol/vmbus-version.ts';
import type { ServerEvent } from './server-events.ts';
import { ServerRecorder } from './server-recorder.ts';
import { VmbusServer } from './server-state.ts';


const classId = parseGuid('ba6163d9-04a1-4d29-b605-72e2ffb1dc7f');
const instance = parseGuid('5e0b1d2a-7c4f-4e8a-9a51-3f2d6c0b5c00');
let recorder: ServerRecorder;
let server: VmbusServer;
let nextGpadl = 0x100;

function connect(version: VmbusVersion = VmbusVersions.win10V5_3): ChannelId {
  recorder = new ServerRecorder();
  server = new VmbusServer(recorder, { guestMemoryPages: 4096, vpCount: 2, channelConnectionBase: 0x1000 });
  const primary = server.offerChannel({ interfaceType: classId, interfaceInstance: instance, userDefined: Uint8Array.of(1, 2, 3) });
  const contact: ChannelMessage = {
    type: T.initiateContact,
    versionRequested: version,
    targetVcpu: 0,
    target: version >= VmbusVersions.win10V5 ? { kind: 'sint', messageSint: 2, messageVtl: 0, featureFlags: 0 } : { kind: 'interruptPage', interruptPage: 0x3000 },
    monitorPage1: 0,
    monitorPage2: 0,
  };
  server.handle(encodeChannelMessage(contact));
  server.handle({ type: T.requestOffers });
  recorder.take();
  return primary;
}

/** The guest's side of an open: GPADL, OPENCHANNEL; the device completes it. Returns the ring GPADL. */
function openChannel(id: ChannelId): GpadlId {
  const ring = gpadlId(nextGpadl++);
  for (const m of splitGpadl(id, ring, { byteCount: 8 * 4096, byteOffset: 0, pfns: Array.from({ length: 8 }, (_, i) => 0x200 + i) })) server.handle(encodeChannelMessage(m));
  sendOpen(id, ring);
  expect(server.channelState(id)?.kind).toBe('opening');
  expect(server.completeOpen(id, ChannelStatus.success)).toBe(true);
  recorder.take();
  return ring;
}

function sendOpen(id: ChannelId, ring: GpadlId): void {
  server.handle({ type: T.openChannel, childRelid: id, openId: id, ringBufferGpadlId: ring, targetVp: 0, downstreamRingBufferPageOffset: 4, userData: new Uint8Array(120) });
}

const reasons = (events: ServerEvent[]) => events.flatMap((e) => (e.kind === 'protocolError' ? [e.reason] : []));

beforeEach(() => {
  nextGpadl = 0x100;
});

describe('sub-channel offers', () => {
  it("mirror the open primary's interface, carry their index, and get their own id and connection id", () => {
    const primary = connect();
    openChannel(primary);
    const subs = [1, 2, 3].map((index) => server.offerSubChannel(primary, index));
    const offers = recorder.take().sent as OfferChannelMessage[];
    expect(offers.map((o) => [o.type, o.childRelid, o.subChannelIndex, o.connectionId])).toEqual(subs.map((id, i) => [T.offerChannel, id, i + 1, 0x1000 + id]));
    for (const offer of offers) expect(offer).toMatchObject({ interfaceType: classId, interfaceInstance: instance, userDefined: expect.objectContaining({ 0: 1, 1: 2, 2: 3 }) });
    expect(new Set([primary, ...subs]).size).toBe(4);
    expect(server.subChannels(primary)).toEqual(subs);
    expect(subs.map((id) => server.primaryOf(id))).toEqual([primary, primary, primary]);
    expect(server.primaryOf(primary)).toBeUndefined();
    expect(server.offerSubChannel(primary, 4, 0x77)).toBeGreaterThan(0);
    expect((recorder.take().sent[0] as OfferChannelMessage).connectionId).toBe(0x77);
    expect(server.checkConsistency()).toEqual([]);
  });

  it('are refused to a device for a primary that is not open, for a sub-channel, and for bad or reused indices', () => {
    const primary = connect();
    expect(() => server.offerSubChannel(primary, 1)).toThrow(ChannelStateError); // offered, not open
    expect(() => server.offerSubChannel(channelId(99), 1)).toThrow(ChannelStateError);
    expect(() => server.offerChannel({ interfaceType: classId, interfaceInstance: instance, subChannelIndex: 1 })).toThrow(InvalidArgumentError);
    openChannel(primary);
    const sub = server.offerSubChannel(primary, 1);
    expect(() => server.offerSubChannel(sub, 1)).toThrow(ChannelStateError);
    expect(() => server.offerSubChannel(primary, 1)).toThrow(InvalidArgumentError);
    for (const bad of [0, -1, 0x10000, 1.5]) expect(() => server.offerSubChannel(primary, bad)).toThrow(InvalidArgumentError);
    expect(() => server.offerSubChannel(primary, 2, 2 ** 32)).toThrow(InvalidArgumentError);
    expect(server.subChannels(primary)).toEqual([sub]);
    expect(server.checkConsistency()).toEqual([]);
  });
});

describe('sub-channel life cycle', () => {
  it('opens each sub-channel over its own GPADL; closing the primary closes the open ones, then rescinds all', () => {
    const primary = connect();
    const primaryRing = openChannel(primary);
    const [a, b, c] = [1, 2, 3].map((index) => server.offerSubChannel(primary, index)) as [ChannelId, ChannelId, ChannelId];
    const ringA = openChannel(a);
    openChannel(b);
    recorder.take();
    // The guest closes the primary first (a well-behaved one closes the sub-channels first).
    server.handle({ type: T.closeChannel, childRelid: primary });
    let step = recorder.take();
    expect(step.events).toEqual([
      { kind: 'closeRequested', channel: primary },
      { kind: 'closeRequested', channel: a },
      { kind: 'closeRequested', channel: b },
    ]);
    // The never-opened one goes at once.
    expect(step.sent).toEqual([{ type: T.rescindChannelOffer, childRelid: c }]);
    expect(server.checkConsistency()).toEqual([]);
    // The guest cleans up: CLOSECHANNEL on a sub-channel being revoked is no mistake; the ring
    // teardown waits for the device.
    server.handle({ type: T.closeChannel, childRelid: a });
    server.handle({ type: T.gpadlTeardown, childRelid: a, gpadlId: ringA });
    expect(recorder.take()).toEqual({ sent: [], events: [] });
    expect(server.completeClose(a)).toBe(true);
    step = recorder.take();
    expect(step.sent).toEqual([{ type: T.gpadlTorndown, gpadlId: ringA }, { type: T.rescindChannelOffer, childRelid: a }]);
    expect(server.completeClose(b)).toBe(true);
    expect(recorder.take().sent).toEqual([{ type: T.rescindChannelOffer, childRelid: b }]);
    expect(server.completeClose(primary)).toBe(true);
    expect(server.channelState(primary)?.kind).toBe('offered');
    // RELID_RELEASED frees each id; the primary reopens and offers new sub-channels.
    for (const id of [a, b, c]) server.handle({ type: T.relidReleased, childRelid: id });
    expect(recorder.take().events.filter((e) => e.kind === 'channelReleased').map((e) => 'channel' in e && e.channel)).toEqual([a, b, c]);
    server.handle({ type: T.gpadlTeardown, childRelid: primary, gpadlId: primaryRing });
    openChannel(primary);
    const again = server.offerSubChannel(primary, 1);
    expect([a, b, c]).toContain(again);
    expect(server.checkConsistency()).toEqual([]);
  });

  it('rescinding the primary revokes its sub-channels: an open fails, an open one closes first', () => {
    const primary = connect();
    openChannel(primary);
    const [a, b] = [1, 2].map((index) => server.offerSubChannel(primary, index)) as [ChannelId, ChannelId];
    openChannel(a);
    const ringB = gpadlId(0x999);
    for (const m of splitGpadl(b, ringB, { byteCount: 8 * 4096, byteOffset: 0, pfns: Array.from({ length: 8 }, (_, i) => 0x300 + i) })) server.handle(m);
    sendOpen(b, ringB);
    recorder.take();
    expect(server.rescindChannel(primary)).toBe(true);
    const step = recorder.take();
    expect(step.sent).toEqual([
      { type: T.rescindChannelOffer, childRelid: primary },
      { type: T.openChannelResult, childRelid: b, openId: b, status: ChannelStatus.unsuccessful },
      { type: T.rescindChannelOffer, childRelid: b },
    ]);
    expect(step.events).toEqual([{ kind: 'closeRequested', channel: a }]);
    expect(server.completeOpen(b, ChannelStatus.success)).toBe(false);
    server.completeClose(a);
    expect(recorder.take().sent).toEqual([{ type: T.rescindChannelOffer, childRelid: a }]);
    for (const id of [primary, a, b]) server.handle({ type: T.relidReleased, childRelid: id });
    expect(server.channels.size).toBe(0);
    expect(server.checkConsistency()).toEqual([]);
  });

  it('drops every sub-channel with an unload; the next connection sees only the primary', () => {
    const primary = connect();
    openChannel(primary);
    const [a] = [1, 2].map((index) => server.offerSubChannel(primary, index)) as [ChannelId, ChannelId];
    openChannel(a);
    recorder.take();
    server.handle({ type: T.unload });
    expect(recorder.take().events.map((e) => e.kind)).toEqual(['closeRequested', 'closeRequested']);
    server.completeClose(a);
    server.completeClose(primary);
    const step = recorder.take();
    expect(step.sent).toEqual([{ type: T.unloadResponse }]);
    expect(server.channels.size).toBe(1);
    server.handle({ type: T.initiateContact, versionRequested: VmbusVersions.win10V5_3, targetVcpu: 0, target: { kind: 'sint', messageSint: 2, messageVtl: 0, featureFlags: 0 }, monitorPage1: 0, monitorPage2: 0 });
    server.handle({ type: T.requestOffers });
    const offers = recorder.take().sent.filter((m): m is OfferChannelMessage => m.type === T.offerChannel);
    expect(offers.map((o) => [o.childRelid, o.subChannelIndex])).toEqual([[primary, 0]]);
    expect(server.checkConsistency()).toEqual([]);
  });

  it('drops a sub-channel the guest declines (RELID_RELEASED while offered) for good', () => {
    const primary = connect();
    openChannel(primary);
    const sub = server.offerSubChannel(primary, 1);
    recorder.take();
    server.handle({ type: T.relidReleased, childRelid: sub });
    expect(recorder.take().events).toEqual([{ kind: 'channelReleased', channel: sub }]);
    expect(server.subChannels(primary)).toEqual([]);
    expect(server.offerSubChannel(primary, 1)).toBe(sub);
  });
});

describe('a hostile guest and sub-channels', () => {
  it('cannot open a sub-channel of a closed primary: refused while it is revoked, ignored once rescinded', () => {
    const primary = connect();
    openChannel(primary);
    const [a, b] = [1, 2].map((index) => server.offerSubChannel(primary, index)) as [ChannelId, ChannelId];
    const ringA = openChannel(a);
    const ringB = gpadlId(0x888);
    for (const m of splitGpadl(b, ringB, { byteCount: 8 * 4096, byteOffset: 0, pfns: Array.from({ length: 8 }, (_, i) => 0x400 + i) })) server.handle(m);
    recorder.take();
    server.handle({ type: T.closeChannel, childRelid: primary });
    recorder.take();
    // a is closing (revoked): a reopen is refused, not queued.
    sendOpen(a, ringA);
    let step = recorder.take();
    expect(step.sent).toEqual([{ type: T.openChannelResult, childRelid: a, openId: a, status: ChannelStatus.invalidDeviceState }]);
    expect(reasons(step.events)).toEqual(['wrong-channel-state']);
    // b was rescinded at once: the open is ignored (§4.6).
    sendOpen(b, ringB);
    step = recorder.take();
    expect(step).toEqual({ sent: [], events: [] });
    expect(server.metrics.ignoredAfterRescind).toBe(1);
    // A GPADL for the rescinded sub-channel is refused.
    for (const m of splitGpadl(b, gpadlId(0x889), { byteCount: 4096, byteOffset: 0, pfns: [0x500] })) server.handle(m);
    step = recorder.take();
    expect(step.sent).toEqual([{ type: T.gpadlCreated, childRelid: b, gpadlId: 0x889, status: ChannelStatus.unsuccessful }]);
    server.completeClose(a);
    server.completeClose(primary);
    expect(server.channelState(a)?.kind).toBe('rescinded');
    expect(server.checkConsistency()).toEqual([]);
  });

  it('gets the usual refusals for misplaced sub-channel messages and unknown sub-channel ids', () => {
    const primary = connect();
    openChannel(primary);
    const sub = server.offerSubChannel(primary, 1);
    recorder.take();
    server.handle({ type: T.closeChannel, childRelid: sub }); // not open
    server.handle({ type: T.relidReleased, childRelid: channelId(sub + 5) }); // never offered
    sendOpen(sub, gpadlId(0x4242)); // no such GPADL
    const step = recorder.take();
    expect(reasons(step.events)).toEqual(['wrong-channel-state', 'unknown-channel', 'bad-open-request']);
    expect(step.sent).toEqual([{ type: T.openChannelResult, childRelid: sub, openId: sub, status: ChannelStatus.invalidParameter }]);
    expect(server.checkConsistency()).toEqual([]);
  });
});

describe('MODIFYCHANNEL', () => {
  it('retargets an open sub-channel and answers from 5.3 on', () => {
    const primary = connect();
    openChannel(primary);
    const sub = server.offerSubChannel(primary, 1);
    openChannel(sub);
    server.handle(encodeChannelMessage({ type: T.modifyChannel, childRelid: sub, targetVp: 1 }));
    expect(recorder.take()).toEqual({ sent: [{ type: T.modifyChannelResponse, childRelid: sub, status: 0 }], events: [{ kind: 'modifyRequested', channel: sub, targetVp: 1 }] });
  });

  it('retargets without a response at 5.2 and 4.1 (the response message exists from 5.3)', () => {
    for (const version of [VmbusVersions.win10V5_2, VmbusVersions.win10V4_1]) {
      const primary = connect(version);
      openChannel(primary);
      server.handle(encodeChannelMessage({ type: T.modifyChannel, childRelid: primary, targetVp: 1 }));
      expect(recorder.take()).toEqual({ sent: [], events: [{ kind: 'modifyRequested', channel: primary, targetVp: 1 }] });
      server.handle(encodeChannelMessage({ type: T.modifyChannel, childRelid: primary, targetVp: 7 }));
      expect(recorder.take()).toMatchObject({ sent: [], events: [{ kind: 'protocolError', reason: 'bad-target-vp' }] });
    }
  });
});
