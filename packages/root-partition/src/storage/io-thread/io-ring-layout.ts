/**
 * The shared memory between a thread and its block I/O thread (io-thread.ts): a submission ring
 * and a completion ring of slot numbers, and one record per slot saying what to do and how it went.
 *
 * The client owns the slots: it fills a free slot's record, appends the slot to the submission
 * ring and advances SQ_HEAD; the I/O thread runs it, writes the result into the record, appends the
 * slot to the completion ring and advances CQ_HEAD. A slot is in at most one ring at a time, so
 * neither ring (SLOTS entries) can overflow. The sleeping flags follow the VMBus ring's interrupt
 * mask: a side sets its flag, re-checks the index it waits on, then sleeps; the other side
 * publishes its index first and reads the flag after, both with sequentially consistent atomics,
 * so a wake-up is never lost and a busy side is never signalled.
 */

/** Slots (requests in flight at once); a power of two. */
export const IO_SLOTS = 256;
export const IO_SLOT_MASK = IO_SLOTS - 1;

/** Int32 words of the control area. */
export const IoControl = {
  /** Submissions published by the client (free-running count). */
  SQ_HEAD: 0,
  /** Completions published by the I/O thread (free-running count). */
  CQ_HEAD: 1,
  /** 1 while the I/O thread sleeps on SQ_HEAD. */
  THREAD_SLEEPING: 2,
  /** 1 while the client waits on CQ_HEAD. */
  CLIENT_WAITING: 3,
  /** 1 asks the I/O thread to stop. */
  STOP: 4,
  WORDS: 16,
} as const;

/** Int32 fields of a slot's record. */
export const IoSlotInt = { op: 0, fd: 1, bufferId: 2, WORDS: 4 } as const;
/** Float64 fields of a slot's record. */
export const IoSlotNumber = { position: 0, length: 1, bufferOffset: 2, result: 3, WORDS: 4 } as const;

/** Operations. */
export const IoOp = { read: 1, write: 2 } as const;

/** The views over one shared area, the same on both sides. */
export interface IoRingViews {
  readonly control: Int32Array;
  readonly submissions: Int32Array;
  readonly completions: Int32Array;
  readonly ints: Int32Array;
  readonly numbers: Float64Array;
}

/** Bytes of the shared area. */
export const IO_RING_BYTES = 4 * IoControl.WORDS + 4 * IO_SLOTS * 2 + 4 * IO_SLOTS * IoSlotInt.WORDS + 8 * IO_SLOTS * IoSlotNumber.WORDS;

export function ioRingViews(buffer: SharedArrayBuffer): IoRingViews {
  let at = 0;
  const take = (bytes: number): number => {
    const start = at;
    at += bytes;
    return start;
  };
  const control = new Int32Array(buffer, take(4 * IoControl.WORDS), IoControl.WORDS);
  const submissions = new Int32Array(buffer, take(4 * IO_SLOTS), IO_SLOTS);
  const completions = new Int32Array(buffer, take(4 * IO_SLOTS), IO_SLOTS);
  const ints = new Int32Array(buffer, take(4 * IO_SLOTS * IoSlotInt.WORDS), IO_SLOTS * IoSlotInt.WORDS);
  const numbers = new Float64Array(buffer, take(8 * IO_SLOTS * IoSlotNumber.WORDS), IO_SLOTS * IoSlotNumber.WORDS);
  return { control, submissions, completions, ints, numbers };
}
