/**
 * A ring buffer whose pages are scattered over guest memory (vmbus-wire.md §1.1, §4.5): the
 * {@link RingMemory} of a ring that lives in a GPADL whose PFNs are not consecutive. The first PFN
 * is the control page; the others are the data pages, in data-area order.
 *
 * Design (OpenVMM's `PagedRingMem`):
 * - The page table is resolved once, at construction: one view over the guest's memory (made with
 *   the length checked then) plus, per data page, its byte and 32-bit word offset in that view.
 *   A copy looks up its page by `offset >>> 12` and splits only where it crosses a page boundary.
 * - Copies inside a page follow {@link ContiguousRingMemory}'s trade: up to 256 bytes they are loops
 *   over the precomputed views (32-bit words when everything is 4-byte aligned) and allocate
 *   nothing; longer ones are one `set` over a `subarray` view, which costs less than the loop at
 *   that size (node-performance-facts.md "Copying").
 * - Control words go through `Atomics` on an `Int32Array` over the control page.
 * - Every PFN is checked at construction (inside the buffer, distinct); after that the ring's own
 *   index checks keep offsets inside the data area, as for the contiguous memory.
 */
import { GuestMemoryError } from '../errors.ts';
import { PAGE_SHIFT, PAGE_SIZE, RingControl } from '../protocol/ring-layout.ts';
import type { RingMemory } from '../ring/ring-memory.ts';
import { checkPageList, memoryPagesOf } from './page-list.ts';

/** Copies up to this size run as loops (the same limit as ContiguousRingMemory's). */
const LOOP_COPY_LIMIT = 256;

const PAGE_MASK = PAGE_SIZE - 1;

/** The largest data area the u32 ring indices can address (as checkRingGeometry). */
const MAX_DATA_PAGES = 0x8000_0000 / PAGE_SIZE;

/** A ring over an ordered list of guest pages: control page first, then the data pages. */
export class PagedRingMemory implements RingMemory {
  readonly dataSize: number;
  /** The ring's PFNs (a private copy): control page first. */
  readonly pfns: readonly number[];
  private readonly control: Int32Array;
  /** The guest's memory, as long as it was when the ring was checked. */
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  /** Per data page: its byte offset in `bytes`. */
  private readonly pageByte: number[];
  /** Per data page: its word offset in `words`. */
  private readonly pageWord: number[];
  /** One-entry cache of a word view over the last buffer copied to or from (the ring's own copy). */
  private peer: Uint8Array | undefined;
  private peer32: Int32Array | undefined;

  /**
   * @param buffer the guest's memory (GPA = byte offset); it may grow later, never shrink
   * @param pfns the ring's 4 KiB frames: control page first, then the data pages in order
   * @throws {GuestMemoryError} `ring-too-small` (fewer than two pages), `ring-too-large` (a data
   *   area beyond the u32 indices), `pfn-invalid`, `pfn-beyond-memory`, `pfn-repeated`
   */
  constructor(buffer: ArrayBufferLike, pfns: readonly number[]) {
    if (pfns.length < 2) throw new GuestMemoryError('ring-too-small', `a ring needs at least 2 pages, got ${pfns.length}`);
    if (pfns.length - 1 > MAX_DATA_PAGES) throw new GuestMemoryError('ring-too-large', `${pfns.length - 1} data pages exceed the u32 indices`);
    const own = pfns.slice();
    const memoryPages = memoryPagesOf(buffer);
    checkPageList(own, memoryPages, true);
    this.pfns = Object.freeze(own);
    this.dataSize = (own.length - 1) * PAGE_SIZE;
    this.control = new Int32Array(buffer, own[0]! * PAGE_SIZE, RingControl.SIZE / 4);
    this.bytes = new Uint8Array(buffer, 0, memoryPages * PAGE_SIZE);
    this.words = new Int32Array(buffer, 0, (memoryPages * PAGE_SIZE) / 4);
    this.pageByte = own.slice(1).map((pfn) => pfn * PAGE_SIZE);
    this.pageWord = own.slice(1).map((pfn) => pfn * (PAGE_SIZE / 4));
  }

  loadControl(offset: number): number {
    return Atomics.load(this.control, offset >> 2) >>> 0;
  }

  storeControl(offset: number, value: number): void {
    Atomics.store(this.control, offset >> 2, value | 0);
  }

  read(from: number, target: Uint8Array, targetOffset: number, length: number): void {
    let page = from >>> PAGE_SHIFT;
    let inPage = from & PAGE_MASK;
    if (inPage + length <= PAGE_SIZE) {
      this.readInPage(page, inPage, target, targetOffset, length);
      return;
    }
    while (length > 0) {
      const chunk = Math.min(length, PAGE_SIZE - inPage);
      this.readInPage(page, inPage, target, targetOffset, chunk);
      targetOffset += chunk;
      length -= chunk;
      page++;
      inPage = 0;
    }
  }

  write(to: number, source: Uint8Array, sourceOffset: number, length: number): void {
    let page = to >>> PAGE_SHIFT;
    let inPage = to & PAGE_MASK;
    if (inPage + length <= PAGE_SIZE) {
      this.writeInPage(page, inPage, source, sourceOffset, length);
      return;
    }
    while (length > 0) {
      const chunk = Math.min(length, PAGE_SIZE - inPage);
      this.writeInPage(page, inPage, source, sourceOffset, chunk);
      sourceOffset += chunk;
      length -= chunk;
      page++;
      inPage = 0;
    }
  }

  zero(to: number, length: number): void {
    let page = to >>> PAGE_SHIFT;
    let inPage = to & PAGE_MASK;
    while (length > 0) {
      const chunk = Math.min(length, PAGE_SIZE - inPage);
      const at = this.pageByte[page]! + inPage;
      this.bytes.fill(0, at, at + chunk);
      length -= chunk;
      page++;
      inPage = 0;
    }
  }

  clearControl(): void {
    for (let i = 0; i < this.control.length; i++) Atomics.store(this.control, i, 0);
  }

  /** Unchecked: `inPage + length` is within the page and the ring checked the data offset. */
  private readInPage(page: number, inPage: number, target: Uint8Array, targetOffset: number, length: number): void {
    if (length > LOOP_COPY_LIMIT) {
      const at = this.pageByte[page]! + inPage;
      target.set(this.bytes.subarray(at, at + length), targetOffset);
      return;
    }
    const words = ((inPage | targetOffset | length) & 3) === 0 ? this.wordsOf(target) : undefined;
    if (words) {
      const memory = this.words;
      const source = this.pageWord[page]! + (inPage >> 2);
      const dest = targetOffset >> 2;
      for (let i = 0, n = length >> 2; i < n; i++) words[dest + i] = memory[source + i]!;
    } else {
      const memory = this.bytes;
      const source = this.pageByte[page]! + inPage;
      for (let i = 0; i < length; i++) target[targetOffset + i] = memory[source + i]!;
    }
  }

  /** Unchecked: `inPage + length` is within the page and the ring checked the data offset. */
  private writeInPage(page: number, inPage: number, source: Uint8Array, sourceOffset: number, length: number): void {
    if (length > LOOP_COPY_LIMIT) {
      const at = this.pageByte[page]! + inPage;
      this.bytes.set(sourceOffset === 0 && length === source.length ? source : source.subarray(sourceOffset, sourceOffset + length), at);
      return;
    }
    const words = ((inPage | sourceOffset | length) & 3) === 0 ? this.wordsOf(source) : undefined;
    if (words) {
      const memory = this.words;
      const dest = this.pageWord[page]! + (inPage >> 2);
      const from = sourceOffset >> 2;
      for (let i = 0, n = length >> 2; i < n; i++) memory[dest + i] = words[from + i]!;
    } else {
      const memory = this.bytes;
      const dest = this.pageByte[page]! + inPage;
      for (let i = 0; i < length; i++) memory[dest + i] = source[sourceOffset + i]!;
    }
  }

  /** A word view of `bytes` when it is 4-byte aligned (cached: callers reuse one buffer). */
  private wordsOf(bytes: Uint8Array): Int32Array | undefined {
    if (bytes !== this.peer) {
      this.peer = bytes;
      this.peer32 = (bytes.byteOffset & 3) === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2) : undefined;
    }
    return this.peer32;
  }
}
