/**
 * The hypercall input value ("control word") and result value (TLFS 2.0 §4.7-4.8; vmbus-wire.md §6.1).
 *
 * Input value: call code 15:0, fast 16, variable header size 26:17, nested 31, rep count 43:32, rep
 * start index 59:48; every other bit is RsvdZ. Result value: status 15:0, reps completed 43:32.
 * Both are 64-bit; the VP page stores each as two little-endian u32 halves (`lo`, `hi`) so the hot
 * path needs no BigInt.
 */

/** The largest rep count or rep start index (12 bits). */
export const MAX_REP_COUNT = 0xfff;

/** A decoded hypercall input value. */
export interface HypercallInput {
  readonly code: number;
  readonly fast: boolean;
  /** Variable header size in QWORDs (bits 26:17); Viridian has no variable-header calls. */
  readonly varHeaderSize: number;
  readonly repCount: number;
  readonly repStart: number;
  /** Whether any RsvdZ bit (or the nested bit, which Viridian does not support) is set. */
  readonly reservedBitsSet: boolean;
}

const LO_RESERVED = 0xf8000000 >>> 0; // bits 31:27 (30:27 RsvdZ, 31 nested)
const HI_RESERVED = 0xf000f000 >>> 0; // bits 47:44 and 63:60 of the 64-bit value

/** Encodes an input value as its two u32 halves. */
export function encodeInput(input: { code: number; fast?: boolean; repCount?: number; repStart?: number }): { lo: number; hi: number } {
  const lo = ((input.code & 0xffff) | (input.fast ? 1 << 16 : 0)) >>> 0;
  const hi = (((input.repCount ?? 0) & MAX_REP_COUNT) | (((input.repStart ?? 0) & MAX_REP_COUNT) << 16)) >>> 0;
  return { lo, hi };
}

/** Decodes an input value from its two u32 halves. Never throws: every bit pattern decodes. */
export function decodeInput(lo: number, hi: number): HypercallInput {
  return {
    code: lo & 0xffff,
    fast: (lo & (1 << 16)) !== 0,
    varHeaderSize: (lo >>> 17) & 0x3ff,
    repCount: hi & MAX_REP_COUNT,
    repStart: (hi >>> 16) & MAX_REP_COUNT,
    reservedBitsSet: ((lo & LO_RESERVED) | (hi & HI_RESERVED)) !== 0,
  };
}

/** A result value as two u32 halves: status in `lo`, reps completed in `hi`. */
export function encodeResult(status: number, repsCompleted: number): { lo: number; hi: number } {
  return { lo: status & 0xffff, hi: repsCompleted & MAX_REP_COUNT };
}

/** A decoded result value. */
export interface HypercallResult {
  readonly status: number;
  readonly repsCompleted: number;
}

/** Decodes a result value from its two u32 halves. */
export function decodeResult(lo: number, hi: number): HypercallResult {
  return { status: lo & 0xffff, repsCompleted: hi & MAX_REP_COUNT };
}
