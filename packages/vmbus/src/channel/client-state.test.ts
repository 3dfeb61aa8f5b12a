/**
 * The VMBus client alone, against a scripted host: what it posts and on which connection id,
 * how it treats replies nobody asked for, rescinds that race an open or a GPADL, and local misuse.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyMessage } from '../protocol/channel-message-arbitraries.test-support.ts';
import { encodeChannelMessage } from '../protocol/channel-message-codec.ts';
import { ChannelMessageType as T, ChannelStatus } from '../protocol/channel-message-layout.ts';
import { channelId, gpadlId, type ChannelId, type GuestToHostMessage, type OfferChannelMessage } from '../protocol/channel-messages.ts';
import { NIL_GUID } from '../protocol/guid.ts';
import { VmbusVersions } from '../protocol/vmbus-version.ts';
import { ChannelStateError } from '../errors.ts';
import type { ClientEvent } from './client-events.ts';
import { VmbusClient } from './client-state.ts';

class Host {
  sent: { message: GuestToHostMessage; connectionId: number }[] = [];
  events: ClientEvent[] = [];
  readonly client = new VmbusClient({
    send: (message, connectionId) => this.sent.push({ message, connectionId }),
    emit: (event) => this.events.push(event),
  });
  take(): { sent: Host['sent']; events: ClientEvent[] } {
    const out = { sent: this.sent, events: this.events };
    this.sent = [];
    this.events = [];
    return out;
  }
}

const offer = (relid: number): OfferChannelMessage => ({
  type: T.offerChannel,
  interfaceType: NIL_GUID,
  interfaceInstance: NIL_GUID,
  channelFlags: 0,
  mmioMegabytes: 0,
  userDefined: new Uint8Array(120),
  subChannelIndex: 0,
  mmioMegabytesOptional: 0,
  childRelid: channelId(relid),
  monitorId: 0,
  monitorAllocated: false,
  dedicatedInterrupt: false,
  connectionId: relid,
});

function connected(): Host {
  const host = new Host();
  host.client.connect();
  host.client.handle({ type: T.versionResponse, versionSupported: true, connectionState: 0, messageConnectionId: 7 });
  host.client.handle(offer(1));
  host.client.handle({ type: T.allOffersDelivered });
  host.take();
  return host;
}

describe('VmbusClient', () => {
  it('posts INITIATE_CONTACT to connection 4 from 5.0 and to 1 before, then uses the host’s id', () => {
    const host = new Host();
    host.client.connect();
    expect(host.take().sent).toMatchObject([{ connectionId: 4, message: { type: T.initiateContact, versionRequested: VmbusVersions.win10V5_3, target: { kind: 'sint', messageSint: 2 } } }]);
    for (let i = 0; i < 4; i++) host.client.contactPostFailed();
    expect(host.take().sent).toMatchObject([
      { connectionId: 4, message: { versionRequested: VmbusVersions.win10V5_2 } },
      { connectionId: 4, message: { versionRequested: VmbusVersions.win10V5_1 } },
      { connectionId: 4, message: { versionRequested: VmbusVersions.win10V5 } },
      { connectionId: 1, message: { versionRequested: VmbusVersions.win10V4_1, target: { kind: 'interruptPage' } } },
    ]);
    host.client.handle({ type: T.versionResponse, versionSupported: true, connectionState: 0, messageConnectionId: 7 });
    expect(host.take()).toMatchObject({ sent: [{ connectionId: 1, message: { type: T.requestOffers } }], events: [{ kind: 'connected', messageConnectionId: 1 }] });
    expect(() => host.client.contactPostFailed()).toThrow(ChannelStateError);
  });

  it('fails an open and a GPADL in flight when the channel is rescinded', () => {
    const host = connected();
    const relid = channelId(1);
    const g = host.client.createGpadl(relid, { byteCount: 8192, byteOffset: 0, pfns: [1, 2] });
    host.client.handle({ type: T.gpadlCreated, childRelid: relid, gpadlId: g, status: 0 });
    host.client.openChannel(relid, { gpadlId: g, downstreamPageOffset: 1 });
    const g2 = host.client.createGpadl(relid, { byteCount: 4096, byteOffset: 0, pfns: [3] });
    host.take();
    host.client.handle(encodeChannelMessage({ type: T.rescindChannelOffer, childRelid: relid }));
    expect(host.take().events).toEqual([
      { kind: 'openResult', channel: relid, openId: relid, status: ChannelStatus.unsuccessful },
      { kind: 'gpadlCreated', channel: relid, gpadlId: g2, status: ChannelStatus.unsuccessful },
      { kind: 'rescinded', channel: relid },
    ]);
    expect(() => host.client.createGpadl(relid, { byteCount: 4096, byteOffset: 0, pfns: [3] })).toThrow(ChannelStateError);
    host.client.teardownGpadl(relid, g);
    host.client.releaseChannel(relid);
    expect(host.take().sent.map((s) => s.message.type)).toEqual([T.gpadlTeardown, T.relidReleased]);
    expect(host.client.channel(relid)).toBeUndefined();
  });

  it('drops what the host should not send, with a reason', () => {
    const host = connected();
    host.client.handle({ type: T.openChannelResult, childRelid: channelId(1), openId: 1, status: 0 });
    host.client.handle({ type: T.gpadlCreated, childRelid: channelId(1), gpadlId: gpadlId(5), status: 0 });
    host.client.handle({ type: T.gpadlTorndown, gpadlId: gpadlId(5) });
    host.client.handle({ type: T.versionResponse, versionSupported: true, connectionState: 0, messageConnectionId: 1 });
    host.client.handle({ type: T.allOffersDelivered });
    host.client.handle(offer(1));
    host.client.handle({ type: T.rescindChannelOffer, childRelid: channelId(9) });
    host.client.handle({ type: T.unloadResponse });
    host.client.handle({ type: T.requestOffers });
    host.client.handle(encodeChannelMessage({ type: T.tlConnectResult, body: new Uint8Array(4) }));
    host.client.handle(new Uint8Array(3));
    expect(host.take().events.map((e) => e.kind === 'protocolError' && e.reason)).toEqual([
      'unexpected-message',
      'unexpected-message',
      'unexpected-message',
      'unexpected-message',
      'unexpected-message',
      'duplicate-offer',
      'unknown-channel',
      'unexpected-message',
      'wrong-direction',
      'unsupported-message',
      'too-short',
    ]);
    expect(host.client.connection.kind).toBe('connected');
  });

  it('refuses local misuse', () => {
    const host = new Host();
    const relid = channelId(1) as ChannelId;
    expect(() => host.client.createGpadl(relid, { byteCount: 4096, byteOffset: 0, pfns: [1] })).toThrow(ChannelStateError);
    expect(() => host.client.unload()).toThrow(ChannelStateError);
    host.client.connect();
    expect(() => host.client.connect()).toThrow(ChannelStateError);
    const live = connected();
    expect(() => live.client.openChannel(relid, { gpadlId: gpadlId(1), downstreamPageOffset: 2 })).toThrow(ChannelStateError);
    expect(() => live.client.closeChannel(relid)).toThrow(ChannelStateError);
    expect(() => live.client.openChannel(channelId(2), { gpadlId: gpadlId(1), downstreamPageOffset: 2 })).toThrow(ChannelStateError);
    expect(() => new VmbusClient({ send: () => {}, emit: () => {} }, { maxVersion: VmbusVersions.win7 })).toThrow();
  });

  it('never throws on anything the host sends', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(anyMessage, fc.uint8Array({ maxLength: 240 })), { maxLength: 60 }), (inputs) => {
        const host = connected();
        for (const input of inputs) host.client.handle(input);
      }),
      { numRuns: 200 },
    );
  });
});
