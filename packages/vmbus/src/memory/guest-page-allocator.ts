/**
 * The guest kernel's allocator of its own physical pages: ring buffers, GPADL-backed buffers and
 * GPA-direct data buffers all live in the child's memory (vmbus-wire.md §1.1, §4.5), and a ring
 * whose pages are one contiguous run takes the contiguous fast path on the host.
 *
 * Design: a sorted list of free extents (first PFN, page count), first fit, coalescing on free.
 * The allocator does not remember allocation sizes: any allocated pages may be returned, and a
 * free is refused when any page of the run is not currently allocated (a double free, or a run
 * overlapping free space), which catches a kernel freeing the wrong thing before it corrupts a
 * buffer the host is still using.
 */
import { InvalidArgumentError, PageAllocationError } from '../errors.ts';

/** A first-fit allocator of contiguous runs of 4 KiB guest pages. */
export class GuestPageAllocator {
  /** Start PFN of each free extent, ascending; extents never touch (they are coalesced). */
  private readonly starts: number[] = [];
  /** Page count of each free extent (parallel to `starts`). */
  private readonly counts: number[] = [];
  private freePages = 0;

  /**
   * @param totalPages pages of guest memory; PFNs `firstUsablePage … totalPages - 1` are managed
   * @param firstUsablePage the first PFN the allocator may hand out (those below are reserved)
   * @throws {InvalidArgumentError} when the numbers are not integers with 0 ≤ firstUsablePage ≤ totalPages
   */
  constructor(
    readonly totalPages: number,
    readonly firstUsablePage: number,
  ) {
    if (!Number.isSafeInteger(totalPages) || !Number.isSafeInteger(firstUsablePage) || firstUsablePage < 0 || firstUsablePage > totalPages) {
      throw new InvalidArgumentError(`page allocator over [${firstUsablePage}, ${totalPages}) is not a range of pages`);
    }
    if (totalPages > firstUsablePage) {
      this.starts.push(firstUsablePage);
      this.counts.push(totalPages - firstUsablePage);
      this.freePages = totalPages - firstUsablePage;
    }
  }

  /** Pages free now (possibly fragmented). */
  get available(): number {
    return this.freePages;
  }

  /**
   * Allocates `pages` contiguous pages: the lowest run that fits (first fit).
   * @returns the run's first PFN, or `undefined` when no free run is long enough
   * @throws {InvalidArgumentError} when `pages` is not a positive integer
   */
  allocate(pages: number): number | undefined {
    if (!Number.isSafeInteger(pages) || pages < 1) throw new InvalidArgumentError(`cannot allocate ${pages} pages`);
    for (let i = 0; i < this.starts.length; i++) {
      const count = this.counts[i]!;
      if (count < pages) continue;
      const first = this.starts[i]!;
      if (count === pages) {
        this.starts.splice(i, 1);
        this.counts.splice(i, 1);
      } else {
        this.starts[i] = first + pages;
        this.counts[i] = count - pages;
      }
      this.freePages -= pages;
      return first;
    }
    return undefined;
  }

  /**
   * Returns `pages` pages starting at `firstPfn`; every one must be allocated now.
   * @throws {InvalidArgumentError} when the numbers are not integers or `pages` < 1
   * @throws {PageAllocationError} `out-of-range` (outside the managed pages), `double-free` (all of
   *   the run is free already), `overlap` (part of it is)
   */
  free(firstPfn: number, pages: number): void {
    if (!Number.isSafeInteger(firstPfn) || !Number.isSafeInteger(pages) || pages < 1) {
      throw new InvalidArgumentError(`cannot free ${pages} pages at PFN ${firstPfn}`);
    }
    const end = firstPfn + pages;
    if (firstPfn < this.firstUsablePage || end > this.totalPages) {
      throw new PageAllocationError('out-of-range', firstPfn, pages, `managed pages are [${this.firstUsablePage}, ${this.totalPages})`);
    }
    // `at` = the number of free extents starting at or before firstPfn; the run goes before index `at`.
    const at = this.extentsStartingAtOrBefore(firstPfn);
    let freeInRun = 0;
    for (let i = Math.max(0, at - 1); i < this.starts.length && this.starts[i]! < end; i++) {
      const start = this.starts[i]!;
      freeInRun += Math.max(0, Math.min(end, start + this.counts[i]!) - Math.max(firstPfn, start));
    }
    if (freeInRun === pages) throw new PageAllocationError('double-free', firstPfn, pages, 'every page of the run is already free');
    if (freeInRun > 0) throw new PageAllocationError('overlap', firstPfn, pages, `${freeInRun} of its pages are already free`);

    const joinsPrevious = at > 0 && this.starts[at - 1]! + this.counts[at - 1]! === firstPfn;
    const joinsNext = at < this.starts.length && this.starts[at] === end;
    if (joinsPrevious && joinsNext) {
      this.counts[at - 1]! += pages + this.counts[at]!;
      this.starts.splice(at, 1);
      this.counts.splice(at, 1);
    } else if (joinsPrevious) {
      this.counts[at - 1]! += pages;
    } else if (joinsNext) {
      this.starts[at] = firstPfn;
      this.counts[at]! += pages;
    } else {
      this.starts.splice(at, 0, firstPfn);
      this.counts.splice(at, 0, pages);
    }
    this.freePages += pages;
  }

  /** The number of free extents whose start is ≤ `pfn` (binary search). */
  private extentsStartingAtOrBefore(pfn: number): number {
    let low = 0;
    let high = this.starts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.starts[middle]! <= pfn) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
