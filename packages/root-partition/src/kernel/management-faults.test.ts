/**
 * Fault injection on a real HostChannel over a flat ring pair, driven by a guest endpoint: each
 * fault's effect on what the handler sees and what observers see, the ring hold, and every
 * validation branch of `parseFault`. Delays run on fake timers (virtual time).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChannelEndpoint, ChannelRegion, LocalInterrupt, inbandFootprint, type ChannelId } from '@viridian/vmbus';
import { RateLimitedLog } from '../logging/rate-limited-log.ts';
import { HostChannel, type GuestRingState, type ObservedPacket } from '../vmbus/host-channel.ts';
import { ChannelFaults, FaultLimits, parseFault } from './management-faults.ts';

const encoder = new TextEncoder();
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replace(/\0+$/, '');
/** Lets the channel's loop run (event-loop turns, not time: timers are fake). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

function rig() {
  const region = ChannelRegion.allocate(16 * 1024 + 4096);
  region.initialize();
  const guestInterrupt = new LocalInterrupt();
  const logger = pino({ level: 'silent' });
  const host: HostChannel = new HostChannel(1 as ChannelId, region, () => guestInterrupt.ring(), logger, new RateLimitedLog(logger));
  const guest = new ChannelEndpoint(region, 'guest', { interrupt: guestInterrupt, signalPeer: () => host.notify(), spinMicros: 0 });
  const seen: string[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  host.start({
    onPacket(packet, channel) {
      seen.push(decode(packet.payload()));
      channel.complete(packet.payload(), packet.transactionId);
      for (const waiter of waiters.filter((w) => seen.length >= w.count)) waiter.resolve();
    },
  });
  const ringFull: GuestRingState[] = [];
  const faults = new ChannelFaults((state) => ringFull.push(state));
  faults.attach(host);
  const observed: ObservedPacket[] = [];
  host.received$.subscribe((packet) => observed.push(packet));
  host.sent$.subscribe((packet) => observed.push(packet));
  let nextId = 1;
  return {
    host,
    guest,
    faults,
    seen,
    observed,
    ringFull,
    /** Writes in-band requests and publishes them. */
    send(...texts: string[]) {
      for (const text of texts) expect(guest.outgoing.writeInband(encoder.encode(text), nextId++, true).ok).toBe(true);
      guest.flush();
    },
    /** Resolves when the handler has seen `count` packets. */
    handled(count: number) {
      return seen.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }));
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ChannelFaults', () => {
  it('drops the next packet after letting one through', async () => {
    const r = rig();
    r.faults.inject(parseFault({ kind: 'drop', after: 1 }));
    r.send('alpha', 'bravo', 'charlie');
    await r.handled(2);
    expect(r.seen).toEqual(['alpha', 'charlie']);
    const received = r.observed.filter((p) => p.direction === 'guest-to-host');
    expect(received.map((p) => [decode(p.payload), p.fault])).toEqual([
      ['alpha', undefined],
      ['bravo', 'dropped'],
      ['charlie', undefined],
    ]);
    await r.host.stop();
  });

  it('duplicates, and observers see the replies the handler wrote', async () => {
    const r = rig();
    r.faults.inject(parseFault({ kind: 'duplicate' }));
    r.send('alpha', 'bravo');
    await r.handled(3);
    expect(r.seen).toEqual(['alpha', 'alpha', 'bravo']);
    const sent = r.observed.filter((p) => p.direction === 'host-to-guest');
    expect(sent.map((p) => [p.kind, p.type, p.transactionId, p.length])).toEqual([
      ['completion', 11, 1n, 24],
      ['completion', 11, 1n, 24],
      ['completion', 11, 2n, 24],
    ]);
    await r.host.stop();
  });

  it('corrupts a copy: the handler sees flipped bytes, observers and the ring keep what the guest wrote', async () => {
    const r = rig();
    r.faults.inject(parseFault({ kind: 'corrupt', offset: 1, length: 2, xor: 0x20 }));
    r.send('alpha', 'bravo');
    await r.handled(2);
    expect(r.seen).toEqual(['aLPha', 'bravo']);
    expect(decode(r.observed[0]!.payload)).toBe('alpha');
    expect(r.observed[0]!.fault).toBe('corrupted');
    await r.host.stop();
  });

  it('delays a packet and keeps the ones behind it in order (virtual time)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const r = rig();
    r.faults.inject(parseFault({ kind: 'delay', ms: 100 }));
    r.send('alpha', 'bravo');
    await settle();
    expect(r.seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(99);
    expect(r.seen).toEqual([]);
    r.send('charlie');
    await vi.advanceTimersByTimeAsync(1);
    await r.handled(3);
    expect(r.seen).toEqual(['alpha', 'bravo', 'charlie']);
    expect(r.observed.filter((p) => p.direction === 'guest-to-host').map((p) => p.fault)).toEqual(['delayed', 'delayed', 'delayed']);
    r.send('delta'); // nothing held any more: straight through
    await r.handled(4);
    await r.host.stop();
  });

  it('holds the ring until the guest waits for space, reports it, and drains everything on clear', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const r = rig();
    r.faults.inject(parseFault({ kind: 'hold-ring-full' }));
    const payload = new Uint8Array(1000).fill(0x61);
    let written = 0;
    while (r.guest.outgoing.writeInband(payload, ++written, true).ok);
    written--;
    r.guest.flush();
    expect(r.guest.outgoing.requestSpace(inbandFootprint(1000))).toBe(false); // as a waiting writer does: publishes pending_send_sz
    await settle();
    await vi.advanceTimersByTimeAsync(2);
    expect(r.ringFull).toHaveLength(1);
    expect(r.ringFull[0]!.pendingSendSize).toBeGreaterThan(0);
    expect(r.ringFull[0]!.queuedBytes).toBe(written * inbandFootprint(1000));
    expect(r.seen).toEqual([]);
    r.faults.inject(parseFault({ kind: 'clear' }));
    await r.handled(written);
    expect(r.seen).toHaveLength(written);
    await r.host.stop();
  });

  it('clear disarms counted faults and delivers delayed packets at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const r = rig();
    r.faults.inject(parseFault({ kind: 'delay', ms: 60_000 }));
    r.faults.inject(parseFault({ kind: 'drop', after: 5 }));
    r.send('alpha');
    await settle();
    r.faults.inject(parseFault({ kind: 'clear' }));
    r.send('bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf');
    await r.handled(7);
    expect(r.seen).toEqual(['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf']);
    await r.host.stop();
  });
});

describe('parseFault', () => {
  it('fills in defaults', () => {
    expect(parseFault({ kind: 'drop' })).toEqual({ kind: 'drop', count: 1, after: 0 });
    expect(parseFault({ kind: 'corrupt' })).toEqual({ kind: 'corrupt', count: 1, after: 0, offset: 0, length: FaultLimits.maxOffset, xor: 0xff });
    expect(parseFault({ kind: 'clear', extra: 1 })).toEqual({ kind: 'clear' });
  });

  it.each([
    ['not an object', null],
    ['unknown kind', { kind: 'teleport' }],
    ['count 0', { kind: 'drop', count: 0 }],
    ['fractional count', { kind: 'duplicate', count: 1.5 }],
    ['count too large', { kind: 'drop', count: FaultLimits.maxCount + 1 }],
    ['negative after', { kind: 'drop', after: -1 }],
    ['string after', { kind: 'drop', after: '1' }],
    ['delay without ms', { kind: 'delay' }],
    ['delay NaN', { kind: 'delay', ms: Number.NaN }],
    ['delay too long', { kind: 'delay', ms: FaultLimits.maxDelayMs + 1 }],
    ['xor 0', { kind: 'corrupt', xor: 0 }],
    ['xor 256', { kind: 'corrupt', xor: 256 }],
    ['negative offset', { kind: 'corrupt', offset: -1 }],
  ])('refuses %s', (_, fault) => {
    expect(() => parseFault(fault)).toThrow(expect.objectContaining({ code: 'VIRIDIAN_FAULT_BAD_SPEC' }));
  });
});
