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
 * A ring the guest corrupts stops this channel's service (OpenVMM's storvsp does the same): the
 * error is logged at a limited rate and counted; the root and every other channel go on.
 */
import type { Logger } from 'pino';
import { Subject } from 'rxjs';
import { ChannelEndpoint, LocalInterrupt, RingCorruptError, inbandFootprint, type ChannelId, type ChannelRings, type IncomingPacket, type TransactionId } from '@viridian/vmbus';
import type { RateLimitedLog } from '../logging/rate-limited-log.ts';
import type { ChannelHandler } from './vmbus-device.ts';

/** Packets handled per batch before replies are published. */
const BATCH = 64;

/** A reply that did not fit the ring yet: kept (copied) until the guest frees space. */
interface PendingReply {
  readonly type: 'inband' | 'completion';
  readonly payload: Uint8Array;
  readonly transactionId: TransactionId;
  readonly completionRequested: boolean;
}

/** A packet the guest sent on a channel, as observers see it (copied). */
export interface ObservedPacket {
  readonly channel: ChannelId;
  readonly direction: 'guest-to-host';
  readonly kind: IncomingPacket['kind'];
  readonly type: number;
  readonly length: number;
  readonly transactionId: bigint;
  readonly payload: Uint8Array;
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
  private readonly interrupt = new LocalInterrupt();
  private stopped = false;
  private readonly backlog: PendingReply[] = [];
  private loop: Promise<void> | undefined;

  constructor(
    readonly id: ChannelId,
    rings: ChannelRings,
    signalGuest: () => void,
    readonly log: Logger,
    private readonly problems: RateLimitedLog,
  ) {
    this.endpoint = new ChannelEndpoint(rings, 'host', { interrupt: this.interrupt, signalPeer: signalGuest, spinMicros: 0 });
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

  private reply(reply: PendingReply): void {
    if (this.backlog.length > 0 || !this.write(reply)) this.backlog.push({ ...reply, payload: reply.payload.slice() });
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
  }

  private async serve(handler: ChannelHandler): Promise<void> {
    const endpoint = this.endpoint;
    const onPacket = (packet: IncomingPacket): void => {
      this.counters.packets++;
      if (this.received$.observed) this.received$.next(observe(this.id, packet));
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
        const count = endpoint.drain(onPacket, BATCH);
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
      await handler.onClose?.(this);
    }
  }
}

function observe(channel: ChannelId, packet: IncomingPacket): ObservedPacket {
  return {
    channel,
    direction: 'guest-to-host',
    kind: packet.kind,
    type: packet.type,
    length: packet.packetLength,
    transactionId: packet.transactionId,
    payload: packet.payload().slice(),
  };
}
