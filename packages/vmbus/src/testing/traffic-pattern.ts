/**
 * Deterministic packet contents for ring traffic tests and benchmarks: both ends derive each
 * packet's size and bytes from a seed, so the receiver can verify every packet independently.
 *
 * Payload layout (when the payload has room for it): u32 sequence, u32 length, u32 FNV-1a checksum
 * of the bytes after the 12-byte header, then bytes taken from a shared pseudo-random pool.
 */

/** Payload sizes: one fixed size, or sizes drawn uniformly from [min, max] by a seeded generator. */
export type PayloadSizes = { readonly fixed: number } | { readonly min: number; readonly max: number; readonly seed: number };

/** Bytes of the verification header at the start of a payload. */
export const TRAFFIC_HEADER = 12;

const POOL_SIZE = 1 << 17;

/** A small, fast seeded generator (xorshift32); never 0 for a non-zero seed. */
export function xorshift32(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

/**
 * An FNV-1a-style checksum of `bytes[from, to)`, taken a 32-bit word at a time where the bytes are
 * word-aligned (4x fewer steps than byte-wise FNV-1a) and a byte at a time for the rest.
 */
export function fnv1a(bytes: Uint8Array, from: number, to: number): number {
  let hash = 0x811c9dc5;
  let i = from;
  const start = bytes.byteOffset + from;
  if ((start & 3) === 0 && to - from >= 16) {
    const words = new Int32Array(bytes.buffer, start, (to - from) >> 2);
    for (let w = 0; w < words.length; w++) hash = Math.imul(hash ^ words[w]!, 0x01000193);
    i = from + words.length * 4;
  }
  for (; i < to; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

/** Generates payload sizes and contents for packet number 0, 1, 2, … in order. */
export class TrafficPattern {
  private readonly nextRandom: () => number;
  private readonly pool: Uint8Array;
  readonly maxPayload: number;

  constructor(readonly sizes: PayloadSizes) {
    this.nextRandom = xorshift32('seed' in sizes ? sizes.seed : 1);
    const fill = xorshift32(0x5eed);
    this.pool = new Uint8Array(POOL_SIZE);
    for (let i = 0; i < POOL_SIZE; i++) this.pool[i] = fill() & 0xff;
    this.maxPayload = 'fixed' in sizes ? sizes.fixed : sizes.max;
  }

  /** The size of the next packet's payload. */
  nextSize(): number {
    const sizes = this.sizes;
    return 'fixed' in sizes ? sizes.fixed : sizes.min + (this.nextRandom() % (sizes.max - sizes.min + 1));
  }

  /** Fills `target[0, length)` with packet `sequence`'s verifiable contents. */
  fill(target: Uint8Array, sequence: number, length: number): void {
    if (length < TRAFFIC_HEADER) {
      target.fill(sequence & 0xff, 0, length);
      return;
    }
    const start = (sequence * 61) % (POOL_SIZE - length + TRAFFIC_HEADER);
    target.set(this.pool.subarray(start, start + length - TRAFFIC_HEADER), TRAFFIC_HEADER);
    const view = new DataView(target.buffer, target.byteOffset, TRAFFIC_HEADER);
    view.setUint32(0, sequence, true);
    view.setUint32(4, length, true);
    view.setUint32(8, fnv1a(target, TRAFFIC_HEADER, length), true);
  }

  /**
   * Checks that `bytes[offset, offset + length)` is packet `sequence` of `length` bytes; returns
   * a description of the first mismatch, or undefined.
   */
  verify(bytes: Uint8Array, offset: number, length: number, sequence: number): string | undefined {
    if (length < TRAFFIC_HEADER) {
      for (let i = 0; i < length; i++) if (bytes[offset + i] !== (sequence & 0xff)) return `packet ${sequence}: byte ${i} differs`;
      return undefined;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, TRAFFIC_HEADER);
    const gotSequence = view.getUint32(0, true);
    const gotLength = view.getUint32(4, true);
    if (gotSequence !== sequence) return `expected packet ${sequence}, got ${gotSequence} (lost, duplicated or reordered)`;
    if (gotLength !== length) return `packet ${sequence}: length ${gotLength}, payload ${length}`;
    const sum = fnv1a(bytes, offset + TRAFFIC_HEADER, offset + length);
    if (sum !== view.getUint32(8, true)) return `packet ${sequence}: checksum mismatch`;
    return undefined;
  }
}
