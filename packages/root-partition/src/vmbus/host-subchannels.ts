/**
 * The sub-channels of one open primary channel, as the VSP framework keeps them (vmbus-wire.md
 * §4.4; OpenVMM's `enable_subchannels`). A device serving a primary asks for more queues with
 * `HostChannel.offerSubChannels(n)`; the host offers n sub-channels (indices counting up from 1),
 * the guest opens each over its own GPADL and rings, the device's `open` is called for each (the
 * channel says it is a sub-channel: `primary`, `subChannelIndex`) and the opened channels come out
 * of {@link HostSubChannels.opened$}, which completes when the primary stops. Closing or rescinding
 * the primary revokes them (the server closes the open ones, then rescinds them all).
 *
 * Interrupts: each sub-channel has its own channel id, so the host signals it on its own event
 * flag. For the guest's signals, a transport that can wire a connection per channel
 * (`HostTransport.connectSubChannel`) gives each sub-channel its own connection id; otherwise the
 * sub-channel's offer names its primary's connection id, and a signal on it wakes the primary and
 * each of these sub-channels (each reader checks its own ring: a spurious wake-up costs one empty
 * drain, never a lost packet).
 */
import { ReplaySubject, type Observable } from 'rxjs';
import type { ChannelId } from '@viridian/vmbus';
import type { HostChannel } from './host-channel.ts';

/** Sub-channels one primary may have (its device's own limit is usually lower). */
export const MAX_SUB_CHANNELS_PER_PRIMARY = 64;

/** The sub-channels of one open primary, from its open to its close. */
export class HostSubChannels {
  private readonly opened = new ReplaySubject<HostChannel>();
  /** Sub-channels offered during this open, by id, with their index. */
  private readonly offered = new Map<ChannelId, number>();
  /** Sub-channels whose guest signals arrive on the primary's connection. */
  private readonly sharing = new Set<ChannelId>();
  private ended = false;

  constructor(readonly primary: ChannelId) {}

  /** Every sub-channel as it opens (replayed to late subscribers); completes when the primary stops. */
  get opened$(): Observable<HostChannel> {
    return this.opened.asObservable();
  }

  /** Sub-channels offered during this open of the primary. */
  get count(): number {
    return this.offered.size;
  }

  /** The primary stopped (closed, rescinded, child gone): no more sub-channels open. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** The index of offered sub-channel `id` (0 when it is not one of these). */
  indexOf(id: ChannelId): number {
    return this.offered.get(id) ?? 0;
  }

  /** The next free index (1 up). */
  nextIndex(): number {
    const used = new Set(this.offered.values());
    let index = 1;
    while (used.has(index)) index++;
    return index;
  }

  /** Records an offered sub-channel; `shared`: it signals on the primary's connection. */
  added(id: ChannelId, index: number, shared: boolean): void {
    this.offered.set(id, index);
    if (shared) this.sharing.add(id);
  }

  /** A sub-channel's id was released (or its offer withdrawn). */
  removed(id: ChannelId): void {
    this.offered.delete(id);
    this.sharing.delete(id);
  }

  /** The sub-channels woken by a guest signal on the primary's connection. */
  get sharedInterrupt(): ReadonlySet<ChannelId> {
    return this.sharing;
  }

  /** A sub-channel opened and its device handler runs. */
  channelOpened(channel: HostChannel): void {
    if (!this.ended) this.opened.next(channel);
  }

  /** The primary stopped. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.opened.complete();
  }
}
