/**
 * A channel's ring pair in the GPADL the guest named in OPENCHANNEL (vmbus-wire.md §1.1, §1.6,
 * §4.5): the send (guest-to-host) ring is the GPADL's first `downstreamPageOffset` pages, the
 * receive ring the rest; each ring is its control page followed by its data pages.
 *
 * Every value here comes from the guest, so {@link gpadlChannelRings} checks all of it in one
 * place before any memory is touched, and refuses with a {@link GuestMemoryError} whose `reason`
 * names the failed check; the VMBus runtime answers that with a failed OPENCHANNEL_RESULT.
 *
 * A ring whose PFNs are consecutive gets a {@link ContiguousRingMemory} (the fast path: one view,
 * no page splitting); a scattered one a {@link PagedRingMemory}.
 */
import { GuestMemoryError } from '../errors.ts';
import type { ChannelRings } from '../channel/channel-region.ts';
import type { GpadlRange } from '../protocol/gpadl.ts';
import { PAGE_SIZE, RingControl, RingFeature } from '../protocol/ring-layout.ts';
import { ContiguousRingMemory, type RingMemory } from '../ring/ring-memory.ts';
import { checkPageList, memoryPagesOf, pagesAreConsecutive } from './page-list.ts';
import { PagedRingMemory } from './paged-ring-memory.ts';

/** The largest ring, control page included, the u32 ring indices can address. */
const MAX_RING_PAGES = 0x8000_0000 / PAGE_SIZE + 1;

/** A channel's two rings over a GPADL's pages; each memory is built once and reused. */
export class GpadlChannelRings implements ChannelRings {
  /** The guest-to-host ring. */
  readonly send: RingMemory;
  /** The host-to-guest ring. */
  readonly receive: RingMemory;
  /** OPENCHANNEL's page offset of the receive ring: the send ring's size in pages. */
  readonly downstreamPageOffset: number;

  /**
   * Checks the GPADL and the split (see {@link gpadlChannelRings}) and builds both rings.
   * @throws {GuestMemoryError} when a check fails
   */
  constructor(buffer: ArrayBufferLike, gpadl: GpadlRange, downstreamPageOffset: number) {
    const pfns = checkRingGpadl(buffer, gpadl, downstreamPageOffset);
    this.downstreamPageOffset = downstreamPageOffset;
    this.send = ringOver(buffer, pfns, 0, downstreamPageOffset);
    this.receive = ringOver(buffer, pfns, downstreamPageOffset, pfns.length - downstreamPageOffset);
  }

  /** The memory of one ring: `send` is guest-to-host, `receive` host-to-guest (the same object each call). */
  ringMemory(ring: 'send' | 'receive'): RingMemory {
    return ring === 'send' ? this.send : this.receive;
  }

  /**
   * What the guest does before OPENCHANNEL (§1.1): clears both control pages and sets
   * `feat_pending_send_sz` in both. For a guest that lays its rings out over scattered pages.
   */
  initialize(): void {
    for (const memory of [this.send, this.receive]) {
      memory.clearControl();
      memory.storeControl(RingControl.featureBits, RingFeature.pendingSendSize);
    }
  }
}

/**
 * The ring pair OPENCHANNEL describes: `gpadl` is the ring GPADL (already assembled, see
 * `GpadlAssembler`), `downstreamPageOffset` OPENCHANNEL's `downstream_ringbuffer_pageoffset`.
 *
 * Checks, in order, each with its `reason`:
 * - `gpadl-offset-nonzero`: the GPADL's `byte_offset` is not 0;
 * - `gpadl-size-mismatch`: its `byte_count` is not PFNs × 4096;
 * - `downstream-offset-out-of-range`: the page offset is not an integer in (0, PFNs);
 * - `ring-too-small` / `ring-too-large`: a ring is under 2 pages, or its data area exceeds the u32
 *   indices;
 * - `pfn-invalid`, `pfn-beyond-memory`: a PFN is not a page of `buffer` at its current length;
 * - `pfn-repeated`: a page appears twice (a ring aliasing itself or the other ring).
 *
 * @param buffer the guest's memory (GPA = byte offset), possibly growable
 * @throws {GuestMemoryError} when any check fails; nothing was built then
 */
export function gpadlChannelRings(buffer: ArrayBufferLike, gpadl: GpadlRange, downstreamPageOffset: number): GpadlChannelRings {
  return new GpadlChannelRings(buffer, gpadl, downstreamPageOffset);
}

/**
 * Every check of {@link gpadlChannelRings}, in one place. Returns the checked snapshot of the
 * PFNs: the only copy used afterwards.
 * @throws {GuestMemoryError}
 */
function checkRingGpadl(buffer: ArrayBufferLike, gpadl: GpadlRange, downstreamPageOffset: number): number[] {
  const { byteCount, byteOffset } = gpadl;
  // Snapshot the page list first: every check and every view below uses this copy only.
  const pfns = gpadl.pfns.slice();
  if (byteOffset !== 0) throw new GuestMemoryError('gpadl-offset-nonzero', `ring GPADL byte_offset is ${String(byteOffset)}, not 0`);
  if (byteCount !== pfns.length * PAGE_SIZE) {
    throw new GuestMemoryError('gpadl-size-mismatch', `ring GPADL byte_count ${String(byteCount)} is not ${pfns.length} pages`);
  }
  if (!Number.isSafeInteger(downstreamPageOffset) || downstreamPageOffset <= 0 || downstreamPageOffset >= pfns.length) {
    throw new GuestMemoryError('downstream-offset-out-of-range', `downstream page offset ${String(downstreamPageOffset)} is not inside a ${pfns.length}-page GPADL`);
  }
  const sendPages = downstreamPageOffset;
  const receivePages = pfns.length - downstreamPageOffset;
  if (sendPages < 2 || receivePages < 2) {
    throw new GuestMemoryError('ring-too-small', `rings of ${sendPages} and ${receivePages} pages; each needs at least 2`);
  }
  if (sendPages > MAX_RING_PAGES || receivePages > MAX_RING_PAGES) {
    throw new GuestMemoryError('ring-too-large', `rings of ${sendPages} and ${receivePages} pages exceed the u32 indices`);
  }
  checkPageList(pfns, memoryPagesOf(buffer), true);
  return pfns;
}

/** Unchecked: `pfns[start…start+count)` were validated as distinct pages of `buffer`. */
function ringOver(buffer: ArrayBufferLike, pfns: readonly number[], start: number, count: number): RingMemory {
  if (pagesAreConsecutive(pfns, start, count)) return new ContiguousRingMemory(buffer, pfns[start]! * PAGE_SIZE, count * PAGE_SIZE);
  return new PagedRingMemory(buffer, pfns.slice(start, start + count));
}
