import { describe, expect, it } from 'vitest';
import { HaltPoll } from './halt-poll.ts';

describe('HaltPoll (adaptive polling window)', () => {
  it('starts at the full window and keeps it while polls find work', () => {
    const p = new HaltPoll(200);
    expect(p.windowUs).toBe(200);
    p.hit();
    p.slept(30, 200); // one miss followed by a quick wake-up: still worth polling
    p.hit();
    expect(p.windowUs).toBe(200);
  });

  it('halves on sleeps longer than the window (the peer went idle), down to 0, and comes back when a wake-up follows soon', () => {
    const p = new HaltPoll(200);
    p.slept(5_000, 200);
    expect(p.windowUs).toBe(100);
    p.slept(5_000, 100);
    p.slept(5_000, 50);
    expect(p.windowUs).toBe(25);
    for (let i = 0; i < 10; i++) p.slept(5_000, p.windowUs);
    expect(p.windowUs).toBe(0);
    p.slept(50, 0); // woken quickly while not polling: a poll would have caught it
    expect(p.windowUs).toBe(200);
  });

  it('pauses after four full polls in a row that find nothing (a peer that cannot run), then tries again', () => {
    const p = new HaltPoll(200);
    for (let i = 0; i < 3; i++) p.slept(20, 200);
    expect(p.windowUs).toBe(200);
    p.slept(20, 200);
    expect(p.windowUs).toBe(0);
    for (let i = 0; i < 31; i++) p.slept(20, 0);
    expect(p.windowUs).toBe(0);
    p.slept(20, 0);
    expect(p.windowUs).toBe(200);
    p.hit();
    for (let i = 0; i < 3; i++) p.slept(20, 200);
    expect(p.windowUs).toBe(200); // a hit reset the count
  });
});
