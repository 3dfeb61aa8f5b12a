/**
 * Direct event cells: a Viridian enlightenment (no TLFS counterpart) that lets HvSignalEvent skip
 * the hypervisor's thread, the way Hyper-V's monitor pages let a guest signal without an exit.
 *
 * Why: on real hardware the hypervisor runs on the signalling CPU, so SignalEvent costs one wake-up
 * of the target. Here the hypervisor is another thread, so a signal through it costs two (caller →
 * hypervisor → target VP), each 8-50 us (node-performance-facts.md). A cell makes it one.
 *
 * What: for an event port whose target VP opted in (ViridianEnableDirectEvents), the hypervisor
 * makes a small SharedArrayBuffer, the port's cell, holding nothing but the flags signalled through
 * that port. It hands the cell to the port's connection partition (ViridianGetSignalCell, per
 * connection) and to the target VP (ViridianGetDirectEventCells). The signaller ORs the flag's bit
 * into the cell, sets SUMMARY and, if SUMMARY was 0, notifies it; the target waits on each cell's
 * SUMMARY (`Atomics.waitAsync`), and on a wake clears SUMMARY, takes the flags, sets them in its own
 * SIEF page and handles the SINT as if the hypervisor had raised it.
 *
 * Isolation: a cell holds no memory of either partition, so a hostile signaller can only set bits
 * of its own port (spurious events, which VMBus tolerates) or keep SUMMARY set (an event storm, no
 * worse than calling SignalEvent in a loop). The hypervisor still decides who gets a cell, and
 * revokes it when the port is deleted, a connection to it is disconnected or the target VP opts
 * out: it bumps DIRECT_EVENTS_GENERATION in the vp page of every VP of both partitions (each side
 * then refetches: the signaller falls back to the hypercall and gets its TLFS status), and moves
 * flags still in the cell into the target's SIEF itself, so no signal is lost.
 */

/** Byte offsets in a cell. */
export const DirectEventCellLayout = Object.freeze({
  /** i32: non-zero while flags are waiting; the word the target waits on. */
  SUMMARY: 0,
  /** u32 words: bit n = relative flag n of the port (n < flagCount) was signalled. */
  FLAGS: 64,
});

/** The bytes of a cell for a port of `flagCount` flags. */
export function directEventCellBytes(flagCount: number): number {
  return DirectEventCellLayout.FLAGS + Math.ceil(flagCount / 32) * 4;
}

/**
 * Takes the flags waiting in a cell: clears SUMMARY (first, so a signal that lands meanwhile sets it
 * again and wakes the reader once more), then exchanges each flag word with 0 and passes its bits
 * to `visit(firstFlag, bits)`, keeping only bits below `flagCount` (the rest are a hostile
 * signaller's). Returns whether any flag was taken. Used by the target VP and by the hypervisor
 * when it revokes a cell.
 */
export function takeCellFlags(words: Int32Array, flagCount: number, visit: (firstFlag: number, bits: number) => void): boolean {
  const flagsWord = DirectEventCellLayout.FLAGS >> 2;
  Atomics.store(words, DirectEventCellLayout.SUMMARY >> 2, 0);
  let any = false;
  for (let w = 0; w * 32 < flagCount; w++) {
    if (Atomics.load(words, flagsWord + w) === 0) continue;
    let bits = Atomics.exchange(words, flagsWord + w, 0);
    const live = flagCount - w * 32;
    if (live < 32) bits &= (1 << live) - 1;
    if (bits === 0) continue;
    any = true;
    visit(w * 32, bits);
  }
  return any;
}

/** The `kind` of the mail carrying a signal cell to the signalling VP (ViridianGetSignalCell). */
export const SIGNAL_CELL_MAIL = 'viridian-signal-cell';
/** The `kind` of the mail carrying a VP's direct event cells to it (ViridianGetDirectEventCells). */
export const DIRECT_EVENT_CELLS_MAIL = 'viridian-direct-event-cells';

/** A signal cell as mailed to the signalling VP. */
export interface SignalCellMail {
  readonly kind: typeof SIGNAL_CELL_MAIL;
  readonly connectionId: number;
  readonly flagCount: number;
  readonly cell: SharedArrayBuffer;
}

/** One cell as mailed to its target VP. */
export interface DirectEventCellInfo {
  readonly portId: number;
  readonly sint: number;
  readonly baseFlag: number;
  readonly flagCount: number;
  readonly cell: SharedArrayBuffer;
}

/** A target VP's cells. */
export interface DirectEventCellsMail {
  readonly kind: typeof DIRECT_EVENT_CELLS_MAIL;
  readonly cells: readonly DirectEventCellInfo[];
}
