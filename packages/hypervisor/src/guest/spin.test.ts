import { describe, expect, it } from 'vitest';
import { PEER_STALL_US, spinWhileEqual, spinWhileEqualPolled } from './spin.ts';

describe('bounded spinning', () => {
  it('returns at once when the word already differs, and never spins with a zero budget', () => {
    const words = new Int32Array(new SharedArrayBuffer(8));
    words[0] = 1;
    expect(spinWhileEqual(words, 0, 0, 1e9)).toBe(true);
    const t0 = performance.now();
    expect(spinWhileEqual(words, 0, 1, 0)).toBe(false);
    expect(spinWhileEqualPolled(words, 0, 1, 1, 1e9)).toBe(false); // beat 0: the peer is not polling
    expect(performance.now() - t0).toBeLessThan(50);
  });

  it('gives up after its time budget when nothing changes', () => {
    const words = new Int32Array(new SharedArrayBuffer(8));
    const t0 = performance.now();
    expect(spinWhileEqual(words, 0, 0, 2000)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2);
  });

  it('stops early when the polling peer’s heartbeat stands still (it is not running)', () => {
    const words = new Int32Array(new SharedArrayBuffer(8));
    words[1] = 7; // a beat that never moves
    const t0 = performance.now();
    expect(spinWhileEqualPolled(words, 0, 0, 1, 10_000_000)).toBe(false); // a 10 s budget
    // Stopped after about PEER_STALL_US, far inside the budget (lenient bound for a noisy machine).
    expect(performance.now() - t0).toBeLessThan(PEER_STALL_US / 1000 + 500);
  });
});
