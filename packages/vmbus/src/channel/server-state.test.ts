/**
 * The VMBus server state machine alone, driven message by message with a recording notifier:
 * negotiation, offers and hot add, GPADLs, open/close, teardown deferral, rescind and release,
 * unload and reset, and the replies and drops a misbehaving guest gets. The fuzz at the end feeds
 * random bytes, random well-formed messages and device actions, and checks that the server never
 * throws and stays consistent.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { ChannelStateError, InvalidArgumentError } from '../errors.ts';
import { anyMessage } from '../protocol/channel-message-arbitraries.test-support.ts';
import { encodeChannelMessage } from '../protocol/channel-message-codec.ts';
import { ChannelMessageType as T, ChannelStatus } from '../protocol/channel-message-layout.ts';
import { channelId, gpadlId, type ChannelId, type ChannelMessage, type GpadlId } from '../protocol/channel-messages.ts';
import { splitGpadl } from '../protocol/gpadl.ts';
import { parseGuid } from '../protocol/guid.ts';
import { VmbusVersions, type VmbusVersion } from '../protocol/vmbus-version.ts';
import { ServerRecorder } from './server-recorder.ts';
import { VmbusServer, type VmbusServerOptions } from './server-state.ts';


const classId = parseGuid('f8615163-df3e-46c5-913f-f2d2f965ed0e');
const instance = (n: number) => parseGuid(`00000000-0000-0000-0000-${n.toString(16).padStart(12, '0')}`);
const contact = (v: number = VmbusVersions.win10V5_3): ChannelMessage =>
  v >= VmbusVersions.win10V5
    ? { type: T.initiateContact, versionRequested: v, targetVcpu: 0, target: { kind: 'sint', messageSint: 2, messageVtl: 0, featureFlags: 0 }, monitorPage1: 0x1000, monitorPage2: 0x2000 }
    : { type: T.initiateContact, versionRequested: v, targetVcpu: 0, target: { kind: 'interruptPage', interruptPage: 0x3000 }, monitorPage1: 0x1000, monitorPage2: 0x2000 };
const pages = (n: number, base = 0x100): number[] => Array.from({ length: n }, (_, i) => base + i);

let recorder: ServerRecorder;
let server: VmbusServer;

function connect(options: Partial<VmbusServerOptions> = {}, channels = 2, v?: VmbusVersion): ChannelId[] {
  recorder = new ServerRecorder();
  server = new VmbusServer(recorder, { guestMemoryPages: 4096, vpCount: 2, messageConnectionId: 9, ...options });
  const ids = Array.from({ length: channels }, (_, i) => server.offerChannel({ interfaceType: classId, interfaceInstance: instance(i) }));
  server.handle(contact(v));
  server.handle({ type: T.requestOffers });
  recorder.take();
  return ids;
}

function createGpadl(channel: ChannelId, id: GpadlId, n: number, base = 0x100): void {
  for (const m of splitGpadl(channel, id, { byteCount: n * 4096, byteOffset: 0, pfns: pages(n, base) })) server.handle(encodeChannelMessage(m));
}

function open(channel: ChannelId, gpadl: GpadlId, offset = 4): void {
  server.handle({ type: T.openChannel, childRelid: channel, openId: channel, ringBufferGpadlId: gpadl, targetVp: 0, downstreamRingBufferPageOffset: offset, userData: new Uint8Array(120) });
}

describe('negotiation', () => {
  beforeEach(() => {
    recorder = new ServerRecorder();
    server = new VmbusServer(recorder, { guestMemoryPages: 4096, messageConnectionId: 9 });
  });

  it('accepts 5.3 and returns its message connection id', () => {
    server.handle(encodeChannelMessage(contact()));
    const { sent, events } = recorder.take();
    expect(sent).toEqual([{ type: T.versionResponse, versionSupported: true, connectionState: 0, messageConnectionId: 9 }]);
    expect(events[0]?.kind).toBe('connected');
    expect(server.version).toBe(VmbusVersions.win10V5_3);
  });

  it('uses connection id 1 before 5.0', () => {
    server.handle(contact(VmbusVersions.win10));
    expect(recorder.take().sent).toEqual([{ type: T.versionResponse, versionSupported: true, connectionState: 0, messageConnectionId: 0 }]);
    expect(server.connection.kind === 'connected' && server.connection.info.messageConnectionId).toBe(1);
  });

  it('refuses versions it does not know or is limited from', () => {
    server = new VmbusServer(recorder, { guestMemoryPages: 4096, maxVersion: VmbusVersions.win10V4_1 });
    for (const v of [VmbusVersions.win10V6_0, VmbusVersions.win10V5_3, VmbusVersions.win10V5, VmbusVersions.win7, 0x00050007]) {
      server.handle(contact(v));
      expect(recorder.take().sent).toEqual([{ type: T.versionResponse, versionSupported: false, connectionState: 0, messageConnectionId: 0 }]);
    }
    server.handle(contact(VmbusVersions.win10V4_1));
    expect(recorder.take().sent[0]).toMatchObject({ versionSupported: true });
    expect(server.metrics.versionsRefused).toBe(5);
  });

  it('refuses a contact with fields out of range', () => {
    server = new VmbusServer(recorder, { guestMemoryPages: 16, vpCount: 1 });
    const base = contact() as Extract<ChannelMessage, { type: 14 }>;
    for (const bad of [
      { ...base, targetVcpu: 1 },
      { ...base, target: { kind: 'sint' as const, messageSint: 16, messageVtl: 0, featureFlags: 0 } },
      { ...base, target: { kind: 'sint' as const, messageSint: 2, messageVtl: 1, featureFlags: 0 } },
      { ...base, monitorPage1: 0x1001 },
      { ...base, monitorPage2: 16 * 4096 },
      { ...(contact(VmbusVersions.win10) as typeof base), target: { kind: 'interruptPage' as const, interruptPage: 0x10_0000 } },
    ]) {
      server.handle(bad);
      const { sent, events } = recorder.take();
      expect(sent[0]).toMatchObject({ versionSupported: false });
      expect(events).toMatchObject([{ kind: 'protocolError', reason: 'bad-contact' }]);
    }
    expect(server.connection.kind).toBe('disconnected');
  });

  it('drops channel messages before contact', () => {
    server.handle({ type: T.requestOffers });
    server.handle({ type: T.closeChannel, childRelid: channelId(1) });
    server.handle({ type: T.unload });
    expect(recorder.sent).toEqual([]);
    expect(recorder.errors()).toEqual(['wrong-connection-state', 'wrong-connection-state', 'wrong-connection-state']);
  });
});

describe('offers', () => {
  it('sends every offer, then ALLOFFERS_DELIVERED, then hot-added offers at once', () => {
    recorder = new ServerRecorder();
    server = new VmbusServer(recorder, { guestMemoryPages: 4096 });
    const a = server.offerChannel({ interfaceType: classId, interfaceInstance: instance(1), userDefined: Uint8Array.of(1, 2, 3) });
    const b = server.offerChannel({ interfaceType: classId, interfaceInstance: instance(2), connectionId: 77 });
    expect([a, b]).toEqual([1, 2]);
    server.handle(contact());
    recorder.take();
    expect(recorder.sent).toEqual([]);
    server.handle({ type: T.requestOffers });
    const { sent } = recorder.take();
    expect(sent.map((m) => m.type)).toEqual([T.offerChannel, T.offerChannel, T.allOffersDelivered]);
    expect(sent[0]).toMatchObject({ childRelid: 1, interfaceInstance: instance(1), connectionId: 1 });
    expect(sent[1]).toMatchObject({ childRelid: 2, connectionId: 77 });
    const c = server.offerChannel({ interfaceType: classId, interfaceInstance: instance(3) });
    expect(recorder.take().sent).toMatchObject([{ type: T.offerChannel, childRelid: c }]);
    server.handle({ type: T.requestOffers });
    expect(recorder.errors()).toEqual(['wrong-connection-state']);
  });

  it('refuses host→guest types from the guest', () => {
    connect();
    server.handle(encodeChannelMessage({ type: T.versionResponse, versionSupported: true, connectionState: 0, messageConnectionId: 1 }));
    server.handle({ type: T.offerChannel } as ChannelMessage);
    server.handle(encodeChannelMessage({ type: T.closeReservedResponse, body: new Uint8Array(4) }));
    expect(recorder.errors()).toEqual(['wrong-direction', 'wrong-direction', 'wrong-direction']);
  });
});

describe('GPADLs', () => {
  it('creates a GPADL spanning several bodies and reports its pages', () => {
    const [c] = connect() as [ChannelId];
    createGpadl(c, gpadlId(0xe1e10), 100);
    const { sent, events } = recorder.take();
    expect(sent).toEqual([{ type: T.gpadlCreated, childRelid: c, gpadlId: 0xe1e10, status: 0 }]);
    expect(events).toEqual([{ kind: 'gpadlCreated', channel: c, gpadlId: 0xe1e10, range: { byteCount: 100 * 4096, byteOffset: 0, pfns: pages(100) } }]);
  });

  it('refuses bad GPADLs with a failed GPADL_CREATED', () => {
    const [c] = connect({ guestMemoryPages: 1000, maxGpadls: 3 }) as [ChannelId];
    const failed = (id: number, status: number = ChannelStatus.unsuccessful) => [{ type: T.gpadlCreated, childRelid: c, gpadlId: id, status }];
    createGpadl(c, gpadlId(1), 30, 990);
    expect(recorder.take().sent).toEqual(failed(1));
    createGpadl(c, gpadlId(2), 4);
    createGpadl(c, gpadlId(2), 4);
    expect(recorder.take().sent).toEqual([...failed(2, 0), ...failed(2)]);
    server.handle({ type: T.gpadlHeader, childRelid: c, gpadlId: gpadlId(3), rangeBufferLength: 16, rangeCount: 2, byteCount: 4096, byteOffset: 0, pfns: [1] });
    server.handle({ type: T.gpadlHeader, childRelid: channelId(99), gpadlId: gpadlId(4), rangeBufferLength: 16, rangeCount: 1, byteCount: 4096, byteOffset: 0, pfns: [1] });
    expect(recorder.take().sent).toEqual([...failed(3), { type: T.gpadlCreated, childRelid: 99, gpadlId: 4, status: ChannelStatus.unsuccessful }]);
    createGpadl(c, gpadlId(5), 1);
    createGpadl(c, gpadlId(6), 1);
    createGpadl(c, gpadlId(7), 1);
    expect(recorder.take().sent.map((m) => 'status' in m && m.status)).toEqual([0, 0, ChannelStatus.insufficientResources]);
    expect(server.metrics.errorsByReason).toMatchObject({ 'pfn-beyond-memory': 1, 'duplicate-gpadl': 1, 'range-count-unsupported': 1, 'unknown-channel': 1, 'gpadl-limit': 1 });
  });

  it('drops bodies for GPADLs that are not assembling, and answers overflow', () => {
    const [c] = connect() as [ChannelId];
    server.handle({ type: T.gpadlBody, messageNumber: 0, gpadlId: gpadlId(5), pfns: [1] });
    expect(recorder.take()).toMatchObject({ sent: [], events: [{ kind: 'protocolError', reason: 'unknown-gpadl' }] });
    const [header] = splitGpadl(c, gpadlId(5), { byteCount: 27 * 4096, byteOffset: 0, pfns: pages(27) });
    server.handle(header);
    server.handle({ type: T.gpadlBody, messageNumber: 0, gpadlId: gpadlId(5), pfns: [1, 2] });
    expect(recorder.take().sent).toEqual([{ type: T.gpadlCreated, childRelid: c, gpadlId: 5, status: ChannelStatus.unsuccessful }]);
    expect(server.gpadls.size).toBe(0);
    expect(server.checkConsistency()).toEqual([]);
  });
});

describe('open, close, teardown', () => {
  it('opens over a GPADL, closes, defers the ring teardown to the close, and reopens', () => {
    const [c] = connect() as [ChannelId];
    const ring = gpadlId(0xe1e10);
    createGpadl(c, ring, 8);
    recorder.take();
    open(c, ring, 4);
    expect(recorder.take().events).toEqual([
      { kind: 'openRequested', channel: c, request: { openId: c, gpadlId: ring, downstreamPageOffset: 4, targetVp: 0, userData: new Uint8Array(120) }, ring: expect.objectContaining({ pfns: pages(8) }) },
    ]);
    expect(server.completeOpen(c, 0)).toBe(true);
    expect(recorder.take().sent).toEqual([{ type: T.openChannelResult, childRelid: c, openId: c, status: 0 }]);
    server.handle({ type: T.closeChannel, childRelid: c });
    expect(recorder.take().events).toEqual([{ kind: 'closeRequested', channel: c }]);
    server.handle({ type: T.gpadlTeardown, childRelid: c, gpadlId: ring });
    expect(recorder.take().sent).toEqual([]);
    expect(server.completeClose(c)).toBe(true);
    expect(recorder.take()).toEqual({ sent: [{ type: T.gpadlTorndown, gpadlId: ring }], events: [{ kind: 'gpadlTornDown', channel: c, gpadlId: ring }] });
    createGpadl(c, gpadlId(7), 4);
    open(c, gpadlId(7), 2);
    server.completeOpen(c, 0);
    expect(server.channelState(c)?.kind).toBe('open');
    expect(server.completeOpen(c, 0)).toBe(false);
    expect(server.completeClose(c)).toBe(false);
  });

  it('queues an OPENCHANNEL that arrives while closing', () => {
    const [c] = connect() as [ChannelId];
    createGpadl(c, gpadlId(1), 4);
    open(c, gpadlId(1), 2);
    server.completeOpen(c, 0);
    server.handle({ type: T.closeChannel, childRelid: c });
    open(c, gpadlId(1), 2);
    recorder.take();
    server.completeClose(c);
    expect(recorder.take().events.map((e) => e.kind)).toEqual(['openRequested']);
  });

  it('answers bad opens with a failure status', () => {
    const [c, d] = connect() as [ChannelId, ChannelId];
    createGpadl(c, gpadlId(1), 8);
    createGpadl(d, gpadlId(2), 8);
    recorder.take();
    const result = (status: number, relid = c) => ({ type: T.openChannelResult, childRelid: relid, openId: relid, status });
    open(c, gpadlId(9)); // no such GPADL
    open(c, gpadlId(2)); // another channel's GPADL
    open(c, gpadlId(1), 1); // send ring without data pages
    open(c, gpadlId(1), 7); // receive ring without data pages
    open(channelId(50), gpadlId(1)); // never offered
    server.handle({ type: T.openChannel, childRelid: c, openId: 1, ringBufferGpadlId: gpadlId(1), targetVp: 5, downstreamRingBufferPageOffset: 4, userData: new Uint8Array(120) });
    const { sent } = recorder.take();
    expect(sent).toEqual([
      result(ChannelStatus.invalidParameter),
      result(ChannelStatus.invalidParameter),
      result(ChannelStatus.invalidParameter),
      result(ChannelStatus.invalidParameter),
      { type: T.openChannelResult, childRelid: 50, openId: 50, status: ChannelStatus.invalidParameter },
      { type: T.openChannelResult, childRelid: c, openId: 1, status: ChannelStatus.invalidParameter },
    ]);
    open(c, gpadlId(1));
    open(c, gpadlId(1));
    expect(recorder.take().sent).toEqual([result(ChannelStatus.invalidDeviceState)]);
    server.completeOpen(c, ChannelStatus.unsuccessful);
    expect(recorder.take().sent).toEqual([result(ChannelStatus.unsuccessful)]);
    expect(server.channelState(c)?.kind).toBe('offered');
  });

  it('retargets an open channel, answering from 5.3 on', () => {
    const [c] = connect() as [ChannelId];
    server.handle({ type: T.modifyChannel, childRelid: c, targetVp: 1 });
    expect(recorder.take().sent).toEqual([{ type: T.modifyChannelResponse, childRelid: c, status: ChannelStatus.invalidDeviceState }]);
    createGpadl(c, gpadlId(1), 4);
    open(c, gpadlId(1), 2);
    server.completeOpen(c, 0);
    recorder.take();
    server.handle({ type: T.modifyChannel, childRelid: c, targetVp: 1 });
    expect(recorder.take()).toEqual({
      sent: [{ type: T.modifyChannelResponse, childRelid: c, status: 0 }],
      events: [{ kind: 'modifyRequested', channel: c, targetVp: 1 }],
    });
    server.handle({ type: T.modifyChannel, childRelid: c, targetVp: 2 });
    expect(recorder.take().sent).toEqual([{ type: T.modifyChannelResponse, childRelid: c, status: ChannelStatus.invalidParameter }]);
    connect({}, 1, VmbusVersions.win10);
    server.handle(encodeChannelMessage({ type: T.modifyChannel, childRelid: channelId(1), targetVp: 0 }));
    expect(recorder.errors()).toEqual(['not-in-version']);
  });
});

describe('rescind and release', () => {
  it('fails an open in progress, sends RESCIND, ignores later opens, frees the id on RELID_RELEASED', () => {
    const [c] = connect() as [ChannelId];
    createGpadl(c, gpadlId(1), 4);
    const [header] = splitGpadl(c, gpadlId(2), { byteCount: 40 * 4096, byteOffset: 0, pfns: pages(40) });
    server.handle(header);
    open(c, gpadlId(1), 2);
    recorder.take();
    expect(server.rescindChannel(c)).toBe(true);
    expect(recorder.take().sent).toEqual([
      { type: T.openChannelResult, childRelid: c, openId: c, status: ChannelStatus.unsuccessful },
      { type: T.gpadlCreated, childRelid: c, gpadlId: 2, status: ChannelStatus.unsuccessful },
      { type: T.rescindChannelOffer, childRelid: c },
    ]);
    expect(server.completeOpen(c, 0)).toBe(false);
    open(c, gpadlId(1), 2);
    expect(recorder.take().sent).toEqual([]);
    expect(server.metrics.ignoredAfterRescind).toBe(1);
    // The id stays taken until released.
    expect(server.offerChannel({ interfaceType: classId, interfaceInstance: instance(9) })).toBe(3);
    recorder.take();
    server.handle({ type: T.relidReleased, childRelid: c });
    expect(recorder.take().events).toEqual([
      { kind: 'gpadlTornDown', channel: c, gpadlId: 1 },
      { kind: 'channelReleased', channel: c },
    ]);
    expect(server.offerChannel({ interfaceType: classId, interfaceInstance: instance(10) })).toBe(c);
    expect(server.rescindChannel(channelId(2000))).toBe(false);
    expect(server.checkConsistency()).toEqual([]);
  });

  it('withdraws an unsent offer silently, and refuses RELID_RELEASED for a live channel', () => {
    recorder = new ServerRecorder();
    server = new VmbusServer(recorder, { guestMemoryPages: 64 });
    const c = server.offerChannel({ interfaceType: classId, interfaceInstance: instance(1) });
    expect(server.rescindChannel(c)).toBe(true);
    expect(recorder.sent).toEqual([]);
    const [d] = connect() as [ChannelId];
    createGpadl(d, gpadlId(1), 4);
    open(d, gpadlId(1), 2);
    server.completeOpen(d, 0);
    recorder.take();
    server.handle({ type: T.relidReleased, childRelid: d });
    expect(recorder.errors()).toEqual(['wrong-channel-state']);
  });
});

describe('unload and reset', () => {
  it('closes open channels, waits for the device, drops GPADLs, then answers UNLOAD', () => {
    const [c, d] = connect() as [ChannelId, ChannelId];
    createGpadl(c, gpadlId(1), 4);
    createGpadl(d, gpadlId(2), 4);
    open(c, gpadlId(1), 2);
    server.completeOpen(c, 0);
    open(d, gpadlId(2), 2);
    recorder.take();
    server.handle({ type: T.unload });
    expect(recorder.take()).toEqual({ sent: [], events: [{ kind: 'closeRequested', channel: c }] });
    server.handle({ type: T.requestOffers });
    expect(recorder.errors()).toEqual(['wrong-connection-state']);
    server.completeClose(c);
    expect(recorder.take().sent).toEqual([]);
    server.completeOpen(d, 0);
    expect(recorder.take().events).toEqual([{ kind: 'closeRequested', channel: d }]);
    server.completeClose(d);
    const { sent, events } = recorder.take();
    expect(sent).toEqual([{ type: T.unloadResponse }]);
    expect(events).toEqual([
      { kind: 'gpadlTornDown', channel: c, gpadlId: 1 },
      { kind: 'gpadlTornDown', channel: d, gpadlId: 2 },
      { kind: 'disconnected', reason: 'unload' },
    ]);
    expect(server.checkConsistency()).toEqual([]);
    expect([server.channelState(c), server.channelState(d)]).toEqual([{ kind: 'pending' }, { kind: 'pending' }]);
  });

  it('resets on a new INITIATE_CONTACT and negotiates it', () => {
    const [c] = connect() as [ChannelId];
    createGpadl(c, gpadlId(1), 4);
    server.rescindChannel(c);
    recorder.take();
    server.handle(contact(VmbusVersions.win8));
    const { sent, events } = recorder.take();
    expect(sent).toEqual([{ type: T.versionResponse, versionSupported: true, connectionState: 0, messageConnectionId: 0 }]);
    expect(events.map((e) => e.kind)).toEqual(['gpadlTornDown', 'channelReleased', 'disconnected', 'connected']);
    expect(server.version).toBe(VmbusVersions.win8);
    expect(server.channelState(c)).toBeUndefined();
  });
});

describe('malformed-message corpus', () => {
  it('reports every reason a guest can cause, each with a reply or a drop', () => {
    const [c, d] = connect({ guestMemoryPages: 1000, maxAssembling: 2 }) as [ChannelId, ChannelId];
    const header = (over: object) => ({ type: T.gpadlHeader, childRelid: c, gpadlId: gpadlId(40), rangeBufferLength: 16, rangeCount: 1, byteCount: 4096, byteOffset: 0, pfns: [1], ...over }) as ChannelMessage;
    const corpus: [string, ChannelMessage | Uint8Array][] = [
      ['too-short', new Uint8Array(4)],
      ['oversize', new Uint8Array(241)],
      ['unknown-type', Uint8Array.of(99, 0, 0, 0, 0, 0, 0, 0)],
      ['not-in-version', encodeChannelMessage({ type: T.modifyConnection, body: new Uint8Array(8) })],
      ['address-out-of-range', new Uint8Array(encodeChannelMessage(contact())).fill(0xff, 32)],
      ['misaligned-length', encodeChannelMessage(header({})).subarray(0, 30)],
      ['relid-out-of-range', new Uint8Array(encodeChannelMessage({ type: T.closeChannel, childRelid: c }).fill(0xff, 8))],
      ['pfn-out-of-range', Uint8Array.from([...encodeChannelMessage({ type: T.gpadlBody, messageNumber: 0, gpadlId: gpadlId(1), pfns: [1] }).subarray(0, 16), 0, 0, 0, 0, 0, 0, 0xff, 0xff])],
      ['wrong-direction', { type: T.unloadResponse }],
      ['unsupported-message', encodeChannelMessage({ type: T.openReservedChannel, body: new Uint8Array(20) })],
      ['unknown-channel', { type: T.closeChannel, childRelid: channelId(77) }],
      ['wrong-channel-state', { type: T.closeChannel, childRelid: c }],
      ['range-count-unsupported', header({ rangeCount: 3 })],
      ['range-empty', header({ byteCount: 0 })],
      ['range-offset-beyond-page', header({ byteOffset: 5000 })],
      ['range-length-mismatch', header({ rangeBufferLength: 8 })],
      ['too-many-pfns', header({ byteCount: 9000 * 4096, rangeBufferLength: 0xffff })],
      ['pfn-beyond-memory', header({ pfns: [1000] })],
      ['duplicate-gpadl', header({ gpadlId: gpadlId(1) })],
      ['gpadl-limit', header({ gpadlId: gpadlId(41), byteCount: 8192, rangeBufferLength: 24 })],
      ['pfn-overflow', { type: T.gpadlBody, messageNumber: 0, gpadlId: gpadlId(2), pfns: [5, 6, 7] }],
      ['unknown-gpadl', { type: T.gpadlBody, messageNumber: 0, gpadlId: gpadlId(3), pfns: [5] }],
      ['wrong-gpadl-state', { type: T.gpadlTeardown, childRelid: c, gpadlId: gpadlId(1) }],
      ['wrong-connection-state', { type: T.requestOffers }],
      ['bad-open-request', { type: T.openChannel, childRelid: d, openId: 1, ringBufferGpadlId: gpadlId(9), targetVp: 0, downstreamRingBufferPageOffset: 0, userData: new Uint8Array(120) }],
      ['bad-target-vp', { type: T.modifyChannel, childRelid: c, targetVp: 9 }],
      ['bad-contact', { ...(contact() as Extract<ChannelMessage, { type: 14 }>), targetVcpu: 9 }],
    ];
    createGpadl(c, gpadlId(1), 4);
    open(c, gpadlId(1), 2);
    server.completeOpen(c, 0);
    // GPADL 2 stays assembling (one of the two assembly slots).
    server.handle({ type: T.gpadlHeader, childRelid: d, gpadlId: gpadlId(2), rangeBufferLength: 8 + 8 * 28, rangeCount: 1, byteCount: 28 * 4096, byteOffset: 0, pfns: pages(26) });
    recorder.take();
    const reasons: string[] = [];
    for (const [expected, input] of corpus) {
      if (expected === 'wrong-connection-state') server.handle({ type: T.unload });
      if (expected === 'wrong-channel-state') server.handle({ type: T.closeChannel, childRelid: c });
      // The ring of the closing channel: the first teardown is deferred, the second is refused.
      if (expected === 'wrong-gpadl-state') server.handle({ type: T.gpadlTeardown, childRelid: c, gpadlId: gpadlId(1) });
      // Fill the second assembly slot.
      if (expected === 'gpadl-limit') server.handle(header({ gpadlId: gpadlId(42), byteCount: 8192, rangeBufferLength: 24 }));
      if (expected === 'bad-open-request' || expected === 'bad-target-vp' || expected === 'bad-contact') {
        // Fresh connection for the last cases.
        if (expected === 'bad-open-request') connect({ guestMemoryPages: 1000 });
        if (expected === 'bad-target-vp') {
          createGpadl(c, gpadlId(1), 4);
          open(c, gpadlId(1), 2);
          server.completeOpen(c, 0);
        }
        if (expected === 'bad-contact') {
          recorder = new ServerRecorder();
          server = new VmbusServer(recorder, { guestMemoryPages: 1000, vpCount: 2 });
        }
        recorder.take();
      }
      server.handle(input);
      const errors = recorder.take().events.flatMap((e) => (e.kind === 'protocolError' ? [e.reason] : []));
      expect(errors, expected).toContain(expected);
      reasons.push(expected);
      expect(server.checkConsistency()).toEqual([]);
    }
    // Every reason a guest can trigger through the server is in the corpus.
    // Not reachable: no feature flag exists up to 5.3; the server routes bodies by GPADL id, one
    // assembler per GPADL; a teardown of a GPADL still assembling is reported as wrong-gpadl-state.
    // 'pfn-not-mapped' needs a memory map (isPageMapped), which this server has not: vmbus-host.test.ts.
    const unreachable = ['missing-feature', 'gpadl-mismatch', 'unexpected-message', 'incomplete', 'pfn-not-mapped'];
    const all = [
      'too-short', 'oversize', 'unknown-type', 'not-in-version', 'missing-feature', 'misaligned-length', 'relid-out-of-range', 'pfn-out-of-range',
      'address-out-of-range', 'range-count-unsupported', 'range-empty', 'range-offset-beyond-page', 'range-length-mismatch', 'too-many-pfns',
      'pfn-overflow', 'pfn-beyond-memory', 'pfn-not-mapped', 'gpadl-mismatch', 'unexpected-message', 'incomplete', 'wrong-direction', 'unsupported-message',
      'wrong-connection-state', 'unknown-channel', 'wrong-channel-state', 'bad-open-request', 'bad-target-vp', 'bad-contact', 'duplicate-gpadl',
      'unknown-gpadl', 'wrong-gpadl-state', 'gpadl-limit',
    ];
    expect(new Set([...reasons, ...unreachable])).toEqual(new Set(all));
  });
});

describe('fuzz', () => {
  type Action =
    | { kind: 'bytes'; bytes: Uint8Array }
    | { kind: 'messages'; messages: ChannelMessage[] }
    | { kind: 'offer' }
    | { kind: 'offerSub'; primary: number; index: number }
    | { kind: 'openWell'; id: number; gpadl: number }
    | { kind: 'rescind'; id: number }
    | { kind: 'completeOpen'; id: number; status: number }
    | { kind: 'completeClose'; id: number };
  const smallId = fc.integer({ min: 1, max: 4 });
  const relid = smallId as fc.Arbitrary<ChannelId>;
  const gpadl = smallId as fc.Arbitrary<GpadlId>;
  const one = (a: fc.Arbitrary<ChannelMessage>): fc.Arbitrary<ChannelMessage[]> => a.map((m) => [m]);
  /** Well-formed messages with ids from a small pool, so they hit real channels and GPADLs in every state. */
  const plausible: fc.Arbitrary<ChannelMessage[]> = fc.oneof(
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(VmbusVersions.win10V5_3, VmbusVersions.win10, VmbusVersions.win8, VmbusVersions.win7)
        .map((v): ChannelMessage[] => [contact(v), { type: T.requestOffers }]),
    },
    { weight: 1, arbitrary: one(fc.constant({ type: T.requestOffers })) },
    { weight: 1, arbitrary: one(fc.constant({ type: T.unload })) },
    {
      weight: 8,
      arbitrary: fc
      .tuple(relid, gpadl, fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 3 }))
      .map(([c, g, n, base, drop]) => {
        const messages: ChannelMessage[] = splitGpadl(c, g, { byteCount: n * 4096, byteOffset: 0, pfns: pages(n, base) });
          return drop === 0 && messages.length > 1 ? messages.slice(0, -1) : messages;
        }),
    },
    {
      weight: 8,
      arbitrary: one(
      fc.tuple(relid, gpadl, fc.oneof(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 0, max: 10 })), fc.integer({ min: 0, max: 2 })).map(([c, g, offset, vp]) => ({
        type: T.openChannel,
        childRelid: c,
        openId: c,
        ringBufferGpadlId: g,
        targetVp: vp,
        downstreamRingBufferPageOffset: offset,
        userData: new Uint8Array(120),
      })),
      ),
    },
    { weight: 3, arbitrary: one(relid.map((c) => ({ type: T.closeChannel, childRelid: c }))) },
    { weight: 3, arbitrary: one(fc.tuple(relid, gpadl).map(([c, g]) => ({ type: T.gpadlTeardown, childRelid: c, gpadlId: g }))) },
    { weight: 2, arbitrary: one(relid.map((c) => ({ type: T.relidReleased, childRelid: c }))) },
    one(fc.tuple(relid, fc.integer({ min: 0, max: 2 })).map(([c, vp]) => ({ type: T.modifyChannel, childRelid: c, targetVp: vp }))),
    one(anyMessage),
  );
  const action: fc.Arbitrary<Action> = fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 250 }).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
    { weight: 12, arbitrary: plausible.map((messages) => ({ kind: 'messages' as const, messages })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'offer' as const }) },
    { weight: 2, arbitrary: fc.tuple(smallId, fc.integer({ min: 0, max: 3 })).map(([primary, index]) => ({ kind: 'offerSub' as const, primary, index })) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 100, max: 120 })).map(([id, g]) => ({ kind: 'openWell' as const, id, gpadl: g })) },
    { weight: 1, arbitrary: smallId.map((id) => ({ kind: 'rescind' as const, id })) },
    { weight: 3, arbitrary: fc.tuple(smallId, fc.constantFrom(0, 0, 1)).map(([id, status]) => ({ kind: 'completeOpen' as const, id, status })) },
    { weight: 3, arbitrary: smallId.map((id) => ({ kind: 'completeClose' as const, id })) },
  );

  it('never throws, answers in bounded work and stays consistent', () => {
    const totals: Record<string, number> = {};
    fc.assert(
      fc.property(fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), fc.array(action, { minLength: 20, maxLength: 200, size: 'medium' }), (startConnected, actions) => {
        if (startConnected) connect({ guestMemoryPages: 512, maxGpadls: 8 }, 3);
        else {
          recorder = new ServerRecorder();
          server = new VmbusServer(recorder, { guestMemoryPages: 512, vpCount: 2 });
        }
        for (const a of actions) {
          const before = recorder.sent.length;
          switch (a.kind) {
            case 'bytes':
              server.handle(a.bytes);
              break;
            case 'messages':
              // Half the time through the decoder, as an adapter delivers them.
              for (const m of a.messages) server.handle(a.messages.length % 2 === 0 ? encodeChannelMessage(m) : m);
              break;
            case 'offer':
              server.offerChannel({ interfaceType: classId, interfaceInstance: instance(server.channels.size) });
              break;
            case 'offerSub':
              // A device asking at the wrong time gets a typed error; anything else must not throw.
              try {
                // primary 1: the first open primary, if there is one (opens are rare in random input).
                const open = [...server.channels.values()].find((c) => c.primary === undefined && c.state.kind === 'open');
                server.offerSubChannel((a.primary === 1 && open ? open.id : a.primary) as ChannelId, a.index);
                totals.subChannelsOffered = (totals.subChannelsOffered ?? 0) + 1;
              } catch (error) {
                expect(error).toSatisfy((e) => e instanceof ChannelStateError || e instanceof InvalidArgumentError);
              }
              break;
            case 'openWell':
              // A well-formed GPADL, OPENCHANNEL and device success for one channel (often a sub-channel).
              for (const m of splitGpadl(a.id as ChannelId, a.gpadl as GpadlId, { byteCount: 4 * 4096, byteOffset: 0, pfns: pages(4) })) server.handle(m);
              open(a.id as ChannelId, a.gpadl as GpadlId, 2);
              server.completeOpen(a.id as ChannelId, 0);
              break;
            case 'rescind':
              server.rescindChannel(a.id as ChannelId);
              break;
            case 'completeOpen':
              server.completeOpen(a.id as ChannelId, a.status);
              break;
            case 'completeClose':
              server.completeClose(a.id as ChannelId);
              break;
          }
          // A single input never makes the server send an unbounded burst.
          expect(recorder.sent.length - before).toBeLessThanOrEqual(server.channels.size + 4);
          expect(server.checkConsistency()).toEqual([]);
        }
        for (const m of recorder.sent) expect(() => encodeChannelMessage(m)).not.toThrow();
        for (const [k, v] of Object.entries(server.metrics)) if (typeof v === 'number') totals[k] = (totals[k] ?? 0) + v;
        for (const [k, v] of Object.entries(server.metrics.errorsByReason)) totals[k] = (totals[k] ?? 0) + v;
      }),
      { numRuns: 300 },
    );
    // The pool of ids is small enough that the machine is driven through its real paths.
    for (const counter of ['subChannelsOffered', 'opensRequested', 'closesRequested', 'gpadlsCreated', 'gpadlsTornDown', 'protocolErrors', 'ignoredAfterRescind']) {
      expect(totals[counter], counter).toBeGreaterThan(0);
    }
  });
});
