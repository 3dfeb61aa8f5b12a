/**
 * Exit dispatch: reads a VP's exit from its hypercall page, parses and validates it in one place,
 * runs the handler, and writes the result back (TLFS 2.0 §4; ARCHITECTURE.md "Isolation" 3).
 *
 * Order of checks for a hypercall (TLFS 2.0 §4.11): reserved bits / variable header →
 * INVALID_HYPERCALL_INPUT; unknown code → INVALID_HYPERCALL_CODE; rep fields that do not fit the call
 * (a rep call with count 0 or start ≥ count, a simple call with rep fields, fast on a call that
 * cannot be fast) → INVALID_HYPERCALL_INPUT; parameters that would cross the parameter page →
 * INVALID_ALIGNMENT; missing privilege → ACCESS_DENIED; then the handler. Input bytes are copied
 * out of shared memory exactly once, into a private buffer the handler reads. A handler that throws
 * is a hypervisor bug: it is counted, logged, and answered with OPERATION_FAILED; the exception
 * never leaves this function.
 */
import { CALL_SHAPES, isFastCapable, isHvCallCode } from '../abi/call-codes.ts';
import { decodeInput } from '../abi/control.ts';
import { HvStatus, hvStatusName } from '../abi/status.ts';
import { PAGE_SIZE, VpExitKind, VpPageLayout } from '../abi/vp-page.ts';
import { InputReader, OutputWriter, type CallContext } from './call-context.ts';
import { CALL_TABLE } from './call-table.ts';
import type { HypervisorCore } from './core.ts';
import { handleIoExit } from './io-exits.ts';
import { readMsr, writeMsr } from './synic-msrs.ts';
import type { Vp } from './vp.ts';

const W = (offset: number) => offset >> 2;

/** Reused private buffers: the hypervisor is single-threaded, so one pair serves every call. */
const inputCopy = new Uint8Array(PAGE_SIZE);
const outputScratch = new Uint8Array(PAGE_SIZE);

/** Handles the VP's current exit; false when it is held (an intercepted access). */
export function handleExit(core: HypervisorCore, vp: Vp): boolean {
  const words = vp.words;
  const kind = Atomics.load(words, W(VpPageLayout.EXIT_KIND));
  switch (kind) {
    case VpExitKind.Hypercall: {
      const { status, reps } = dispatchHypercall(core, vp);
      Atomics.store(words, W(VpPageLayout.RESULT_LO), status & 0xffff);
      Atomics.store(words, W(VpPageLayout.RESULT_HI), reps & 0xfff);
      return true;
    }
    case VpExitKind.ReadMsr: {
      core.metrics.msrExits++;
      const read = readMsr(vp, Atomics.load(words, W(VpPageLayout.ARG0_LO)) >>> 0);
      Atomics.store(words, W(VpPageLayout.RESULT_LO), read.lo | 0);
      Atomics.store(words, W(VpPageLayout.RESULT_HI), read.hi | 0);
      Atomics.store(words, W(VpPageLayout.EXIT_STATUS), read.status);
      return true;
    }
    case VpExitKind.WriteMsr: {
      core.metrics.msrExits++;
      const msr = Atomics.load(words, W(VpPageLayout.ARG0_LO)) >>> 0;
      const lo = Atomics.load(words, W(VpPageLayout.ARG1_LO)) >>> 0;
      const hi = Atomics.load(words, W(VpPageLayout.ARG1_HI)) >>> 0;
      Atomics.store(words, W(VpPageLayout.EXIT_STATUS), safely(core, vp, 'WriteMsr', () => writeMsr(vp, msr, lo, hi)));
      return true;
    }
    case VpExitKind.IoRead:
    case VpExitKind.IoWrite:
      return handleIoExit(core, vp, kind === VpExitKind.IoWrite);
    default:
      Atomics.store(words, W(VpPageLayout.EXIT_STATUS), HvStatus.INVALID_PARAMETER);
      Atomics.store(words, W(VpPageLayout.RESULT_LO), HvStatus.INVALID_HYPERCALL_CODE);
      Atomics.store(words, W(VpPageLayout.RESULT_HI), 0);
      return true;
  }
}

/** Parses, validates and runs one hypercall; see the module comment for the order of checks. */
export function dispatchHypercall(core: HypervisorCore, vp: Vp): { status: number; reps: number } {
  core.metrics.hypercalls++;
  const words = vp.words;
  const call = decodeInput(Atomics.load(words, W(VpPageLayout.CONTROL_LO)) >>> 0, Atomics.load(words, W(VpPageLayout.CONTROL_HI)) >>> 0);
  const fail = (status: number, name = `0x${call.code.toString(16)}`) => {
    core.metrics.failedHypercalls++;
    core.mistakeLog(vp.partition).guestMistake('hypercall failed', { call: name, status: hvStatusName(status) });
    return { status, reps: 0 };
  };
  if (call.reservedBitsSet || call.varHeaderSize !== 0) return fail(HvStatus.INVALID_HYPERCALL_INPUT);
  if (!isHvCallCode(call.code)) return fail(HvStatus.INVALID_HYPERCALL_CODE);
  const shape = CALL_SHAPES[call.code];
  const entry = CALL_TABLE[call.code];
  if (shape.rep ? call.repCount === 0 || call.repStart >= call.repCount || call.fast : call.repCount !== 0 || call.repStart !== 0) {
    return fail(HvStatus.INVALID_HYPERCALL_INPUT, entry.name);
  }
  if (call.fast && !isFastCapable(shape)) return fail(HvStatus.INVALID_HYPERCALL_INPUT, entry.name);
  const inputBytes = shape.header + shape.element * call.repCount;
  const outputBytes = shape.output + shape.outputElement * call.repCount;
  if (inputBytes > PAGE_SIZE || outputBytes > PAGE_SIZE) return fail(HvStatus.INVALID_ALIGNMENT, entry.name);
  if (!vp.partition.has(entry.privilege)) return fail(HvStatus.ACCESS_DENIED, entry.name);

  // Copy out once. Fast calls carry their input in ARG0/ARG1 (RDX, R8); string registers may place
  // bytes anywhere in the page after the rep list, so SetVpRegisters copies the whole page.
  let input: Uint8Array;
  if (call.fast) {
    input = inputCopy.subarray(0, 16);
    input.set(new Uint8Array(vp.page, VpPageLayout.ARG0_LO, 16));
  } else {
    const length = entry.name === 'SetVpRegisters' ? PAGE_SIZE : inputBytes;
    input = inputCopy.subarray(0, length);
    input.set(new Uint8Array(vp.page, VpPageLayout.INPUT_PAGE, length));
  }
  const output = outputScratch.subarray(0, outputBytes);
  output.fill(0);
  const ctx: CallContext = {
    core,
    caller: vp.partition,
    vp,
    input: new InputReader(input),
    output: new OutputWriter(output),
    repStart: call.repStart,
    repCount: call.repCount,
  };
  let status: number;
  let reps = 0;
  try {
    const outcome = entry.handler(ctx);
    status = typeof outcome === 'number' ? outcome : outcome.status;
    reps = typeof outcome === 'number' ? 0 : outcome.reps;
  } catch (error) {
    core.metrics.internalErrors++;
    vp.partition.log.error({ err: error, call: entry.name }, 'hypercall handler threw (hypervisor bug)');
    status = HvStatus.OPERATION_FAILED;
  }
  if (outputBytes > 0 && vp.run.kind !== 'stopped') new Uint8Array(vp.page, VpPageLayout.OUTPUT_PAGE, outputBytes).set(output);
  if (status !== HvStatus.SUCCESS) fail(status, entry.name);
  return { status, reps };
}

function safely(core: HypervisorCore, vp: Vp, what: string, run: () => number): number {
  try {
    return run();
  } catch (error) {
    core.metrics.internalErrors++;
    vp.partition.log.error({ err: error, exit: what }, 'exit handler threw (hypervisor bug)');
    return HvStatus.OPERATION_FAILED;
  }
}
