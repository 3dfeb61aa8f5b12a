/**
 * The writing end of one ring (vmbus-wire.md §1.3, §1.4, §3.1), two-phase (STYLE rule 11):
 * each `write…` call appends a packet at a private cursor; `commitWrite()` publishes
 * `write_index` once for the batch and says whether the reader must be signalled; `revert()`
 * drops uncommitted packets.
 *
 * A full ring is a return value ({@link WriteResult}), not an error. A writer that finds the ring
 * full publishes `pending_send_sz` (it advertised the feature bit when it opened the ring) so the
 * reader signals it once enough space is free, and clears it after its next successful write.
 *
 * Speed: the reader's `read_index` is cached and re-loaded only when the cache says the packet
 * does not fit; small packets are assembled in private memory and copied into the ring at once.
 */
import { InvalidArgumentError, PacketTooLargeError, RingCorruptError } from '../errors.ts';
import { GpaDirectHeader, GpaRangeLayout, MAX_PFN, PacketDescriptor, PacketFlags, PacketType, TransferPageHeader } from '../protocol/packet-layout.ts';
import { PACKET_TRAILER_SIZE, PAGE_SIZE, RingControl, RingFeature } from '../protocol/ring-layout.ts';
import { pfnCountOf } from './packet-parser.ts';
import type { RingMemory } from './ring-memory.ts';
import { align8, bytesFree, bytesToRead, checkIndex, fitsInRing } from './ring-space.ts';

/** A transaction id: a u64, given as a bigint or as a non-negative safe integer. */
export type TransactionId = bigint | number;

/** The outcome of a write: written, or the ring is full and `needed` bytes must be free first. */
export type WriteResult = { readonly ok: true } | { readonly ok: false; readonly needed: number };

/** An outgoing GPA range: PFNs must number `ceil((byteOffset + byteCount) / 4096)`. */
export interface OutgoingGpaRange {
  readonly byteCount: number;
  readonly byteOffset: number;
  readonly pfns: readonly number[];
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const WRITTEN: WriteResult = Object.freeze({ ok: true });

/** Packets up to this size (trailer included) are assembled privately and copied at once. */
const ASSEMBLE_LIMIT = 512;

/** Writes packets into a ring whose reader is the peer. */
export class OutgoingRing {
  readonly dataSize: number;
  private readonly memory: RingMemory;
  /** Reader's read_index as last loaded (validated). */
  private cachedRead: number;
  /** Private write cursor: end of the last packet written. */
  private next: number;
  /** The write_index last published. */
  private committed: number;
  /** Whether this writer has published a non-zero pending_send_sz. */
  private pendingPublished = false;
  /** The corruption that stopped this ring (a bad read_index from the peer), if any. */
  private failure: RingCorruptError | undefined;
  private readonly scratch = new Uint8Array(ASSEMBLE_LIMIT);
  private readonly scratchView = new DataView(this.scratch.buffer);
  private readonly scratchWords = new Int32Array(this.scratch.buffer);

  /**
   * Opens the writing end and advertises `feat_pending_send_sz` (§1.2).
   * @throws {RingCorruptError} when the ring's write_index or read_index is invalid
   */
  constructor(memory: RingMemory) {
    // Descriptors are built with native-order word stores; the wire is little-endian.
    if (!HOST_IS_LITTLE_ENDIAN) throw new InvalidArgumentError('Viridian rings need a little-endian host');
    this.memory = memory;
    this.dataSize = memory.dataSize;
    this.committed = checkIndex(memory.loadControl(RingControl.writeIndex), this.dataSize, 'write_index');
    this.next = this.committed;
    // The real read_index, not the write index: the ring may hold unread packets (a reopened
    // ring), and a cache ahead of the reader would let this writer overwrite them.
    this.cachedRead = this.loadReadIndex();
    memory.storeControl(RingControl.pendingSendSize, 0);
    memory.storeControl(RingControl.featureBits, memory.loadControl(RingControl.featureBits) | RingFeature.pendingSendSize);
  }

  /** Largest payload an in-band packet can carry in this ring. */
  get maxInbandPayload(): number {
    return this.dataSize - PACKET_TRAILER_SIZE - 8 - PacketDescriptor.SIZE;
  }

  /** Bytes written (committed or not) that the reader has not consumed, by the cached read index. */
  get bytesInFlight(): number {
    return bytesToRead(this.next, this.cachedRead, this.dataSize);
  }

  /**
   * Appends an in-band data packet (type 6).
   * @throws {PacketTooLargeError} when the packet can never fit this ring
   */
  writeInband(payload: Uint8Array, transactionId: TransactionId = 0, completionRequested = false): WriteResult {
    const flags = completionRequested ? PacketFlags.completionRequested : 0;
    return this.writePacket(PacketType.dataInband, flags, transactionId, PacketDescriptor.SIZE, payload);
  }

  /**
   * Appends a completion (type 11) echoing `transactionId`.
   * @throws {PacketTooLargeError}
   */
  writeCompletion(payload: Uint8Array, transactionId: TransactionId): WriteResult {
    return this.writePacket(PacketType.completion, 0, transactionId, PacketDescriptor.SIZE, payload);
  }

  /**
   * Appends a GPA-direct packet (type 9): ranges of guest pages, then the in-band payload.
   * @throws {PacketTooLargeError}
   * @throws {InvalidArgumentError} when a range's PFN count or offset is inconsistent
   */
  writeGpaDirect(ranges: readonly OutgoingGpaRange[], payload: Uint8Array, transactionId: TransactionId, completionRequested = true): WriteResult {
    if (ranges.length === 0) throw new InvalidArgumentError('a GPA-direct packet needs at least one range');
    let headerLength: number = GpaDirectHeader.SIZE;
    for (const range of ranges) {
      if (range.byteOffset < 0 || range.byteOffset >= PAGE_SIZE || range.byteCount <= 0) {
        throw new InvalidArgumentError(`GPA range offset ${range.byteOffset} / count ${range.byteCount} is invalid`);
      }
      if (range.pfns.some((pfn) => !Number.isInteger(pfn) || pfn < 0 || pfn > MAX_PFN)) {
        throw new InvalidArgumentError(`GPA range has a PFN that is not an integer in [0, 2^40)`);
      }
      if (range.pfns.length !== pfnCountOf(range.byteOffset, range.byteCount)) {
        throw new InvalidArgumentError(`GPA range of ${range.byteCount} bytes at ${range.byteOffset} needs ${pfnCountOf(range.byteOffset, range.byteCount)} PFNs, got ${range.pfns.length}`);
      }
      headerLength += GpaRangeLayout.SIZE + range.pfns.length * GpaRangeLayout.PFN_SIZE;
    }
    const header = new Uint8Array(headerLength);
    const view = new DataView(header.buffer);
    view.setUint32(GpaDirectHeader.rangeCount, ranges.length, true);
    let at: number = GpaDirectHeader.ranges;
    for (const range of ranges) {
      view.setUint32(at + GpaRangeLayout.byteCount, range.byteCount, true);
      view.setUint32(at + GpaRangeLayout.byteOffset, range.byteOffset, true);
      at += GpaRangeLayout.pfns;
      for (const pfn of range.pfns) {
        view.setUint32(at, pfn % 2 ** 32, true);
        view.setUint32(at + 4, Math.floor(pfn / 2 ** 32), true);
        at += GpaRangeLayout.PFN_SIZE;
      }
    }
    const flags = completionRequested ? PacketFlags.completionRequested : 0;
    return this.writePacket(PacketType.dataUsingGpaDirect, flags, transactionId, headerLength, payload, header);
  }

  /**
   * Appends a transfer-page packet (type 7): ranges of a pre-shared buffer, then the payload.
   * @throws {PacketTooLargeError}
   */
  writeTransferPages(
    pageSetId: number,
    ranges: readonly { byteCount: number; byteOffset: number }[],
    payload: Uint8Array,
    transactionId: TransactionId,
    completionRequested = true,
    senderOwnsSet = false,
  ): WriteResult {
    const headerLength = TransferPageHeader.SIZE + ranges.length * TransferPageHeader.RANGE_SIZE;
    const header = new Uint8Array(headerLength);
    const view = new DataView(header.buffer);
    view.setUint16(TransferPageHeader.pageSetId, pageSetId, true);
    view.setUint8(TransferPageHeader.senderOwnsSet, senderOwnsSet ? 1 : 0);
    view.setUint32(TransferPageHeader.rangeCount, ranges.length, true);
    ranges.forEach((range, i) => {
      view.setUint32(TransferPageHeader.ranges + i * 8, range.byteCount, true);
      view.setUint32(TransferPageHeader.ranges + i * 8 + 4, range.byteOffset, true);
    });
    const flags = completionRequested ? PacketFlags.completionRequested : 0;
    return this.writePacket(PacketType.dataUsingTransferPages, flags, transactionId, headerLength, payload, header);
  }

  /**
   * Appends a packet of any type. `header`, when given, holds `headerLength` bytes (a multiple of
   * 8) whose first 16 are overwritten with the descriptor; without it the header is the bare
   * descriptor.
   * @throws {PacketTooLargeError}
   * @throws {InvalidArgumentError} when a field does not fit its wire width
   * @throws {RingCorruptError} when the peer's read_index is invalid (the ring is then stopped)
   */
  writePacket(type: number, flags: number, transactionId: TransactionId, headerLength: number, payload: Uint8Array, header?: Uint8Array): WriteResult {
    if (this.failure) throw this.failure;
    checkPacketArguments(type, flags, transactionId, headerLength, header);
    const length = align8(headerLength + payload.length);
    const total = length + PACKET_TRAILER_SIZE;
    if (length > 0xffff * 8 || total >= this.dataSize) throw new PacketTooLargeError(total, this.dataSize);
    if (!this.reserve(total)) return { ok: false, needed: total };
    const start = this.next;
    const scratch = this.scratch;
    const words = this.scratchWords;
    // The descriptor, built with word stores in private memory.
    words[0] = type | ((headerLength >>> 3) << 16);
    words[1] = (length >>> 3) | (flags << 16);
    if (typeof transactionId === 'number') {
      words[2] = transactionId >>> 0;
      words[3] = (transactionId / 4294967296) >>> 0;
    } else {
      words[2] = Number(BigInt.asUintN(32, transactionId));
      words[3] = Number(BigInt.asUintN(32, transactionId >> 32n));
    }
    if (header) header.set(scratch.subarray(0, PacketDescriptor.SIZE));
    if (total <= ASSEMBLE_LIMIT) {
      // Small packet: header, payload, zero padding and trailer join the descriptor, then one copy.
      if (header) scratch.set(header.subarray(PacketDescriptor.SIZE, headerLength), PacketDescriptor.SIZE);
      scratch.set(payload, headerLength);
      for (let i = headerLength + payload.length; i < length; i++) scratch[i] = 0;
      words[length >>> 2] = 0; // trailer: the start offset in bits 63..32
      words[(length >>> 2) + 1] = start;
      this.copyIn(start, scratch, 0, total);
    } else {
      // Large packet: the header, the payload straight from the caller, then padding and trailer.
      this.copyIn(start, header ?? scratch, 0, headerLength);
      this.copyIn(wrap(start + headerLength, this.dataSize), payload, 0, payload.length);
      const pad = length - headerLength - payload.length;
      words[0] = 0;
      words[1] = 0;
      words[2] = 0;
      words[3] = 0;
      this.scratchView.setUint32(pad + 4, start, true);
      this.copyIn(wrap(start + headerLength + payload.length, this.dataSize), scratch, 0, pad + PACKET_TRAILER_SIZE);
    }
    this.next = wrap(start + total, this.dataSize);
    return WRITTEN;
  }

  /**
   * Publishes every packet written since the last commit: one store per batch. Returns whether
   * the reader must be signalled: its interrupt_mask is clear and it had consumed everything
   * before this batch, so it may be asleep (§3.1).
   */
  commitWrite(): boolean {
    if (this.failure) throw this.failure;
    const oldWrite = this.committed;
    const end = this.next;
    if (end === oldWrite) return false;
    const memory = this.memory;
    memory.storeControl(RingControl.writeIndex, end); // sequentially consistent: a full barrier
    this.committed = end;
    if (memory.loadControl(RingControl.interruptMask) !== 0) return false;
    const read = this.loadReadIndex();
    this.cachedRead = read;
    return read === oldWrite;
  }

  /** Drops every packet written since the last commit. */
  revert(): void {
    this.next = this.committed;
  }

  /**
   * Whether `total` more bytes (a footprint from `packetFootprint`) fit now. When they do not, it
   * publishes pending_send_sz, so the reader signals once they do: waiters call it as their
   * re-check after a write found the ring full.
   */
  requestSpace(total: number): boolean {
    if (this.failure) throw this.failure;
    return this.reserve(total);
  }

  /** Whether a pending_send_sz is currently published by this writer. */
  get blocked(): boolean {
    return this.pendingPublished;
  }

  /**
   * Makes room for `total` bytes, or publishes pending_send_sz and reports the ring full.
   * The order (publish, then re-load read_index) pairs with the reader's (store read_index, then
   * load pending_send_sz): one of the two always sees the other, so no wake-up is lost.
   */
  private reserve(total: number): boolean {
    if (fitsInRing(bytesFree(this.next, this.cachedRead, this.dataSize), total)) return this.clearPending();
    this.cachedRead = this.loadReadIndex();
    if (fitsInRing(bytesFree(this.next, this.cachedRead, this.dataSize), total)) return this.clearPending();
    // Ask for a quarter of the ring (or the packet, if larger) to avoid a wake-up per packet.
    const wanted = Math.max(total, Math.floor(this.dataSize / 4) & ~7);
    this.memory.storeControl(RingControl.pendingSendSize, Math.min(wanted, this.dataSize - 8));
    this.pendingPublished = true;
    this.cachedRead = this.loadReadIndex();
    return fitsInRing(bytesFree(this.next, this.cachedRead, this.dataSize), total) && this.clearPending();
  }

  private clearPending(): true {
    if (this.pendingPublished) {
      this.memory.storeControl(RingControl.pendingSendSize, 0);
      this.pendingPublished = false;
    }
    return true;
  }

  /** Loads and checks the peer's read_index; a bad one stops the ring (RingCorruptError contract). */
  private loadReadIndex(): number {
    try {
      return checkIndex(this.memory.loadControl(RingControl.readIndex), this.dataSize, 'read_index');
    } catch (error) {
      if (error instanceof RingCorruptError) this.failure = error;
      throw error;
    }
  }

  /** Copies into the ring starting at `to`, wrapping past the end of the data area. */
  private copyIn(to: number, source: Uint8Array, sourceOffset: number, length: number): void {
    const first = Math.min(length, this.dataSize - to);
    this.memory.write(to, source, sourceOffset, first);
    if (first < length) this.memory.write(0, source, sourceOffset + first, length - first);
  }
}

/**
 * Checks the fields of a packet from local code: u16 type and flags, a header of at least the
 * descriptor in whole 8-byte units, a u64 transaction id.
 * @throws {InvalidArgumentError}
 */
function checkPacketArguments(type: number, flags: number, transactionId: TransactionId, headerLength: number, header: Uint8Array | undefined): void {
  if (!isU16(type) || !isU16(flags)) throw new InvalidArgumentError(`packet type ${type} / flags ${flags} do not fit u16`);
  if (!Number.isInteger(headerLength) || headerLength < PacketDescriptor.SIZE || headerLength % 8 !== 0 || (header !== undefined && header.length < headerLength)) {
    throw new InvalidArgumentError(`header length ${headerLength} is not a whole number of 8-byte units from 16 (header holds ${header?.length})`);
  }
  if (typeof transactionId === 'number' ? !Number.isSafeInteger(transactionId) || transactionId < 0 : transactionId < 0n || transactionId > 0xffff_ffff_ffff_ffffn) {
    throw new InvalidArgumentError(`transaction id ${transactionId} is not a u64`);
  }
}

function isU16(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffff;
}

function wrap(offset: number, dataSize: number): number {
  return offset >= dataSize ? offset - dataSize : offset;
}
