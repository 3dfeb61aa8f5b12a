/**
 * Malformed-ring corpus (STYLE rule 21: every validation branch gets a malformed-input test): each
 * case hand-crafts the raw bytes and indices a hostile peer could publish and checks the reader
 * (or writer) answers with a typed RingCorruptError carrying the branch's `reason`, that the ring
 * stays stopped afterwards, and that nothing loops or allocates from an unchecked length. Ends
 * with a fast-check fuzz of arbitrary data areas and indices.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, RingCorruptError, type RingCorruptionReason } from '../errors.ts';
import { RingControl } from '../protocol/ring-layout.ts';
import { IncomingRing, type IncomingRingOptions } from './incoming-ring.ts';
import type { IncomingPacket } from './incoming-packet.ts';
import { OutgoingRing } from './outgoing-ring.ts';
import { flatRingMemory, type ContiguousRingMemory } from './ring-memory.ts';

const DATA_SIZE = 4096;

interface Desc {
  type: number;
  offset8: number;
  len8: number;
  flags?: number;
  transactionId?: bigint;
}

/** A packet image: descriptor then `body` (bytes after the descriptor), `len8 * 8` bytes long unless `raw`. */
function packet(desc: Desc, body: (view: DataView) => void = () => {}, size = desc.len8 * 8): Uint8Array {
  const bytes = new Uint8Array(Math.max(16, size));
  const view = new DataView(bytes.buffer);
  view.setUint16(0, desc.type, true);
  view.setUint16(2, desc.offset8, true);
  view.setUint16(4, desc.len8, true);
  view.setUint16(6, desc.flags ?? 0, true);
  view.setBigUint64(8, desc.transactionId ?? 0n, true);
  body(view);
  return bytes;
}

/**
 * A one-data-page ring holding `bytes` at data offset `at` (wrapping), with read_index `read` and
 * write_index `write` (defaults: `at` and the end of the bytes plus an 8-byte trailer).
 */
function craft(bytes: Uint8Array, options: { at?: number; read?: number; write?: number } = {}): ContiguousRingMemory {
  const memory = flatRingMemory(4096 + DATA_SIZE);
  const at = options.at ?? 0;
  for (let i = 0; i < bytes.length; i++) memory.write((at + i) % DATA_SIZE, bytes, i, 1);
  memory.storeControl(RingControl.readIndex, options.read ?? at);
  memory.storeControl(RingControl.writeIndex, options.write ?? (at + bytes.length + 8) % DATA_SIZE);
  return memory;
}

/** Expects `op` to throw a RingCorruptError with `reason`; returns it. */
function expectCorrupt(op: () => unknown, reason: RingCorruptionReason): RingCorruptError {
  let thrown: unknown;
  try {
    op();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(RingCorruptError);
  const error = thrown as RingCorruptError;
  expect(error.code).toBe('VIRIDIAN_RING_CORRUPT');
  expect(error.name).toBe('RingCorruptError');
  expect(error.reason).toBe(reason);
  return error;
}

/** Reads `memory` and expects `reason`, then that the ring stays stopped with the same error. */
function expectReaderStops(memory: ContiguousRingMemory, reason: RingCorruptionReason, options: IncomingRingOptions = {}): void {
  const ring = new IncomingRing(memory, options);
  const error = expectCorrupt(() => ring.read(), reason);
  expect(ring.corruption).toBe(error);
  expect(() => ring.read()).toThrow(error);
  expect(() => ring.hasData()).toThrow(error);
  expect(() => ring.commitRead()).toThrow(error);
  // Even if the peer "repairs" the ring, a stopped ring stays stopped.
  memory.storeControl(RingControl.writeIndex, memory.loadControl(RingControl.readIndex));
  expect(() => ring.read()).toThrow(error);
}

const inband = (len8: number, extra: Partial<Desc> = {}): Desc => ({ type: 6, offset8: 2, len8, ...extra });

describe('malformed indices', () => {
  it.each([
    ['write_index == data size', DATA_SIZE, 'index-out-of-range'],
    ['write_index far beyond the data area', 0xfffffff8, 'index-out-of-range'],
    ['write_index unaligned', 12, 'index-unaligned'],
    ['write_index unaligned by one', 25, 'index-unaligned'],
  ] as const)('reader rejects %s', (_name, write, reason) => {
    const memory = craft(packet(inband(2)), { write });
    expectReaderStops(memory, reason);
  });

  it('hasData() rejects a bad write_index and stops the ring', () => {
    const memory = craft(packet(inband(2)), { write: 4 });
    const ring = new IncomingRing(memory);
    const error = expectCorrupt(() => ring.hasData(), 'index-unaligned');
    expect(ring.corruption).toBe(error);
    memory.storeControl(RingControl.writeIndex, 24);
    expect(() => ring.read()).toThrow(error);
  });

  it('a reader refuses to open on its own invalid read_index', () => {
    const memory = craft(packet(inband(2)), { read: 5000 });
    expectCorrupt(() => new IncomingRing(memory), 'index-out-of-range');
    memory.storeControl(RingControl.readIndex, 4);
    expectCorrupt(() => new IncomingRing(memory), 'index-unaligned');
  });

  it('a writer refuses to open on its own invalid write_index', () => {
    const memory = flatRingMemory(8192);
    memory.storeControl(RingControl.writeIndex, 4096);
    expectCorrupt(() => new OutgoingRing(memory), 'index-out-of-range');
    memory.storeControl(RingControl.writeIndex, 20);
    expectCorrupt(() => new OutgoingRing(memory), 'index-unaligned');
  });

  it.each([
    ['out of range', 4096 + 8, 'index-out-of-range'],
    ['unaligned', 4, 'index-unaligned'],
  ] as const)('commitWrite() rejects a read_index %s and the writer stays stopped', (_name, read, reason) => {
    const memory = flatRingMemory(8192);
    const writer = new OutgoingRing(memory);
    expect(writer.writeInband(new Uint8Array(8), 1)).toEqual({ ok: true });
    memory.storeControl(RingControl.readIndex, read);
    const error = expectCorrupt(() => writer.commitWrite(), reason);
    // The batch was published before the bad index was seen; later operations fail the same way.
    expect(memory.loadControl(RingControl.writeIndex)).toBe(32);
    expect(() => writer.writeInband(new Uint8Array(8), 2)).toThrow(error);
    expect(() => writer.commitWrite()).toThrow(error);
    expect(() => writer.requestSpace(64)).toThrow(error);
    expect(memory.loadControl(RingControl.writeIndex)).toBe(32);
  });

  it('a writer that re-loads a bad read_index when the ring looks full stops', () => {
    const memory = flatRingMemory(8192);
    const writer = new OutgoingRing(memory);
    while (writer.writeInband(new Uint8Array(1000), 1).ok);
    writer.commitWrite();
    memory.storeControl(RingControl.readIndex, 0x8000_0000);
    const error = expectCorrupt(() => writer.writeInband(new Uint8Array(1000), 2), 'index-out-of-range');
    expect(() => writer.writeInband(new Uint8Array(8), 3)).toThrow(error);
  });
});

describe('malformed packets', () => {
  it.each([8, 16])('rejects %i published bytes (less than the smallest packet) as truncated', (write) => {
    expectReaderStops(craft(packet(inband(2)), { write }), 'truncated-packet');
  });

  it.each([0, 1])('rejects len8 = %i (below the descriptor)', (len8) => {
    expectReaderStops(craft(packet(inband(len8), () => {}, 16), { write: 24 }), 'length-too-small');
  });

  it('rejects len8 beyond the published bytes (the trailer counts)', () => {
    // A 32-byte packet needs 40 published bytes; only 32 are.
    expectReaderStops(craft(packet(inband(4)), { write: 32 }), 'length-beyond-available');
  });

  it('rejects len8 = 0xffff in a small ring', () => {
    expectReaderStops(craft(packet(inband(0xffff), () => {}, 64), { write: 64 }), 'length-beyond-available');
  });

  it('rejects len8 beyond the reader maximum packet size', () => {
    // 88 bytes, fully published, but this reader accepts at most 80 (storvsc's size).
    expectReaderStops(craft(packet(inband(11))), 'length-beyond-maximum', { maxPacketSize: 80 });
    // Exactly the maximum is fine.
    const ring = new IncomingRing(craft(packet(inband(10))), { maxPacketSize: 80 });
    expect(ring.read()?.packetLength).toBe(80);
  });

  it.each([0, 1])('rejects offset8 = %i (inside the descriptor)', (offset8) => {
    expectReaderStops(craft(packet(inband(3, { offset8 }))), 'offset-too-small');
  });

  it('rejects offset8 * 8 beyond len8 * 8', () => {
    expectReaderStops(craft(packet(inband(3, { offset8: 4 }))), 'offset-beyond-length');
    // offset8 == len8 is an empty payload, which is fine.
    const packetRead = new IncomingRing(craft(packet(inband(3, { offset8: 3 })))).read();
    expect(packetRead?.payloadLength).toBe(0);
  });

  it.each([0x2, 0x8000, 0xffff])('rejects unknown flag bits 0x%s', (flags) => {
    expectReaderStops(craft(packet(inband(2, { flags }))), 'unknown-flags');
  });

  it('wrap-around does not hide a bad descriptor', () => {
    expectReaderStops(craft(packet(inband(3, { offset8: 9 })), { at: DATA_SIZE - 8 }), 'offset-beyond-length');
  });
});

/** A GPA-direct packet: `offset8` header block, then range words written by `ranges`. */
function gpa(offset8: number, len8: number, rangeCount: number, ranges: (view: DataView) => void = () => {}): Uint8Array {
  return packet({ type: 9, offset8, len8, flags: 1 }, (view) => {
    view.setUint32(20, rangeCount, true);
    ranges(view);
  });
}

describe('malformed GPA-direct packets', () => {
  it('rejects zero ranges', () => {
    expectReaderStops(craft(gpa(3, 3, 0)), 'zero-ranges');
  });

  it('rejects a header that does not fit before the payload (offset8 * 8 < 24)', () => {
    expectReaderStops(craft(gpa(2, 4, 1)), 'header-beyond-offset');
  });

  it('rejects a range whose derived PFNs run past the header block', () => {
    // Header block 40 bytes = 24 + one range header + 1 PFN; the range spans 2 pages.
    const bytes = gpa(5, 5, 1, (view) => {
      view.setUint32(24, 4096, true);
      view.setUint32(28, 1, true);
      view.setBigUint64(32, 7n, true);
    });
    expectReaderStops(craft(bytes), 'range-beyond-header');
  });

  it('rejects a second range whose header passes the header block', () => {
    // Block of 48 bytes: range 0 takes 24..40, range 1 would need 40..56 (header + 1 PFN).
    const bytes = gpa(6, 6, 2, (view) => {
      view.setUint32(24, 10, true);
      view.setUint32(28, 0, true);
      view.setBigUint64(32, 1n, true);
      view.setUint32(40, 10, true);
      view.setUint32(44, 0, true);
    });
    expectReaderStops(craft(bytes), 'range-beyond-header');
  });

  it('rejects a range byte_offset of 4096 or more', () => {
    const bytes = gpa(5, 5, 1, (view) => {
      view.setUint32(24, 1, true);
      view.setUint32(28, 4096, true);
    });
    expectReaderStops(craft(bytes), 'range-offset-beyond-page');
  });

  it('rejects an empty range', () => {
    const bytes = gpa(5, 5, 1, (view) => {
      view.setUint32(24, 0, true);
      view.setUint32(28, 0, true);
    });
    expectReaderStops(craft(bytes), 'range-empty');
  });

  it('rejects a PFN beyond 2^40 - 1', () => {
    const bytes = gpa(5, 5, 1, (view) => {
      view.setUint32(24, 512, true);
      view.setUint32(28, 0, true);
      view.setBigUint64(32, 2n ** 40n, true);
    });
    expectReaderStops(craft(bytes), 'pfn-out-of-range');
    // The largest PFN is accepted.
    const ok = gpa(5, 5, 1, (view) => {
      view.setUint32(24, 512, true);
      view.setBigUint64(32, 2n ** 40n - 1n, true);
    });
    const read = new IncomingRing(craft(ok)).read();
    expect(read?.kind === 'gpa-direct' && read.ranges[0]?.pfns).toEqual([2 ** 40 - 1]);
  });

  it('rejects a huge byte_count quickly (its PFN count is bounded by the header, not allocated)', () => {
    const bytes = gpa(5, 5, 1, (view) => {
      view.setUint32(24, 0xffffffff, true);
      view.setUint32(28, 4095, true);
    });
    expectReaderStops(craft(bytes), 'range-beyond-header');
  });

  it('rejects range_cnt = 0xFFFFFFFF without looping or allocating', () => {
    const started = performance.now();
    expectReaderStops(craft(gpa(5, 5, 0xffffffff)), 'range-beyond-header');
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

/** A transfer-page packet with `rangeCount` and an `offset8` header block. */
function transfer(offset8: number, len8: number, rangeCount: number): Uint8Array {
  return packet({ type: 7, offset8, len8, flags: 1 }, (view) => {
    view.setUint16(16, 0xcafe, true);
    view.setUint32(20, rangeCount, true);
  });
}

describe('malformed transfer-page packets', () => {
  it('rejects ranges that run past the header block', () => {
    // Block 32 bytes = 24 + one 8-byte range; two are claimed.
    expectReaderStops(craft(transfer(4, 4, 2)), 'range-beyond-header');
  });

  it('rejects a header that does not fit before the payload', () => {
    expectReaderStops(craft(transfer(2, 4, 0)), 'header-beyond-offset');
  });

  it('rejects range_cnt = 0xFFFFFFFF without looping or allocating', () => {
    const started = performance.now();
    expectReaderStops(craft(transfer(5, 5, 0xffffffff)), 'range-beyond-header');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('accepts zero ranges and exactly fitting ranges', () => {
    const ring = new IncomingRing(craft(transfer(5, 5, 2)));
    const read = ring.read();
    expect(read?.kind).toBe('transfer-page');
    if (read?.kind === 'transfer-page') {
      expect(read.pageSetId).toBe(0xcafe);
      expect(read.ranges).toHaveLength(2);
    }
  });
});

describe('packet types the reader does not decode', () => {
  it.each([
    ['an unknown type', 0x1234],
    ['VM_PKT_SYNCH', 0x1],
    ['VM_PKT_INVALID', 0x0],
    ['VM_PKT_DATA_USING_GPADL', 0x8],
    ['VM_PKT_ADDITIONAL_DATA', 0xd],
    ['0xffff', 0xffff],
  ])('reports %s as unrecognized with its raw type, then reads on', (_name, type) => {
    const first = packet({ type, offset8: 2, len8: 3, flags: 1, transactionId: 2n ** 63n + 5n }, (view) => view.setUint32(16, 0xdeadbeef, true));
    const second = packet(inband(2, { transactionId: 9n }));
    const bytes = new Uint8Array(first.length + 8 + second.length);
    bytes.set(first, 0);
    bytes.set(second, first.length + 8);
    const ring = new IncomingRing(craft(bytes));
    const read = ring.read();
    expect(read?.kind).toBe('unrecognized');
    expect(read?.type).toBe(type);
    expect(read?.completionRequested).toBe(true);
    expect(read?.transactionId).toBe(2n ** 63n + 5n);
    expect(Array.from(read!.payload())).toEqual([0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0]);
    const next = ring.read();
    expect(next?.kind).toBe('inband');
    expect(next?.transactionId).toBe(9n);
    expect(ring.read()).toBeUndefined();
  });
});

/** Reads until empty or corrupt; fails if it runs longer than the ring could possibly hold. */
function drainBounded(ring: IncomingRing, check: (packet: IncomingPacket) => void): 'empty' | 'corrupt' {
  // Every packet consumes at least 24 bytes, so a ring can never yield more than this.
  const bound = Math.ceil(ring.dataSize / 24) + 1;
  for (let i = 0; i <= bound; i++) {
    let read: IncomingPacket | undefined;
    try {
      read = ring.read();
    } catch (error) {
      expect(error).toBeInstanceOf(RingCorruptError);
      expect(() => ring.read()).toThrow(error as Error);
      return 'corrupt';
    }
    if (read === undefined) return 'empty';
    check(read);
  }
  throw new Error('reader did not terminate');
}

/** What every packet a reader returns must satisfy, whatever the input. */
function checkInvariants(read: IncomingPacket, maxPacketSize: number): void {
  expect(read.packetLength % 8).toBe(0);
  expect(read.packetLength).toBeGreaterThanOrEqual(16);
  expect(read.packetLength).toBeLessThanOrEqual(maxPacketSize);
  expect(read.payloadOffset).toBeGreaterThanOrEqual(16);
  expect(read.payloadOffset + read.payloadLength).toBe(read.packetLength);
  expect(read.flags & ~1).toBe(0);
  if (read.kind === 'gpa-direct') {
    expect(read.ranges.length).toBeGreaterThan(0);
    for (const range of read.ranges) {
      expect(range.byteOffset).toBeLessThan(4096);
      expect(range.byteCount).toBeGreaterThan(0);
      expect(range.pfns.length).toBe(Math.ceil((range.byteOffset + range.byteCount) / 4096));
      for (const pfn of range.pfns) expect(pfn).toBeLessThanOrEqual(2 ** 40 - 1);
    }
  }
  if (read.kind === 'transfer-page') expect(24 + read.ranges.length * 8).toBeLessThanOrEqual(read.payloadOffset);
}

describe('fuzz: arbitrary ring contents', () => {
  it('random data area and indices: a packet, undefined or RingCorruptError, always terminating', () => {
    const index = fc.oneof(fc.integer({ min: 0, max: DATA_SIZE / 8 - 1 }).map((i) => i * 8), fc.integer({ min: 0, max: 0xffffffff }));
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 512 }),
        index,
        index,
        fc.option(fc.integer({ min: 16, max: 8192 }), { nil: undefined }),
        (pattern, read, write, maxPacketSize) => {
          const memory = flatRingMemory(4096 + DATA_SIZE);
          for (let at = 0; at < DATA_SIZE; at += pattern.length) memory.write(at, pattern, 0, Math.min(pattern.length, DATA_SIZE - at));
          memory.storeControl(RingControl.readIndex, read);
          memory.storeControl(RingControl.writeIndex, write);
          let ring: IncomingRing;
          try {
            ring = new IncomingRing(memory, maxPacketSize === undefined ? {} : { maxPacketSize });
          } catch (error) {
            expect(error).toBeInstanceOf(RingCorruptError);
            return;
          }
          drainBounded(ring, (p) => checkInvariants(p, ring.maxPacketSize));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('plausible descriptors with random fields: never anything but packets or RingCorruptError', () => {
    const descriptor = fc.record({
      type: fc.oneof(fc.constantFrom(6, 7, 9, 11), fc.integer({ min: 0, max: 0xffff })),
      offset8: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0xffff })),
      len8: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 0xffff })),
      flags: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 0xffff })),
      transactionId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      rangeCount: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
      words: fc.array(fc.oneof(fc.integer({ min: 0, max: 8192 }), fc.integer({ min: 0, max: 0xffffffff })), { minLength: 0, maxLength: 12 }),
    });
    fc.assert(
      fc.property(
        fc.array(descriptor, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: DATA_SIZE / 8 - 1 }),
        fc.integer({ min: 0, max: DATA_SIZE / 8 - 1 }),
        (descriptors, start8, write8) => {
          const memory = flatRingMemory(4096 + DATA_SIZE);
          let at = start8 * 8;
          for (const d of descriptors) {
            const size = Math.min(Math.max(24, d.len8 * 8), 256);
            const bytes = packet(d, (view) => {
              view.setUint32(20, d.rangeCount, true);
              d.words.forEach((word, i) => {
                if (24 + i * 4 + 4 <= size) view.setUint32(24 + i * 4, word, true);
              });
            }, size);
            for (let i = 0; i < bytes.length; i++) memory.write((at + i) % DATA_SIZE, bytes, i, 1);
            at = (at + Math.max(24, d.len8 * 8 + 8)) % DATA_SIZE & ~7;
          }
          memory.storeControl(RingControl.readIndex, start8 * 8);
          memory.storeControl(RingControl.writeIndex, write8 * 8);
          const ring = new IncomingRing(memory);
          drainBounded(ring, (p) => checkInvariants(p, ring.maxPacketSize));
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('local misuse is an argument error, not corruption', () => {
  it('rejects a maxPacketSize that is not an integer of at least 16', () => {
    for (const bad of [Number.NaN, 0, 15, 16.5, -1]) {
      expect(() => new IncomingRing(flatRingMemory(4096 + DATA_SIZE), { maxPacketSize: bad })).toThrow(InvalidArgumentError);
    }
  });

  it('rejects packet fields that do not fit the wire', () => {
    const ring = new OutgoingRing(flatRingMemory(4096 + DATA_SIZE));
    const payload = new Uint8Array(8);
    expect(() => ring.writePacket(0x10000, 0, 0, 16, payload)).toThrow(InvalidArgumentError);
    expect(() => ring.writePacket(6, -1, 0, 16, payload)).toThrow(InvalidArgumentError);
    expect(() => ring.writePacket(6, 0, 0, 12, payload)).toThrow(InvalidArgumentError);
    expect(() => ring.writePacket(6, 0, 0, 24, payload, new Uint8Array(16))).toThrow(InvalidArgumentError);
    expect(() => ring.writeInband(payload, -1)).toThrow(InvalidArgumentError);
    expect(() => ring.writeInband(payload, 2 ** 53)).toThrow(InvalidArgumentError);
    expect(() => ring.writeInband(payload, 1n << 64n)).toThrow(InvalidArgumentError);
    expect(() => ring.writeGpaDirect([{ byteCount: 8, byteOffset: 0, pfns: [2 ** 40] }], payload, 1)).toThrow(InvalidArgumentError);
    expect(ring.writeInband(payload, (1n << 64n) - 1n)).toEqual({ ok: true });
  });
});

describe('large packets', () => {
  it('reads a first packet larger than the initial private copy intact (the copy grows)', () => {
    const memory = flatRingMemory(8 * 4096);
    const writer = new OutgoingRing(memory);
    const reader = new IncomingRing(memory);
    const payload = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    expect(writer.writeInband(payload, 77)).toEqual({ ok: true });
    writer.commitWrite();
    const packet = reader.read();
    expect(packet?.kind).toBe('inband');
    expect(packet?.transactionId).toBe(77n);
    expect(packet?.payload().subarray(0, 5000)).toEqual(payload);
  });
});
