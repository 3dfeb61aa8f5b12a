/**
 * A partition's memory pool: the TLFS "bank account" of pages (TLFS 2.0 §7.1; hyperv-tlfs.md §3).
 *
 * Pages are budget, not buffers: the host's budget (set at boot) is the root's pool; a parent moves
 * pages into a child's pool with DepositMemory and back with WithdrawMemory; every allocation the
 * hypervisor makes for a partition (guest pages, VP pages, port buffers, the partition record)
 * draws `available` pages into `inUse`. Guest memory never grows past what was drawn, so the host
 * cannot be made to allocate more than its budget.
 */

export { HvCosts } from '../abi/costs.ts';

/** A page-count pool. All counts are whole pages. */
export class MemoryPool {
  available = 0;
  inUse = 0;

  /** Draws `pages` into use; false (nothing drawn) when the pool is short. */
  draw(pages: number): boolean {
    if (pages > this.available) return false;
    this.available -= pages;
    this.inUse += pages;
    return true;
  }

  /** Returns `pages` from use to available. */
  release(pages: number): void {
    const n = Math.min(pages, this.inUse);
    this.inUse -= n;
    this.available += n;
  }

  /** Moves up to `pages` available pages to `to`; returns how many moved. */
  moveTo(to: MemoryPool, pages: number): number {
    const n = Math.min(pages, this.available);
    this.available -= n;
    to.available += n;
    return n;
  }
}
