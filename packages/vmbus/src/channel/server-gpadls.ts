/**
 * The GPADLs of one server connection: creation from GPADL_HEADER/GPADL_BODY through a
 * {@link GpadlAssembler} each, with the connection's limits (how many GPADLs, how many assembling
 * at once, how many pages in all) so a guest cannot make the root allocate without bound.
 * Bookkeeping only; the server decides what to send.
 */
import { ChannelStatus } from '../protocol/channel-message-layout.ts';
import type { ChannelId, GpadlBodyMessage, GpadlHeaderMessage, GpadlId } from '../protocol/channel-messages.ts';
import { GpadlAssembler, gpadlPageCount, type GpadlAssemblyStep } from '../protocol/gpadl.ts';
import type { ServerGpadl } from './server-channel-state.ts';
import type { ServerProtocolErrorReason } from './server-events.ts';

/** Per-connection GPADL limits. */
export interface GpadlTableLimits {
  /** GPADLs a connection may hold (default 1024). */
  readonly maxGpadls?: number;
  /** GPADLs assembling at once (default 64). */
  readonly maxAssembling?: number;
  /** Pages across every GPADL of the connection (default 1 << 20, 4 GiB). */
  readonly maxPages?: number;
}

const DEFAULT_MAX_GPADLS = 1024;
const DEFAULT_MAX_ASSEMBLING = 64;
const DEFAULT_MAX_PAGES = 1 << 20;

/** The outcome of a header or body. */
export type GpadlTableStep =
  | { readonly outcome: 'incomplete' }
  | { readonly outcome: 'created'; readonly gpadl: ServerGpadl }
  /** Refused: the GPADL (if it existed) is gone; answer GPADL_CREATED with `status` for `channel`. */
  | {
      readonly outcome: 'refused';
      readonly channel: ChannelId;
      readonly gpadlId: GpadlId;
      readonly status: number;
      readonly reason: ServerProtocolErrorReason;
      readonly detail: string;
    }
  /** A body for no GPADL under assembly: nothing to answer. */
  | { readonly outcome: 'unknown'; readonly detail: string };

/** The GPADLs of one connection. */
export class ServerGpadlTable {
  private readonly gpadls = new Map<GpadlId, ServerGpadl>();
  private assemblingCount = 0;
  private pages = 0;
  private readonly maxGpadls: number;
  private readonly maxAssembling: number;
  private readonly maxPages: number;

  constructor(limits: GpadlTableLimits = {}) {
    this.maxGpadls = limits.maxGpadls ?? DEFAULT_MAX_GPADLS;
    this.maxAssembling = limits.maxAssembling ?? DEFAULT_MAX_ASSEMBLING;
    this.maxPages = limits.maxPages ?? DEFAULT_MAX_PAGES;
  }

  get size(): number {
    return this.gpadls.size;
  }

  /** Pages reserved by every GPADL, assembling ones included. */
  get reservedPages(): number {
    return this.pages;
  }

  get assembling(): number {
    return this.assemblingCount;
  }

  get(id: GpadlId): ServerGpadl | undefined {
    return this.gpadls.get(id);
  }

  values(): IterableIterator<ServerGpadl> {
    return this.gpadls.values();
  }

  /** The GPADLs owned by `channel`. */
  ofChannel(channel: ChannelId): ServerGpadl[] {
    return [...this.gpadls.values()].filter((gpadl) => gpadl.channel === channel);
  }

  /** Starts a GPADL from its header. `guestMemoryPages` bounds every PFN; `isPageMapped`, when known, each one. */
  begin(header: GpadlHeaderMessage, guestMemoryPages: number, isPageMapped?: (pfn: number) => boolean): GpadlTableStep {
    const refuse = (status: number, reason: ServerProtocolErrorReason, detail: string): GpadlTableStep => ({
      outcome: 'refused',
      channel: header.childRelid,
      gpadlId: header.gpadlId,
      status,
      reason,
      detail,
    });
    if (this.gpadls.has(header.gpadlId)) return refuse(ChannelStatus.unsuccessful, 'duplicate-gpadl', `GPADL ${header.gpadlId} already exists`);
    if (this.gpadls.size >= this.maxGpadls) return refuse(ChannelStatus.insufficientResources, 'gpadl-limit', `${this.maxGpadls} GPADLs already`);
    if (this.assemblingCount >= this.maxAssembling) {
      return refuse(ChannelStatus.insufficientResources, 'gpadl-limit', `${this.maxAssembling} GPADLs already assembling`);
    }
    const assembler = new GpadlAssembler(isPageMapped === undefined ? { guestMemoryPages } : { guestMemoryPages, isPageMapped });
    const step = assembler.header(header);
    if (step.status === 'error') return refuse(ChannelStatus.unsuccessful, step.reason, step.detail);
    // The header passed validation, so the page count is at most MAX_GPADL_PFNS.
    const pages = gpadlPageCount(header.byteOffset, header.byteCount);
    if (this.pages + pages > this.maxPages) {
      return refuse(ChannelStatus.insufficientResources, 'gpadl-limit', `${pages} more pages exceed the connection's ${this.maxPages}`);
    }
    this.pages += pages;
    const gpadl: ServerGpadl = { id: header.gpadlId, channel: header.childRelid, reservedPages: pages, state: { kind: 'assembling', assembler } };
    this.gpadls.set(gpadl.id, gpadl);
    this.assemblingCount++;
    return this.settle(gpadl, step);
  }

  /** Adds a body to the GPADL it names. */
  body(message: GpadlBodyMessage): GpadlTableStep {
    const gpadl = this.gpadls.get(message.gpadlId);
    if (gpadl === undefined || gpadl.state.kind !== 'assembling') {
      return { outcome: 'unknown', detail: `GPADL_BODY for GPADL ${message.gpadlId}, which is not assembling` };
    }
    return this.settle(gpadl, gpadl.state.assembler.body(message));
  }

  /** Removes a GPADL and releases its pages. */
  remove(id: GpadlId): ServerGpadl | undefined {
    const gpadl = this.gpadls.get(id);
    if (gpadl === undefined) return undefined;
    this.gpadls.delete(id);
    this.pages -= gpadl.reservedPages;
    if (gpadl.state.kind === 'assembling') this.assemblingCount--;
    return gpadl;
  }

  private settle(gpadl: ServerGpadl, step: GpadlAssemblyStep): GpadlTableStep {
    switch (step.status) {
      case 'incomplete':
        return { outcome: 'incomplete' };
      case 'complete':
        this.assemblingCount--;
        gpadl.state = { kind: 'created', range: step.range };
        return { outcome: 'created', gpadl };
      case 'error':
        this.remove(gpadl.id);
        return { outcome: 'refused', channel: gpadl.channel, gpadlId: gpadl.id, status: ChannelStatus.unsuccessful, reason: step.reason, detail: step.detail };
      default: {
        const never: never = step;
        return never;
      }
    }
  }
}
