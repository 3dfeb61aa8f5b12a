/**
 * The reading end of one ring (vmbus-wire.md §1.5, §3.2, §3.3), two-phase (STYLE rule 11):
 * `read()` moves a private cursor and returns a validated private copy of the next packet;
 * `commitRead()` publishes `read_index` once for the whole batch and says whether the writer must
 * be signalled; `revert()` forgets uncommitted reads.
 *
 * Speed: the writer's `write_index` is cached and re-loaded only when the cache says the ring is
 * empty, and `read_index` is stored once per batch (node-performance-facts.md).
 *
 * Safety: every index loaded from the peer is range- and alignment-checked; the descriptor is
 * copied out once and validated, then the packet is copied out whole and decoded from the copy
 * (packet-parser.ts); no allocation is sized from an unchecked length; a violation throws
 * {@link RingCorruptError} and stops the ring for good.
 */
import { InvalidArgumentError, RingCorruptError } from '../errors.ts';
import { PacketDescriptor } from '../protocol/packet-layout.ts';
import { PACKET_TRAILER_SIZE, RingControl, RingFeature } from '../protocol/ring-layout.ts';
import { type IncomingPacket, PacketSlot } from './incoming-packet.ts';
import { checkDescriptor, decodePacket, type DescriptorCheck } from './packet-parser.ts';
import type { RingMemory } from './ring-memory.ts';
import { bytesFree, bytesToRead, checkIndex } from './ring-space.ts';

/** Options of an {@link IncomingRing}. */
export interface IncomingRingOptions {
  /**
   * Largest packet (`len8 * 8`) this reader accepts; a larger one is corruption. Defaults to the
   * largest packet the ring can hold.
   */
  readonly maxPacketSize?: number;
}

/** The private copy starts at one page and grows (to at most `maxPacketSize`) on demand. */
const INITIAL_COPY_BUFFER = 4096;

/** Reads packets from a ring whose writer is the peer. */
export class IncomingRing {
  readonly dataSize: number;
  readonly maxPacketSize: number;
  private readonly memory: RingMemory;
  /** Peer's write_index as last loaded (validated). */
  private cachedWrite: number;
  /** Private read cursor: end of the last packet returned by `read()`. */
  private next: number;
  /** The read_index last published. */
  private committed: number;
  private masked = false;
  private failure: RingCorruptError | undefined;
  private copy: Uint8Array;
  private view: DataView;
  private slot: PacketSlot;
  private readonly check: DescriptorCheck = { packetLength: 0, payloadOffset: 0 };

  /**
   * @throws {RingCorruptError} when the ring's own read_index is already invalid
   * @throws {InvalidArgumentError} when `maxPacketSize` is not an integer of at least 16
   */
  constructor(memory: RingMemory, options: IncomingRingOptions = {}) {
    if (options.maxPacketSize !== undefined && !(Number.isSafeInteger(options.maxPacketSize) && options.maxPacketSize >= PacketDescriptor.SIZE)) {
      throw new InvalidArgumentError(`maxPacketSize ${options.maxPacketSize} is not an integer of at least ${PacketDescriptor.SIZE}`);
    }
    this.memory = memory;
    this.dataSize = memory.dataSize;
    this.maxPacketSize = Math.min(options.maxPacketSize ?? Infinity, memory.dataSize - PACKET_TRAILER_SIZE - 8);
    this.committed = checkIndex(memory.loadControl(RingControl.readIndex), this.dataSize, 'read_index');
    this.next = this.committed;
    this.cachedWrite = this.committed;
    this.copy = new Uint8Array(Math.min(INITIAL_COPY_BUFFER, Math.max(PacketDescriptor.SIZE, this.maxPacketSize)));
    this.view = new DataView(this.copy.buffer);
    this.slot = new PacketSlot(this.copy);
  }

  /** The error that stopped this ring, if one did. */
  get corruption(): RingCorruptError | undefined {
    return this.failure;
  }

  /**
   * The next packet, or `undefined` when the ring is empty. The packet is a private copy, valid
   * until the next `read()`.
   * @throws {RingCorruptError} when the peer broke the protocol (the ring is then stopped)
   */
  read(): IncomingPacket | undefined {
    if (this.failure) throw this.failure;
    try {
      return this.readUnchecked();
    } catch (error) {
      if (error instanceof RingCorruptError) this.failure = error;
      throw error;
    }
  }

  /** Whether at least one unread packet is published (re-loads the writer's index). */
  hasData(): boolean {
    if (this.failure) throw this.failure;
    return this.available(true) > 0;
  }

  /**
   * Publishes the read position: one store per batch. Returns whether the writer must be
   * signalled: it asked (pending_send_sz, with the feature bit set) for more space than it had,
   * and this batch freed enough to cross that threshold (§3.2).
   */
  commitRead(): boolean {
    if (this.failure) throw this.failure;
    const start = this.committed;
    const end = this.next;
    if (end === start) return false;
    const memory = this.memory;
    memory.storeControl(RingControl.readIndex, end); // sequentially consistent: a full barrier
    this.committed = end;
    if ((memory.loadControl(RingControl.featureBits) & RingFeature.pendingSendSize) === 0) return false;
    // Ignore the low 3 bits: sizes are multiples of 8 and some writers publish "size - 1".
    const pending = (memory.loadControl(RingControl.pendingSendSize) & ~7) >>> 0;
    if (pending === 0) return false;
    const write = this.loadWriteIndex();
    const free = bytesFree(write, end, this.dataSize);
    const freed = bytesToRead(end, start, this.dataSize);
    if (free - freed > pending) return false; // there was enough space before this batch
    return free > pending; // exactly enough counts as not enough, as for the writer
  }

  /** Forgets every packet read since the last commit: they will be read again. */
  revert(): void {
    this.next = this.committed;
  }

  /** Sets interrupt_mask: "I am draining, do not signal me" (§3.3). */
  mask(): void {
    if (!this.masked) {
      this.memory.storeControl(RingControl.interruptMask, 1);
      this.masked = true;
    }
  }

  /** Clears interrupt_mask (a full barrier). The caller must re-check `hasData()` before sleeping. */
  unmask(): void {
    this.memory.storeControl(RingControl.interruptMask, 0);
    this.masked = false;
  }

  /** Bytes published but not yet read through the private cursor. */
  private available(reload: boolean): number {
    let available = bytesToRead(this.cachedWrite, this.next, this.dataSize);
    if (available === 0 && reload) {
      this.cachedWrite = this.loadWriteIndex();
      available = bytesToRead(this.cachedWrite, this.next, this.dataSize);
    }
    return available;
  }

  /** Loads and checks the peer's write_index; a bad one stops the ring (whichever call saw it). */
  private loadWriteIndex(): number {
    try {
      return checkIndex(this.memory.loadControl(RingControl.writeIndex), this.dataSize, 'write_index');
    } catch (error) {
      if (error instanceof RingCorruptError) this.failure = error;
      throw error;
    }
  }

  /** Reads and decodes one packet; assumes the ring has not failed. */
  private readUnchecked(): IncomingPacket | undefined {
    const available = this.available(true);
    if (available === 0) return undefined;
    if (available < PacketDescriptor.SIZE + PACKET_TRAILER_SIZE) {
      throw new RingCorruptError('truncated-packet', `${available} bytes published, less than the smallest packet`);
    }
    const start = this.next;
    this.copyOut(start, this.copy, 0, PacketDescriptor.SIZE);
    checkDescriptor(this.view, available, this.maxPacketSize, this.check);
    const length = this.check.packetLength;
    if (length > this.copy.length) this.growCopy(length);
    this.copyOut(wrap(start + PacketDescriptor.SIZE, this.dataSize), this.copy, PacketDescriptor.SIZE, length - PacketDescriptor.SIZE);
    decodePacket(this.view, this.check, this.slot);
    this.next = wrap(start + length + PACKET_TRAILER_SIZE, this.dataSize);
    return this.slot.asPacket();
  }

  /** Copies `length` ring bytes starting at `from`, wrapping past the end of the data area. */
  private copyOut(from: number, target: Uint8Array, targetOffset: number, length: number): void {
    const first = Math.min(length, this.dataSize - from);
    this.memory.read(from, target, targetOffset, first);
    if (first < length) this.memory.read(0, target, targetOffset + first, length - first);
  }

  /**
   * Grows the private copy for a packet whose length was already validated against the maximum,
   * keeping the descriptor that was copied into the old one.
   */
  private growCopy(length: number): void {
    let size = this.copy.length;
    while (size < length) size *= 2;
    const grown = new Uint8Array(Math.min(size, this.maxPacketSize));
    grown.set(this.copy.subarray(0, PacketDescriptor.SIZE)); // the descriptor already copied out
    this.copy = grown;
    this.view = new DataView(this.copy.buffer);
    this.slot = new PacketSlot(this.copy);
  }
}

function wrap(offset: number, dataSize: number): number {
  return offset >= dataSize ? offset - dataSize : offset;
}
