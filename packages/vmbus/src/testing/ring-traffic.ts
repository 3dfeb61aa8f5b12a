/**
 * Ring traffic between two threads, for the cross-worker stress test, the `ring` benchmark and the
 * demo. One party runs {@link runRingTraffic} in each worker over a shared {@link ChannelRegion}:
 *
 * - `send`: writes `packets` in-band packets, committing every `batch`, waiting when full;
 * - `receive`: reads them, verifying order, length and checksum when `verify` is set;
 * - `echo`: answers every packet with a completion carrying the same payload and transaction id;
 * - `send-and-verify-echo`: `send`, while reading and verifying the echoes (full duplex);
 * - `receive-async`, `echo-async`: the same on the event loop (`Atomics.waitAsync`), not blocking.
 *
 * Every party publishes a running count in `progress` (an Int32 cell) so a watcher can display it.
 */
import { ChannelEndpoint, type WaitFor } from '../channel/channel-endpoint.ts';
import { ChannelRegion, type ChannelSide } from '../channel/channel-region.ts';
import { Doorbell } from '../ring/doorbell.ts';
import type { IncomingPacket } from '../ring/incoming-packet.ts';
import { inbandFootprint } from '../ring/ring-space.ts';
import { type PayloadSizes, TrafficPattern } from './traffic-pattern.ts';
import { PacketDescriptor } from '../protocol/packet-layout.ts';

/** What a party does. */
export type TrafficRole = 'send' | 'receive' | 'echo' | 'send-and-verify-echo' | 'receive-async' | 'echo-async';

/** Everything a party needs, structured-clonable so it can be a worker's `workerData`. */
export interface RingTrafficConfig {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly sendRingSize: number;
  readonly receiveRingSize: number;
  readonly side: ChannelSide;
  readonly role: TrafficRole;
  /** This party's interrupt cell and the peer's (Int32Arrays over SharedArrayBuffers). */
  readonly interrupt: Int32Array;
  readonly peerInterrupt: Int32Array;
  readonly packets: number;
  readonly sizes: PayloadSizes;
  /** Packets per commit on the writing side. */
  readonly batch: number;
  readonly verify: boolean;
  readonly spinMicros?: number;
  /** Optional Int32 cell where the party publishes how many packets it has handled. */
  readonly progress?: Int32Array;
}

/** What a party did. */
export interface RingTrafficResult {
  readonly role: TrafficRole;
  readonly packets: number;
  readonly payloadBytes: number;
  readonly elapsedMs: number;
  /**
   * The steady state, after the first tenth of the packets (JIT warm-up, thread start): how many
   * packets the reading side handled in it and how long that took.
   */
  readonly steadyPackets: number;
  readonly steadyMs: number;
  readonly signalsSent: number;
  readonly sleeps: number;
  /** The first verification failures (empty when all packets checked out). */
  readonly errors: readonly string[];
}

const MAX_ERRORS = 5;

/**
 * Runs one party's traffic to completion. The blocking roles block the thread (call them in a
 * worker); the `-async` roles wait on the event loop.
 */
export async function runRingTraffic(config: RingTrafficConfig): Promise<RingTrafficResult> {
  const region = new ChannelRegion(config.buffer, config.byteOffset, config.sendRingSize, config.receiveRingSize);
  const peer = new Doorbell(config.peerInterrupt);
  const endpoint = new ChannelEndpoint(region, config.side, {
    interrupt: new Doorbell(config.interrupt),
    signalPeer: () => peer.ring(),
    spinMicros: config.spinMicros,
  });
  const party = new Party(endpoint, config);
  const started = performance.now();
  switch (config.role) {
    case 'send':
      party.send(false);
      break;
    case 'send-and-verify-echo':
      party.send(true);
      break;
    case 'receive':
      party.receive();
      break;
    case 'echo':
      party.echo();
      break;
    case 'receive-async':
      await party.receiveAsync();
      break;
    case 'echo-async':
      await party.echoAsync();
      break;
    default:
      config.role satisfies never;
  }
  return {
    role: config.role,
    packets: config.packets,
    payloadBytes: party.payloadBytes,
    elapsedMs: performance.now() - started,
    steadyPackets: party.steadyStart === undefined ? 0 : config.packets - party.steadyFrom,
    steadyMs: party.steadyStart === undefined ? 0 : (party.steadyEnd ?? performance.now()) - party.steadyStart,
    signalsSent: endpoint.counters.signalsSent,
    sleeps: endpoint.counters.sleeps,
    errors: party.errors,
  };
}

/** The state of one party's loop. */
class Party {
  readonly errors: string[] = [];
  payloadBytes = 0;
  private readonly outPattern: TrafficPattern;
  private readonly inPattern: TrafficPattern;
  private readonly buffer: Uint8Array;
  private received = 0;
  /** The reading side's steady-state window: from packet `steadyFrom` to the last. */
  readonly steadyFrom: number;
  steadyStart: number | undefined;
  steadyEnd: number | undefined;
  private readonly onPacket = (packet: IncomingPacket): void => this.check(packet);

  constructor(
    private readonly endpoint: ChannelEndpoint,
    private readonly config: RingTrafficConfig,
  ) {
    this.outPattern = new TrafficPattern(config.sizes);
    this.inPattern = new TrafficPattern(config.sizes);
    this.buffer = new Uint8Array(this.outPattern.maxPayload);
    this.steadyFrom = Math.floor(config.packets / 10);
  }

  /** Writes every packet; with `readEchoes`, also drains and verifies the peer's echoes. */
  send(readEchoes: boolean): void {
    const { endpoint, config } = this;
    const outgoing = endpoint.outgoing;
    const fixed = 'fixed' in config.sizes;
    if (fixed && !config.verify) this.outPattern.fill(this.buffer, 0, this.buffer.length);
    for (let sequence = 0; sequence < config.packets; sequence++) {
      const size = this.outPattern.nextSize();
      const payload = fixed ? this.buffer : this.buffer.subarray(0, size);
      if (config.verify) this.outPattern.fill(payload, sequence, size);
      while (!outgoing.writeInband(payload, sequence, readEchoes).ok) {
        if (readEchoes) this.endpoint.drain(this.onPacket);
        endpoint.wait({ packets: readEchoes, space: inbandFootprint(size) });
      }
      this.payloadBytes += size;
      if ((sequence + 1) % config.batch === 0) {
        endpoint.flush();
        this.publish(sequence + 1);
        if (readEchoes) endpoint.drain(this.onPacket);
      }
    }
    endpoint.flush();
    this.publish(config.packets);
    while (readEchoes && this.received < config.packets) {
      if (endpoint.drain(this.onPacket) === 0) endpoint.wait({ packets: true });
    }
  }

  /** Reads and checks every packet. */
  receive(): void {
    const { endpoint, config } = this;
    while (this.received < config.packets) {
      if (endpoint.drain(this.onPacket, config.batch) === 0) endpoint.wait({ packets: true });
      else this.publish(this.received);
    }
  }

  /** Reads and checks every packet, waiting on the event loop. */
  async receiveAsync(): Promise<void> {
    const { endpoint, config } = this;
    while (this.received < config.packets) {
      if (endpoint.drain(this.onPacket, config.batch) === 0) await endpoint.waitAsync({ packets: true });
      else this.publish(this.received);
    }
  }

  /** Answers every packet with a completion of the same payload and transaction id. */
  echo(): void {
    for (let step = this.echoStep(); step !== 'done'; step = this.echoStep()) {
      this.endpoint.wait(step);
    }
  }

  /** {@link echo}, waiting on the event loop. */
  async echoAsync(): Promise<void> {
    for (let step = this.echoStep(); step !== 'done'; step = this.echoStep()) {
      await this.endpoint.waitAsync(step);
    }
  }

  private echoed = 0;
  /** A packet read but not yet echoed because the outgoing ring was full. */
  private held: { payload: Uint8Array; transactionId: bigint } | undefined;

  /** Echoes what it can without waiting; returns what to wait for next, or 'done'. */
  private echoStep(): WaitFor | 'done' {
    const { endpoint, config } = this;
    const outgoing = endpoint.outgoing;
    while (this.echoed < config.packets) {
      if (this.held) {
        if (!outgoing.writeCompletion(this.held.payload, this.held.transactionId).ok) return { space: inbandFootprint(this.held.payload.length) };
        this.held = undefined;
        this.completeEcho();
        continue;
      }
      endpoint.incoming.mask();
      const packet = endpoint.incoming.read();
      if (!packet) return { packets: true };
      this.check(packet);
      const payload = packet.bytes.subarray(packet.payloadOffset, packet.payloadOffset + packet.payloadLength);
      if (!outgoing.writeCompletion(payload, packet.transactionId).ok) {
        // Keep a copy: the packet is only valid until the next read.
        this.held = { payload: payload.slice(), transactionId: packet.transactionId };
        return { space: inbandFootprint(payload.length) };
      }
      this.completeEcho();
    }
    endpoint.release();
    endpoint.flush();
    this.publish(this.echoed);
    return 'done';
  }

  private completeEcho(): void {
    this.echoed++;
    if (this.echoed % this.config.batch === 0) {
      this.endpoint.release();
      this.endpoint.flush();
      this.publish(this.echoed);
    }
  }

  private check(packet: IncomingPacket): void {
    const sequence = this.received++;
    if (sequence === this.steadyFrom) this.steadyStart = performance.now();
    if (sequence === this.config.packets - 1) this.steadyEnd = performance.now();
    const size = this.inPattern.nextSize();
    this.payloadBytes += size;
    if (!this.config.verify) return;
    if (this.errors.length >= MAX_ERRORS) return;
    const expectedLength = ((PacketDescriptor.SIZE + size + 7) & ~7) - PacketDescriptor.SIZE;
    if (packet.payloadLength !== expectedLength) {
      this.errors.push(`packet ${sequence}: ${packet.payloadLength} payload bytes, expected ${expectedLength}`);
      return;
    }
    const mismatch = this.inPattern.verify(packet.bytes, packet.payloadOffset, size, sequence);
    if (mismatch) this.errors.push(mismatch);
  }

  private publish(count: number): void {
    if (this.config.progress) Atomics.store(this.config.progress, 0, count);
  }
}
