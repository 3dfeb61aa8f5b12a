/**
 * A tiny FIFO async mutex: formats hold it only around metadata updates (block allocation,
 * bitmap and header writes) so plain data I/O stays fully concurrent.
 */

/** Runs critical sections one at a time, in call order. */
export class AsyncMutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `section` once every earlier section has settled; resolves or rejects with its result. */
  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section, section);
    // Later sections wait for this one whatever its outcome; the caller sees the outcome.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
