/**
 * DMA buffers: guest pages a program reads disk data into, or writes it from, with no copy in the
 * guest (the way Linux storvsc hands the host the pages of an O_DIRECT buffer). A buffer is a
 * `Uint8Array` view over a run of contiguous guest pages taken from the kernel's allocator; an SRB
 * whose data lies inside a live buffer names those pages in its GPA-direct range, and the host
 * reads or writes them in place. Anything else goes through bounce pages (one copy).
 *
 * Only arrays this registry handed out (or views inside them) are used in place: a program cannot
 * point the host at guest memory it was not given (rings, kernel pages). The host checks every
 * range against the partition's memory regardless.
 *
 * A buffer freed while SRBs still use it keeps its pages until they complete.
 */
import { PAGE_SIZE } from '@viridian/vmbus';
import { DiskRequestError } from './errors.ts';
import type { PagePool } from './page-pool.ts';

/** A live buffer: its pages and the SRBs using them. */
interface DmaRegion {
  readonly pfn: number;
  readonly pages: number;
  /** The buffer's byte range in guest memory. */
  readonly start: number;
  readonly end: number;
  /** SRBs in flight over the region. */
  users: number;
  /** `free` was called: the pages go back when `users` reaches 0. */
  freed: boolean;
}

/** Where an SRB's data lies in guest memory: the first PFN, the offset in it, the PFN count. */
export interface DmaSpan {
  readonly region: DmaRegion;
  readonly byteOffset: number;
  readonly firstPfn: number;
  readonly pages: number;
}

export class DmaBuffers {
  /** Live buffers by the array handed out (the common case: the whole buffer is the SRB's data). */
  private readonly byArray = new WeakMap<Uint8Array, DmaRegion>();
  private readonly live = new Set<DmaRegion>();

  constructor(
    private readonly memory: SharedArrayBuffer,
    private readonly pool: PagePool,
  ) {}

  /**
   * A buffer of `bytes` bytes (rounded up to whole pages in guest memory), zeroed, now or when
   * enough pages are free.
   * @throws {DiskRequestError} when `bytes` is not a positive safe integer
   * @throws {GuestOutOfMemoryError} when guest memory can never hold it
   */
  async allocate(bytes: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new DiskRequestError(`a DMA buffer of ${String(bytes)} bytes`);
    const pages = Math.ceil(bytes / PAGE_SIZE);
    const pfn = await this.pool.acquire(pages);
    const array = new Uint8Array(this.memory, pfn * PAGE_SIZE, bytes);
    array.fill(0);
    const region: DmaRegion = { pfn, pages, start: pfn * PAGE_SIZE, end: pfn * PAGE_SIZE + bytes, users: 0, freed: false };
    this.byArray.set(array, region);
    this.live.add(region);
    return array;
  }

  /**
   * Gives `array`'s pages back (after the SRBs using them complete).
   * @throws {DiskRequestError} when `array` is not a live buffer of this registry
   */
  free(array: Uint8Array): void {
    const region = this.byArray.get(array);
    if (region === undefined || region.freed) throw new DiskRequestError('not a live DMA buffer of this disk');
    this.byArray.delete(array);
    region.freed = true;
    this.live.delete(region);
    if (region.users === 0) this.pool.release(region.pfn, region.pages);
  }

  /**
   * The span of `data` when it lies inside a live buffer (taking a use of it: call
   * {@link DmaBuffers.done} when the SRB completes), else `undefined`.
   */
  take(data: Uint8Array): DmaSpan | undefined {
    if (data.buffer !== this.memory || data.length === 0) return undefined;
    const region = this.byArray.get(data) ?? this.containing(data.byteOffset, data.byteOffset + data.length);
    if (region === undefined) return undefined;
    region.users++;
    const byteOffset = data.byteOffset % PAGE_SIZE;
    return { region, byteOffset, firstPfn: Math.floor(data.byteOffset / PAGE_SIZE), pages: Math.ceil((byteOffset + data.length) / PAGE_SIZE) };
  }

  /** Ends a use taken by {@link DmaBuffers.take}. */
  done(span: DmaSpan): void {
    const region = span.region;
    if (--region.users === 0 && region.freed) this.pool.release(region.pfn, region.pages);
  }

  private containing(start: number, end: number): DmaRegion | undefined {
    for (const region of this.live) if (start >= region.start && end <= region.end) return region;
    return undefined;
  }
}
