/**
 * The guest kernel's VMBus: the thin async driver around the sans-IO `VmbusClient` (STYLE rule
 * 19). It connects (newest version first, falling back), collects offers, and opens channels the
 * way Linux's `vmbus_open` does: allocate ring pages in the guest's own memory, clear both control
 * pages and set the pending-send-size feature, describe the pages in a GPADL, wait for
 * GPADL_CREATED, send OPENCHANNEL, wait for OPENCHANNEL_RESULT. Closing sends CLOSECHANNEL, tears
 * the GPADL down and frees the pages (a primary's sub-channels first). Sub-channel offers are
 * handled here, not by the kernel's probing (`guest-subchannels.ts`). Host messages come in through
 * {@link VmbusGuest.handleMessage}, channel signals through {@link VmbusGuest.handleSignal}.
 */
import { Subject, mergeMap, type Observable } from 'rxjs';
import {
  ChannelMessageType,
  ChannelRegion,
  ChannelStatus,
  PAGE_SIZE,
  RetryingPostQueue,
  VmbusClient,
  encodeChannelMessage,
  type ChannelId,
  type ClientEvent,
  type GpadlId,
  type GuestPageAllocator,
  type GuestToHostMessage,
  type OfferChannelMessage,
  type VmbusVersion,
} from '@viridian/vmbus';
import { GuestOutOfMemoryError, VmbusOperationError } from '../errors.ts';
import { GuestChannel } from './guest-channel.ts';
import { GuestSubChannels } from './guest-subchannels.ts';
import type { GuestTransport } from './guest-transport.ts';

/** Options of a {@link VmbusGuest}. */
export interface VmbusGuestOptions {
  readonly transport: GuestTransport;
  /** The guest's own memory (GPA = byte offset). */
  readonly memory: SharedArrayBuffer;
  /** Where ring pages come from. */
  readonly pages: GuestPageAllocator;
  /** Newest version to propose (default: the newest known). */
  readonly maxVersion?: VmbusVersion;
}

/** Ring sizes for a channel, control pages included (multiples of 4096, at least 8 KiB). */
export interface RingSizes {
  readonly sendRingBytes: number;
  readonly receiveRingBytes: number;
}

/** Offers added or withdrawn while the guest runs. */
export type OfferChange = { readonly kind: 'added'; readonly offer: OfferChannelMessage } | { readonly kind: 'rescinded'; readonly channel: ChannelId };

export class VmbusGuest {
  readonly client: VmbusClient;
  private readonly events = new Subject<ClientEvent>();
  private readonly outbox: RetryingPostQueue<{ bytes: Uint8Array; connectionId: number; contact: boolean }>;
  private readonly open = new Map<ChannelId, { channel: GuestChannel; gpadlId: GpadlId; sizes: RingSizes }>();
  /** Closes in progress, by channel. */
  private readonly closing = new Map<ChannelId, Promise<void>>();
  /** Sub-channel offers and rescinds. */
  readonly subChannels: GuestSubChannels;

  constructor(private readonly options: VmbusGuestOptions) {
    this.outbox = new RetryingPostQueue((m) => {
      const outcome = options.transport.postMessage(m.bytes, m.connectionId);
      if (outcome === 'retry') return false;
      // An old host has no connection 4: INITIATE_CONTACT moves on to the next version.
      if (outcome === 'no-connection' && m.contact) this.client.contactPostFailed();
      return true;
    });
    this.client = new VmbusClient(
      { send: (message, connectionId) => this.post(message, connectionId), emit: (event) => this.events.next(event) },
      options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion },
    );
    this.subChannels = new GuestSubChannels({
      client: this.client,
      openEntry: (id) => (this.closing.has(id) ? undefined : this.open.get(id)),
      openChannel: (id, sizes) => this.openChannel(id, sizes),
      closeChannel: (channel) => this.closeChannel(channel),
      closeChannelId: (id) => this.closing.get(id) ?? (this.open.has(id) ? this.closeChannel(this.open.get(id)!.channel) : Promise.resolve()),
    });
    // First subscriber: sub-channel work starts before anyone else sees the event.
    this.events.subscribe((event) => this.subChannels.onEvent(event));
  }

  /** Every client event (results, offers, rescinds, protocol errors). */
  get events$(): Observable<ClientEvent> {
    return this.events.asObservable();
  }

  /**
   * Connects and collects the initial offers.
   * @throws {VmbusOperationError} when the host refuses every version
   */
  async connect(): Promise<{ version: VmbusVersion; offers: OfferChannelMessage[] }> {
    const delivered = this.next((e) => e.kind === 'allOffersDelivered' || e.kind === 'connectFailed');
    this.client.connect();
    const event = await delivered;
    if (event.kind === 'connectFailed') throw new VmbusOperationError('connect', 0, 'the host refused every VMBus version');
    const offers = this.client.channelIds().map((id) => this.client.channel(id)!.offer).filter((offer) => offer.subChannelIndex === 0);
    return { version: this.client.version!, offers };
  }

  /** Devices (primary channels) added (hot add) and rescinded while running; sub-channels are not devices. */
  get offerChanges$(): Observable<OfferChange> {
    return this.events.pipe(
      mergeMap((e): OfferChange[] => {
        if (e.kind === 'offer' && !e.initial && e.offer.subChannelIndex === 0) return [{ kind: 'added', offer: e.offer }];
        if (e.kind === 'rescinded' && !this.subChannels.isSubChannel(e.channel)) return [{ kind: 'rescinded', channel: e.channel }];
        return [];
      }),
    );
  }

  /**
   * Opens an offered channel with rings of the given sizes in guest memory.
   * @throws {GuestOutOfMemoryError} when the ring pages cannot be allocated
   * @throws {VmbusOperationError} when the host refuses the GPADL or the open
   */
  async openChannel(id: ChannelId, sizes: RingSizes): Promise<GuestChannel> {
    const offer = this.client.channel(id)?.offer;
    if (offer === undefined) throw new VmbusOperationError('open', ChannelStatus.unsuccessful, `channel ${id} was not offered`);
    const count = (sizes.sendRingBytes + sizes.receiveRingBytes) / PAGE_SIZE;
    const firstPfn = this.options.pages.allocate(count);
    if (firstPfn === undefined) throw new GuestOutOfMemoryError(count);
    try {
      const region = new ChannelRegion(this.options.memory, firstPfn * PAGE_SIZE, sizes.sendRingBytes, sizes.receiveRingBytes);
      region.initialize();
      const pfns = Array.from({ length: count }, (_, i) => firstPfn + i);
      const gpadlId = this.client.createGpadl(id, { byteOffset: 0, byteCount: count * PAGE_SIZE, pfns });
      const created = await this.next((e) => e.kind === 'gpadlCreated' && e.gpadlId === gpadlId);
      if (created.kind === 'gpadlCreated' && created.status !== ChannelStatus.success) throw new VmbusOperationError('gpadl', created.status, `GPADL for channel ${id}`);
      const openId = this.client.openChannel(id, { gpadlId, downstreamPageOffset: region.downstreamPageOffset });
      const result = await this.next((e) => e.kind === 'openResult' && e.openId === openId && e.channel === id);
      if (result.kind === 'openResult' && result.status !== ChannelStatus.success) {
        await this.teardown(id, gpadlId);
        throw new VmbusOperationError('open', result.status, `channel ${id}`);
      }
      const channel: GuestChannel = new GuestChannel(id, offer, region, () => this.options.transport.signalHost(offer.connectionId), { firstPfn, count }, () =>
        this.closeChannel(channel),
      );
      this.open.set(id, { channel, gpadlId, sizes });
      return channel;
    } catch (error) {
      this.options.pages.free(firstPfn, count);
      throw error;
    }
  }

  /**
   * Closes an open channel: its open sub-channels first (Linux `vmbus_close`), then CLOSECHANNEL,
   * GPADL teardown, pages freed. A second call waits for the first.
   */
  async closeChannel(channel: GuestChannel): Promise<void> {
    const inProgress = this.closing.get(channel.id);
    if (inProgress !== undefined) return inProgress;
    const entry = this.open.get(channel.id);
    if (entry?.channel !== channel) return;
    const done = this.closeOpen(entry);
    this.closing.set(channel.id, done);
    try {
      await done;
    } finally {
      this.closing.delete(channel.id);
    }
  }

  private async closeOpen(entry: { channel: GuestChannel; gpadlId: GpadlId }): Promise<void> {
    const channel = entry.channel;
    await Promise.all(channel.subChannels.open.map((sub) => this.closeChannel(sub)));
    const primary = this.client.channel(channel.id)?.primary;
    if (primary !== undefined) this.open.get(primary)?.channel.subChannels.remove(channel);
    this.open.delete(channel.id);
    await channel.close();
    this.client.closeChannel(channel.id);
    await this.teardown(channel.id, entry.gpadlId);
    this.options.pages.free(channel.ringPages.firstPfn, channel.ringPages.count);
  }

  /** Acknowledges a rescind after the driver closed the channel (RELID_RELEASED). */
  release(id: ChannelId): void {
    this.client.releaseChannel(id);
  }

  /** A channel-management message the host posted to this VP's VMBus SINT. */
  handleMessage(bytes: Uint8Array): void {
    this.client.handle(bytes);
  }

  /** The host signalled channel `id` (its event flag fired). */
  handleSignal(id: ChannelId): void {
    this.open.get(id)?.channel.notify();
  }

  private async teardown(id: ChannelId, gpadlId: GpadlId): Promise<void> {
    const torn = this.next((e) => e.kind === 'gpadlTornDown' && e.gpadlId === gpadlId);
    this.client.teardownGpadl(id, gpadlId);
    await torn;
  }

  /** The next event matching `match`. */
  private next(match: (event: ClientEvent) => boolean): Promise<ClientEvent> {
    return new Promise((resolve) => {
      const subscription = this.events.subscribe((event) => {
        if (match(event)) {
          subscription.unsubscribe();
          resolve(event);
        }
      });
    });
  }

  private post(message: GuestToHostMessage, connectionId: number): void {
    this.outbox.push({ bytes: encodeChannelMessage(message), connectionId, contact: message.type === ChannelMessageType.initiateContact });
  }
}
