/**
 * Sub-channel offers in the VMBus client (vmbus-wire.md §4.4): matched to the live primary with
 * the same interface type and instance, reported with it; an orphan (no such primary, or only a
 * rescinded one) is reported as a protocol error and kept so the guest can decline it.
 */
import { describe, expect, it } from 'vitest';
import { encodeChannelMessage } from '../protocol/channel-message-codec.ts';
import { ChannelMessageType as T } from '../protocol/channel-message-layout.ts';
import { channelId, type GuestToHostMessage, type OfferChannelMessage } from '../protocol/channel-messages.ts';
import { parseGuid, type Guid } from '../protocol/guid.ts';
import type { ClientEvent } from './client-events.ts';
import { VmbusClient } from './client-state.ts';

const scsi = parseGuid('ba6163d9-04a1-4d29-b605-72e2ffb1dc7f');
const first = parseGuid('5e0b1d2a-7c4f-4e8a-9a51-3f2d6c0b5c00');
const second = parseGuid('5e0b1d2a-7c4f-4e8a-9a51-3f2d6c0b5c01');

const offer = (relid: number, instance: Guid, subChannelIndex = 0): OfferChannelMessage => ({
  type: T.offerChannel,
  interfaceType: scsi,
  interfaceInstance: instance,
  channelFlags: 0,
  mmioMegabytes: 0,
  userDefined: new Uint8Array(120),
  subChannelIndex,
  mmioMegabytesOptional: 0,
  childRelid: channelId(relid),
  monitorId: 0,
  monitorAllocated: false,
  dedicatedInterrupt: false,
  connectionId: 0x1000 + relid,
});

function connected(): { client: VmbusClient; events: ClientEvent[]; sent: GuestToHostMessage[] } {
  const events: ClientEvent[] = [];
  const sent: GuestToHostMessage[] = [];
  const client = new VmbusClient({ send: (m) => sent.push(m), emit: (e) => events.push(e) });
  client.connect();
  client.handle({ type: T.versionResponse, versionSupported: true, connectionState: 0, messageConnectionId: 7 });
  client.handle(offer(1, first));
  client.handle(offer(2, second));
  client.handle({ type: T.allOffersDelivered });
  events.length = 0;
  sent.length = 0;
  return { client, events, sent };
}

describe('VmbusClient sub-channel offers', () => {
  it('matches each to the primary with the same interface type and instance', () => {
    const { client, events } = connected();
    client.handle(encodeChannelMessage(offer(3, second, 1)));
    client.handle(encodeChannelMessage(offer(4, first, 1)));
    client.handle(encodeChannelMessage(offer(5, first, 2)));
    expect(events.map((e) => e.kind === 'offer' && [e.offer.childRelid, e.offer.subChannelIndex, e.primary, e.initial])).toEqual([
      [3, 1, 2, false],
      [4, 1, 1, false],
      [5, 2, 1, false],
    ]);
    expect(client.channel(channelId(5))?.primary).toBe(1);
    expect(client.channel(channelId(1))?.primary).toBeUndefined();
  });

  it('reports a repeated index of a live sub-channel as no sub-channel of the primary; a rescinded one frees its index', () => {
    const { client, events } = connected();
    client.handle(offer(3, first, 1));
    client.handle(offer(4, first, 1));
    client.handle({ type: T.rescindChannelOffer, childRelid: channelId(3) });
    client.handle(offer(5, first, 1));
    expect(events.filter((e) => e.kind === 'offer').map((e) => e.kind === 'offer' && [e.offer.childRelid, e.primary])).toEqual([
      [3, 1],
      [4, undefined],
      [5, 1],
    ]);
    expect(events.filter((e) => e.kind === 'protocolError').map((e) => e.kind === 'protocolError' && e.reason)).toEqual(['duplicate-sub-channel']);
  });

  it('reports an orphan (no primary, or a rescinded one) and lets the guest decline it', () => {
    const { client, events, sent } = connected();
    client.handle(offer(6, parseGuid('00000000-0000-0000-0000-000000000009'), 1));
    client.handle({ type: T.rescindChannelOffer, childRelid: channelId(1) });
    client.handle(offer(7, first, 3));
    expect(events.filter((e) => e.kind === 'protocolError').map((e) => e.kind === 'protocolError' && e.reason)).toEqual(['unknown-primary', 'unknown-primary']);
    expect(events.filter((e) => e.kind === 'offer').map((e) => e.kind === 'offer' && e.primary)).toEqual([undefined, undefined]);
    client.releaseChannel(channelId(6));
    client.releaseChannel(channelId(7));
    expect(sent).toEqual([
      { type: T.relidReleased, childRelid: 6 },
      { type: T.relidReleased, childRelid: 7 },
    ]);
  });
});
