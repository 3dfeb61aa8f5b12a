/**
 * A partition's guest physical memory: one growable `SharedArrayBuffer`, GPA = byte offset, 4 KiB
 * pages, with a per-page map of access rights (TLFS 2.0 §8; hyperv-tlfs.md §3).
 *
 * - The buffer is created empty with `maxByteLength` = the GPA space, and grows (hot-add) when a
 *   page past its end is mapped. Node 20's growable SharedArrayBuffer only reserves address space up
 *   front; views made without a length track the growth, in the VP workers too.
 * - Every mapped page was drawn from the partition's pool; unmapping zeroes it and gives it back.
 *   Holes below the buffer's end cost address space, not budget (never-touched pages stay unbacked).
 * - Rights are recorded per page and enforced on the hypervisor's own accesses (overlay placement).
 *   A VP's plain loads and stores to its own buffer cannot be trapped in JavaScript.
 * - Overlay pages (SIMP, SIEFP) sit on top of a mapped page: the page's contents are saved and
 *   the page zeroed when the overlay is placed, and restored when it moves or is disabled.
 */
import { PAGE_SIZE } from '../abi/vp-page.ts';
import type { MemoryPool } from './memory-pool.ts';

/** Rights byte: 0 = unmapped; otherwise MAPPED | HV_MAP_GPA flags. */
const MAPPED = 0x80;

/** The outcome of a rep map/unmap: how many pages were done, and why it stopped early. */
export interface PageOpResult {
  readonly done: number;
  readonly shortOfMemory: boolean;
}

export class GuestMemory {
  readonly buffer: SharedArrayBuffer;
  private rights = new Uint8Array(16);
  private bytes: Uint8Array;
  private readonly overlays = new Map<number, Uint8Array>();
  mappedPages = 0;

  constructor(readonly spacePages: number) {
    this.buffer = new SharedArrayBuffer(0, { maxByteLength: spacePages * PAGE_SIZE });
    this.bytes = new Uint8Array(this.buffer);
  }

  /** Whether `gpfn` is mapped (with any rights, including none). */
  isMapped(gpfn: number): boolean {
    return gpfn < this.rights.length && (this.rights[gpfn]! & MAPPED) !== 0;
  }

  /** The HV_MAP_GPA rights of a mapped page, or undefined. */
  rightsOf(gpfn: number): number | undefined {
    return this.isMapped(gpfn) ? this.rights[gpfn]! & 0x7f : undefined;
  }

  /**
   * Maps `count` pages from `gpfn` with `flags`, drawing new pages from `pool`; a page already
   * mapped only changes rights. Unchecked: the caller validated the range against `spacePages`.
   */
  mapUnchecked(gpfn: number, count: number, flags: number, pool: MemoryPool): PageOpResult {
    this.ensureRights(gpfn + count);
    let fresh = 0;
    for (let i = 0; i < count; i++) if (!this.isMapped(gpfn + i)) fresh++;
    // Grow once when the pool covers the whole run; page by page otherwise (it stops short).
    if (fresh <= pool.available) this.growTo(gpfn + count);
    for (let i = 0; i < count; i++) {
      const page = gpfn + i;
      if (!this.isMapped(page)) {
        if (!pool.draw(1)) return { done: i, shortOfMemory: true };
        this.growTo(page + 1);
        this.mappedPages++;
      }
      this.rights[page] = MAPPED | flags;
    }
    return { done: count, shortOfMemory: false };
  }

  /** Unmaps `count` pages from `gpfn`, zeroing them and releasing them to `pool`. Unchecked as above. */
  unmapUnchecked(gpfn: number, count: number, pool: MemoryPool): number {
    for (let i = 0; i < count; i++) {
      const page = gpfn + i;
      if (!this.isMapped(page)) continue;
      this.rights[page] = 0;
      this.bytes.fill(0, page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
      this.overlays.delete(page);
      this.mappedPages--;
      pool.release(1);
    }
    return count;
  }

  /** Unmaps everything (finalize, crash); returns the pages released. */
  unmapAll(pool: MemoryPool): number {
    const pages = this.mappedPages;
    this.rights = new Uint8Array(16);
    this.overlays.clear();
    this.mappedPages = 0;
    pool.release(pages);
    return pages;
  }

  /** Places an overlay on mapped page `gpfn`: saves and zeroes its contents. False if unmapped. */
  placeOverlay(gpfn: number): boolean {
    if (!this.isMapped(gpfn)) return false;
    if (this.overlays.has(gpfn)) return true;
    const start = gpfn * PAGE_SIZE;
    this.overlays.set(gpfn, this.bytes.slice(start, start + PAGE_SIZE));
    this.bytes.fill(0, start, start + PAGE_SIZE);
    return true;
  }

  /** Removes the overlay on `gpfn`, uncovering the saved contents. */
  removeOverlay(gpfn: number): void {
    const saved = this.overlays.get(gpfn);
    if (!saved) return;
    this.overlays.delete(gpfn);
    if (this.isMapped(gpfn)) this.bytes.set(saved, gpfn * PAGE_SIZE);
  }

  private ensureRights(pages: number): void {
    if (pages <= this.rights.length) return;
    const next = new Uint8Array(Math.min(this.spacePages, Math.max(pages, this.rights.length * 2)));
    next.set(this.rights);
    this.rights = next;
  }

  private growTo(pages: number): void {
    const bytes = pages * PAGE_SIZE;
    if (bytes > this.buffer.byteLength) this.buffer.grow(bytes);
  }
}
