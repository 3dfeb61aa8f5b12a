/**
 * One open channel as the root serves it: the host end of the ring pair over the guest's GPADL,
 * the channel's interrupt, and the service loop that drains it. The loop follows the VMBus
 * discipline of `ChannelEndpoint`: mask, drain a batch, hand each packet to the device's handler,
 * publish reads and replies (one signal at most per batch), then unmask, re-check and sleep on the
 * event loop until the guest signals again.
 *
 * Backpressure: replies go through {@link HostChannel.complete} and {@link HostChannel.send}; one
 * that does not fit waits (copied) in a backlog, and the loop reads no more requests until the
 * guest has made room for the backlog, so a guest that never reads cannot grow the root's memory.
 *
 * Asynchronous devices (storvsp: disk I/O) reply from later tasks: a reply made outside the loop's
 * synchronous batch is published by one flush scheduled with `setImmediate`, so the completions of
 * every I/O that finished in one event-loop turn go out together (one signal at most); a reply
 * that had to wait in the backlog wakes the loop, which writes it when the guest makes room.
 *
 * Sub-channels (`host-subchannels.ts`): a primary's device asks for more queues with
 * {@link HostChannel.offerSubChannels}; a sub-channel's own `HostChannel` says what it is
 * ({@link HostChannel.primary}, {@link HostChannel.subChannelIndex}) and is served like any other.
 *
 * A ring the guest corrupts stops this channel's service (OpenVMM's storvsp does the same): the
 * error is logged at a limited rate and counted; the root and every other channel go on.
 *
 * Test hooks (the VMBus test bed, `kernel/management-taps.ts`), all off the hot path while unused:
 * - observation: {@link HostChannel.received$} (guest to host, before the handler) and
 *   {@link HostChannel.sent$} (host to guest, as the handler replies) copy packets only while
 *   someone subscribes;
 * - fault injection: a {@link PacketInterceptor} decides each guest packet's fate before the
 *   handler sees it (one `undefined` check per packet when none is set); packets it keeps
 *   (delayed) come back through {@link HostChannel.deliverLater} and are handled by the loop, in
 *   order, like ring packets; {@link HostChannel.holdGuestRing} stops draining the guest's ring so
 *   its writer finds the ring full and waits.
 */
import type { Logger } from 'pino';
import { Subject, type Observable } from 'rxjs';
import {
  CHANNEL_POLL_MICROS,
  ChannelEndpoint,
  ChannelStateError,
  LocalInterrupt,
  PacketDescriptor,
  PacketType,
  RingControl,
  RingCorruptError,
  align8,
  bytesToRead,
  inbandFootprint,
  type ChannelId,
  type ChannelRings,
  type IncomingPacket,
  type RingMemory,
  type TransactionId,
} from '@viridian/vmbus';
import type { RateLimitedLog } from '../logging/rate-limited-log.ts';
import type { ChannelHandler } from './vmbus-device.ts';

/** What the VMBus host tells a channel about its place among sub-channels. */
export interface HostChannelPlace {
  /** The primary channel of a sub-channel; `undefined` for a primary. */
  readonly primary: ChannelId | undefined;
  /** 0 for a primary; 1 up for a sub-channel. */
  readonly subChannelIndex: number;
  /** Offers sub-channels of this (primary) channel; see {@link HostChannel.offerSubChannels}. */
  readonly offerSubChannels?: (count: number) => Observable<HostChannel>;
  /** Rescinds this sub-channel; see {@link HostChannel.withdraw}. */
  readonly withdraw?: () => Promise<void>;
  /** The child's memory, for devices that move data by GPA-direct ranges (see {@link HostChannel.guestMemory}). */
  readonly guestMemory?: SharedArrayBuffer;
}

/** Packets handled per batch before replies are published. */
const BATCH = 64;

/** A reply that did not fit the ring yet: kept (copied) until the guest frees space. */
interface PendingReply {
  readonly type: 'inband' | 'completion';
  readonly payload: Uint8Array;
  readonly transactionId: TransactionId;
  readonly completionRequested: boolean;
}

/** What fault injection did to a guest packet (see {@link PacketInterceptor}). */
export type PacketFault = 'dropped' | 'delayed' | 'duplicated' | 'corrupted';

/** A packet on a channel, as observers see it (copied). */
export interface ObservedPacket {
  readonly channel: ChannelId;
  readonly direction: 'guest-to-host' | 'host-to-guest';
  readonly kind: IncomingPacket['kind'];
  /** The descriptor's packet type (`PacketType`: 6 in-band, 11 completion…). */
  readonly type: number;
  /** The packet's length on the ring without its trailer: descriptor plus padded payload. */
  readonly length: number;
  readonly transactionId: bigint;
  /**
   * Guest to host: the payload as the guest wrote it (padding included, before any fault);
   * host to guest: the payload the device wrote.
   */
  readonly payload: Uint8Array;
  /** Guest to host only: what fault injection did to the packet before the handler saw it. */
  readonly fault?: PacketFault;
  /** When the root saw it, in ms since the epoch (`performance.timeOrigin + performance.now()`). */
  readonly time: number;
}

/** What becomes of a guest packet: the packets the handler gets now, in order, and the label. */
export interface PacketFate {
  readonly fault?: PacketFault;
  /** The packet itself (valid during the call only), copies of it, or nothing. */
  readonly deliver: readonly IncomingPacket[];
}

/** Decides the fate of every guest packet before the handler sees it (fault injection). */
export interface PacketInterceptor {
  intercept(packet: IncomingPacket): PacketFate;
}

/** The guest-to-host ring as a test sees it: how full it is, and whether the guest waits for space. */
export interface GuestRingState {
  /** Bytes of the ring's data area. */
  readonly ringBytes: number;
  /** Bytes written by the guest and not yet read by the root. */
  readonly queuedBytes: number;
  /** The guest's pending_send_sz: non-zero while its writer waits for that much space. */
  readonly pendingSendSize: number;
}

/** Counters of one channel. */
export interface HostChannelCounters {
  packets: number;
  batches: number;
  corruptions: number;
  handlerErrors: number;
}

export class HostChannel {
  readonly endpoint: ChannelEndpoint;
  readonly counters: HostChannelCounters = { packets: 0, batches: 0, corruptions: 0, handlerErrors: 0 };
  /** Every packet received, for tests and tracing (copied only while someone subscribes). */
  readonly received$ = new Subject<ObservedPacket>();
  /** Every packet the device sends (completions, in-band), copied only while someone subscribes. */
  readonly sent$ = new Subject<ObservedPacket>();
  private readonly interrupt = new LocalInterrupt();
  private stopped = false;
  private readonly backlog: PendingReply[] = [];
  private loop: Promise<void> | undefined;
  private interceptor: PacketInterceptor | undefined;
  /** Guest packets an interceptor handed back (copies), for the loop to handle before the ring. */
  private readonly injected: IncomingPacket[] = [];
  private holding = false;
  private guestRing: RingMemory | undefined;
  private readonly endCallbacks: (() => void)[] = [];
  /** True while the loop runs handlers synchronously (it flushes after them itself). */
  private inBatch = false;
  /** A flush for replies made outside a batch is scheduled. */
  private flushScheduled = false;
  /** The service loop has ended: the rings are not touched again. */
  private ended = false;

  /** The primary channel of this sub-channel; `undefined` for a primary channel. */
  readonly primary: ChannelId | undefined;
  /** 0 for a primary channel; 1 up for a sub-channel. */
  readonly subChannelIndex: number;
  private readonly offerSubs: ((count: number) => Observable<HostChannel>) | undefined;
  private readonly withdrawSub: (() => Promise<void>) | undefined;
  /**
   * The child's memory (GPA = byte offset), which the root holds as its parent: for devices that
   * read and write guest buffers the guest names in GPA-direct packets, each range checked first
   * (`GpaRangeAccess`, ARCHITECTURE.md "Isolation" 2). `undefined` off a VMBus host (tests).
   */
  readonly guestMemory: SharedArrayBuffer | undefined;

  constructor(
    readonly id: ChannelId,
    private readonly rings: ChannelRings,
    signalGuest: () => void,
    readonly log: Logger,
    private readonly problems: RateLimitedLog,
    place: HostChannelPlace = { primary: undefined, subChannelIndex: 0 },
  ) {
    this.endpoint = new ChannelEndpoint(rings, 'host', { interrupt: this.interrupt, signalPeer: signalGuest, spinMicros: 0, pollMicros: CHANNEL_POLL_MICROS });
    this.primary = place.primary;
    this.subChannelIndex = place.subChannelIndex;
    this.offerSubs = place.offerSubChannels;
    this.withdrawSub = place.withdraw;
    this.guestMemory = place.guestMemory;
  }

  /**
   * Offers `count` sub-channels of this open primary channel to the guest (vmbus-wire.md §4.4):
   * more queues for the same device, each with its own rings and interrupt. The device's `open` is
   * called for each as the guest opens it (with {@link HostChannel.primary} set); the returned
   * observable emits each opened sub-channel (replayed to late subscribers) and completes when this
   * channel stops. Closing or rescinding this channel revokes them.
   * @throws {ChannelStateError} when this is a sub-channel, not open, or not on a VMBus host
   * @throws {InvalidArgumentError} when `count` is out of range (1..64 per primary)
   */
  offerSubChannels(count: number): Observable<HostChannel> {
    if (this.offerSubs === undefined) throw new ChannelStateError(`channel ${this.id} cannot offer sub-channels`);
    return this.offerSubs(count);
  }

  /**
   * Withdraws this sub-channel (a device giving up a queue): its service stops (the handler's
   * `onClose` runs), then the guest is told with RESCIND_CHANNELOFFER; its VMBus closes its end and
   * releases the id. The primary and its other sub-channels go on.
   * @throws {ChannelStateError} when this is a primary channel (a device is removed by its host)
   */
  async withdraw(): Promise<void> {
    if (this.withdrawSub === undefined) throw new ChannelStateError(`channel ${this.id} is not a sub-channel`);
    await this.withdrawSub();
  }

  /** Replies to a request with a completion carrying `payload` (queued if the ring is full). */
  complete(payload: Uint8Array, transactionId: TransactionId): void {
    this.reply({ type: 'completion', payload, transactionId, completionRequested: false });
  }

  /** Sends an unsolicited in-band packet to the guest (queued if the ring is full). */
  send(payload: Uint8Array, transactionId: TransactionId = 0, completionRequested = false): void {
    this.reply({ type: 'inband', payload, transactionId, completionRequested });
  }

  /** Replies waiting for ring space. */
  get backlogLength(): number {
    return this.backlog.length;
  }

  /** Sets (or with `undefined` removes) the interceptor that decides each guest packet's fate. */
  intercept(interceptor: PacketInterceptor | undefined): void {
    this.interceptor = interceptor;
  }

  /**
   * Hands guest packets back for the handler (copies an interceptor kept, such as delayed ones):
   * the service loop handles them, in order, before it reads the ring again.
   */
  deliverLater(packets: readonly IncomingPacket[]): void {
    if (packets.length === 0) return;
    this.injected.push(...packets);
    this.interrupt.ring();
  }

  /**
   * Stops (`true`) or resumes draining the guest-to-host ring: while held, the guest's writes fill
   * the ring and its writer waits for space (pending_send_sz), as behind a stalled device.
   */
  holdGuestRing(hold: boolean): void {
    this.holding = hold;
    if (!hold) this.interrupt.ring();
  }

  /**
   * The guest-to-host ring's fill state, read from its control page. The indices are the guest's:
   * one out of range or unaligned reads as an empty ring (this is a report, never a decision).
   */
  guestRingState(): GuestRingState {
    const ring = (this.guestRing ??= this.rings.ringMemory('send'));
    const size = ring.dataSize;
    const write = ring.loadControl(RingControl.writeIndex);
    const read = ring.loadControl(RingControl.readIndex);
    const valid = write < size && read < size && (write & 7) === 0 && (read & 7) === 0;
    return { ringBytes: size, queuedBytes: valid ? bytesToRead(write, read, size) : 0, pendingSendSize: ring.loadControl(RingControl.pendingSendSize) };
  }

  private reply(reply: PendingReply): void {
    if (this.sent$.observed) this.sent$.next(observeReply(this.id, reply));
    if (this.ended) return;
    if (this.backlog.length > 0 || !this.write(reply)) this.backlog.push({ ...reply, payload: reply.payload.slice() });
    if (!this.inBatch) this.scheduleFlush();
  }

  /** Publishes replies made outside the loop's batch (asynchronous completions), once per turn. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.ended || this.stopped) return;
      this.endpoint.flush();
      // The loop writes backlogged replies (waiting for space if it must).
      if (this.backlog.length > 0) this.interrupt.ring();
    });
  }

  private write(reply: PendingReply): boolean {
    const outgoing = this.endpoint.outgoing;
    const result =
      reply.type === 'completion'
        ? outgoing.writeCompletion(reply.payload, reply.transactionId)
        : outgoing.writeInband(reply.payload, reply.transactionId, reply.completionRequested);
    return result.ok;
  }

  /** Writes backlogged replies in order; returns the footprint of the first that still does not fit. */
  private drainBacklog(): number {
    while (this.backlog.length > 0) {
      const next = this.backlog[0]!;
      if (!this.write(next)) return inbandFootprint(next.payload.length);
      this.backlog.shift();
    }
    return 0;
  }

  /** Settles when the service loop has ended (stopped, or the guest corrupted the ring). */
  get serviceEnded(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /** Calls `callback` once, when the service loop ends (stopped, or the guest corrupted the ring). */
  onServiceEnded(callback: () => void): void {
    this.endCallbacks.push(callback);
  }

  /** The guest signalled this channel. */
  notify(): void {
    this.interrupt.ring();
  }

  /** Starts serving the channel with `handler`. */
  start(handler: ChannelHandler): void {
    this.loop ??= this.serve(handler);
  }

  /** Stops the service loop and waits for it: after this the rings are not touched again. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.interrupt.ring();
    await this.loop;
    this.received$.complete();
    this.sent$.complete();
  }

  private async serve(handler: ChannelHandler): Promise<void> {
    const endpoint = this.endpoint;
    const onPacket = (packet: IncomingPacket): void => {
      this.counters.packets++;
      if (this.interceptor !== undefined) {
        this.interceptFate(packet, this.interceptor, handler);
        return;
      }
      if (this.received$.observed) this.received$.next(observe(this.id, packet, undefined, now()));
      handler.onPacket(packet, this);
    };
    try {
      while (!this.stopped) {
        const blocked = this.drainBacklog();
        if (blocked > 0) {
          endpoint.flush();
          await endpoint.waitAsync({ space: blocked });
          continue;
        }
        if (this.injected.length > 0) {
          this.inBatch = true;
          for (let i = 0; i < BATCH && this.injected.length > 0 && !this.stopped; i++) handler.onPacket(this.injected.shift()!, this);
          this.inBatch = false;
          endpoint.flush();
          continue;
        }
        if (this.holding) {
          // Held: publish replies, read nothing; wake on release, injected packets or stop.
          endpoint.flush();
          const seen = this.interrupt.sequence();
          if (this.holding && this.injected.length === 0 && !this.stopped) await this.interrupt.waitAsync(seen);
          continue;
        }
        this.inBatch = true;
        const count = endpoint.drain(onPacket, BATCH);
        this.inBatch = false;
        endpoint.flush();
        if (count > 0) this.counters.batches++;
        else await endpoint.waitAsync({ packets: true });
      }
    } catch (error) {
      if (error instanceof RingCorruptError) {
        this.counters.corruptions++;
        this.problems.warn(`ring-${error.reason}`, { channel: this.id, detail: error.message }, 'guest corrupted a channel ring: channel service stopped');
      } else {
        this.counters.handlerErrors++;
        this.problems.warn('handler-error', { channel: this.id, err: error }, 'device handler failed: channel service stopped');
      }
    } finally {
      this.inBatch = false;
      this.ended = true;
      for (const callback of this.endCallbacks.splice(0)) callback();
      await handler.onClose?.(this);
    }
  }

  /** A guest packet while an interceptor is set: observe it with its fate, then act on the fate. */
  private interceptFate(packet: IncomingPacket, interceptor: PacketInterceptor, handler: ChannelHandler): void {
    // Stamped before the interceptor runs, so a delayed packet's delay shows in full between the
    // stamps of the request and of its reply.
    const time = this.received$.observed ? now() : undefined;
    const fate = interceptor.intercept(packet);
    if (time !== undefined && this.received$.observed) this.received$.next(observe(this.id, packet, fate.fault, time));
    for (const next of fate.deliver) handler.onPacket(next, this);
  }
}

/** Observation time: ms since the epoch, sub-millisecond. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

function observe(channel: ChannelId, packet: IncomingPacket, fault: PacketFault | undefined, time: number): ObservedPacket {
  return {
    channel,
    direction: 'guest-to-host',
    kind: packet.kind,
    type: packet.type,
    length: packet.packetLength,
    transactionId: packet.transactionId,
    payload: packet.payload().slice(),
    ...(fault === undefined ? {} : { fault }),
    time,
  };
}

function observeReply(channel: ChannelId, reply: PendingReply): ObservedPacket {
  return {
    channel,
    direction: 'host-to-guest',
    kind: reply.type,
    type: reply.type === 'completion' ? PacketType.completion : PacketType.dataInband,
    length: align8(PacketDescriptor.SIZE + reply.payload.length),
    transactionId: BigInt(reply.transactionId),
    payload: reply.payload.slice(),
    time: now(),
  };
}
