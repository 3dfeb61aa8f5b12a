/**
 * The target's side of direct event cells (abi/direct-events.ts): opts the VP in, keeps the list of
 * cells that target it (refetched whenever DIRECT_EVENTS_GENERATION moves), waits on each cell's
 * SUMMARY with `Atomics.waitAsync`, and on a wake moves the cell's flags into the VP's own SIEF
 * page and runs the interrupt handler for the cell's SINT, exactly as if the hypervisor had set the
 * flags and raised the SINT.
 *
 * The cells are written by another partition, so they are read like any guest input: only bits
 * below the port's flag count are taken, a cell is drained at most 16 times per event-loop turn,
 * and one that keeps waking with nothing in it (a storm) is left alone for a millisecond, so a
 * signaller cannot starve the event loop.
 */
import { DIRECT_EVENT_CELLS_MAIL, DirectEventCellLayout, directEventCellBytes, takeCellFlags, type DirectEventCellInfo, type DirectEventCellsMail } from '../abi/direct-events.ts';
import { SiefLayout, SINT_COUNT } from '../abi/synic.ts';
import { HvStatus } from '../abi/status.ts';
import { VpPageLayout } from '../abi/vp-page.ts';
import { isMail, type MailReader } from './hypervisor-mail.ts';
import type { SynicClient } from './synic-client.ts';

const GENERATION = VpPageLayout.DIRECT_EVENTS_GENERATION >> 2;
const SUMMARY = DirectEventCellLayout.SUMMARY >> 2;
/** Wakes handled back to back on one cell before yielding to the event loop. */
const DRAINS_PER_TURN = 16;
/** Empty wakes in a row (SUMMARY set, no flag behind it) after which a cell is treated as a storm. */
const STORM_EMPTY_WAKES = 64;
/** How long a storming cell is left alone, ms. */
const STORM_BACKOFF_MS = 1;

/** The hypercalls the receiver makes. */
export interface DirectEventCalls {
  enableDirectEvents(enable: boolean): number;
  getDirectEventCells(): number;
}

interface WatchedCell {
  readonly buffer: SharedArrayBuffer;
  readonly words: Int32Array;
  readonly sint: number;
  readonly baseFlag: number;
  readonly flagCount: number;
  active: boolean;
  /** Empty wakes in a row. */
  empty: number;
  /** Sets taken flags in the SIEF page (made once per cell: no allocation per wake). */
  readonly deliver: (firstFlag: number, bits: number) => void;
}

function isCellsMail(body: unknown): body is DirectEventCellsMail {
  return isMail(body, DIRECT_EVENT_CELLS_MAIL) && Array.isArray(body.cells);
}

/** Whether a mailed cell description is usable (the mail comes from the hypervisor, but check anyway). */
function valid(info: DirectEventCellInfo): boolean {
  return (
    info.cell instanceof SharedArrayBuffer &&
    Number.isInteger(info.sint) && info.sint > 0 && info.sint < SINT_COUNT &&
    Number.isInteger(info.flagCount) && info.flagCount > 0 &&
    Number.isInteger(info.baseFlag) && info.baseFlag >= 0 && info.baseFlag + info.flagCount <= SiefLayout.FLAGS_PER_SINT &&
    info.cell.byteLength >= directEventCellBytes(info.flagCount)
  );
}

export class DirectEventReceiver {
  private readonly cells = new Map<SharedArrayBuffer, WatchedCell>();
  private generation = -1;
  private handler: ((sints: number) => void) | undefined;
  /** Wakes handled through cells. */
  wakes = 0;
  /** Times a cell was put aside for waking with nothing in it (a hostile or broken signaller). */
  storms = 0;

  constructor(
    private readonly page: Int32Array,
    private readonly calls: DirectEventCalls,
    private readonly synic: SynicClient,
    private readonly mail: MailReader,
  ) {}

  /**
   * Opts the VP in and runs `handler(1 << sint)` for every cell wake, until the returned function is
   * called (which opts out: the hypervisor then moves waiting flags into the SIEF page itself).
   * Returns undefined when the hypervisor refuses (the VP keeps getting events through it).
   */
  start(handler: (sints: number) => void): (() => void) | undefined {
    if (this.handler) throw new Error('direct events are already being received on this VP');
    if (this.calls.enableDirectEvents(true) !== HvStatus.SUCCESS) return undefined;
    this.handler = handler;
    this.refresh();
    return () => {
      this.handler = undefined;
      for (const cell of this.cells.values()) cell.active = false;
      this.cells.clear();
      this.calls.enableDirectEvents(false);
    };
  }

  /** Refetches the cell list if the hypervisor changed it (call on every doorbell wake). */
  refresh(): void {
    if (!this.handler) return;
    const generation = Atomics.load(this.page, GENERATION);
    if (generation === this.generation) return;
    this.generation = generation;
    if (this.calls.getDirectEventCells() !== HvStatus.SUCCESS) return;
    const mail = this.mail(isCellsMail);
    if (!mail) return;
    const current = new Set<SharedArrayBuffer>();
    for (const info of mail.cells) {
      if (!valid(info)) continue;
      current.add(info.cell);
      if (this.cells.has(info.cell)) continue;
      const { sint, baseFlag } = info;
      const deliver = (firstFlag: number, bits: number): void => this.synic.setEventFlags(sint, baseFlag + firstFlag, bits);
      const cell: WatchedCell = { buffer: info.cell, words: new Int32Array(info.cell), sint, baseFlag, flagCount: info.flagCount, active: true, empty: 0, deliver };
      this.cells.set(info.cell, cell);
      this.fire(cell);
    }
    for (const [buffer, cell] of this.cells) {
      if (current.has(buffer)) continue;
      cell.active = false;
      this.cells.delete(buffer);
    }
  }

  /** Drains the cell while it has something (bounded), then waits on it again. */
  private fire(cell: WatchedCell): void {
    for (let i = 0; i < DRAINS_PER_TURN; i++) {
      if (!cell.active) return;
      if (Atomics.load(cell.words, SUMMARY) === 0) {
        const result = Atomics.waitAsync(cell.words, SUMMARY, 0);
        if (result.async) {
          void result.value.then(() => this.fire(cell));
          return;
        }
        continue; // set meanwhile
      }
      if (this.drain(cell)) {
        cell.empty = 0;
        this.wakes++;
        this.handler?.(1 << cell.sint);
      } else if (++cell.empty >= STORM_EMPTY_WAKES) {
        // Only a signaller writing SUMMARY without flags does this: leave its cell alone a while.
        cell.empty = 0;
        this.storms++;
        setTimeout(() => this.fire(cell), STORM_BACKOFF_MS);
        return;
      }
    }
    setImmediate(() => this.fire(cell));
  }

  /** Moves the cell's flags into the SIEF page; true if any was set. */
  private drain(cell: WatchedCell): boolean {
    return takeCellFlags(cell.words, cell.flagCount, cell.deliver);
  }
}
