/**
 * A small FIFO reader/writer lock. VHDX data I/O on allocated blocks holds it shared (many in
 * flight); anything that changes the BAT, the sector bitmaps, the log or the headers holds it
 * exclusive, so a block is never freed or reused under an in-flight write and readers never see
 * a half-made allocation.
 */
type Waiter = { readonly exclusive: boolean; readonly grant: () => void };

/** The lock. */
export class RwLock {
  private shared = 0;
  private exclusive = false;
  private readonly queue: Waiter[] = [];

  /** Resolves once held shared; call `releaseShared` exactly once after. */
  acquireShared(): Promise<void> {
    if (!this.exclusive && this.queue.length === 0) {
      this.shared++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push({ exclusive: false, grant: resolve }));
  }

  /**
   * Takes the shared side now if it is free of writers and waiters (no promise, for hot paths);
   * returns whether it did. Call `releaseShared` exactly once after a `true`.
   */
  tryAcquireShared(): boolean {
    if (this.exclusive || this.queue.length > 0) return false;
    this.shared++;
    return true;
  }

  releaseShared(): void {
    this.shared--;
    this.drain();
  }

  /** Resolves once held exclusively; call `releaseExclusive` exactly once after. */
  acquireExclusive(): Promise<void> {
    if (!this.exclusive && this.shared === 0 && this.queue.length === 0) {
      this.exclusive = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push({ exclusive: true, grant: resolve }));
  }

  releaseExclusive(): void {
    this.exclusive = false;
    this.drain();
  }

  /** Runs `body` holding the lock exclusively. */
  async exclusively<T>(body: () => Promise<T>): Promise<T> {
    await this.acquireExclusive();
    try {
      return await body();
    } finally {
      this.releaseExclusive();
    }
  }

  private drain(): void {
    while (this.queue.length > 0 && !this.exclusive) {
      const next = this.queue[0];
      if (next === undefined) return;
      if (next.exclusive) {
        if (this.shared > 0) return;
        this.queue.shift();
        this.exclusive = true;
        next.grant();
        return;
      }
      this.queue.shift();
      this.shared++;
      next.grant();
    }
  }
}
