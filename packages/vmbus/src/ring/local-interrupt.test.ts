import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.ts';
import { LocalInterrupt } from './doorbell.ts';

describe('LocalInterrupt', () => {
  it('moves its sequence on every ring and wakes every async waiter once', async () => {
    const irq = new LocalInterrupt();
    const seen = irq.sequence();
    const a = irq.waitAsync(seen);
    const b = irq.waitAsync(seen);
    irq.ring();
    expect(await Promise.all([a, b])).toEqual(['rung', 'rung']);
    expect(irq.sequence()).toBe(seen + 1);
  });

  it('returns at once when the sequence already moved (no lost wake-up)', async () => {
    const irq = new LocalInterrupt();
    const seen = irq.sequence();
    irq.ring();
    expect(await irq.waitAsync(seen)).toBe('rung');
    expect(irq.wait(seen)).toBe('rung');
  });

  it('refuses to block the thread waiting for itself', () => {
    const irq = new LocalInterrupt();
    expect(() => irq.wait(irq.sequence())).toThrow(InvalidArgumentError);
  });

  it('times out a wait that is never rung', async () => {
    const irq = new LocalInterrupt();
    expect(await irq.waitAsync(irq.sequence(), 1)).toBe('timed-out');
    irq.ring(); // the timed-out waiter is gone: ringing wakes nobody and throws nothing
  });
});
