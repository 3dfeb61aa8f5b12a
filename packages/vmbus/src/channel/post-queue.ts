/**
 * The order-keeping outbox of a VMBus control-plane driver: messages are posted in order, and when
 * the peer's SynIC message buffers are full (HV_STATUS_INSUFFICIENT_BUFFERS) the queue waits and
 * retries from the same message, so nothing is lost or reordered. Used by both the root's VMBus
 * host and the guest kernel's VMBus client drivers.
 */

export class RetryingPostQueue<T> {
  private readonly items: T[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param post posts one item; returns false when it must be retried later (buffers full)
   * @param retryMs how long to wait before retrying a refused post
   */
  constructor(
    private readonly post: (item: T) => boolean,
    private readonly retryMs = 1,
  ) {}

  /** Messages waiting to be posted. */
  get length(): number {
    return this.items.length;
  }

  /** Queues `item` and posts what it can, in order. */
  push(item: T): void {
    this.items.push(item);
    this.flush();
  }

  /** Posts queued items in order until one is refused; then retries after `retryMs`. */
  flush(): void {
    while (this.items.length > 0) {
      if (!this.post(this.items[0]!)) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.flush();
        }, this.retryMs);
        return;
      }
      this.items.shift();
    }
  }

  /** Stops retrying (the connection is going away). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
