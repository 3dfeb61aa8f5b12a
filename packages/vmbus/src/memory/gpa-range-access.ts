/**
 * Checked access to guest memory the guest named (ARCHITECTURE.md "Isolation" point 2;
 * vmbus-wire.md §2.2, §4.5): the bytes of a GPA-direct range from a packet
 * ({@link GpaRangeAccess}, e.g. a storage request's data buffer) or of a GPADL the guest created
 * ({@link GpadlMemory}, e.g. netvsc's pre-shared receive buffer). Both are one range of 4 KiB
 * guest frames: `byteCount` bytes starting `byteOffset` into the first PFN.
 *
 * Design:
 * - The range is checked once, at construction, and its PFNs copied: `byteCount` and `byteOffset`
 *   are u32s, the offset is inside the first page, the PFN count is exactly
 *   `ceil((byteOffset + byteCount) / 4096)`, and every PFN is a page of the guest's memory at its
 *   current length. A PFN may repeat: that aliases only the guest's own data, never the host's.
 * - Every access is then checked against `byteCount` (offsets into the range, which a device may
 *   derive from guest numbers) and against the local array it copies to or from.
 * - Copies split only where consecutive PFNs stop being consecutive, so a physically contiguous
 *   buffer is one `set`. {@link GuestRangeAccess.views} hands out the same runs as views over guest
 *   memory for `readv`/`writev`-style I/O; their number is bounded by the checked range's pages.
 */
import { GuestMemoryError, InvalidArgumentError } from '../errors.ts';
import type { GpadlRange } from '../protocol/gpadl.ts';
import { PAGE_SIZE } from '../protocol/ring-layout.ts';
import type { GpaRange } from '../ring/incoming-packet.ts';
import { checkPageList, memoryPagesOf } from './page-list.ts';

/** Copies up to this size run as byte loops: a view per small copy costs more than the copy. */
const LOOP_COPY_LIMIT = 64;

const U32_MAX = 0xffff_ffff;

/**
 * One checked range of guest pages. Use {@link GpaRangeAccess} or {@link GpadlMemory}; this base
 * is exported so code can accept either.
 */
export abstract class GuestRangeAccess {
  /** Bytes in the range: every access offset is checked against it. */
  readonly byteCount: number;
  /** Where the range starts in its first page. */
  readonly byteOffset: number;
  /** The range's PFNs (a private, checked copy). */
  readonly pfns: readonly number[];
  /** The guest's memory, as long as it was when the range was checked. */
  private readonly memory: Uint8Array;

  /**
   * @throws {GuestMemoryError} `range-invalid`, `range-empty`, `range-offset-beyond-page`,
   *   `range-page-count-mismatch`, `pfn-invalid`, `pfn-beyond-memory`
   */
  protected constructor(buffer: ArrayBufferLike, range: GpaRange | GpadlRange, what: string) {
    const { byteCount, byteOffset } = range;
    if (!Number.isSafeInteger(byteCount) || byteCount < 0 || byteCount > U32_MAX) {
      throw new GuestMemoryError('range-invalid', `${what} byte_count ${String(byteCount)} is not a u32`);
    }
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset > U32_MAX) {
      throw new GuestMemoryError('range-invalid', `${what} byte_offset ${String(byteOffset)} is not a u32`);
    }
    if (byteCount === 0) throw new GuestMemoryError('range-empty', `${what} has no bytes`);
    if (byteOffset >= PAGE_SIZE) throw new GuestMemoryError('range-offset-beyond-page', `${what} byte_offset ${byteOffset} is not below ${PAGE_SIZE}`);
    const pages = Math.ceil((byteOffset + byteCount) / PAGE_SIZE);
    if (range.pfns.length !== pages) {
      throw new GuestMemoryError('range-page-count-mismatch', `${what} of ${byteCount} bytes at ${byteOffset} needs ${pages} PFNs, got ${range.pfns.length}`);
    }
    const pfns = range.pfns.slice();
    const memoryPages = memoryPagesOf(buffer);
    checkPageList(pfns, memoryPages, false);
    this.byteCount = byteCount;
    this.byteOffset = byteOffset;
    this.pfns = Object.freeze(pfns);
    this.memory = new Uint8Array(buffer, 0, memoryPages * PAGE_SIZE);
  }

  /**
   * Copies `length` bytes at `offset` in the range into `target[targetOffset…]`.
   * @throws {GuestMemoryError} `access-out-of-range` when `[offset, offset + length)` is not inside the range
   * @throws {InvalidArgumentError} when the target span is not inside `target`
   */
  read(offset: number, target: Uint8Array, targetOffset: number, length: number): void {
    this.checkAccess(offset, length);
    checkLocalSpan(target, targetOffset, length, 'target');
    const memory = this.memory;
    this.eachRun(offset, length, (gpa, done, run) => {
      const at = targetOffset + done;
      if (run <= LOOP_COPY_LIMIT) {
        for (let i = 0; i < run; i++) target[at + i] = memory[gpa + i]!;
      } else {
        target.set(memory.subarray(gpa, gpa + run), at);
      }
    });
  }

  /**
   * Copies `length` bytes of `source[sourceOffset…]` to `offset` in the range.
   * @throws {GuestMemoryError} `access-out-of-range` when `[offset, offset + length)` is not inside the range
   * @throws {InvalidArgumentError} when the source span is not inside `source`
   */
  write(offset: number, source: Uint8Array, sourceOffset: number, length: number): void {
    this.checkAccess(offset, length);
    checkLocalSpan(source, sourceOffset, length, 'source');
    const memory = this.memory;
    this.eachRun(offset, length, (gpa, done, run) => {
      const at = sourceOffset + done;
      if (run <= LOOP_COPY_LIMIT) {
        for (let i = 0; i < run; i++) memory[gpa + i] = source[at + i]!;
      } else {
        memory.set(source.subarray(at, at + run), gpa);
      }
    });
  }

  /**
   * Fills `length` bytes at `offset` in the range with `value` (e.g. zeroes after a short read).
   * @throws {GuestMemoryError} `access-out-of-range`
   */
  fill(offset: number, length: number, value = 0): void {
    this.checkAccess(offset, length);
    this.eachRun(offset, length, (gpa, _done, run) => this.memory.fill(value, gpa, gpa + run));
  }

  /**
   * Copies the range's bytes at `offset` into all of `target` (`target.length` bytes).
   * @throws {GuestMemoryError} `access-out-of-range`
   */
  copyTo(target: Uint8Array, offset = 0): void {
    this.read(offset, target, 0, target.length);
  }

  /**
   * Copies all of `source` into the range at `offset`.
   * @throws {GuestMemoryError} `access-out-of-range`
   */
  copyFrom(source: Uint8Array, offset = 0): void {
    this.write(offset, source, 0, source.length);
  }

  /**
   * Views over the guest memory holding `[offset, offset + length)` of the range, in order, one per
   * run of consecutive pages: hand them to `readv`/`writev`-style I/O. They alias guest memory:
   * the guest may change the bytes at any time, so treat what is read through them as untrusted.
   * @throws {GuestMemoryError} `access-out-of-range`
   */
  views(offset = 0, length = this.byteCount - offset): Uint8Array[] {
    this.checkAccess(offset, length);
    const views: Uint8Array[] = [];
    this.eachRun(offset, length, (gpa, _done, run) => views.push(this.memory.subarray(gpa, gpa + run)));
    return views;
  }

  /** @throws {GuestMemoryError} `access-out-of-range` */
  private checkAccess(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.byteCount) {
      throw new GuestMemoryError('access-out-of-range', `[${String(offset)}, +${String(length)}) is outside ${this.byteCount} bytes`);
    }
  }

  /**
   * Walks `[offset, offset + length)` of the range as runs of consecutive guest pages, calling
   * `visit(gpa, done, run)` for each (`done`: bytes before this run). Unchecked: the caller ran
   * `checkAccess`.
   */
  private eachRun(offset: number, length: number, visit: (gpa: number, done: number, run: number) => void): void {
    let position = this.byteOffset + offset;
    for (let done = 0; done < length; ) {
      const run = this.runAt(position, length - done);
      visit(this.gpaAt(position), done, run);
      position += run;
      done += run;
    }
  }

  /** The GPA of `position` (bytes from the start of the first page). Unchecked: inside the range. */
  private gpaAt(position: number): number {
    const page = Math.floor(position / PAGE_SIZE);
    return this.pfns[page]! * PAGE_SIZE + (position - page * PAGE_SIZE);
  }

  /**
   * Bytes from `position`, at most `length`, that lie in consecutive guest pages. Unchecked:
   * `position + length` is inside the range.
   */
  private runAt(position: number, length: number): number {
    const pfns = this.pfns;
    let page = Math.floor(position / PAGE_SIZE);
    let run = Math.min(length, (page + 1) * PAGE_SIZE - position);
    while (run < length && pfns[page + 1] === pfns[page]! + 1) {
      page++;
      run = Math.min(length, (page + 1) * PAGE_SIZE - position);
    }
    return run;
  }
}

/** The data pages of one GPA-direct range of a packet (`IncomingPacket` `GpaRange`, §2.2). */
export class GpaRangeAccess extends GuestRangeAccess {
  /**
   * @param buffer the guest's memory (GPA = byte offset), possibly growable
   * @param range a range of a GPA-direct packet, as parsed from the ring
   * @throws {GuestMemoryError} when the range or a PFN fails a check (see {@link GuestRangeAccess})
   */
  constructor(buffer: ArrayBufferLike, range: GpaRange) {
    super(buffer, range, 'GPA range');
  }
}

/** The pages of a GPADL the guest created (§4.5), e.g. a pre-shared receive or send buffer. */
export class GpadlMemory extends GuestRangeAccess {
  /**
   * @param buffer the guest's memory (GPA = byte offset), possibly growable
   * @param gpadl the assembled GPADL (`GpadlAssembler`)
   * @throws {GuestMemoryError} when the GPADL or a PFN fails a check (see {@link GuestRangeAccess})
   */
  constructor(buffer: ArrayBufferLike, gpadl: GpadlRange) {
    super(buffer, gpadl, 'GPADL');
  }
}

/** @throws {InvalidArgumentError} when `[offset, offset + length)` is not inside `array` */
function checkLocalSpan(array: Uint8Array, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > array.length) {
    throw new InvalidArgumentError(`${what} span [${String(offset)}, +${length}) is outside a ${array.length}-byte array`);
  }
}
