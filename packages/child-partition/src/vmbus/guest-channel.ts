/**
 * One open channel as the guest kernel holds it: the guest end of the ring pair in its own
 * memory, the channel's interrupt, and a reader loop that completes requests by transaction id and
 * hands unsolicited packets to the driver. VSC drivers build on {@link GuestChannel.request}
 * (a packet that asks for a completion, and the promise of that completion) and
 * {@link GuestChannel.send}.
 *
 * A primary channel's sub-channels (more queues to the same device, `guest-subchannels.ts`) are in
 * {@link GuestChannel.subChannels}.
 *
 * The loop follows the VMBus discipline of `ChannelEndpoint`: drain a batch with the interrupt
 * masked, release it (one signal at most), unmask, re-check, sleep on the event loop. A full
 * outgoing ring makes the sender wait for space (pending_send_sz), never spin.
 */
import { Subject } from 'rxjs';
import {
  CHANNEL_POLL_MICROS,
  ChannelEndpoint,
  GpaDirectHeader,
  GpaRangeLayout,
  LocalInterrupt,
  inbandFootprint,
  packetFootprint,
  type ChannelId,
  type ChannelRings,
  type IncomingPacket,
  type OfferChannelMessage,
  type OutgoingGpaRange,
} from '@viridian/vmbus';
import { GuestChannelClosedError } from '../errors.ts';
import { SubChannelList } from './guest-subchannels.ts';
import { PendingRequests } from './pending-requests.ts';

/** A packet the host sent that no request waits for (copied out of the ring). */
export interface UnsolicitedPacket {
  readonly kind: IncomingPacket['kind'];
  readonly transactionId: bigint;
  readonly payload: Uint8Array;
}

const BATCH = 64;

export class GuestChannel {
  readonly endpoint: ChannelEndpoint;
  /** This primary channel's open sub-channels (empty for a sub-channel); ends when it closes. */
  readonly subChannels: SubChannelList;
  /** Packets from the host that are not completions of this guest's requests. */
  readonly unsolicited$ = new Subject<UnsolicitedPacket>();
  private readonly interrupt = new LocalInterrupt();
  private readonly pending = new PendingRequests();
  /** Sends waiting for ring space, in call order. */
  private readonly queued: {
    payload: Uint8Array;
    transactionId: number;
    completionRequested: boolean;
    /** Set for a GPA-direct packet (type 9). */
    ranges?: readonly OutgoingGpaRange[];
    resolve: () => void;
    reject: (error: Error) => void;
  }[] = [];
  private closed = false;
  private flushQueued = false;
  private readonly loop: Promise<void>;

  constructor(
    readonly id: ChannelId,
    readonly offer: OfferChannelMessage,
    rings: ChannelRings,
    signalHost: () => void,
    /** Freed when the channel is torn down: the pages of its rings. */
    readonly ringPages: { readonly firstPfn: number; readonly count: number },
    /** Closes the channel with the host (the VMBus's `closeChannel`), for {@link GuestChannel.shutdown}. */
    private readonly closeWithHost?: () => Promise<void>,
  ) {
    this.endpoint = new ChannelEndpoint(rings, 'guest', { interrupt: this.interrupt, signalPeer: signalHost, spinMicros: 0, pollMicros: CHANNEL_POLL_MICROS });
    this.subChannels = new SubChannelList(id);
    this.loop = this.read();
  }

  /** 0 for a primary channel; 1 up for a sub-channel. */
  get subChannelIndex(): number {
    return this.offer.subChannelIndex;
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends `payload` in an in-band packet that asks for a completion, and resolves with the
   * completion's payload (padding included: protocols carry their own lengths).
   * @throws {GuestChannelClosedError} when the channel closes first
   */
  request(payload: Uint8Array): Promise<Uint8Array> {
    let transactionId = 0;
    const done = new Promise<Uint8Array>((resolve, reject) => {
      transactionId = this.pending.add({ resolve, reject });
    });
    // Fast path (nobody queued, the packet fits): written now, no promise besides the completion's.
    try {
      if (!this.closed && this.queued.length === 0 && this.endpoint.outgoing.writeInband(payload, transactionId, true).ok) {
        this.flushSoon();
        return done;
      }
    } catch (error) {
      this.pending.take(transactionId);
      return Promise.reject(error as Error);
    }
    return this.sendThenAwait(payload, transactionId, done);
  }

  /** The slow path of `request`: waits in line for ring space, then for the completion. */
  private async sendThenAwait(payload: Uint8Array, transactionId: number, done: Promise<Uint8Array>): Promise<Uint8Array> {
    try {
      await this.send(payload, transactionId, true);
    } catch (error) {
      // Never sent: no completion will come, and nobody awaits `done` (no unhandled rejection later).
      this.pending.take(transactionId);
      throw error;
    }
    return done;
  }

  /**
   * Sends `payload` in a GPA-direct packet (vmbus-wire.md §2.2) naming `ranges` of this guest's
   * pages (for example a storage request's data buffer, which the host reads or writes in place),
   * asks for a completion and resolves with its payload. The pages must stay allocated until then.
   * @throws {GuestChannelClosedError} when the channel closes first
   * @throws {InvalidArgumentError} (from the ring) when a range is inconsistent
   */
  async requestGpaDirect(ranges: readonly OutgoingGpaRange[], payload: Uint8Array): Promise<Uint8Array> {
    let transactionId = 0;
    const done = new Promise<Uint8Array>((resolve, reject) => {
      transactionId = this.pending.add({ resolve, reject });
    });
    try {
      await this.sendGpaDirect(ranges, payload, transactionId);
    } catch (error) {
      this.pending.take(transactionId);
      throw error;
    }
    return done;
  }

  private async sendGpaDirect(ranges: readonly OutgoingGpaRange[], payload: Uint8Array, transactionId: number): Promise<void> {
    if (this.closed) throw new GuestChannelClosedError(this.id);
    if (this.queued.length === 0 && this.endpoint.outgoing.writeGpaDirect(ranges, payload, transactionId, true).ok) {
      this.flushSoon();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.queued.push({ payload, transactionId, completionRequested: true, ranges, resolve, reject });
      if (this.queued.length === 1) void this.pump();
    });
  }

  /**
   * Writes an in-band packet and publishes it (signalling the host if it may be asleep); waits for
   * space while the ring is full.
   * @throws {GuestChannelClosedError} when the channel closes first
   */
  async send(payload: Uint8Array, transactionId = 0, completionRequested = false): Promise<void> {
    if (this.closed) throw new GuestChannelClosedError(this.id);
    // Fast path: nobody is queued and the packet fits.
    if (this.queued.length === 0 && this.endpoint.outgoing.writeInband(payload, transactionId, completionRequested).ok) {
      this.flushSoon();
      return;
    }
    // Otherwise wait in line: packets leave in the order `send` was called.
    await new Promise<void>((resolve, reject) => {
      this.queued.push({ payload, transactionId, completionRequested, resolve, reject });
      if (this.queued.length === 1) void this.pump();
    });
  }

  /**
   * Publishes what was written once the current burst of sends is over: on a microtask, which
   * runs after the sends already queued in this turn (a completion batch resumes every waiting
   * sender in lockstep), so a burst costs one flush and at most one signal (Linux's `xmit_more`).
   */
  private flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flushNow);
  }

  private readonly flushNow = (): void => {
    this.flushQueued = false;
    if (!this.closed) this.endpoint.flush();
  };

  /** Writes queued packets in order, waiting for ring space (pending_send_sz) when full. */
  private async pump(): Promise<void> {
    const outgoing = this.endpoint.outgoing;
    while (this.queued.length > 0) {
      const head = this.queued[0]!;
      if (this.closed) {
        for (const waiter of this.queued.splice(0)) waiter.reject(new GuestChannelClosedError(this.id));
        return;
      }
      const written =
        head.ranges === undefined
          ? outgoing.writeInband(head.payload, head.transactionId, head.completionRequested)
          : outgoing.writeGpaDirect(head.ranges, head.payload, head.transactionId, head.completionRequested);
      if (written.ok) {
        this.queued.shift();
        head.resolve();
        continue;
      }
      await this.endpoint.waitAsync({ space: head.ranges === undefined ? inbandFootprint(head.payload.length) : gpaDirectFootprint(head.ranges, head.payload.length) });
    }
    this.endpoint.flush();
  }


  /** The host signalled this channel. */
  notify(): void {
    this.interrupt.ring();
  }

  /**
   * Closes the channel with the host, as a driver resetting its device does (Linux `vmbus_close`):
   * its sub-channels first, then CLOSECHANNEL and the ring GPADL's teardown; requests in flight
   * fail with {@link GuestChannelClosedError}. Resolves when the ring pages are free again.
   */
  async shutdown(): Promise<void> {
    if (this.closeWithHost !== undefined) await this.closeWithHost();
    else await this.close();
  }

  /** Stops the reader loop and fails requests still in flight (the VMBus calls it while closing). */
  async close(): Promise<void> {
    this.closed = true;
    this.interrupt.ring();
    for (const waiter of this.queued.splice(0)) waiter.reject(new GuestChannelClosedError(this.id));
    await this.loop;
    for (const waiter of this.pending.takeAll()) waiter.reject(new GuestChannelClosedError(this.id));
    this.unsolicited$.complete();
    this.subChannels.end();
  }

  private async read(): Promise<void> {
    const onPacket = (packet: IncomingPacket): void => {
      if (packet.kind === 'completion') {
        const id = packet.transactionIdNumber;
        const waiter = id === undefined ? undefined : this.pending.take(id);
        if (waiter) {
          waiter.resolve(packet.bytes.slice(packet.payloadOffset, packet.payloadOffset + packet.payloadLength));
          return;
        }
      }
      this.unsolicited$.next({ kind: packet.kind, transactionId: packet.transactionId, payload: packet.payload().slice() });
    };
    try {
      while (!this.closed) {
        if (this.endpoint.drain(onPacket, BATCH) === 0) await this.endpoint.waitAsync({ packets: true });
      }
    } catch (error) {
      // The host corrupted the ring: fail what waits on it; the driver sees the closed channel.
      this.closed = true;
      for (const waiter of this.pending.takeAll()) waiter.reject(error as Error);
      this.unsolicited$.error(error);
    }
  }
}

/** Ring bytes a GPA-direct packet takes: descriptor, range header and PFNs, payload, trailer. */
function gpaDirectFootprint(ranges: readonly OutgoingGpaRange[], payloadLength: number): number {
  let header: number = GpaDirectHeader.SIZE;
  for (const range of ranges) header += GpaRangeLayout.SIZE + range.pfns.length * GpaRangeLayout.PFN_SIZE;
  return packetFootprint(header, payloadLength);
}
