import { describe, expect, it } from 'vitest';
import { HaltPoll } from './halt-poll.ts';

describe('HaltPoll (adaptive polling window)', () => {
  it('grows while wake-ups come soon after sleeping, up to the maximum', () => {
    const p = new HaltPoll(100, 10);
    expect(p.windowUs).toBe(10);
    p.slept(30);
    expect(p.windowUs).toBe(20);
    p.slept(30);
    p.slept(30);
    p.slept(30);
    expect(p.windowUs).toBe(100);
    p.hit();
    expect(p.windowUs).toBe(100);
  });

  it('halves on long sleeps, down to 0 (an idle or overloaded host stops spinning), and restarts from the start window', () => {
    const p = new HaltPoll(100, 10);
    p.slept(50);
    expect(p.windowUs).toBe(20);
    for (let i = 0; i < 10; i++) p.slept(10_000);
    expect(p.windowUs).toBe(0);
    p.slept(5); // woken quickly again: a poll would have caught it
    expect(p.windowUs).toBe(10);
  });

  it('never exceeds a maximum below the start window', () => {
    const p = new HaltPoll(4);
    expect(p.windowUs).toBe(4);
    p.slept(1);
    expect(p.windowUs).toBe(4);
  });
});
