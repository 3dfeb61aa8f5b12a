/**
 * Sub-channels in the guest's VMBus (vmbus-wire.md §4.4; Linux `vmbus_process_offer` and
 * `vmbus_close`). A sub-channel offer carries its primary's interface type and instance and a
 * non-zero index; the client matched it to the primary. Here:
 *
 * - {@link SubChannelList}: the sub-channels of one open primary, on its `GuestChannel`
 *   (`channel.subChannels`): the ones open now, each as it opens, and a promise of the first n.
 *   Drivers ask their VSP for sub-channels in their own protocol (storvsc CREATE_SUB_CHANNELS) and
 *   use them as they come.
 * - {@link GuestSubChannels}: what the kernel's VMBus does with the offers, like Linux does for a
 *   driver that asked for them. An offer for an open primary is opened at once with the primary's
 *   ring sizes and joins the primary's list; one for a primary that is not open (or none at all) is
 *   declined (RELID_RELEASED). A rescinded sub-channel is closed (CLOSECHANNEL, GPADL teardown) and
 *   released. Work on one sub-channel runs in order, so a rescind that races its open waits for it.
 *   Sub-channel offers and rescinds never reach the kernel's device probing: they are not devices.
 *
 * Closing a primary closes its open sub-channels first (`VmbusGuest.closeChannel`), as Linux does;
 * the host then rescinds them and they are released here.
 */
import { Subject, type Observable } from 'rxjs';
import type { ChannelId, ClientEvent, VmbusClient } from '@viridian/vmbus';
import { GuestChannelClosedError } from '../errors.ts';
import type { GuestChannel } from './guest-channel.ts';

/** The sub-channels of one primary channel, as its driver sees them. */
export class SubChannelList {
  private readonly channels: GuestChannel[] = [];
  private readonly opened = new Subject<GuestChannel>();
  /** Fires when a sub-channel opened or one offered for this primary could not be opened. */
  private readonly settled = new Subject<void>();
  /** Offers for this primary the guest could not open (out of memory, refused by the host). */
  private failures = 0;
  private ended = false;

  constructor(private readonly primary: ChannelId) {}

  /** The sub-channels open now, in the order they opened. */
  get open(): readonly GuestChannel[] {
    return this.channels;
  }

  /** Each sub-channel as it opens; completes when the primary closes. */
  get opened$(): Observable<GuestChannel> {
    return this.opened.asObservable();
  }

  /** Sub-channel offers for this primary that could not be opened (and were given back). */
  get failed(): number {
    return this.failures;
  }

  /**
   * Resolves with the open sub-channels once `count` offers for this primary have been dealt with:
   * opened, or failed to open (then fewer are open: a driver uses what it has, never waits forever
   * for a sub-channel the guest has no memory for).
   * @throws {GuestChannelClosedError} when the primary closes first
   */
  waitFor(count: number): Promise<readonly GuestChannel[]> {
    const done = (): boolean => this.channels.length + this.failures >= count;
    if (done()) return Promise.resolve([...this.channels]);
    if (this.ended) return Promise.reject(new GuestChannelClosedError(this.primary));
    return new Promise((resolve, reject) => {
      const subscription = this.settled.subscribe({
        next: () => {
          if (!done()) return;
          subscription.unsubscribe();
          resolve([...this.channels]);
        },
        complete: () => reject(new GuestChannelClosedError(this.primary)),
      });
    });
  }

  /** @internal A sub-channel opened. */
  add(channel: GuestChannel): void {
    this.channels.push(channel);
    this.opened.next(channel);
    this.settled.next();
  }

  /** @internal An offer for this primary could not be opened. */
  failedToOpen(): void {
    this.failures++;
    this.settled.next();
  }

  /** @internal A sub-channel is closing. */
  remove(channel: GuestChannel): void {
    const index = this.channels.indexOf(channel);
    if (index >= 0) this.channels.splice(index, 1);
  }

  /** @internal The primary closed. */
  end(): void {
    this.ended = true;
    this.opened.complete();
    this.settled.complete();
  }
}

/** What {@link GuestSubChannels} needs of the guest's VMBus. */
export interface SubChannelHost {
  readonly client: VmbusClient;
  /** The open channel `id` with the ring sizes it was opened with, if it is open and not closing. */
  openEntry(id: ChannelId): { readonly channel: GuestChannel; readonly sizes: { sendRingBytes: number; receiveRingBytes: number } } | undefined;
  openChannel(id: ChannelId, sizes: { sendRingBytes: number; receiveRingBytes: number }): Promise<GuestChannel>;
  closeChannel(channel: GuestChannel): Promise<void>;
  /** Closes channel `id` if it is open, or waits for a close in progress. */
  closeChannelId(id: ChannelId): Promise<void>;
}

/** Counters of the guest's sub-channel handling. */
export interface GuestSubChannelCounters {
  opened: number;
  declined: number;
  failed: number;
  released: number;
}

/** The guest kernel's handling of sub-channel offers and rescinds. */
export class GuestSubChannels {
  readonly counters: GuestSubChannelCounters = { opened: 0, declined: 0, failed: 0, released: 0 };
  /** Work in progress per sub-channel, chained so it runs in order. */
  private readonly work = new Map<ChannelId, Promise<void>>();

  constructor(private readonly host: SubChannelHost) {}

  /** Whether `id` is a sub-channel offer (those are not devices). */
  isSubChannel(id: ChannelId): boolean {
    return (this.host.client.channel(id)?.offer.subChannelIndex ?? 0) !== 0;
  }

  /** Every client event goes through here first. */
  onEvent(event: ClientEvent): void {
    if (event.kind === 'offer' && event.offer.subChannelIndex !== 0) {
      const id = event.offer.childRelid;
      this.run(id, () => this.offered(id, event.primary));
    } else if (event.kind === 'rescinded' && this.isSubChannel(event.channel)) {
      const id = event.channel;
      this.run(id, () => this.rescinded(id));
    }
  }

  /** Resolves when no sub-channel work is in progress (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.all([...this.work.values()]);
  }

  private run(id: ChannelId, task: () => Promise<void>): void {
    const next = (this.work.get(id) ?? Promise.resolve()).then(task).catch(() => {});
    this.work.set(id, next);
    void next.then(() => {
      if (this.work.get(id) === next) this.work.delete(id);
    });
  }

  private async offered(id: ChannelId, primaryId: ChannelId | undefined): Promise<void> {
    const primary = primaryId === undefined ? undefined : this.host.openEntry(primaryId);
    if (primary === undefined) return this.decline(id);
    let channel: GuestChannel;
    try {
      channel = await this.host.openChannel(id, primary.sizes);
    } catch {
      // Out of memory, refused, or rescinded meanwhile (released by its rescind's turn).
      this.counters.failed++;
      if (this.host.client.channel(id)?.rescinded === false) this.decline(id);
      this.host.openEntry(primary.channel.id)?.channel.subChannels.failedToOpen();
      return;
    }
    if (this.host.openEntry(primary.channel.id) !== primary) {
      // The primary closed while this opened: close it again (the host rescinds it, then it is released).
      await this.host.closeChannel(channel);
      return;
    }
    this.counters.opened++;
    primary.channel.subChannels.add(channel);
  }

  private async rescinded(id: ChannelId): Promise<void> {
    await this.host.closeChannelId(id);
    if (this.host.client.channel(id)?.state.kind === 'closed') {
      this.host.client.releaseChannel(id);
      this.counters.released++;
    }
  }

  private decline(id: ChannelId): void {
    const c = this.host.client.channel(id);
    if (c === undefined || c.state.kind !== 'closed') return;
    this.counters.declined++;
    this.host.client.releaseChannel(id);
  }
}
