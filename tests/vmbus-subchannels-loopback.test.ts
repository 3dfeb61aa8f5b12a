/**
 * Sub-channels end to end in one thread: the multi-queue echo VSP (tests/fixtures/mq) in the
 * root's VMBus host and its VSC in a guest's VMBus, real rings and control-plane state machines.
 * Each scenario runs twice: with a transport that wires a connection per sub-channel
 * (`connectSubChannel`) and with one that cannot, where sub-channels signal on their primary's
 * connection. Covers offer, open and traffic on every sub-channel, closing the primary (sub-channels
 * close first, then are rescinded and released), a rescind of the primary while traffic flows, and
 * what a hostile guest gets.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  GuestPageAllocator} from '@viridian/vmbus';
import {
  ChannelMessageType as T,
  ChannelStateError,
  encodeChannelMessage,
  type ChannelId,
  type GpadlId,
  type OfferChannelMessage,
} from '@viridian/vmbus';
import { CHANNEL_CONNECTION_BASE, type VmbusHost } from '@viridian/root-partition';
import type { VmbusGuest} from '@viridian/child-partition';
import { GuestChannelClosedError, type OfferChange } from '@viridian/child-partition';
import mqDevice from './fixtures/mq/device.ts';
import type { MqClient} from './fixtures/mq/driver.ts';
import mqDriver, { MqError } from './fixtures/mq/driver.ts';
import { MqStatus } from './fixtures/mq/protocol.ts';
import { vmbusLoopback } from './support/vmbus-loopback.ts';

interface Bed {
  readonly host: VmbusHost;
  readonly guest: VmbusGuest;
  readonly device: ReturnType<typeof mqDevice>;
  readonly primary: ChannelId;
  /** Sub-channel interrupt paths the transport made, and channel paths it released (wired mode). */
  readonly wired: { readonly connected: number[]; readonly released: readonly { channel: number; connectionId: number }[] };
  /** Host → guest messages, decoded type numbers, in order. */
  readonly toGuest: number[];
  readonly pages: GuestPageAllocator;
}

function bed(wired: boolean, maxQueues = 4): Bed {
  const device = mqDevice({ maxQueues });
  const b = vmbusLoopback({ devices: [device], guestMemoryBytes: 32 * 1024 * 1024, vpCount: 2, subChannelPaths: wired });
  return { host: b.host, guest: b.guest, device, primary: b.channels[0]!, wired: b.subChannelPaths, toGuest: b.hostMessageTypes, pages: b.pages };
}

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 29 + seed) & 0xff);

async function openClient(b: Bed): Promise<MqClient> {
  const { offers } = await b.guest.connect();
  expect(offers.map((o) => o.childRelid)).toEqual([b.primary]);
  return mqDriver.attach(await b.guest.openChannel(b.primary, mqDriver.rings)) as MqClient;
}

/**
 * Echoes `count` requests, `inFlight` at a time, round-robin over the queues, checking each;
 * `during(i)` runs before request `i` is sent (the loopback's traffic runs in microtasks, so a test
 * acts from inside it, not from a timer).
 */
async function echoAll(client: MqClient, count: number, inFlight: number, during?: (i: number) => void): Promise<Record<number, number>> {
  const served: Record<number, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      during?.(i);
      const payload = bytes(1 + ((i * 37) % 3000), i);
      const reply = await client.echo(payload);
      expect(reply.payload).toEqual(payload);
      served[reply.queue] = (served[reply.queue] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return served;
}

describe.each([
  ['their own connections', true],
  ["their primary's connection", false],
])('sub-channels signalling on %s', (_name, wired) => {
  it('are offered on request, opened by the guest over their own rings, and carry traffic on every queue', async () => {
    const b = bed(wired);
    const client = await openClient(b);
    const queues = await client.openQueues(3);
    expect(queues.map((q) => q.subChannelIndex)).toEqual([0, 1, 2, 3]);
    const ids = queues.map((q) => q.id);
    expect(new Set(ids).size).toBe(4);
    expect(b.host.server.subChannels(b.primary)).toEqual(ids.slice(1));
    for (const q of queues.slice(1)) {
      expect(q.offer).toMatchObject({ interfaceType: queues[0]!.offer.interfaceType, interfaceInstance: queues[0]!.offer.interfaceInstance });
      expect(b.host.channel(q.id)).toMatchObject({ primary: b.primary, subChannelIndex: q.subChannelIndex });
      // Its own interrupt connection, or the primary's.
      expect(q.offer.connectionId).toBe(wired ? CHANNEL_CONNECTION_BASE + q.id : queues[0]!.offer.connectionId);
    }
    expect(b.wired.connected).toEqual(wired ? ids.slice(1) : []);
    // Round-robin: every queue serves a quarter, in both directions of each ring.
    const served = await echoAll(client, 400, 16);
    expect(served).toEqual({ 0: 100, 1: 100, 2: 100, 3: 100 });
    expect(b.device.metrics.echoes).toEqual({ 0: 100, 1: 100, 2: 100, 3: 100 });
    expect(b.device.metrics.subChannelsOpened).toBe(3);
    for (const q of queues) expect(b.host.channel(q.id)!.counters.packets).toBeGreaterThanOrEqual(100);
    // Each queue alone, too (the interrupt of one sub-channel reaches it).
    for (const q of queues) expect((await client.echo(bytes(64, q.id), q)).queue).toBe(q.subChannelIndex);
    expect(b.host.server.checkConsistency()).toEqual([]);
  });

  it('close with their primary: the guest closes them first, the host rescinds them, the guest releases them', async () => {
    const b = bed(wired);
    const client = await openClient(b);
    const queues = await client.openQueues(3);
    const subs = queues.slice(1).map((q) => q.id);
    await echoAll(client, 100, 8);
    const before = b.toGuest.length;
    await client.channel.shutdown();
    await b.guest.subChannels.idle();
    // Every channel closed on the device side; the sub-channels were rescinded, then released.
    expect(b.device.metrics.closed).toBe(4);
    expect(b.toGuest.slice(before).filter((t) => t === T.rescindChannelOffer)).toHaveLength(3);
    await expect.poll(() => b.host.server.channels.size).toBe(1);
    expect(b.guest.subChannels.counters.released).toBe(3);
    expect(b.wired.released.map((r) => r.channel).sort()).toEqual(wired ? [...subs].sort() : []);
    expect(client.channel.subChannels.open).toEqual([]);
    await expect(client.channel.request(new Uint8Array(8))).rejects.toBeInstanceOf(GuestChannelClosedError);
    // The primary opens again and gets new sub-channels.
    const again = mqDriver.attach(await b.guest.openChannel(b.primary, mqDriver.rings)) as MqClient;
    expect((await again.openQueues(2)).map((q) => q.subChannelIndex)).toEqual([0, 1, 2]);
    expect(await echoAll(again, 30, 3)).toEqual({ 0: 10, 1: 10, 2: 10 });
    expect(b.host.server.checkConsistency()).toEqual([]);
  });

  it('go with a rescinded primary while traffic flows: sub-channels are closed and released by the VMBus, the primary by its driver', async () => {
    const b = bed(wired);
    const client = await openClient(b);
    await client.openQueues(2);
    const changes: OfferChange[] = [];
    // The kernel's part, for the primary only: close it, release it (sub-channels are not devices).
    let released: Promise<void> | undefined;
    const kernel = b.guest.offerChanges$.subscribe((change) => {
      changes.push(change);
      if (change.kind === 'rescinded') released = b.guest.closeChannel(client.channel).then(() => b.guest.release(change.channel));
    });
    let removed: Promise<void> | undefined;
    const traffic = echoAll(client, 10_000, 16, (i) => {
      if (i === 300) removed = b.host.removeDevice(b.primary);
    }).then(
      () => 'finished',
      (error: unknown) => error,
    );
    expect(await traffic).toBeInstanceOf(GuestChannelClosedError);
    await removed;
    await released;
    kernel.unsubscribe();
    expect(b.device.metrics.echoes[2]).toBeGreaterThan(50);
    await b.guest.subChannels.idle();
    await expect.poll(() => b.host.server.channels.size).toBe(0);
    expect(b.guest.subChannels.counters.released).toBe(2);
    expect(b.device.metrics.closed).toBe(3);
    // Only the primary was ever a device change.
    expect(changes).toEqual([{ kind: 'rescinded', channel: b.primary }]);
    // Released, the primary's own interrupt path goes too, not only at the child's end.
    if (wired) expect(b.wired.released).toContainEqual({ channel: b.primary, connectionId: CHANNEL_CONNECTION_BASE + b.primary });
  });
});

describe('sub-channels and a hostile or careless guest', () => {
  it('asking for too many, or on a sub-channel, gets a refusal and the queues keep serving', async () => {
    const b = bed(true, 100);
    const client = await openClient(b);
    const queues = await client.openQueues(2);
    // Beyond the host's 64 per primary, and 0.
    await expect(client.openQueues(63)).rejects.toEqual(new MqError(MqStatus.tooMany));
    await expect(client.openQueues(0)).rejects.toEqual(new MqError(MqStatus.tooMany));
    await expect(client.openQueues(1, queues[1])).rejects.toEqual(new MqError(MqStatus.notPrimary));
    expect(b.host.server.subChannels(b.primary)).toHaveLength(2);
    expect(await echoAll(client, 30, 3)).toEqual({ 0: 10, 1: 10, 2: 10 });
    // A device cannot offer sub-channels of a sub-channel or of a closed channel.
    expect(() => b.host.offerSubChannels(queues[1]!.id, 1)).toThrow(ChannelStateError);
    const primaryChannel = b.host.channel(b.primary)!;
    // Only a sub-channel can be withdrawn by its device.
    await expect(primaryChannel.withdraw()).rejects.toBeInstanceOf(ChannelStateError);
    await client.channel.shutdown();
    expect(() => primaryChannel.offerSubChannels(1)).toThrow(ChannelStateError);
  });

  it('cannot open a sub-channel of a closed primary, and cannot reopen one being revoked', async () => {
    const b = bed(false);
    const client = await openClient(b);
    const [, first, second] = await client.openQueues(2);
    const server = b.host.server;
    const ring = server.gpadls.ofChannel(first!.id)[0]!.id;
    // A hostile guest closes the primary behind its VMBus's back and reopens a sub-channel at once.
    b.host.handleMessage(encodeChannelMessage({ type: T.closeChannel, childRelid: b.primary }));
    b.host.handleMessage(
      encodeChannelMessage({ type: T.openChannel, childRelid: first!.id, openId: first!.id, ringBufferGpadlId: ring, targetVp: 0, downstreamRingBufferPageOffset: 9, userData: new Uint8Array(120) }),
    );
    expect(server.metrics.errorsByReason['wrong-channel-state']).toBe(1);
    // The guest's VMBus cleans up after the rescinds; an OPENCHANNEL then names an unknown channel.
    await b.guest.subChannels.idle();
    await expect.poll(() => server.channels.size).toBe(1);
    b.host.handleMessage(
      encodeChannelMessage({ type: T.openChannel, childRelid: second!.id, openId: second!.id, ringBufferGpadlId: ring, targetVp: 0, downstreamRingBufferPageOffset: 9, userData: new Uint8Array(120) }),
    );
    expect(server.metrics.errorsByReason['unknown-channel']).toBe(1);
    expect(server.checkConsistency()).toEqual([]);
  });

  it('opens what fits when the guest is short of memory, declines the rest, and never waits for them', async () => {
    const b = bed(false);
    const client = await openClient(b);
    // Leave room for one more channel's rings (18 pages) and no more.
    const ringPages = (2 * mqDriver.rings.sendRingBytes) / 4096;
    expect(b.pages.allocate(b.pages.available - ringPages - 1)).toBeDefined();
    const queues = await client.openQueues(3);
    expect(queues.map((q) => q.subChannelIndex)).toEqual([0, 1]);
    expect(client.channel.subChannels.failed).toBe(2);
    expect(b.guest.subChannels.counters).toMatchObject({ opened: 1, failed: 2, declined: 2 });
    // The host dropped the declined ones; the open one serves.
    await expect.poll(() => b.host.server.subChannels(b.primary).length).toBe(1);
    expect(await echoAll(client, 20, 4)).toEqual({ 0: 10, 1: 10 });
  });

  it('declines a sub-channel offer whose primary is not open, and one matching no primary', async () => {
    const b = bed(false);
    await b.guest.connect();
    const offer = b.guest.client.channel(b.primary)!.offer;
    const orphan: OfferChannelMessage = { ...offer, childRelid: 200 as ChannelId, subChannelIndex: 1 };
    const stranger: OfferChannelMessage = { ...offer, interfaceInstance: offer.interfaceType, childRelid: 201 as ChannelId, subChannelIndex: 1 };
    b.guest.handleMessage(encodeChannelMessage(orphan));
    b.guest.handleMessage(encodeChannelMessage(stranger));
    await b.guest.subChannels.idle();
    expect(b.guest.subChannels.counters.declined).toBe(2);
    expect(b.guest.client.channel(200 as ChannelId)).toBeUndefined();
    expect(b.guest.client.channel(201 as ChannelId)).toBeUndefined();
    // The host never offered them: its server drops the releases as unknown channels.
    await expect.poll(() => b.host.server.metrics.errorsByReason['unknown-channel'] ?? 0).toBe(2);
  });

  it('survives a hostile host injecting sub-channel offers, rescinds and replies (fuzz): no leak, real queues keep serving', async () => {
    type Injection =
      | { readonly kind: 'offer'; readonly relid: number; readonly index: number; readonly stranger: boolean }
      | { readonly kind: 'rescind'; readonly relid: number }
      | { readonly kind: 'openResult'; readonly relid: number; readonly status: number }
      | { readonly kind: 'gpadlCreated'; readonly relid: number; readonly gpadl: number; readonly status: number }
      | { readonly kind: 'echo' };
    const relid = fc.integer({ min: 100, max: 105 });
    const injection: fc.Arbitrary<Injection> = fc.oneof(
      // Indices 3 and 4 are free (the real sub-channels are 1 and 2): those the guest tries to open.
      fc.record({ kind: fc.constant('offer' as const), relid, index: fc.constantFrom(0, 1, 3, 3, 4, 4), stranger: fc.boolean() }),
      fc.record({ kind: fc.constant('rescind' as const), relid: fc.oneof(relid, fc.integer({ min: 1, max: 8 })) }),
      fc.record({ kind: fc.constant('openResult' as const), relid, status: fc.constantFrom(0, 0xc0000001) }),
      fc.record({ kind: fc.constant('gpadlCreated' as const), relid, gpadl: fc.integer({ min: 0xe1e10, max: 0xe1e30 }), status: fc.constantFrom(0, 0xc0000001) }),
      fc.constant({ kind: 'echo' as const }),
    );
    const totals: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.array(injection, { minLength: 1, maxLength: 30 }), async (injections) => {
        const b = bed(false);
        const client = await openClient(b);
        const queues = await client.openQueues(2);
        const offer = queues[0]!.offer;
        const available = b.pages.available;
        for (const i of injections) {
          switch (i.kind) {
            case 'offer':
              b.guest.handleMessage(
                encodeChannelMessage({ ...offer, childRelid: i.relid as ChannelId, subChannelIndex: i.index, interfaceInstance: i.stranger ? offer.interfaceType : offer.interfaceInstance }),
              );
              break;
            case 'rescind':
              if (i.relid >= 100) b.guest.handleMessage(encodeChannelMessage({ type: T.rescindChannelOffer, childRelid: i.relid as ChannelId }));
              break;
            case 'openResult':
              b.guest.handleMessage(encodeChannelMessage({ type: T.openChannelResult, childRelid: i.relid as ChannelId, openId: i.relid, status: i.status }));
              break;
            case 'gpadlCreated':
              b.guest.handleMessage(encodeChannelMessage({ type: T.gpadlCreated, childRelid: i.relid as ChannelId, gpadlId: i.gpadl as GpadlId, status: i.status }));
              break;
            case 'echo':
              // On the real queues only (a fake sub-channel the guest opened has no server).
              await client.echo(bytes(32, 1), queues[injections.indexOf(i) % queues.length]);
              break;
          }
        }
        // Let the guest finish what the injections started, then withdraw every fake offer.
        await b.guest.subChannels.idle();
        for (let r = 100; r <= 105; r++) if (b.guest.client.channel(r as ChannelId)) b.guest.handleMessage(encodeChannelMessage({ type: T.rescindChannelOffer, childRelid: r as ChannelId }));
        await b.guest.subChannels.idle();
        // Fake sub-channels the guest managed to open are closed by their rescind; none leaves pages behind.
        expect(client.channel.subChannels.open.filter((q) => q.id >= 100)).toEqual([]);
        expect(b.pages.available).toBe(available);
        // The real queues are intact and serve.
        expect(client.queues.map((q) => q.id)).toEqual(queues.map((q) => q.id));
        expect(await echoAll(client, 9, 3)).toEqual({ 0: 3, 1: 3, 2: 3 });
        for (const [k, v] of Object.entries(b.guest.subChannels.counters)) totals[k] = (totals[k] ?? 0) + v;
      }),
      { numRuns: 40 },
    );
    // The real sub-channels opened in every run; fake ones were declined, or failed to open (the
    // real host knows no such channel) and were declined or released.
    expect(totals.opened).toBeGreaterThanOrEqual(80);
    expect(totals.declined).toBeGreaterThan(0);
    expect(totals.failed).toBeGreaterThan(0);
  });
});
