/**
 * Hypercall call codes and their calling shapes (TLFS 2.0 Appendix B; hyperv-tlfs.md §2).
 *
 * TLFS 2.0 numbering, except CreatePort (0x95) and ConnectPort (0x96), which use today's numbers
 * (TLFS 6 / Linux `HVCALL_*`). The shape table says how the dispatcher copies input out of the
 * VP's input page: `header` bytes, then `repCount` elements of `element` bytes; output is `output`
 * bytes, or `outputElement` bytes per rep. A call is fast-capable when it is not a rep call, has
 * at most 16 bytes of input and no output (the two fast "registers" carry the whole input).
 *
 * Viridian adaptation: in a single process there is no way to alias one partition's pages into
 * another's buffer, so DepositMemory, WithdrawMemory and MapGpaPages are rep calls without an
 * element list (as UnmapGpaPages already is in the TLFS): rep `i` moves or maps one page, drawn
 * from the pool, not a page the caller names.
 */

/** Call codes Viridian implements. */
export const HvCallCode = {
  CreatePartition: 0x0040,
  InitializePartition: 0x0041,
  FinalizePartition: 0x0042,
  DeletePartition: 0x0043,
  GetPartitionProperty: 0x0044,
  SetPartitionProperty: 0x0045,
  GetPartitionId: 0x0046,
  GetNextChildPartition: 0x0047,
  DepositMemory: 0x0048,
  WithdrawMemory: 0x0049,
  GetMemoryBalance: 0x004a,
  MapGpaPages: 0x004b,
  UnmapGpaPages: 0x004c,
  InstallIntercept: 0x004d,
  CreateVp: 0x004e,
  DeleteVp: 0x004f,
  GetVpRegisters: 0x0050,
  SetVpRegisters: 0x0051,
  DeletePort: 0x0058,
  DisconnectPort: 0x005b,
  PostMessage: 0x005c,
  SignalEvent: 0x005d,
  CreatePort: 0x0095,
  ConnectPort: 0x0096,
  /**
   * Viridian extension (not in the TLFS): a parent VP takes hold of a child's guest memory. Hyper-V's
   * root holds its children's memory because it deposited the pages; in one process the buffer must
   * be handed over, to the asking parent VP only. Input: the child's partition id (8 bytes).
   */
  ViridianGetChildMemory: 0x8001,
  /**
   * Viridian extension (direct-events.ts): the calling VP opts in (input u32 1) or out (0) of
   * direct event cells for the event ports that target it.
   */
  ViridianEnableDirectEvents: 0x8002,
  /**
   * Viridian extension: the caller asks for the signal cell of one of its event connections
   * (input: u32 connection id); the hypervisor mails it to the calling VP's worker.
   */
  ViridianGetSignalCell: 0x8003,
  /** Viridian extension: the calling VP asks for the direct event cells that target it (mailed). */
  ViridianGetDirectEventCells: 0x8004,
} as const;

/** One implemented call code. */
export type HvCallCodeValue = (typeof HvCallCode)[keyof typeof HvCallCode];

/** How a call's input and output are laid out in the VP's parameter pages. */
export interface CallShape {
  /** Fixed input bytes before the rep list. */
  readonly header: number;
  /** Bytes per input rep element; 0 for a rep call without a list. */
  readonly element: number;
  /** Fixed output bytes. */
  readonly output: number;
  /** Output bytes per rep. */
  readonly outputElement: number;
  /** A rep call: a rep count of at least 1 is required, and rep start index is honoured. */
  readonly rep: boolean;
}

const simple = (header: number, output = 0): CallShape => ({ header, element: 0, output, outputElement: 0, rep: false });
const rep = (header: number, element: number, outputElement = 0): CallShape => ({ header, element, output: 0, outputElement, rep: true });

/** The shape of each implemented call (input layouts are in `inputs.ts`). */
export const CALL_SHAPES: Readonly<Record<HvCallCodeValue, CallShape>> = Object.freeze({
  [HvCallCode.ViridianGetChildMemory]: simple(8),
  [HvCallCode.ViridianEnableDirectEvents]: simple(8),
  [HvCallCode.ViridianGetSignalCell]: simple(8),
  [HvCallCode.ViridianGetDirectEventCells]: simple(0),
  [HvCallCode.CreatePartition]: simple(16, 8),
  [HvCallCode.InitializePartition]: simple(8),
  [HvCallCode.FinalizePartition]: simple(8),
  [HvCallCode.DeletePartition]: simple(8),
  [HvCallCode.GetPartitionProperty]: simple(16, 8),
  [HvCallCode.SetPartitionProperty]: simple(24),
  [HvCallCode.GetPartitionId]: simple(0, 8),
  [HvCallCode.GetNextChildPartition]: simple(16, 8),
  [HvCallCode.DepositMemory]: rep(8, 0),
  [HvCallCode.WithdrawMemory]: rep(16, 0),
  [HvCallCode.GetMemoryBalance]: simple(8, 16),
  [HvCallCode.MapGpaPages]: rep(24, 0),
  [HvCallCode.UnmapGpaPages]: rep(16, 0),
  [HvCallCode.InstallIntercept]: simple(24),
  [HvCallCode.CreateVp]: simple(32),
  [HvCallCode.DeleteVp]: simple(16),
  [HvCallCode.GetVpRegisters]: rep(16, 4, 16),
  [HvCallCode.SetVpRegisters]: rep(16, 32),
  [HvCallCode.DeletePort]: simple(16),
  [HvCallCode.DisconnectPort]: simple(16),
  [HvCallCode.PostMessage]: simple(256),
  [HvCallCode.SignalEvent]: simple(8),
  [HvCallCode.CreatePort]: simple(48),
  [HvCallCode.ConnectPort]: simple(48),
});

/** Whether `code` is an implemented call (the type guard the dispatcher parses with). */
export function isHvCallCode(code: number): code is HvCallCodeValue {
  return Object.prototype.hasOwnProperty.call(CALL_SHAPES, code);
}

/** Whether a call may use the fast (register) convention. */
export function isFastCapable(shape: CallShape): boolean {
  return !shape.rep && shape.header <= 16 && shape.output === 0;
}
