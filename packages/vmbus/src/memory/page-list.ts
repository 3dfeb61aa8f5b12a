/**
 * The checks every guest page list goes through before the root touches a byte of it
 * (ARCHITECTURE.md "Isolation" point 2; STYLE rules 14-15): each PFN is a non-negative integer
 * inside the guest's memory as it is now, and, where pages must be distinct (a ring), none repeats.
 *
 * Guest memory is a `SharedArrayBuffer` that may grow (hot-add) but never shrinks, so a PFN
 * checked against the current `byteLength` stays valid, and a view made over the checked length
 * keeps addressing the same bytes. Views are always made with an explicit length: a view without
 * one over a growable buffer would track its growth, and nothing here wants that.
 */
import { GuestMemoryError } from '../errors.ts';
import { PAGE_SIZE } from '../protocol/ring-layout.ts';

/** Whole 4 KiB pages in `buffer` now. */
export function memoryPagesOf(buffer: ArrayBufferLike): number {
  return Math.floor(buffer.byteLength / PAGE_SIZE);
}

/**
 * Checks that every PFN of `pfns` is a page of a memory of `memoryPages` pages and, when
 * `distinct`, that no PFN appears twice.
 * @throws {GuestMemoryError} `pfn-invalid`, `pfn-beyond-memory` or `pfn-repeated`
 */
export function checkPageList(pfns: readonly number[], memoryPages: number, distinct: boolean): void {
  for (let i = 0; i < pfns.length; i++) {
    const pfn = pfns[i]!;
    if (!Number.isSafeInteger(pfn) || pfn < 0) throw new GuestMemoryError('pfn-invalid', `PFN ${i} (${String(pfn)}) is not a frame number`);
    if (pfn >= memoryPages) throw new GuestMemoryError('pfn-beyond-memory', `PFN ${i} (${pfn}) is beyond the guest's ${memoryPages} pages`);
  }
  if (!distinct) return;
  // Sized by the list itself, which the caller already holds: no allocation from a guest number.
  const seen = new Set<number>();
  for (let i = 0; i < pfns.length; i++) {
    const pfn = pfns[i]!;
    if (seen.has(pfn)) throw new GuestMemoryError('pfn-repeated', `PFN ${i} (${pfn}) appears twice`);
    seen.add(pfn);
  }
}

/** Whether `pfns[start…start+count)` are consecutive frames. */
export function pagesAreConsecutive(pfns: readonly number[], start: number, count: number): boolean {
  for (let i = start + 1; i < start + count; i++) if (pfns[i] !== pfns[i - 1]! + 1) return false;
  return true;
}
