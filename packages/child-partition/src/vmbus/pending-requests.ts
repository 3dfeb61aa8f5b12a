/**
 * The requests a guest channel has in flight, by transaction id: a table of slots that is reused
 * (it grows only when half full), so a request in flight costs no allocation besides its promise.
 *
 * Why not a `Map`: a `Map` whose entries churn (one `set` and one `delete` per request) reallocates
 * its hash table over and over, and V8 links each obsolete table to its successor. Once one such
 * table is promoted to the old generation, every scavenge finds the next young table reachable from
 * it and promotes that one too (nepotism): on a busy channel the guest then spends its time in
 * mark-compacts. Measured on the `vmbus` echo: 22 mark-compacts in a 300k-request run instead of
 * one, and half the throughput.
 *
 * Transaction ids count up from 1, as Linux's do. A request lives in slot `id % capacity`; the table
 * doubles when half full, and an id whose slot is still taken (a request that outlived a whole
 * table of newer ones) is skipped. The whole id is checked on lookup, so a completion for a
 * request that already completed, or was never sent, finds nothing.
 */

/** Most requests in flight on one channel (far beyond any ring). */
const MAX_SLOTS = 1 << 20;

/** What completes one request. */
export interface PendingRequest {
  resolve(payload: Uint8Array): void;
  reject(error: Error): void;
}

export class PendingRequests {
  private ids: Float64Array = new Float64Array(64);
  private waiters: (PendingRequest | undefined)[] = new Array<PendingRequest | undefined>(64).fill(undefined);
  private lastId = 0;
  private count = 0;

  /** Requests in flight. */
  get size(): number {
    return this.count;
  }

  /** Registers `waiter` and returns the transaction id its completion must carry. */
  add(waiter: PendingRequest): number {
    if (this.count * 2 >= this.ids.length) this.grow();
    const capacity = this.ids.length;
    let id: number;
    let slot: number;
    do {
      id = this.lastId = this.lastId >= Number.MAX_SAFE_INTEGER ? 1 : this.lastId + 1;
      slot = id % capacity;
    } while (this.ids[slot] !== 0);
    this.ids[slot] = id;
    this.waiters[slot] = waiter;
    this.count++;
    return id;
  }

  /** Removes and returns the request with transaction id `id`, or undefined when none is in flight. */
  take(id: number): PendingRequest | undefined {
    if (!Number.isSafeInteger(id) || id <= 0) return undefined;
    const slot = id % this.ids.length;
    if (this.ids[slot] !== id) return undefined;
    const waiter = this.waiters[slot];
    this.ids[slot] = 0;
    this.waiters[slot] = undefined;
    this.count--;
    return waiter;
  }

  /** Removes every request in flight and returns them, oldest id first (the channel closed). */
  takeAll(): PendingRequest[] {
    const live: number[] = [];
    for (const id of this.ids) if (id !== 0) live.push(id);
    live.sort((a, b) => a - b);
    return live.map((id) => this.take(id)!);
  }

  /** Doubles the table; live ids that differ modulo the old size differ modulo the new one. */
  private grow(): void {
    const capacity = this.ids.length * 2;
    if (capacity > MAX_SLOTS) throw new RangeError(`more than ${MAX_SLOTS / 2} requests in flight on one channel`);
    const ids = new Float64Array(capacity);
    const waiters = new Array<PendingRequest | undefined>(capacity).fill(undefined);
    for (let slot = 0; slot < this.ids.length; slot++) {
      const id = this.ids[slot]!;
      if (id === 0) continue;
      ids[id % capacity] = id;
      waiters[id % capacity] = this.waiters[slot];
    }
    this.ids = ids;
    this.waiters = waiters;
  }
}
