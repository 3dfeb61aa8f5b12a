/**
 * Fault injection on one device's channel (the VMBus test bed): the {@link PacketInterceptor} the
 * management service sets on a {@link HostChannel} while faults are armed, and the ring hold.
 *
 * Faults are applied to guest-to-host packets before the device's handler sees them: dropped,
 * delayed (kept as private copies and handed back to the channel's loop, in order, when due),
 * duplicated, or corrupted (a copy with bytes flipped: the ring and the guest's memory are never
 * written). `hold-ring-full` stops the channel draining its guest ring; while it holds, a 2 ms
 * poll of the ring's control page reports the moment the guest's writer waits for space.
 *
 * The fault state belongs to the device, not to one channel: faults armed before the guest opens
 * the channel (or reopens it) apply from its first packet. Every parameter comes from the host and
 * is checked by {@link parseFault} first.
 */
import type { IncomingPacket } from '@viridian/vmbus';
import type { GuestRingState, HostChannel, PacketFate, PacketFault, PacketInterceptor } from '../vmbus/host-channel.ts';
import { ManagementError } from './management-errors.ts';
import type { ChannelFault } from './management-protocol.ts';

/** Bounds of fault parameters; a request outside them is refused. */
export const FaultLimits = Object.freeze({
  maxCount: 1_000_000,
  maxAfter: 1_000_000_000,
  maxDelayMs: 60_000,
  maxOffset: 1 << 30,
});

/** How often a held ring is checked for a waiting writer. */
const RING_POLL_MS = 2;

type CountedKind = 'drop' | 'delay' | 'duplicate' | 'corrupt';
const COUNTED: ReadonlySet<string> = new Set<CountedKind>(['drop', 'delay', 'duplicate', 'corrupt']);

/** A counted fault while armed. */
interface ArmedFault {
  readonly fault: Extract<ChannelFault, { kind: CountedKind }>;
  /** Packets still to let through before it applies. */
  skip: number;
  /** Packets it still applies to. */
  remaining: number;
}

/**
 * Checks a fault the host sent and returns it as a well-formed {@link ChannelFault}.
 * @throws {ManagementError} `VIRIDIAN_FAULT_BAD_SPEC` for an unknown kind or a parameter out of range
 */
export function parseFault(value: unknown): ChannelFault {
  const fault = value as Record<string, unknown> | null;
  const kind = typeof fault === 'object' && fault !== null ? fault.kind : undefined;
  if (kind === 'hold-ring-full' || kind === 'clear') return { kind };
  if (typeof kind !== 'string' || !COUNTED.has(kind)) throw bad(`unknown fault kind ${String(kind)}`);
  const f = fault!;
  const count = integer(f, 'count', 1, FaultLimits.maxCount, 1);
  const after = integer(f, 'after', 0, FaultLimits.maxAfter, 0);
  switch (kind as CountedKind) {
    case 'drop':
    case 'duplicate':
      return { kind: kind as 'drop' | 'duplicate', count, after };
    case 'delay': {
      const ms = f.ms;
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > FaultLimits.maxDelayMs) throw bad(`delay ms must be 0-${FaultLimits.maxDelayMs}`);
      return { kind: 'delay', ms, count, after };
    }
    case 'corrupt': {
      const offset = integer(f, 'offset', 0, FaultLimits.maxOffset, 0);
      const length = integer(f, 'length', 0, FaultLimits.maxOffset, FaultLimits.maxOffset);
      const xor = integer(f, 'xor', 1, 0xff, 0xff);
      return { kind: 'corrupt', count, after, offset, length, xor };
    }
  }
}

function integer(fault: Record<string, unknown>, key: string, min: number, max: number, fallback: number): number {
  const value = fault[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw bad(`${key} must be an integer from ${min} to ${max}`);
  return value;
}

function bad(message: string): ManagementError {
  return new ManagementError('VIRIDIAN_FAULT_BAD_SPEC', message);
}

/** The faults of one device's channel. */
export class ChannelFaults implements PacketInterceptor {
  private armed: ArmedFault[] = [];
  /** Private copies held by `delay` (and the packets behind them), in order, with when they are due. */
  private readonly delayed: { readonly packet: IncomingPacket; readonly due: number }[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private poll: ReturnType<typeof setInterval> | undefined;
  private holding = false;
  private channel: HostChannel | undefined;

  /** @param onRingFull called once per hold, when the guest's writer waits for space */
  constructor(private readonly onRingFull: (state: GuestRingState) => void) {}

  /** The device's channel opened: apply the armed state to it. */
  attach(channel: HostChannel): void {
    this.channel = channel;
    channel.holdGuestRing(this.holding);
    if (this.holding) this.startPoll();
    this.sync();
  }

  /** The channel closed: packets held for it are gone with it. */
  detach(channel: HostChannel): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.delayed.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopPoll();
  }

  /** Arms (or with `clear` disarms) a fault checked by {@link parseFault}. */
  inject(fault: ChannelFault): void {
    switch (fault.kind) {
      case 'clear':
        this.armed = [];
        this.holding = false;
        this.stopPoll();
        this.channel?.holdGuestRing(false);
        this.releaseDelayed(Infinity);
        break;
      case 'hold-ring-full':
        this.holding = true;
        this.channel?.holdGuestRing(true);
        if (this.channel) this.startPoll();
        break;
      default:
        this.armed.push({ fault, skip: fault.after ?? 0, remaining: fault.count ?? 1 });
    }
    this.sync();
  }

  /** Stops every timer (the VM is going away). */
  dispose(): void {
    if (this.channel) this.detach(this.channel);
  }

  intercept(packet: IncomingPacket): PacketFate {
    let chosen: ArmedFault | undefined;
    for (const armed of this.armed) {
      if (armed.skip > 0) armed.skip--;
      else if (chosen === undefined) {
        chosen = armed;
        armed.remaining--;
      }
    }
    if (chosen !== undefined && chosen.remaining === 0) this.armed = this.armed.filter((armed) => armed !== chosen);
    let fault: PacketFault | undefined;
    let deliver: IncomingPacket[] = [packet];
    let delayMs = 0;
    const f = chosen?.fault;
    switch (f?.kind) {
      case undefined:
        break;
      case 'drop':
        fault = 'dropped';
        deliver = [];
        break;
      case 'duplicate':
        fault = 'duplicated';
        deliver = [packet, packet];
        break;
      case 'corrupt':
        fault = 'corrupted';
        deliver = [corrupt(detachPacket(packet), f.offset ?? 0, f.length ?? FaultLimits.maxOffset, f.xor ?? 0xff)];
        break;
      case 'delay':
        fault = 'delayed';
        delayMs = f.ms;
        break;
      default:
        f satisfies never;
    }
    if (deliver.length > 0 && (delayMs > 0 || this.delayed.length > 0)) {
      // Held, or behind held packets: keep copies, in order.
      const last = this.delayed.at(-1)?.due ?? 0;
      const due = Math.max(performance.now() + delayMs, last);
      for (const next of deliver) this.delayed.push({ packet: next === packet ? detachPacket(packet) : next, due });
      fault ??= 'delayed';
      deliver = [];
      this.schedule();
    }
    this.sync();
    return fault === undefined ? { deliver } : { fault, deliver };
  }

  /** Intercepts only while something is armed or held: otherwise the channel runs bare. */
  private sync(): void {
    this.channel?.intercept(this.armed.length > 0 || this.delayed.length > 0 ? this : undefined);
  }

  private schedule(): void {
    if (this.timer !== undefined || this.delayed.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.releaseDelayed(performance.now());
    }, Math.max(0, this.delayed[0]!.due - performance.now()));
  }

  /** Hands the held packets due by `now` back to the channel, and waits for the rest. */
  private releaseDelayed(now: number): void {
    let due = 0;
    while (due < this.delayed.length && this.delayed[due]!.due <= now) due++;
    const ready = this.delayed.splice(0, due).map((held) => held.packet);
    this.channel?.deliverLater(ready);
    if (now === Infinity) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.schedule();
    this.sync();
  }

  private startPoll(): void {
    this.stopPoll();
    this.poll = setInterval(() => {
      const state = this.channel?.guestRingState();
      if (state === undefined || state.pendingSendSize === 0) return;
      this.stopPoll();
      this.onRingFull(state);
    }, RING_POLL_MS);
  }

  private stopPoll(): void {
    clearInterval(this.poll);
    this.poll = undefined;
  }
}

/** A private copy of a packet that outlives the ring read (the reader reuses its packet record). */
export function detachPacket(packet: IncomingPacket): IncomingPacket {
  const bytes = packet.bytes.slice(0, packet.packetLength);
  const { payloadOffset, payloadLength } = packet;
  const common = {
    type: packet.type,
    flags: packet.flags,
    completionRequested: packet.completionRequested,
    transactionId: packet.transactionId,
    transactionIdNumber: packet.transactionIdNumber,
    bytes,
    packetLength: packet.packetLength,
    payloadOffset,
    payloadLength,
    payload: () => bytes.subarray(payloadOffset, payloadOffset + payloadLength),
  };
  switch (packet.kind) {
    case 'gpa-direct':
      return { ...common, kind: packet.kind, ranges: packet.ranges.map((range) => ({ ...range, pfns: [...range.pfns] })) };
    case 'transfer-page':
      return { ...common, kind: packet.kind, pageSetId: packet.pageSetId, senderOwnsSet: packet.senderOwnsSet, ranges: packet.ranges.map((range) => ({ ...range })) };
    default:
      return { ...common, kind: packet.kind };
  }
}

/** XORs `xor` into payload bytes `[offset, offset + length)` of a detached packet (clipped to the payload). */
function corrupt(packet: IncomingPacket, offset: number, length: number, xor: number): IncomingPacket {
  const payload = packet.payload();
  const end = Math.min(payload.length, offset + length);
  for (let i = Math.min(offset, payload.length); i < end; i++) payload[i]! ^= xor;
  return packet;
}
