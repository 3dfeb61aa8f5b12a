import { describe, expect, it } from 'vitest';
import { RwLock } from './rw-lock.ts';

describe('RwLock.tryAcquireShared', () => {
  it('takes the shared side at once when no writer holds or waits', async () => {
    const lock = new RwLock();
    expect(lock.tryAcquireShared()).toBe(true);
    expect(lock.tryAcquireShared()).toBe(true);
    let writing = false;
    const writer = lock.acquireExclusive().then(() => (writing = true));
    // A writer waits: new readers queue behind it instead of starving it.
    expect(lock.tryAcquireShared()).toBe(false);
    lock.releaseShared();
    await Promise.resolve();
    expect(writing).toBe(false);
    lock.releaseShared();
    await writer;
    expect(writing).toBe(true);
    expect(lock.tryAcquireShared()).toBe(false); // held exclusively
    lock.releaseExclusive();
    expect(lock.tryAcquireShared()).toBe(true);
  });
});
