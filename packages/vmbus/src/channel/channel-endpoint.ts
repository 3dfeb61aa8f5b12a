/**
 * One party's end of a channel: its outgoing and incoming rings over a channel's ring pair, its
 * own interrupt (an {@link Interrupt} the peer rings) and the way to signal the peer.
 *
 * It owns the VMBus signalling discipline, for worker code (blocking, `Atomics.wait`) and for
 * async code (`Atomics.waitAsync`) alike:
 * - writes are committed in batches; the peer is signalled only when the ring rule says it may be
 *   asleep (§3.1), and when a read batch freed the space a blocked peer asked for (§3.2);
 * - waiting for packets follows mask, drain, unmask, re-check (§3.3): the sequence is read, the
 *   mask cleared, the ring re-checked, and only then does the thread sleep on that sequence;
 * - waiting for space publishes pending_send_sz, re-checks, and sleeps the same way;
 * - before sleeping it polls for a bounded time (`spinMicros`), with the mask still set, so a busy
 *   peer never has to signal (node-performance-facts.md: a wake-up costs tens of microseconds).
 */
import { IncomingRing, type IncomingRingOptions } from '../ring/incoming-ring.ts';
import type { IncomingPacket } from '../ring/incoming-packet.ts';
import { OutgoingRing } from '../ring/outgoing-ring.ts';
import type { Interrupt } from '../ring/doorbell.ts';
import type { ChannelRings, ChannelSide } from './channel-region.ts';
import { HaltPoll } from './halt-poll.ts';

/** Options of a {@link ChannelEndpoint}. */
export interface ChannelEndpointOptions extends IncomingRingOptions {
  /** This party's interrupt: the peer (or this party's interrupt handler) rings it. */
  readonly interrupt: Interrupt;
  /** Raises the peer's interrupt (rings its doorbell, or issues HvSignalEvent). */
  readonly signalPeer: () => void;
  /** How long `wait` polls before sleeping, in microseconds (default 50; 0 sleeps at once). */
  readonly spinMicros?: number;
  /**
   * The longest window `waitAsync` polls for packets before it sleeps, in microseconds (default 0:
   * never). The window adapts (halt-poll.ts); polling looks once per microtask turn, so the
   * thread's own work (replies that make the peer's next packets) runs in between, with a turn of
   * the event loop every few looks.
   */
  readonly pollMicros?: number;
}

/** What a wait is for: packets to read, or `space` free bytes to write (0 = not waiting for space). */
export interface WaitFor {
  readonly packets?: boolean;
  readonly space?: number;
}

/** Counters of one endpoint, for benchmarks and metrics. */
export interface EndpointCounters {
  /** Interrupts this party raised at the peer. */
  signalsSent: number;
  /** Times this party went to sleep. */
  sleeps: number;
  /** Times a poll before sleeping found packets (a sleep and a signal saved). */
  pollHits: number;
}

const DEFAULT_SPIN_MICROS = 50;
/**
 * Looks (one per microtask turn) between two turns of the event loop while polling, which is also
 * when the clock is read: I/O completions and timers wait for at most this many looks.
 */
const LOOKS_PER_TURN = 8;

/** One party's end of a channel. */
export class ChannelEndpoint {
  readonly outgoing: OutgoingRing;
  readonly incoming: IncomingRing;
  readonly interrupt: Interrupt;
  readonly counters: EndpointCounters = { signalsSent: 0, sleeps: 0, pollHits: 0 };
  private readonly signalPeer: () => void;
  private readonly spinMs: number;
  /** Adaptive polling of `waitAsync` for packets (undefined: off). */
  readonly haltPoll: HaltPoll | undefined;

  /**
   * Opens `side`'s end of `region`: the guest writes the send ring and reads the receive ring,
   * the host the other way round. The guest should call `region.initialize()` first.
   * @throws {RingCorruptError} when a ring's own index is already invalid
   */
  constructor(region: ChannelRings, side: ChannelSide, options: ChannelEndpointOptions) {
    const [outRing, inRing] = side === 'guest' ? (['send', 'receive'] as const) : (['receive', 'send'] as const);
    this.outgoing = new OutgoingRing(region.ringMemory(outRing));
    this.incoming = new IncomingRing(region.ringMemory(inRing), options);
    this.interrupt = options.interrupt;
    this.signalPeer = options.signalPeer;
    this.spinMs = (options.spinMicros ?? DEFAULT_SPIN_MICROS) / 1000;
    const pollMicros = options.pollMicros ?? 0;
    this.haltPoll = pollMicros > 0 ? new HaltPoll(pollMicros) : undefined;
  }

  /** Publishes written packets; signals the peer if it may be asleep. Returns whether it did. */
  flush(): boolean {
    return this.commit(this.outgoing.commitWrite());
  }

  /** Publishes consumed packets; signals the peer if it waits for the space. Returns whether it did. */
  release(): boolean {
    return this.commit(this.incoming.commitRead());
  }

  /**
   * Reads up to `limit` packets as one batch with the interrupt masked, passing each to `handle`
   * (valid only during the call), then releases them. Returns how many were read. The mask stays
   * set (the peer does not signal while this party is awake): call `wait`/`waitAsync` before
   * sleeping, which unmasks and re-checks.
   * @throws {RingCorruptError} when the peer broke the ring protocol
   */
  drain(handle: (packet: IncomingPacket) => void, limit = 64): number {
    this.incoming.mask();
    let count = 0;
    for (; count < limit; count++) {
      const packet = this.incoming.read();
      if (!packet) break;
      handle(packet);
    }
    if (count > 0) this.release();
    return count;
  }

  /**
   * Blocks the thread until `what` holds (packets readable, or `space` bytes writable), the
   * interrupt is rung for another reason, or the timeout passes. Publishes pending reads and
   * writes first, so the peer can make progress. Returns whether the condition holds: like an
   * interrupt handler, the caller re-checks its own state and waits again if it must (ringing the
   * interrupt is how a local owner wakes its loop to stop it).
   */
  wait(what: WaitFor, timeoutMs = Infinity): boolean {
    this.flush();
    this.release();
    if (this.spin(what)) return true;
    const seen = this.interrupt.sequence();
    if (this.arm(what)) return true;
    this.counters.sleeps++;
    this.interrupt.wait(seen, timeoutMs);
    return this.ready(what);
  }

  /** {@link wait} for async code: sleeps on the event loop instead of blocking the thread. */
  async waitAsync(what: WaitFor, timeoutMs = Infinity): Promise<boolean> {
    this.flush();
    this.release();
    const poll = what.packets ? this.haltPoll : undefined;
    const windowUs = poll?.windowUs ?? 0;
    if (poll && windowUs > 0) {
      const rung = this.interrupt.sequence();
      if (await this.poll(what, windowUs, rung)) {
        poll.hit();
        this.counters.pollHits++;
        return true;
      }
      // Rung while polling: return as a wake-up would (the owner re-checks its own state).
      if (this.interrupt.sequence() !== rung) return this.ready(what);
    }
    const seen = this.interrupt.sequence();
    if (this.arm(what)) return true;
    this.counters.sleeps++;
    const slept = poll ? performance.now() : 0;
    await this.interrupt.waitAsync(seen, timeoutMs);
    if (poll) poll.slept((performance.now() - slept) * 1000, windowUs);
    return this.ready(what);
  }

  /**
   * Looks for `what` with the mask still set (the peer need not signal) for up to `windowUs`: on
   * microtask turns, with a turn of the event loop every LOOKS_PER_TURN looks so the thread's I/O
   * and timers are served meanwhile. Stops early when the interrupt is rung (a local owner waking
   * the loop, for example to stop it).
   */
  private async poll(what: WaitFor, windowUs: number, rung: number): Promise<boolean> {
    const until = performance.now() + windowUs / 1000;
    for (let look = 1; ; look++) {
      if (this.ready(what)) return true;
      if (this.interrupt.sequence() !== rung) return false;
      if (look % LOOKS_PER_TURN === 0) {
        if (performance.now() >= until) return false;
        await new Promise((resolve) => setImmediate(resolve));
      } else {
        await null;
      }
    }
  }

  private commit(shouldSignal: boolean): boolean {
    if (shouldSignal) {
      this.counters.signalsSent++;
      this.signalPeer();
    }
    return shouldSignal;
  }

  /** Polls with the mask still set (the peer need not signal) for at most `spinMicros`. */
  private spin(what: WaitFor): boolean {
    if (this.spinMs <= 0) return false;
    const until = performance.now() + this.spinMs;
    do {
      if (this.ready(what)) return true;
    } while (performance.now() < until);
    return false;
  }

  /** The condition, re-masking the incoming ring: called while awake. */
  private ready(what: WaitFor): boolean {
    if (what.packets) {
      this.incoming.mask();
      if (this.incoming.hasData()) return true;
    }
    return (what.space ?? 0) > 0 && this.outgoing.requestSpace(what.space!);
  }

  /**
   * The last re-check before sleeping: unmask (so the writer will signal), publish
   * pending_send_sz (so the reader will signal), then look again.
   */
  private arm(what: WaitFor): boolean {
    if (what.packets) {
      this.incoming.unmask();
      if (this.incoming.hasData()) {
        this.incoming.mask();
        return true;
      }
    }
    return (what.space ?? 0) > 0 && this.outgoing.requestSpace(what.space!);
  }
}
