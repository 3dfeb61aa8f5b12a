/**
 * GPADL page lists on the wire (vmbus-wire.md §4.5): splitting one range of PFNs into a
 * GPADL_HEADER (up to 26 PFNs) and GPADL_BODY messages (up to 28 PFNs each), and reassembling them
 * on the host with every check in one place ({@link GpadlAssembler}).
 *
 * Only single-range GPADLs are modelled: Linux always sends `rangecount = 1`. A header with another
 * range count is refused (`range-count-unsupported`) and the server answers it with a failed
 * GPADL_CREATED, as QEMU does for shapes it does not support (OpenVMM accepts several ranges).
 * The PFN cap is the wire's own: `range_buflen` is a u16, so one range holds at most
 * (65535 − 8) / 8 = 8190 PFNs (32 MiB).
 */
import { InvalidArgumentError } from '../errors.ts';
import { ChannelMessageType, GPADL_BODY_MAX_PFNS, GPADL_HEADER_MAX_PFNS, GpadlHeaderLayout } from './channel-message-layout.ts';
import type { ChannelId, GpadlBodyMessage, GpadlHeaderMessage, GpadlId } from './channel-messages.ts';
import { MAX_PFN } from './packet-layout.ts';
import { PAGE_SIZE } from './ring-layout.ts';

/** Most PFNs one GPADL can have: `range_buflen` (u16) = 8 + 8 × PFNs. */
export const MAX_GPADL_PFNS = Math.floor((0xffff - 8) / 8);

/** Where Linux starts its per-connection GPADL handle counter (§4.5). */
export const GPADL_HANDLE_BASE = 0xe1e10;

/** One range of guest pages: `byteCount` bytes starting `byteOffset` into the first PFN. */
export interface GpadlRange {
  readonly byteCount: number;
  readonly byteOffset: number;
  readonly pfns: readonly number[];
}

/** The number of 4 KiB pages a range of `byteCount` bytes at `byteOffset` touches. */
export function gpadlPageCount(byteOffset: number, byteCount: number): number {
  return Math.ceil((byteOffset + byteCount) / PAGE_SIZE);
}

/** `range_buflen` for one range of `pfnCount` PFNs. */
export function gpadlRangeBufferLength(pfnCount: number): number {
  return GpadlHeaderLayout.PFN_SIZE + pfnCount * GpadlHeaderLayout.PFN_SIZE;
}

/**
 * The messages a guest posts, back to back, to create a GPADL: a header with the first
 * min(26, n) PFNs, then bodies of up to 28 PFNs (`messageNumber` 0, as Linux sends).
 * @throws {InvalidArgumentError} when the range is empty, its offset is not inside the first page,
 *   its PFN count does not match its bytes, it has more than {@link MAX_GPADL_PFNS} PFNs, or a PFN
 *   is beyond 52-bit addresses
 */
export function splitGpadl(childRelid: ChannelId, gpadlId: GpadlId, range: GpadlRange): [GpadlHeaderMessage, ...GpadlBodyMessage[]] {
  const { byteCount, byteOffset, pfns } = range;
  if (!Number.isInteger(byteCount) || byteCount < 1 || byteCount > 0xffff_ffff) {
    throw new InvalidArgumentError(`GPADL byteCount must be a u32 of at least 1, got ${byteCount}`);
  }
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset >= PAGE_SIZE) {
    throw new InvalidArgumentError(`GPADL byteOffset must be in 0..4095, got ${byteOffset}`);
  }
  const expected = gpadlPageCount(byteOffset, byteCount);
  if (pfns.length !== expected) throw new InvalidArgumentError(`GPADL of ${byteCount} bytes at offset ${byteOffset} needs ${expected} PFNs, got ${pfns.length}`);
  if (expected > MAX_GPADL_PFNS) throw new InvalidArgumentError(`GPADL of ${expected} PFNs exceeds ${MAX_GPADL_PFNS}`);
  const bad = pfns.findIndex((pfn) => !Number.isInteger(pfn) || pfn < 0 || pfn > MAX_PFN);
  if (bad >= 0) throw new InvalidArgumentError(`PFN ${bad} (${pfns[bad]}) is not a 40-bit frame number`);

  const header: GpadlHeaderMessage = {
    type: ChannelMessageType.gpadlHeader,
    childRelid,
    gpadlId,
    rangeBufferLength: gpadlRangeBufferLength(expected),
    rangeCount: 1,
    byteCount,
    byteOffset,
    pfns: pfns.slice(0, GPADL_HEADER_MAX_PFNS),
  };
  const bodies: GpadlBodyMessage[] = [];
  for (let at = GPADL_HEADER_MAX_PFNS; at < pfns.length; at += GPADL_BODY_MAX_PFNS) {
    bodies.push({ type: ChannelMessageType.gpadlBody, messageNumber: 0, gpadlId, pfns: pfns.slice(at, at + GPADL_BODY_MAX_PFNS) });
  }
  return [header, ...bodies];
}

/** Why a GPADL's messages were refused: one stable reason per check. */
export type GpadlAssemblyErrorReason =
  /** `rangecount` is not 1. */
  | 'range-count-unsupported'
  /** `byte_count` is 0. */
  | 'range-empty'
  /** `byte_offset` is not inside the first page. */
  | 'range-offset-beyond-page'
  /** `range_buflen` disagrees with the PFN count the byte count needs. */
  | 'range-length-mismatch'
  /** More PFNs than the assembler's cap. */
  | 'too-many-pfns'
  /** More PFNs arrived than the range needs (overflow). */
  | 'pfn-overflow'
  /** A PFN outside the guest's memory. */
  | 'pfn-beyond-memory'
  /** A PFN inside the guest's memory space but not mapped (a hole), when the map is known. */
  | 'pfn-not-mapped'
  /** A body for another GPADL than the one being assembled. */
  | 'gpadl-mismatch'
  /** A body before the header, or a header after it, or any message after completion or failure. */
  | 'unexpected-message'
  /** The GPADL was used or finished before all its PFNs arrived (underflow). */
  | 'incomplete';

/** One step of assembly. */
export type GpadlAssemblyStep =
  | { readonly status: 'incomplete'; readonly received: number; readonly expected: number }
  | { readonly status: 'complete'; readonly range: GpadlRange }
  | { readonly status: 'error'; readonly reason: GpadlAssemblyErrorReason; readonly detail: string };

/** Limits an assembler enforces. */
export interface GpadlLimits {
  /** The guest's memory size in 4 KiB pages: every PFN must be below it. */
  readonly guestMemoryPages: number;
  /** Cap on PFNs per GPADL (default and maximum {@link MAX_GPADL_PFNS}). */
  readonly maxPfns?: number;
  /**
   * Whether a page below `guestMemoryPages` is mapped (guest memory can have holes). Without it,
   * every page below `guestMemoryPages` counts as mapped.
   */
  readonly isPageMapped?: (pfn: number) => boolean;
}

type AssemblerState =
  /** Waiting for the header. */
  | { readonly kind: 'idle' }
  /** Header accepted; `pfns` holds what has arrived so far, `expected` is the total. */
  | { readonly kind: 'assembling'; readonly header: GpadlHeaderMessage; readonly expected: number; readonly pfns: number[] }
  /** Every PFN arrived and was checked. */
  | { readonly kind: 'complete'; readonly range: GpadlRange }
  /** A check failed; the GPADL is dead. */
  | { readonly kind: 'failed' };

function error(reason: GpadlAssemblyErrorReason, detail: string): GpadlAssemblyStep {
  return { status: 'error', reason, detail };
}

/**
 * Reassembles one GPADL from its header and bodies, validating as it goes. Single use: feed it the
 * header, then bodies until it reports `complete`. Never throws on guest input.
 */
export class GpadlAssembler {
  private state: AssemblerState = { kind: 'idle' };
  private readonly maxPfns: number;

  /** @throws {InvalidArgumentError} when a limit is not a non-negative integer */
  constructor(private readonly limits: GpadlLimits) {
    if (!Number.isInteger(limits.guestMemoryPages) || limits.guestMemoryPages < 0) {
      throw new InvalidArgumentError(`guestMemoryPages must be a non-negative integer, got ${limits.guestMemoryPages}`);
    }
    this.maxPfns = Math.min(limits.maxPfns ?? MAX_GPADL_PFNS, MAX_GPADL_PFNS);
  }

  /** The GPADL being assembled, once the header was accepted. */
  get gpadlId(): GpadlId | undefined {
    return this.state.kind === 'assembling' ? this.state.header.gpadlId : undefined;
  }

  /** The assembled range, once complete. */
  get range(): GpadlRange | undefined {
    return this.state.kind === 'complete' ? this.state.range : undefined;
  }

  /** Accepts the GPADL_HEADER. */
  header(message: GpadlHeaderMessage): GpadlAssemblyStep {
    if (this.state.kind !== 'idle') return this.fail('unexpected-message', `header while ${this.state.kind}`);
    if (message.rangeCount !== 1) return this.fail('range-count-unsupported', `rangecount ${message.rangeCount}; only 1 is supported`);
    if (message.byteCount === 0) return this.fail('range-empty', 'byte_count is 0');
    if (message.byteOffset >= PAGE_SIZE) return this.fail('range-offset-beyond-page', `byte_offset ${message.byteOffset} is not below ${PAGE_SIZE}`);
    const expected = gpadlPageCount(message.byteOffset, message.byteCount);
    if (expected > this.maxPfns) return this.fail('too-many-pfns', `${expected} PFNs exceed the cap of ${this.maxPfns}`);
    if (message.rangeBufferLength !== gpadlRangeBufferLength(expected)) {
      return this.fail('range-length-mismatch', `range_buflen ${message.rangeBufferLength} but ${expected} PFNs need ${gpadlRangeBufferLength(expected)}`);
    }
    this.state = { kind: 'assembling', header: message, expected, pfns: [] };
    return this.append(message.pfns);
  }

  /** Accepts one GPADL_BODY. */
  body(message: GpadlBodyMessage): GpadlAssemblyStep {
    if (this.state.kind !== 'assembling') return this.fail('unexpected-message', `body while ${this.state.kind}`);
    if (message.gpadlId !== this.state.header.gpadlId) {
      return this.fail('gpadl-mismatch', `body for GPADL ${message.gpadlId} while assembling ${this.state.header.gpadlId}`);
    }
    return this.append(message.pfns);
  }

  /** The assembled range, or the underflow error if PFNs are still missing. */
  finish(): GpadlAssemblyStep {
    switch (this.state.kind) {
      case 'complete':
        return { status: 'complete', range: this.state.range };
      case 'assembling':
        return this.fail('incomplete', `${this.state.pfns.length} of ${this.state.expected} PFNs arrived`);
      case 'idle':
      case 'failed':
        return this.fail('incomplete', `no GPADL (${this.state.kind})`);
      default: {
        const never: never = this.state;
        return never;
      }
    }
  }

  private append(pfns: readonly number[]): GpadlAssemblyStep {
    const state = this.state;
    if (state.kind !== 'assembling') return this.fail('unexpected-message', `PFNs while ${state.kind}`);
    if (state.pfns.length + pfns.length > state.expected) {
      return this.fail('pfn-overflow', `${state.pfns.length + pfns.length} PFNs for a range of ${state.expected}`);
    }
    for (const pfn of pfns) {
      if (pfn >= this.limits.guestMemoryPages) return this.fail('pfn-beyond-memory', `PFN ${pfn} is beyond ${this.limits.guestMemoryPages} guest pages`);
      if (this.limits.isPageMapped !== undefined && !this.limits.isPageMapped(pfn)) return this.fail('pfn-not-mapped', `PFN ${pfn} is not mapped`);
      state.pfns.push(pfn);
    }
    if (state.pfns.length < state.expected) return { status: 'incomplete', received: state.pfns.length, expected: state.expected };
    const range: GpadlRange = { byteCount: state.header.byteCount, byteOffset: state.header.byteOffset, pfns: state.pfns };
    this.state = { kind: 'complete', range };
    return { status: 'complete', range };
  }

  private fail(reason: GpadlAssemblyErrorReason, detail: string): GpadlAssemblyStep {
    this.state = { kind: 'failed' };
    return error(reason, detail);
  }
}
