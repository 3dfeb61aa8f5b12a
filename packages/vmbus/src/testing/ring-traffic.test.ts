/**
 * Cross-worker stress of the ring and its waiters: real threads, real shared memory, a million
 * packets of mixed sizes with checksums, rings small enough to fill, and both waiting styles.
 * A lost wake-up shows as a run that never finishes (the test's timeout), a lost, duplicated,
 * reordered or corrupted packet as a verification error.
 */
import { describe, expect, it } from 'vitest';
import { startRingTrafficPair } from './ring-traffic-pair.ts';

const SMALL_RING = 16 * 1024 + 4096; // fills within a few dozen packets: writers block often
const mixed = { min: 0, max: 3000, seed: 0xc0ffee };

describe('ring traffic between two workers', () => {
  it('moves 1,000,000 mixed-size packets one way, every one verified, through a small ring', async () => {
    const pair = startRingTrafficPair({ packets: 1_000_000, sizes: mixed, ringSize: SMALL_RING, batch: 16 });
    const { guest, host } = await pair.results;
    expect(host.errors).toEqual([]);
    expect(host.packets).toBe(1_000_000);
    expect(host.payloadBytes).toBe(guest.payloadBytes);
    expect(guest.sleeps).toBeGreaterThan(0); // the writer really did find the ring full and wait
  }, 240_000);

  it('echoes 1,000,000 mixed-size packets (full duplex), both directions verified', async () => {
    const pair = startRingTrafficPair({ packets: 1_000_000, sizes: mixed, ringSize: 64 * 1024 + 4096, guestRole: 'send-and-verify-echo', hostRole: 'echo' });
    const { guest, host } = await pair.results;
    expect(host.errors).toEqual([]);
    expect(guest.errors).toEqual([]);
    expect(guest.payloadBytes).toBe(2 * host.payloadBytes); // it counted what it sent and what came back
  }, 240_000);

  it('wakes an event-loop reader (Atomics.waitAsync) without losing a wake-up', async () => {
    const pair = startRingTrafficPair({ packets: 200_000, sizes: mixed, ringSize: SMALL_RING, hostRole: 'receive-async', spinMicros: 0 });
    const { host } = await pair.results;
    expect(host.errors).toEqual([]);
    expect(host.sleeps).toBeGreaterThan(0);
  }, 120_000);

  it('echoes through an event-loop echo party with no spinning: every wait is a real sleep', async () => {
    const pair = startRingTrafficPair({ packets: 100_000, sizes: mixed, ringSize: SMALL_RING, guestRole: 'send-and-verify-echo', hostRole: 'echo-async', spinMicros: 0 });
    const { guest, host } = await pair.results;
    expect(guest.errors).toEqual([]);
    expect(host.errors).toEqual([]);
    expect(host.sleeps + guest.sleeps).toBeGreaterThan(0);
  }, 120_000);
});
