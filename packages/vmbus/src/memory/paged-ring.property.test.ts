/**
 * A ring over scattered guest pages behaves exactly like a contiguous one (STYLE rule 22): the
 * same random operations on a PagedRingMemory (random distinct PFNs, in random order, in a
 * SharedArrayBuffer) and on a ContiguousRingMemory give the same results, byte for byte.
 *
 * Two levels: raw RingMemory copies at random offsets and lengths (aligned and not, inside a page
 * and across boundaries), and whole rings (OutgoingRing and IncomingRing on each memory) carrying
 * random packets from a random starting index so packets cross page boundaries and wrap.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RingControl } from '../protocol/ring-layout.ts';
import { IncomingRing } from '../ring/incoming-ring.ts';
import type { IncomingPacket } from '../ring/incoming-packet.ts';
import { OutgoingRing, type OutgoingGpaRange, type WriteResult } from '../ring/outgoing-ring.ts';
import { ContiguousRingMemory, type RingMemory } from '../ring/ring-memory.ts';
import { PagedRingMemory } from './paged-ring-memory.ts';

const PAGE = 4096;
const MEMORY_PAGES = 24;

/** A ring of 2-5 data pages on random distinct PFNs of a 24-page guest memory. */
const scatteredRing = fc
  .integer({ min: 2, max: 5 })
  .chain((dataPages) => fc.uniqueArray(fc.integer({ min: 0, max: MEMORY_PAGES - 1 }), { minLength: dataPages + 1, maxLength: dataPages + 1 }));

function pair(pfns: readonly number[]): { paged: PagedRingMemory; flat: ContiguousRingMemory; guest: SharedArrayBuffer } {
  const guest = new SharedArrayBuffer(MEMORY_PAGES * PAGE);
  return { paged: new PagedRingMemory(guest, pfns), flat: new ContiguousRingMemory(new SharedArrayBuffer(pfns.length * PAGE), 0, pfns.length * PAGE), guest };
}

function dataOf(memory: RingMemory): Uint8Array {
  const bytes = new Uint8Array(memory.dataSize);
  memory.read(0, bytes, 0, bytes.length);
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

// ---------------------------------------------------------------------------------------------
// Raw copies

type CopyOp = { op: 'write' | 'read' | 'zero'; at: number; length: number; bufferOffset: number; seed: number };

/** Offsets biased towards page boundaries; lengths towards the word-loop limit and pages. */
const copyOp: fc.Arbitrary<CopyOp> = fc.record({
  op: fc.constantFrom('write', 'write', 'read', 'zero'),
  at: fc.oneof(fc.nat({ max: 5 * PAGE }), fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: -12, max: 12 })).map(([page, delta]) => page * PAGE + delta)),
  length: fc.oneof(fc.nat({ max: 32 }), fc.constantFrom(252, 256, 260, PAGE, PAGE + 4), fc.nat({ max: 3 * PAGE })),
  bufferOffset: fc.oneof(fc.constant(0), fc.constant(4), fc.nat({ max: 7 })),
  seed: fc.nat({ max: 255 }),
});

describe('PagedRingMemory against ContiguousRingMemory', () => {
  it('copies the same bytes for any offset and length', () => {
    fc.assert(
      fc.property(scatteredRing, fc.array(copyOp, { minLength: 1, maxLength: 40, size: 'max' }), (pfns, ops) => {
        const { paged, flat } = pair(pfns);
        const size = paged.dataSize;
        for (const { op, at: rawAt, length: rawLength, bufferOffset, seed } of ops) {
          const at = Math.max(0, Math.min(rawAt, size));
          const length = Math.min(rawLength, size - at);
          if (op === 'zero') {
            paged.zero(at, length);
            flat.zero(at, length);
          } else if (op === 'write') {
            const source = new Uint8Array(bufferOffset + length);
            for (let i = 0; i < source.length; i++) source[i] = (seed + i * 13) & 0xff;
            paged.write(at, source, bufferOffset, length);
            flat.write(at, source, bufferOffset, length);
          } else {
            const fromPaged = new Uint8Array(bufferOffset + length).fill(seed);
            const fromFlat = new Uint8Array(bufferOffset + length).fill(seed);
            paged.read(at, fromPaged, bufferOffset, length);
            flat.read(at, fromFlat, bufferOffset, length);
            expect(sameBytes(fromPaged, fromFlat)).toBe(true);
          }
        }
        expect(sameBytes(dataOf(paged), dataOf(flat))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('touches only the ring pages of guest memory', () => {
    fc.assert(
      fc.property(scatteredRing, fc.nat({ max: 255 }), (pfns, seed) => {
        const { paged, guest } = pair(pfns);
        const source = new Uint8Array(paged.dataSize).map((_, i) => ((seed + i) & 0xff) | 1);
        paged.write(0, source, 0, source.length);
        paged.storeControl(RingControl.writeIndex, 0xffff_ffff);
        const bytes = new Uint8Array(guest);
        for (let pfn = 0; pfn < MEMORY_PAGES; pfn++) {
          const page = bytes.subarray(pfn * PAGE, (pfn + 1) * PAGE);
          const index = pfns.indexOf(pfn);
          if (index < 0) expect(page.every((byte) => byte === 0)).toBe(true);
          else if (index === 0) expect(page.subarray(0, 4).every((byte) => byte === 0xff)).toBe(true);
          else expect(sameBytes(page, source.subarray((index - 1) * PAGE, index * PAGE))).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Whole rings

interface PacketSpec {
  kind: 'inband' | 'completion' | 'gpa-direct';
  payloadLength: number;
  seed: number;
  transactionId: number;
  ranges: OutgoingGpaRange[];
}

const gpaRange: fc.Arbitrary<OutgoingGpaRange> = fc
  .record({ byteOffset: fc.nat({ max: 4095 }), byteCount: fc.integer({ min: 1, max: 3 * PAGE }), pfn: fc.nat({ max: 2 ** 30 }) })
  .map(({ byteOffset, byteCount, pfn }) => ({ byteOffset, byteCount, pfns: Array.from({ length: Math.ceil((byteOffset + byteCount) / PAGE) }, (_, k) => pfn + k * 3) }));

const packetSpec: fc.Arbitrary<PacketSpec> = fc.record({
  kind: fc.constantFrom('inband', 'inband', 'completion', 'gpa-direct'),
  // Small packets, packets around the word-loop and assembly limits, and packets of pages.
  payloadLength: fc.oneof(fc.nat({ max: 64 }), fc.integer({ min: 200, max: 600 }), fc.integer({ min: PAGE - 64, max: 2 * PAGE + 64 })),
  seed: fc.nat({ max: 255 }),
  transactionId: fc.nat({ max: 2 ** 31 }),
  ranges: fc.array(gpaRange, { minLength: 1, maxLength: 3 }),
});

type Step = { op: 'write'; spec: PacketSpec } | { op: 'commitWrite' } | { op: 'read' } | { op: 'commitRead' } | { op: 'revertRead' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: packetSpec.map((spec) => ({ op: 'write' as const, spec })) },
  { weight: 3, arbitrary: fc.constant({ op: 'commitWrite' as const }) },
  { weight: 6, arbitrary: fc.constant({ op: 'read' as const }) },
  { weight: 3, arbitrary: fc.constant({ op: 'commitRead' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'revertRead' as const }) },
);

function payloadOf(spec: PacketSpec): Uint8Array {
  const bytes = new Uint8Array(spec.payloadLength);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (spec.seed + i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

function writeOne(ring: OutgoingRing, spec: PacketSpec): WriteResult | string {
  const payload = payloadOf(spec);
  try {
    switch (spec.kind) {
      case 'inband':
        return ring.writeInband(payload, spec.transactionId, true);
      case 'completion':
        return ring.writeCompletion(payload, spec.transactionId);
      case 'gpa-direct':
        return ring.writeGpaDirect(spec.ranges, payload, spec.transactionId);
    }
  } catch (error) {
    return (error as Error).name; // a packet larger than the ring: both must refuse it alike
  }
}

/** What a reader saw, copied out (a packet is valid only until the next read). */
function snapshot(packet: IncomingPacket | undefined): unknown {
  if (!packet) return undefined;
  return {
    kind: packet.kind,
    type: packet.type,
    flags: packet.flags,
    transactionId: packet.transactionId,
    packetLength: packet.packetLength,
    payloadOffset: packet.payloadOffset,
    bytes: Buffer.from(packet.bytes.subarray(0, packet.packetLength)).toString('hex'),
    ranges: packet.kind === 'gpa-direct' ? packet.ranges : undefined,
  };
}

describe('rings over scattered pages', () => {
  it('carry random packets exactly like a contiguous ring, across page boundaries and wraps', () => {
    let wraps = 0;
    let crossings = 0;
    let packets = 0;
    fc.assert(
      fc.property(scatteredRing, fc.nat(), fc.array(step, { minLength: 10, maxLength: 80, size: 'max' }), (pfns, startSeed, steps) => {
        const { paged, flat } = pair(pfns);
        const dataSize = paged.dataSize;
        // Start near the end half the time, so the first packets wrap.
        const origin = startSeed % 2 === 0 ? dataSize - 8 * (1 + (startSeed % 64)) : ((startSeed >> 1) * 8) % dataSize;
        const rings = [paged, flat].map((memory) => {
          memory.storeControl(RingControl.writeIndex, origin);
          memory.storeControl(RingControl.readIndex, origin);
          return { writer: new OutgoingRing(memory), reader: new IncomingRing(memory) };
        });
        const [a, b] = rings as [(typeof rings)[0], (typeof rings)[0]];
        let lastWrite = origin;
        for (const s of steps) {
          switch (s.op) {
            case 'write': {
              const result = writeOne(a.writer, s.spec);
              expect(writeOne(b.writer, s.spec)).toEqual(result);
              break;
            }
            case 'commitWrite':
              expect(a.writer.commitWrite()).toBe(b.writer.commitWrite());
              break;
            case 'read': {
              const read = snapshot(a.reader.read());
              expect(read).toEqual(snapshot(b.reader.read()));
              if (read !== undefined) packets++;
              break;
            }
            case 'commitRead':
              expect(a.reader.commitRead()).toBe(b.reader.commitRead());
              break;
            case 'revertRead':
              a.reader.revert();
              b.reader.revert();
              break;
          }
          const write = paged.loadControl(RingControl.writeIndex);
          if (write < lastWrite) wraps++;
          if (write >>> 12 !== lastWrite >>> 12) crossings++;
          lastWrite = write;
        }
        // Drain what is left, then compare every control word and every data byte.
        a.writer.commitWrite();
        b.writer.commitWrite();
        for (;;) {
          const fromA = snapshot(a.reader.read());
          expect(fromA).toEqual(snapshot(b.reader.read()));
          if (fromA === undefined) break;
        }
        for (const offset of [RingControl.writeIndex, RingControl.readIndex, RingControl.interruptMask, RingControl.pendingSendSize, RingControl.featureBits]) {
          expect(paged.loadControl(offset)).toBe(flat.loadControl(offset));
        }
        expect(sameBytes(dataOf(paged), dataOf(flat))).toBe(true);
      }),
      { numRuns: 150 },
    );
    // The generator does what the header claims.
    // (`crossings` counts commits that moved write_index into another data page.)
    expect(packets).toBeGreaterThan(500);
    expect(wraps).toBeGreaterThan(50);
    expect(crossings).toBeGreaterThan(150);
  });
});
