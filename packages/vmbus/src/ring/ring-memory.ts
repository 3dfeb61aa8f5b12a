/**
 * The narrow memory interface the ring logic runs on (STYLE rule 10): the control page's words,
 * accessed with `Atomics`, and the data area, accessed by linear copies that never cross its end
 * (the ring splits wrapped copies in two).
 *
 * {@link ContiguousRingMemory} serves both uses: over a plain `ArrayBuffer` for unit tests and over
 * a `SharedArrayBuffer` shared between threads for real use. Later memory layouts (a ring scattered
 * over GPADL pages) implement the same interface.
 */
import { RingGeometryError } from '../errors.ts';
import { PAGE_SIZE, RingControl } from '../protocol/ring-layout.ts';

/** What the ring needs from memory. Offsets into the data area are checked by the caller. */
export interface RingMemory {
  /** Bytes in the data area: a non-zero multiple of 4096. */
  readonly dataSize: number;
  /** Atomically loads the u32 control word at `offset` in the control page. */
  loadControl(offset: number): number;
  /** Atomically stores (sequentially consistent: a full barrier) a u32 control word. */
  storeControl(offset: number, value: number): void;
  /** Copies `length` bytes from data offset `from` into `target[targetOffset…]`; no wrap. */
  read(from: number, target: Uint8Array, targetOffset: number, length: number): void;
  /** Copies `length` bytes of `source[sourceOffset…]` to data offset `to`; no wrap. */
  write(to: number, source: Uint8Array, sourceOffset: number, length: number): void;
  /** Fills `length` bytes at data offset `to` with zero; no wrap. */
  zero(to: number, length: number): void;
  /** Clears the whole control page (ring initialization). */
  clearControl(): void;
}

/**
 * Copies up to this size run as loops: creating a `subarray` view per copy costs more than a small
 * copy (node-performance-facts.md). Aligned ones move 32-bit words, the rest bytes.
 */
const LOOP_COPY_LIMIT = 256;

/**
 * A ring laid out linearly: control page at `byteOffset`, data area right after it.
 */
export class ContiguousRingMemory implements RingMemory {
  readonly dataSize: number;
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  private readonly data32: Int32Array;
  /** One-entry cache of a word view over the last buffer copied to or from (the ring's own copy). */
  private peer: Uint8Array | undefined;
  private peer32: Int32Array | undefined;

  /**
   * @param buffer the memory holding the ring (a `SharedArrayBuffer` to share it between threads)
   * @param byteOffset where the control page starts; a multiple of 4096
   * @param ringSize control page plus data area; a multiple of 4096, at least two pages
   * @throws {RingGeometryError} when the geometry is not whole pages inside the buffer
   */
  constructor(buffer: ArrayBufferLike, byteOffset: number, ringSize: number) {
    checkRingGeometry(buffer.byteLength, byteOffset, ringSize);
    this.dataSize = ringSize - RingControl.SIZE;
    this.control = new Int32Array(buffer, byteOffset, RingControl.SIZE / 4);
    this.data = new Uint8Array(buffer, byteOffset + RingControl.SIZE, this.dataSize);
    this.data32 = new Int32Array(buffer, byteOffset + RingControl.SIZE, this.dataSize / 4);
  }

  loadControl(offset: number): number {
    return Atomics.load(this.control, offset >> 2) >>> 0;
  }

  storeControl(offset: number, value: number): void {
    Atomics.store(this.control, offset >> 2, value | 0);
  }

  read(from: number, target: Uint8Array, targetOffset: number, length: number): void {
    if (length > LOOP_COPY_LIMIT) {
      target.set(this.data.subarray(from, from + length), targetOffset);
      return;
    }
    const words = ((from | targetOffset | length) & 3) === 0 ? this.wordsOf(target) : undefined;
    if (words) {
      const data32 = this.data32;
      const source = from >> 2;
      const dest = targetOffset >> 2;
      for (let i = 0, n = length >> 2; i < n; i++) words[dest + i] = data32[source + i]!;
    } else {
      const data = this.data;
      for (let i = 0; i < length; i++) target[targetOffset + i] = data[from + i]!;
    }
  }

  write(to: number, source: Uint8Array, sourceOffset: number, length: number): void {
    if (length > LOOP_COPY_LIMIT) {
      this.data.set(sourceOffset === 0 && length === source.length ? source : source.subarray(sourceOffset, sourceOffset + length), to);
      return;
    }
    const words = ((to | sourceOffset | length) & 3) === 0 ? this.wordsOf(source) : undefined;
    if (words) {
      const data32 = this.data32;
      const dest = to >> 2;
      const from = sourceOffset >> 2;
      for (let i = 0, n = length >> 2; i < n; i++) data32[dest + i] = words[from + i]!;
    } else {
      const data = this.data;
      for (let i = 0; i < length; i++) data[to + i] = source[sourceOffset + i]!;
    }
  }

  zero(to: number, length: number): void {
    this.data.fill(0, to, to + length);
  }

  clearControl(): void {
    for (let i = 0; i < this.control.length; i++) Atomics.store(this.control, i, 0);
  }

  /** A word view of `bytes` when it is 4-byte aligned (cached: callers reuse one buffer). */
  private wordsOf(bytes: Uint8Array): Int32Array | undefined {
    if (bytes !== this.peer) {
      this.peer = bytes;
      this.peer32 = (bytes.byteOffset & 3) === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2) : undefined;
    }
    return this.peer32;
  }
}

/**
 * Checks that a ring of `ringSize` bytes at `byteOffset` is whole pages inside a buffer.
 * @throws {RingGeometryError}
 */
export function checkRingGeometry(bufferLength: number, byteOffset: number, ringSize: number): void {
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset % PAGE_SIZE !== 0) {
    throw new RingGeometryError(`ring offset ${byteOffset} is not a page boundary`);
  }
  if (!Number.isSafeInteger(ringSize) || ringSize < 2 * PAGE_SIZE || ringSize % PAGE_SIZE !== 0) {
    throw new RingGeometryError(`ring size ${ringSize} is not at least two whole pages`);
  }
  if (ringSize - PAGE_SIZE > 0x8000_0000) {
    throw new RingGeometryError(`ring data area of ${ringSize - PAGE_SIZE} bytes does not fit the u32 indices`);
  }
  if (byteOffset + ringSize > bufferLength) {
    throw new RingGeometryError(`ring [${byteOffset}, ${byteOffset + ringSize}) exceeds the ${bufferLength}-byte buffer`);
  }
}

/** A ring in a fresh plain `ArrayBuffer`, for single-threaded tests. */
export function flatRingMemory(ringSize: number): ContiguousRingMemory {
  return new ContiguousRingMemory(new ArrayBuffer(ringSize), 0, ringSize);
}

/** A ring in a fresh `SharedArrayBuffer`, to hand to another thread. */
export function sharedRingMemory(ringSize: number): ContiguousRingMemory {
  return new ContiguousRingMemory(new SharedArrayBuffer(ringSize), 0, ringSize);
}
