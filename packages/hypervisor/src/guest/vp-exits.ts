/**
 * The VP side of an exit: fill the register words of the hypercall page, bump CALL_SEQ, block
 * until DONE_SEQ catches up (vp-page.ts). This is the one place a VP traps to the hypervisor:
 * hypercalls, synthetic MSR reads/writes, and I/O port accesses.
 *
 * Blocking: a short spin bounded in time (a wake-up costs 8-50 us on these machines, a read of the
 * shared word a few ns; node-performance-facts.md, spin.ts), then `Atomics.wait`. A held exit (an intercepted I/O access,
 * a suspended VP) simply blocks longer. The trap is injectable so tests can run the hypervisor's
 * handler synchronously in one thread.
 */
import { VpExitKind, VpPageLayout } from '../abi/vp-page.ts';
import { HvStatus } from '../abi/status.ts';
import { EXIT_SPIN_US, spinWhileEqualPolled } from './spin.ts';

const W = (offset: number) => offset >> 2;

/** How an exit reaches the hypervisor once CALL_SEQ has been bumped to `seq`. */
export type ExitTrap = (seq: number) => void;

/** Spin iterations before sleeping (kept for compatibility: the spin is now bounded in time, `EXIT_SPIN_US`). */
export const EXIT_SPIN_ITERATIONS = 2000;

/** The default trap: notify the hypervisor, spin briefly (`spinUs`), then sleep until DONE_SEQ = seq. */
export function atomicsTrap(words: Int32Array, spinUs = EXIT_SPIN_US): ExitTrap {
  return (seq) => {
    if (Atomics.load(words, W(VpPageLayout.HV_POLLING)) === 0) {
      // The hypervisor sleeps: ring its doorbell.
      Atomics.notify(words, W(VpPageLayout.CALL_SEQ));
    } else if (
      spinWhileEqualPolled(words, W(VpPageLayout.DONE_SEQ), (seq - 1) | 0, W(VpPageLayout.HV_POLLING), spinUs) &&
      Atomics.load(words, W(VpPageLayout.DONE_SEQ)) === seq
    ) {
      // The hypervisor polls this VP (it reads CALL_SEQ after our increment, see vp-page.ts): no
      // notify (it would only cost), and a short spin while it visibly runs: it answers within
      // microseconds.
      return;
    }
    // Announce the sleep before the last look at DONE_SEQ (vp-page.ts VP_SLEEPING).
    Atomics.store(words, W(VpPageLayout.VP_SLEEPING), 1);
    for (;;) {
      const done = Atomics.load(words, W(VpPageLayout.DONE_SEQ));
      if (done === seq) break;
      Atomics.wait(words, W(VpPageLayout.DONE_SEQ), done);
    }
    Atomics.store(words, W(VpPageLayout.VP_SLEEPING), 0);
  };
}

/** An MSR read: status and the 64-bit value's halves. */
export interface MsrValue {
  readonly status: number;
  readonly lo: number;
  readonly hi: number;
}

export class VpExits {
  readonly words: Int32Array;
  private readonly trap: ExitTrap;

  constructor(readonly page: SharedArrayBuffer, trap?: ExitTrap) {
    this.words = new Int32Array(page, 0, 1024);
    this.trap = trap ?? atomicsTrap(this.words);
  }

  /** Issues a hypercall with input value `lo`/`hi`; fast inputs must already be in ARG0/ARG1. Returns the result halves. */
  hypercall(lo: number, hi: number): { lo: number; hi: number } {
    const w = this.words;
    w[W(VpPageLayout.CONTROL_LO)] = lo;
    w[W(VpPageLayout.CONTROL_HI)] = hi;
    this.exit(VpExitKind.Hypercall);
    return { lo: w[W(VpPageLayout.RESULT_LO)]! >>> 0, hi: w[W(VpPageLayout.RESULT_HI)]! >>> 0 };
  }

  /** Reads a synthetic MSR. */
  readMsr(msr: number): MsrValue {
    const w = this.words;
    w[W(VpPageLayout.ARG0_LO)] = msr;
    this.exit(VpExitKind.ReadMsr);
    return { status: w[W(VpPageLayout.EXIT_STATUS)]!, lo: w[W(VpPageLayout.RESULT_LO)]! >>> 0, hi: w[W(VpPageLayout.RESULT_HI)]! >>> 0 };
  }

  /** Writes a synthetic MSR with the 64-bit value `hi:lo`; returns the status. */
  writeMsr(msr: number, lo: number, hi = 0): number {
    const w = this.words;
    w[W(VpPageLayout.ARG0_LO)] = msr;
    w[W(VpPageLayout.ARG1_LO)] = lo;
    w[W(VpPageLayout.ARG1_HI)] = hi;
    this.exit(VpExitKind.WriteMsr);
    return w[W(VpPageLayout.EXIT_STATUS)]!;
  }

  /** IN: reads `size` (1, 2 or 4) bytes from I/O port `port`. */
  ioRead(port: number, size: 1 | 2 | 4): { status: number; value: number } {
    const w = this.words;
    w[W(VpPageLayout.ARG0_LO)] = (port & 0xffff) | (size << 16);
    this.exit(VpExitKind.IoRead);
    return { status: w[W(VpPageLayout.EXIT_STATUS)]!, value: w[W(VpPageLayout.RESULT_LO)]! >>> 0 };
  }

  /** OUT: writes `value` (`size` bytes) to I/O port `port`; returns the status. */
  ioWrite(port: number, size: 1 | 2 | 4, value: number): number {
    const w = this.words;
    w[W(VpPageLayout.ARG0_LO)] = (port & 0xffff) | (size << 16);
    w[W(VpPageLayout.ARG1_LO)] = value;
    this.exit(VpExitKind.IoWrite);
    return w[W(VpPageLayout.EXIT_STATUS)]!;
  }

  private exit(kind: number): void {
    const w = this.words;
    w[W(VpPageLayout.EXIT_KIND)] = kind;
    w[W(VpPageLayout.EXIT_STATUS)] = HvStatus.OPERATION_FAILED;
    const seq = Atomics.add(w, W(VpPageLayout.CALL_SEQ), 1) + 1;
    this.trap(seq | 0);
  }
}
