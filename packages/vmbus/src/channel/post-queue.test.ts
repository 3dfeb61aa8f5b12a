import { afterEach, describe, expect, it, vi } from 'vitest';
import { RetryingPostQueue } from './post-queue.ts';

describe('RetryingPostQueue', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('posts in order, and after a refusal retries from the refused message on a timer', () => {
    vi.useFakeTimers();
    const posted: number[] = [];
    let full = false;
    const queue = new RetryingPostQueue<number>((n) => {
      if (full) return false;
      posted.push(n);
      return true;
    });
    queue.push(1);
    full = true;
    queue.push(2);
    queue.push(3);
    expect(posted).toEqual([1]);
    expect(queue.length).toBe(2);
    full = false;
    vi.advanceTimersByTime(1);
    expect(posted).toEqual([1, 2, 3]);
    expect(queue.length).toBe(0);
  });

  it('stops retrying when closed', () => {
    vi.useFakeTimers();
    let attempts = 0;
    const queue = new RetryingPostQueue<number>(() => {
      attempts++;
      return false;
    });
    queue.push(1);
    queue.close();
    vi.advanceTimersByTime(100);
    expect(attempts).toBe(1);
  });
});
