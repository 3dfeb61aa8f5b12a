/**
 * The client and server state machines wired together in memory, the way the adapters will wire
 * them over SynIC: every message is encoded, queued and decoded on the other side; a pretend
 * hypervisor refuses connection id 4 to a server limited below 5.0 (so the client falls back
 * exactly as on an old host); a pretend device completes opens and closes asynchronously (on a
 * later pump step). Covers the whole life cycle, version fallback, a GPADL of several body
 * messages, rescind/release with id reuse, unload and reconnect, and 64 channels on one connection.
 */
import { describe, expect, it } from 'vitest';
import { decodeChannelMessage, encodeChannelMessage } from '../protocol/channel-message-codec.ts';
import { ChannelMessageType as T, ChannelStatus } from '../protocol/channel-message-layout.ts';
import type { ChannelId, GpadlId, GuestToHostMessage, HostToGuestMessage } from '../protocol/channel-messages.ts';
import { parseGuid } from '../protocol/guid.ts';
import { VmbusConnectionId, VmbusVersions, formatVersion, type VmbusVersion } from '../protocol/vmbus-version.ts';
import type { ClientEvent } from './client-events.ts';
import { VmbusClient, type VmbusClientOptions } from './client-state.ts';
import type { ServerEvent } from './server-events.ts';
import { VmbusServer, type VmbusServerOptions } from './server-state.ts';

const MESSAGE_CONNECTION_ID = 0x2001;

/** A guest and a root connected through message queues, with a device that completes later. */
class Link {
  readonly server: VmbusServer;
  readonly client: VmbusClient;
  readonly serverEvents: ServerEvent[] = [];
  readonly clientEvents: ClientEvent[] = [];
  readonly wire: string[] = [];
  private readonly toServer: { bytes: Uint8Array; connectionId: number }[] = [];
  private readonly toClient: Uint8Array[] = [];
  private readonly device: (() => void)[] = [];
  /** Status the pretend device answers opens with. */
  openStatus = 0;

  constructor(serverOptions: Partial<VmbusServerOptions> = {}, clientOptions: VmbusClientOptions = {}) {
    this.server = new VmbusServer(
      {
        send: (m: HostToGuestMessage) => this.toClient.push(encodeChannelMessage(m)),
        emit: (e: ServerEvent) => {
          this.serverEvents.push(e);
          // The device answers on a later step, as an async VSP would.
          if (e.kind === 'openRequested') this.device.push(() => this.server.completeOpen(e.channel, this.openStatus));
          if (e.kind === 'closeRequested') this.device.push(() => this.server.completeClose(e.channel));
        },
      },
      { guestMemoryPages: 1 << 16, vpCount: 4, messageConnectionId: MESSAGE_CONNECTION_ID, ...serverOptions },
    );
    this.client = new VmbusClient(
      {
        send: (m: GuestToHostMessage, connectionId: number) => this.toServer.push({ bytes: encodeChannelMessage(m), connectionId }),
        emit: (e: ClientEvent) => this.clientEvents.push(e),
      },
      { monitorPage1: 0x1000, monitorPage2: 0x2000, ...clientOptions },
    );
  }

  /** Delivers queued messages and device completions until nothing moves. */
  pump(): void {
    for (let steps = 0; steps < 100_000; steps++) {
      const up = this.toServer.shift();
      if (up !== undefined) {
        this.deliverToServer(up.bytes, up.connectionId);
        continue;
      }
      const down = this.toClient.shift();
      if (down !== undefined) {
        this.note('H→G', down);
        this.client.handle(down);
        continue;
      }
      const action = this.device.shift();
      if (action === undefined) return;
      action();
    }
    throw new Error('link did not settle');
  }

  /** The pretend hypervisor: port 4 exists only on a server that speaks 5.0 or later. */
  private deliverToServer(bytes: Uint8Array, connectionId: number): void {
    const max = this.server.options.maxVersion;
    if (connectionId === VmbusConnectionId.message4 && max < VmbusVersions.win10V5) {
      this.wire.push('G→H INITIATE_CONTACT refused: HV_STATUS_INVALID_CONNECTION_ID');
      return this.client.contactPostFailed();
    }
    const decoded = decodeChannelMessage(bytes);
    if (decoded.ok && decoded.message.type === T.initiateContact) {
      expect(connectionId).toBe(decoded.message.versionRequested >= VmbusVersions.win10V5 ? 4 : 1);
    } else {
      const version = this.server.version ?? 0;
      expect(connectionId).toBe(version >= VmbusVersions.win10V5 ? MESSAGE_CONNECTION_ID : 1);
    }
    this.note('G→H', bytes);
    this.server.handle(bytes);
  }

  private note(direction: string, bytes: Uint8Array): void {
    const decoded = decodeChannelMessage(bytes);
    this.wire.push(`${direction} ${decoded.ok ? decoded.message.type : 'bad'}`);
  }

  takeClientEvents(): ClientEvent[] {
    return this.clientEvents.splice(0);
  }

  takeServerEvents(): ServerEvent[] {
    return this.serverEvents.splice(0);
  }

  connect(): void {
    this.client.connect();
    this.pump();
  }

  /** Creates a ring GPADL of `pages` pages for `channel`, opens over it with the split in the middle. */
  openChannel(channel: ChannelId, pages: number, base: number): GpadlId {
    const gpadl = this.client.createGpadl(channel, { byteCount: pages * 4096, byteOffset: 0, pfns: range(base, pages) });
    this.pump();
    this.client.openChannel(channel, { gpadlId: gpadl, downstreamPageOffset: pages / 2, targetVp: 1 });
    this.pump();
    return gpadl;
  }

  /** Closes `channel` and tears down its ring GPADL, as Linux does. */
  closeChannel(channel: ChannelId, gpadl: GpadlId): void {
    this.client.closeChannel(channel);
    this.client.teardownGpadl(channel, gpadl);
    this.pump();
  }

  errors(): string[] {
    return [...this.serverEvents, ...this.clientEvents].flatMap((e) => (e.kind === 'protocolError' ? [`${e.reason}: ${e.detail}`] : []));
  }
}

const range = (base: number, n: number): number[] => Array.from({ length: n }, (_, i) => base + i);
const netClass = parseGuid('f8615163-df3e-46c5-913f-f2d2f965ed0e');
const instance = (n: number) => parseGuid(`00000000-0000-0000-0000-${n.toString(16).padStart(12, '0')}`);
const kinds = (events: readonly { kind: string }[]): string[] => events.map((e) => e.kind);

describe('client and server together', () => {
  it('runs the whole life cycle: connect, offers, GPADL over several bodies, open, close, reopen, rescind, release, unload, reconnect', () => {
    const link = new Link();
    const [a, b] = [0, 1].map((i) => link.server.offerChannel({ interfaceType: netClass, interfaceInstance: instance(i) })) as [ChannelId, ChannelId];

    link.connect();
    expect(link.client.version).toBe(VmbusVersions.win10V5_3);
    expect(link.client.connection).toMatchObject({ kind: 'connected', messageConnectionId: MESSAGE_CONNECTION_ID, offers: 'delivered' });
    expect(kinds(link.takeClientEvents())).toEqual(['connected', 'offer', 'offer', 'allOffersDelivered']);
    expect(kinds(link.takeServerEvents())).toEqual(['connected']);

    // A 100-page ring: a header of 26 PFNs and three bodies (28 + 28 + 18).
    link.wire.length = 0;
    const ring = link.openChannel(a, 100, 0x400);
    expect(link.wire.slice(0, 4)).toEqual([`G→H ${T.gpadlHeader}`, `G→H ${T.gpadlBody}`, `G→H ${T.gpadlBody}`, `G→H ${T.gpadlBody}`]);
    expect(link.takeClientEvents()).toEqual([
      { kind: 'gpadlCreated', channel: a, gpadlId: ring, status: 0 },
      { kind: 'openResult', channel: a, openId: a, status: 0 },
    ]);
    const serverSide = link.takeServerEvents();
    expect(serverSide[0]).toEqual({ kind: 'gpadlCreated', channel: a, gpadlId: ring, range: { byteCount: 100 * 4096, byteOffset: 0, pfns: range(0x400, 100) } });
    expect(serverSide[1]).toMatchObject({ kind: 'openRequested', channel: a, request: { gpadlId: ring, downstreamPageOffset: 50, targetVp: 1 } });
    expect(link.server.channelState(a)?.kind).toBe('open');

    // Close and tear down; the torndown reply waits for the device's close.
    link.closeChannel(a, ring);
    expect(link.takeClientEvents()).toEqual([{ kind: 'gpadlTornDown', channel: a, gpadlId: ring }]);
    expect(kinds(link.takeServerEvents())).toEqual(['closeRequested', 'gpadlTornDown']);

    // Reopen over a fresh GPADL.
    const ring2 = link.openChannel(a, 8, 0x800);
    expect(ring2).toBe(ring + 1);
    expect(link.client.channel(a)?.state).toEqual({ kind: 'open', openId: a, gpadlId: ring2 });
    link.client.modifyChannel(a, 2);
    link.pump();
    expect(link.takeClientEvents().at(-1)).toEqual({ kind: 'modifyResult', channel: a, status: 0 });

    // The device goes away while the channel is open; the guest closes, tears down and releases.
    link.takeServerEvents();
    link.server.rescindChannel(a);
    link.pump();
    expect(link.takeClientEvents()).toEqual([{ kind: 'rescinded', channel: a }]);
    expect(() => link.client.openChannel(a, { gpadlId: ring2, downstreamPageOffset: 4 })).toThrow();
    link.closeChannel(a, ring2);
    expect(link.takeClientEvents()).toEqual([{ kind: 'gpadlTornDown', channel: a, gpadlId: ring2 }]);
    link.client.releaseChannel(a);
    link.pump();
    // A CLOSECHANNEL for a rescinded channel needs nothing from the device, which is gone.
    expect(kinds(link.takeServerEvents())).toEqual(['gpadlTornDown', 'channelReleased']);
    expect(link.server.channelState(a)).toBeUndefined();

    // Hot add reuses the freed id.
    const c = link.server.offerChannel({ interfaceType: netClass, interfaceInstance: instance(7) });
    expect(c).toBe(a);
    link.pump();
    expect(link.takeClientEvents()).toMatchObject([{ kind: 'offer', initial: false, offer: { childRelid: c, interfaceInstance: instance(7) } }]);

    // Unload with a channel open: the server closes it, then answers.
    link.openChannel(b, 4, 0x900);
    link.takeClientEvents();
    link.takeServerEvents();
    link.client.unload();
    link.pump();
    expect(kinds(link.takeClientEvents())).toEqual(['unloaded']);
    expect(kinds(link.takeServerEvents())).toEqual(['closeRequested', 'gpadlTornDown', 'disconnected']);
    expect(link.client.connection.kind).toBe('disconnected');
    expect(link.server.connection.kind).toBe('disconnected');

    // Reconnect: the same offers come back.
    link.connect();
    const again = link.takeClientEvents();
    expect(kinds(again)).toEqual(['connected', 'offer', 'offer', 'allOffersDelivered']);
    expect(again.at(-1)).toEqual({ kind: 'allOffersDelivered', channels: [b, c] });
    link.openChannel(b, 4, 0x900);
    expect(link.client.channel(b)?.state.kind).toBe('open');
    expect(link.errors()).toEqual([]);
    expect(link.server.checkConsistency()).toEqual([]);
  });

  it('falls back through refused versions to the newest the server allows', () => {
    const cases: [VmbusVersion, string[]][] = [
      // A 5.1 server has connection id 4 and answers version_supported = false above 5.1.
      [VmbusVersions.win10V5_1, ['5.3', '5.2']],
      // A 4.1 server has no connection id 4: the posts for 5.x fail, then 4.1 is accepted.
      [VmbusVersions.win10V4_1, ['5.3', '5.2', '5.1', '5.0']],
      [VmbusVersions.win8, ['5.3', '5.2', '5.1', '5.0', '4.1', '4.0', '3.0']],
    ];
    for (const [max, refused] of cases) {
      const link = new Link({ maxVersion: max });
      link.server.offerChannel({ interfaceType: netClass, interfaceInstance: instance(1) });
      link.connect();
      const events = link.takeClientEvents();
      expect(events.flatMap((e) => (e.kind === 'versionRefused' ? [formatVersion(e.version)] : []))).toEqual(refused);
      expect(events.filter((e) => e.kind !== 'versionRefused').map((e) => e.kind)).toEqual(['connected', 'offer', 'allOffersDelivered']);
      expect(link.client.version).toBe(max);
      expect(link.server.version).toBe(max);
      // Channel traffic works at the older version, on the right connection id (checked by the link).
      link.openChannel(1 as ChannelId, 4, 0x100);
      expect(link.client.channel(1 as ChannelId)?.state.kind).toBe('open');
      expect(link.errors()).toEqual([]);
    }
  });

  it('reports connectFailed when the server accepts nothing the client offers', () => {
    const link = new Link({ maxVersion: VmbusVersions.win8 }, { versions: [VmbusVersions.win10V5_3, VmbusVersions.win10] });
    link.connect();
    expect(kinds(link.takeClientEvents())).toEqual(['versionRefused', 'versionRefused', 'connectFailed']);
    expect(link.client.connection.kind).toBe('disconnected');
  });

  it('reports a failed open and a refused GPADL back to the driver', () => {
    const link = new Link({ guestMemoryPages: 0x1000 });
    const a = link.server.offerChannel({ interfaceType: netClass, interfaceInstance: instance(1) });
    link.connect();
    link.takeClientEvents();
    const bad = link.client.createGpadl(a, { byteCount: 4 * 4096, byteOffset: 0, pfns: range(0xfff, 4) });
    link.pump();
    expect(link.takeClientEvents()).toEqual([{ kind: 'gpadlCreated', channel: a, gpadlId: bad, status: ChannelStatus.unsuccessful }]);
    expect(link.client.gpadl(bad)).toBeUndefined();
    link.openStatus = ChannelStatus.unsuccessful;
    link.openChannel(a, 4, 0x10);
    expect(link.takeClientEvents().at(-1)).toEqual({ kind: 'openResult', channel: a, openId: a, status: ChannelStatus.unsuccessful });
    expect(link.client.channel(a)?.state.kind).toBe('closed');
  });

  it('opens 64 channels on one connection and unloads them all', () => {
    const link = new Link();
    const ids = Array.from({ length: 64 }, (_, i) => link.server.offerChannel({ interfaceType: netClass, interfaceInstance: instance(i) }));
    expect(ids).toEqual(range(1, 64));
    link.connect();
    expect(link.takeClientEvents().at(-1)).toEqual({ kind: 'allOffersDelivered', channels: ids });
    const rings = new Map<ChannelId, GpadlId>();
    // Create every GPADL first (their messages interleave on the wire), then open every channel.
    for (const id of ids) rings.set(id, link.client.createGpadl(id, { byteCount: 64 * 4096, byteOffset: 0, pfns: range(id * 64, 64) }));
    link.pump();
    for (const id of ids) link.client.openChannel(id, { gpadlId: rings.get(id) as GpadlId, downstreamPageOffset: 32, targetVp: id % 4 });
    link.pump();
    const results = link.takeClientEvents().filter((e) => e.kind === 'openResult');
    expect(results).toHaveLength(64);
    expect(results.every((e) => e.kind === 'openResult' && e.status === 0)).toBe(true);
    expect(ids.every((id) => link.server.channelState(id)?.kind === 'open')).toBe(true);
    expect(link.server.metrics.gpadlsCreated).toBe(64);

    link.client.unload();
    link.pump();
    expect(kinds(link.takeClientEvents())).toEqual(['unloaded']);
    const serverSide = link.takeServerEvents();
    expect(serverSide.filter((e) => e.kind === 'closeRequested')).toHaveLength(64);
    expect(serverSide.filter((e) => e.kind === 'gpadlTornDown')).toHaveLength(64);
    expect(serverSide.at(-1)).toEqual({ kind: 'disconnected', reason: 'unload' });
    expect(link.errors()).toEqual([]);
    expect(link.server.checkConsistency()).toEqual([]);
  });
});
