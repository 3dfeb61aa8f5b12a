/**
 * The per-VP hypercall page: the only memory, besides its own guest memory, a VP worker is handed.
 *
 * Viridian's stand-in for the x64 registers a hypercall, RDMSR/WRMSR or IN/OUT instruction uses,
 * plus the parameter pages of the memory calling convention and the SynIC interrupt doorbell:
 *
 * - page 0, control: an exit is requested by filling the register words and then incrementing
 *   `CALL_SEQ` (Atomics.add + notify); the hypervisor notices through `Atomics.waitAsync`, copies
 *   the inputs out once, validates, acts, writes the outputs, then stores `DONE_SEQ = CALL_SEQ` and
 *   notifies. The VP blocks on `DONE_SEQ` with `Atomics.wait`. Sequence numbers, not flags, so no
 *   wake-up is lost (node-performance-facts.md).
 * - `INTERRUPT_SEQ` is the interrupt doorbell: the hypervisor increments it and notifies on every
 *   SINT delivery (message or event), after ORing the SINT's bit into `PENDING_SINTS`.
 * - page 1: hypercall input parameters (TLFS RDX page); page 2: output parameters (TLFS R8 page).
 */

/** Bytes per page. */
export const PAGE_SIZE = 4096;

/** Byte offsets in the control page; the i32 fields are 4-byte aligned for Atomics. */
export const VpPageLayout = Object.freeze({
  /** i32: incremented by the VP to request an exit. */
  CALL_SEQ: 0,
  /** i32: set to the completed CALL_SEQ by the hypervisor. */
  DONE_SEQ: 4,
  /** u32: the exit kind (`VpExitKind`). */
  EXIT_KIND: 8,
  /** u32 lo/hi: hypercall input value (RCX). */
  CONTROL_LO: 16,
  CONTROL_HI: 20,
  /** u32 lo/hi: RDX: fast input 0, MSR number, or I/O port + access size. */
  ARG0_LO: 24,
  ARG0_HI: 28,
  /** u32 lo/hi: R8: fast input 1, MSR value to write, or I/O value to write. */
  ARG1_LO: 32,
  ARG1_HI: 36,
  /** u32 lo/hi: RAX: hypercall result value, MSR value read, or I/O value read. */
  RESULT_LO: 40,
  RESULT_HI: 44,
  /** u32: status of an MSR or I/O exit (an HV_STATUS). */
  EXIT_STATUS: 48,
  /** i32: the interrupt doorbell sequence. */
  INTERRUPT_SEQ: 64,
  /** i32: bit n set = SINT n was delivered since the VP last took the mask. */
  PENDING_SINTS: 68,
  /**
   * i32, written by the hypervisor: non-zero while it polls this VP's CALL_SEQ (adaptive polling),
   * and bumped as it polls (a heartbeat), so an exit is completed within microseconds and the VP may
   * spin for DONE_SEQ instead of sleeping while the beat moves. Advisory only: a guest that writes
   * it changes nothing but its own spinning.
   */
  HV_POLLING: 72,
  /**
   * i32, written by the VP: 1 while it sleeps (Atomics.wait) for DONE_SEQ. The hypervisor notifies
   * DONE_SEQ only then (it stores DONE_SEQ first, then reads this; the VP stores this first, then
   * reads DONE_SEQ, so one of them sees the other): a notify costs even without a sleeper, and in
   * Node 20 a notify from a thread with pending waitAsyncs (the host's main thread always has them)
   * stalls a spinning peer (node-performance-facts.md; exit-poller.ts).
   */
  VP_SLEEPING: 76,
  /**
   * i32, written by the VP: how many of its waiters are (about to be) asleep on INTERRUPT_SEQ. The
   * hypervisor notifies INTERRUPT_SEQ only when it is non-zero, with the same store-then-read order.
   */
  INTERRUPT_WAITERS: 80,
  /**
   * i32, written by the hypervisor: bumped whenever a direct event cell this VP signals through or
   * receives on is made or revoked (direct-events.ts); the VP refetches its cells when it changes.
   */
  DIRECT_EVENTS_GENERATION: 84,
  /** Page 1: hypercall input parameters. */
  INPUT_PAGE: PAGE_SIZE,
  /** Page 2: hypercall output parameters. */
  OUTPUT_PAGE: 2 * PAGE_SIZE,
  SIZE: 3 * PAGE_SIZE,
});

/** What a VP asks of the hypervisor when it bumps CALL_SEQ. */
export const VpExitKind = {
  Hypercall: 1,
  ReadMsr: 2,
  WriteMsr: 3,
  IoRead: 4,
  IoWrite: 5,
} as const;

/** One exit kind. */
export type VpExitKindValue = (typeof VpExitKind)[keyof typeof VpExitKind];
