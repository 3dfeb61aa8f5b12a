/**
 * Guest pages for SRB data buffers: requests take contiguous runs from the kernel's page
 * allocator and give them back on completion; a request that finds no room waits (in order) for
 * one that frees pages, so many requests in flight never fail for want of buffer memory while
 * the guest's memory can hold at least one transfer.
 */
import type { GuestPageAllocator } from '@viridian/vmbus';
import { GuestOutOfMemoryError } from '../../errors.ts';

export class PagePool {
  private readonly waiters: { pages: number; resolve: (pfn: number) => void }[] = [];
  /** Pages this pool has handed out and not yet freed. */
  private held = 0;

  constructor(private readonly allocator: GuestPageAllocator) {}

  /**
   * Contiguous `pages`, now or when enough are freed.
   * @throws {GuestOutOfMemoryError} when nothing is held (so nothing will be freed) and there is no room
   */
  async acquire(pages: number): Promise<number> {
    if (this.waiters.length === 0) {
      const pfn = this.allocator.allocate(pages);
      if (pfn !== undefined) {
        this.held += pages;
        return pfn;
      }
    }
    if (this.held === 0) throw new GuestOutOfMemoryError(pages);
    return new Promise<number>((resolve) => this.waiters.push({ pages, resolve }));
  }

  release(pfn: number, pages: number): void {
    this.allocator.free(pfn, pages);
    this.held -= pages;
    while (this.waiters.length > 0) {
      const next = this.waiters[0]!;
      const granted = this.allocator.allocate(next.pages);
      if (granted === undefined) break;
      this.waiters.shift();
      this.held += next.pages;
      next.resolve(granted);
    }
  }
}
