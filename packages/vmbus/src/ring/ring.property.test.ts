/**
 * Ring invariants under random traffic (STYLE rule 22), checked against an executable model of
 * vmbus-wire.md §1.3-§1.4 (space accounting, admission, wrap-around) and §3.1-§3.2 (signalling):
 * random packet kinds and sizes, random batch boundaries on both sides, random interleaving of
 * writer and reader, random interrupt_mask / pending_send_sz / feature bits, reverts on both
 * sides, on small rings (1-4 data pages) whose indices start at random offsets so packets,
 * descriptors included, wrap often.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PacketTooLargeError } from '../errors.ts';
import { RingControl, RingFeature } from '../protocol/ring-layout.ts';
import { IncomingRing } from './incoming-ring.ts';
import type { IncomingPacket } from './incoming-packet.ts';
import { OutgoingRing, type OutgoingGpaRange, type TransactionId } from './outgoing-ring.ts';
import { flatRingMemory, type ContiguousRingMemory } from './ring-memory.ts';
import { align8, bytesFree, bytesToRead, fitsInRing } from './ring-space.ts';

// ---------------------------------------------------------------------------------------------
// Generated packets

interface PacketSpec {
  kind: 'inband' | 'completion' | 'gpa-direct' | 'transfer-page';
  payloadLength: number;
  seed: number;
  transactionId: TransactionId;
  completionRequested: boolean;
  gpaRanges: OutgoingGpaRange[];
  pageSetId: number;
  transferRanges: { byteCount: number; byteOffset: number }[];
}

const MAX_PFN = 2 ** 40 - 1;

const payloadLength = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 64 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 600 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3 * 1024 }) },
);

const transactionId: fc.Arbitrary<TransactionId> = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.constantFrom(0n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n, 2n ** 64n - 3n, 2n ** 63n),
  fc.integer({ min: 0, max: 2 ** 31 }),
  fc.constantFrom(0, 2 ** 32, 2 ** 53 - 1),
);

const gpaRange: fc.Arbitrary<OutgoingGpaRange> = fc
  .record({
    byteOffset: fc.oneof(fc.integer({ min: 0, max: 4095 }), fc.constantFrom(0, 4095)),
    byteCount: fc.oneof(fc.integer({ min: 1, max: 3 * 4096 }), fc.constantFrom(1, 4096)),
    pfnSeed: fc.integer({ min: 0, max: MAX_PFN }),
  })
  .map(({ byteOffset, byteCount, pfnSeed }) => {
    const count = Math.ceil((byteOffset + byteCount) / 4096);
    const pfns = Array.from({ length: count }, (_, k) => (k === 1 ? MAX_PFN : (pfnSeed + k * 0x10001) % (MAX_PFN + 1)));
    return { byteOffset, byteCount, pfns };
  });

const packetSpec: fc.Arbitrary<PacketSpec> = fc.record({
  kind: fc.constantFrom('inband', 'inband', 'completion', 'gpa-direct', 'transfer-page'),
  payloadLength,
  seed: fc.integer({ min: 0, max: 255 }),
  transactionId,
  completionRequested: fc.boolean(),
  gpaRanges: fc.array(gpaRange, { minLength: 1, maxLength: 4 }),
  pageSetId: fc.integer({ min: 0, max: 0xffff }),
  transferRanges: fc.array(fc.record({ byteCount: fc.nat({ max: 0xffffffff }), byteOffset: fc.nat({ max: 0xffffffff }) }), { maxLength: 5 }),
});

function payloadOf(spec: PacketSpec): Uint8Array {
  const bytes = new Uint8Array(spec.payloadLength);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (spec.seed + i * 31 + (i >> 8)) & 0xff;
  return bytes;
}

function headerLengthOf(spec: PacketSpec): number {
  switch (spec.kind) {
    case 'inband':
    case 'completion':
      return 16;
    case 'gpa-direct':
      return 24 + spec.gpaRanges.reduce((sum, r) => sum + 8 + 8 * r.pfns.length, 0);
    case 'transfer-page':
      return 24 + 8 * spec.transferRanges.length;
  }
}

const TYPE = { inband: 6, completion: 0xb, 'gpa-direct': 9, 'transfer-page': 7 } as const;

function write(ring: OutgoingRing, spec: PacketSpec, payload: Uint8Array): ReturnType<OutgoingRing['writeInband']> {
  switch (spec.kind) {
    case 'inband':
      return ring.writeInband(payload, spec.transactionId, spec.completionRequested);
    case 'completion':
      return ring.writeCompletion(payload, spec.transactionId);
    case 'gpa-direct':
      return ring.writeGpaDirect(spec.gpaRanges, payload, spec.transactionId, spec.completionRequested);
    case 'transfer-page':
      return ring.writeTransferPages(spec.pageSetId, spec.transferRanges, payload, spec.transactionId, spec.completionRequested);
  }
}

function expectPacket(read: IncomingPacket | undefined, spec: PacketSpec, payload: Uint8Array): void {
  expect(read).toBeDefined();
  const packet = read!;
  const header = headerLengthOf(spec);
  expect(packet.kind).toBe(spec.kind);
  expect(packet.type).toBe(TYPE[spec.kind]);
  const flags = spec.kind !== 'completion' && spec.completionRequested ? 1 : 0;
  expect(packet.flags).toBe(flags);
  expect(packet.completionRequested).toBe(flags === 1);
  expect(packet.transactionId).toBe(BigInt(spec.transactionId));
  expect(packet.packetLength).toBe(align8(header + payload.length));
  expect(packet.payloadOffset).toBe(header);
  const got = packet.payload();
  expect(got.length).toBe(packet.packetLength - header);
  // Compare in one shot (per-byte expects are slow); padding must be zero.
  const want = new Uint8Array(got.length);
  want.set(payload);
  expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
  if (packet.kind === 'gpa-direct') expect(packet.ranges).toEqual(spec.gpaRanges);
  if (packet.kind === 'transfer-page') {
    expect(packet.pageSetId).toBe(spec.pageSetId);
    expect(packet.senderOwnsSet).toBe(false);
    expect(packet.ranges).toEqual(spec.transferRanges);
  }
}

// ---------------------------------------------------------------------------------------------
// Actions and the model

type Action =
  | { op: 'write'; spec: PacketSpec }
  | { op: 'commitWrite' }
  | { op: 'revertWrite' }
  | { op: 'read' }
  | { op: 'hasData' }
  | { op: 'commitRead' }
  | { op: 'revertRead' }
  | { op: 'mask'; value: number }
  | { op: 'pending'; value: number }
  | { op: 'pendingNearFree'; delta: number }
  | { op: 'feature'; on: boolean }
  | { op: 'requestSpace'; total: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 10, arbitrary: packetSpec.map((spec) => ({ op: 'write' as const, spec })) },
  { weight: 4, arbitrary: fc.constant({ op: 'commitWrite' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'revertWrite' as const }) },
  { weight: 10, arbitrary: fc.constant({ op: 'read' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'hasData' as const }) },
  { weight: 4, arbitrary: fc.constant({ op: 'commitRead' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'revertRead' as const }) },
  { weight: 2, arbitrary: fc.oneof(fc.constant(0), fc.constant(0), fc.constant(1), fc.nat({ max: 0xffffffff })).map((value) => ({ op: 'mask' as const, value })) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(0), fc.nat({ max: 20_000 })).map((value) => ({ op: 'pending' as const, value })) },
  { weight: 1, arbitrary: fc.constantFrom(-1024, -16, -8, -1, 0, 3, 8, 16).map((delta) => ({ op: 'pendingNearFree' as const, delta })) },
  { weight: 1, arbitrary: fc.boolean().map((on) => ({ op: 'feature' as const, on })) },
  { weight: 1, arbitrary: fc.integer({ min: 3, max: 2000 }).map((n) => ({ op: 'requestSpace' as const, total: n * 8 })) },
);

interface Written {
  spec: PacketSpec;
  payload: Uint8Array;
  start: number;
  total: number;
}

/** Counts over the whole run, to check the generator exercises what it claims to. */
const stats = { descriptorWraps: 0, packetWraps: 0, full: 0, writerSignals: 0, readerSignals: 0, readerSignalChecks: 0 };

/** Where both indices start: `at` 8-byte slots in, or `back` slots before the end of the data area. */
type Origin = { at: number } | { back: number };

function runScenario(dataPages: number, start: Origin, actions: readonly Action[]): void {
  const memory: ContiguousRingMemory = flatRingMemory(4096 * (1 + dataPages));
  const dsize = memory.dataSize;
  const origin = 'at' in start ? (start.at * 8) % dsize : dsize - start.back * 8;
  memory.storeControl(RingControl.writeIndex, origin);
  memory.storeControl(RingControl.readIndex, origin);
  const writer = new OutgoingRing(memory);
  const reader = new IncomingRing(memory);
  expect(memory.loadControl(RingControl.featureBits) & RingFeature.pendingSendSize).toBe(1);

  // Model state.
  const packets: Written[] = []; // every packet written and not reverted, in order
  let committedCount = 0; // packets published by the writer
  let readCount = 0; // packets returned to the reader (private cursor)
  let releasedCount = 0; // packets released by commitRead
  let wNext = origin;
  let wCommitted = origin;
  let rNext = origin;
  let rCommitted = origin;
  let mask = 0;
  let pending = 0;
  let pendingPublished = false;
  let feature = true;

  const checkControl = (): void => {
    expect(memory.loadControl(RingControl.writeIndex)).toBe(wCommitted);
    expect(memory.loadControl(RingControl.readIndex)).toBe(rCommitted);
    expect(memory.loadControl(RingControl.pendingSendSize)).toBe(pending);
    // Accounting: published bytes equal the footprints of published, unreleased packets.
    let inRing = 0;
    for (let i = releasedCount; i < committedCount; i++) inRing += packets[i]!.total;
    expect(bytesToRead(wCommitted, rCommitted, dsize)).toBe(inRing);
    expect(bytesFree(wCommitted, rCommitted, dsize)).toBe(dsize - inRing);
    // The writer's view (cached read index) is never more optimistic than the truth.
    let inFlight = 0;
    for (let i = releasedCount; i < packets.length; i++) inFlight += packets[i]!.total;
    expect(writer.bytesInFlight).toBeGreaterThanOrEqual(inFlight);
  };

  /** The writer's admission and pending_send_sz behaviour (reserve). */
  const modelReserve = (total: number): boolean => {
    if (fitsInRing(bytesFree(wNext, rCommitted, dsize), total)) {
      if (pendingPublished) {
        pending = 0;
        pendingPublished = false;
      }
      return true;
    }
    pending = Math.min(Math.max(total, Math.floor(dsize / 4) & ~7), dsize - 8);
    pendingPublished = true;
    return false;
  };

  for (const step of actions) {
    switch (step.op) {
      case 'write': {
        const payload = payloadOf(step.spec);
        const length = align8(headerLengthOf(step.spec) + payload.length);
        const total = length + 8;
        if (total >= dsize) {
          expect(() => write(writer, step.spec, payload)).toThrow(PacketTooLargeError);
          break;
        }
        const fits = modelReserve(total);
        const result = write(writer, step.spec, payload);
        if (!fits) {
          stats.full++;
          expect(result).toEqual({ ok: false, needed: total });
          break;
        }
        expect(result).toEqual({ ok: true });
        if (dsize - wNext === 8) stats.descriptorWraps++; // the 16-byte descriptor straddles the end
        if (wNext + total > dsize) stats.packetWraps++;
        // Trailer: the start offset in bits 63..32, at the (wrapped) end of the packet.
        const trailer = new Uint8Array(8);
        const at = (wNext + length) % dsize;
        memory.read(at, trailer, 0, 8);
        expect(new DataView(trailer.buffer).getBigUint64(0, true)).toBe(BigInt(wNext) << 32n);
        packets.push({ spec: step.spec, payload, start: wNext, total });
        wNext = (wNext + total) % dsize;
        break;
      }
      case 'commitWrite': {
        let expected = false;
        if (wNext !== wCommitted) {
          expected = mask === 0 && rCommitted === wCommitted;
        }
        expect(writer.commitWrite()).toBe(expected);
        if (expected) stats.writerSignals++;
        wCommitted = wNext;
        committedCount = packets.length;
        checkControl();
        break;
      }
      case 'revertWrite':
        writer.revert();
        packets.length = committedCount;
        wNext = wCommitted;
        break;
      case 'read': {
        const read = reader.read();
        if (rNext === wCommitted) {
          expect(read).toBeUndefined();
          break;
        }
        const next = packets[readCount]!;
        expect(next.start).toBe(rNext);
        expectPacket(read, next.spec, next.payload);
        readCount++;
        rNext = (rNext + next.total) % dsize;
        break;
      }
      case 'hasData':
        expect(reader.hasData()).toBe(rNext !== wCommitted);
        break;
      case 'commitRead': {
        let expected = false;
        if (rNext !== rCommitted && feature) {
          const p = pending & ~7;
          if (p !== 0) {
            stats.readerSignalChecks++;
            const free = bytesFree(wCommitted, rNext, dsize);
            const freed = bytesToRead(rNext, rCommitted, dsize);
            expected = free > p && free - freed <= p;
          }
        }
        expect(reader.commitRead()).toBe(expected);
        if (expected) stats.readerSignals++;
        rCommitted = rNext;
        releasedCount = readCount;
        checkControl();
        break;
      }
      case 'revertRead':
        reader.revert();
        readCount = releasedCount;
        rNext = rCommitted;
        break;
      case 'mask':
        memory.storeControl(RingControl.interruptMask, step.value);
        mask = step.value;
        break;
      case 'pending':
        // A raw value, low bits included: the reader must ignore bits 0..2.
        memory.storeControl(RingControl.pendingSendSize, step.value);
        pending = step.value;
        break;
      case 'pendingNearFree': {
        // pending_send_sz right at the current free space, so the strict boundaries are hit.
        const value = Math.max(0, bytesFree(wCommitted, rCommitted, dsize) + step.delta);
        memory.storeControl(RingControl.pendingSendSize, value);
        pending = value;
        break;
      }
      case 'feature':
        memory.storeControl(RingControl.featureBits, step.on ? RingFeature.pendingSendSize : 0);
        feature = step.on;
        break;
      case 'requestSpace': {
        if (step.total >= dsize) break;
        const fits = modelReserve(step.total);
        expect(writer.requestSpace(step.total)).toBe(fits);
        expect(writer.blocked).toBe(pendingPublished);
        expect(memory.loadControl(RingControl.pendingSendSize)).toBe(pending);
        break;
      }
    }
  }

  // Drain everything: nothing lost, duplicated or reordered.
  writer.commitWrite();
  wCommitted = wNext;
  committedCount = packets.length;
  reader.revert();
  readCount = releasedCount;
  for (let i = releasedCount; i < committedCount; i++) {
    const next = packets[i]!;
    expectPacket(reader.read(), next.spec, next.payload);
  }
  expect(reader.read()).toBeUndefined();
  reader.commitRead();
  expect(memory.loadControl(RingControl.readIndex)).toBe(wCommitted);
}

describe('ring properties', () => {
  it('random traffic matches the model: delivery, accounting, admission, signals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.oneof(fc.nat({ max: 2047 }).map((at): Origin => ({ at })), fc.integer({ min: 1, max: 6 }).map((back): Origin => ({ back }))),
        fc.array(action, { minLength: 20, maxLength: 300, size: 'max' }),
        (pages, start, actions) => runScenario(pages, start, actions),
      ),
      { numRuns: 400 },
    );
    expect(stats.descriptorWraps).toBeGreaterThan(0);
    expect(stats.packetWraps).toBeGreaterThan(0);
    expect(stats.full).toBeGreaterThan(0);
    expect(stats.writerSignals).toBeGreaterThan(0);
    expect(stats.readerSignals).toBeGreaterThan(0);
  });

  it('a blocked writer is woken exactly once when the reader frees its pending_send_sz', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 0, max: 1500 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 8 }), (pages, sizes, batch) => {
        const memory = flatRingMemory(4096 * (1 + pages));
        const dsize = memory.dataSize;
        const writer = new OutgoingRing(memory);
        const reader = new IncomingRing(memory);
        // Fill the ring until a write is refused.
        let refused: { needed: number } | undefined;
        for (let i = 0; refused === undefined; i++) {
          const result = writer.writeInband(new Uint8Array(sizes[i % sizes.length]!), i);
          if (!result.ok) refused = result;
        }
        writer.commitWrite();
        const pending = memory.loadControl(RingControl.pendingSendSize);
        expect(pending).toBe(Math.min(Math.max(refused.needed, Math.floor(dsize / 4) & ~7), dsize - 8));
        expect(writer.blocked).toBe(true);
        // Drain in batches: exactly one commit signals, the one whose free space crosses pending.
        let signals = 0;
        let crossedAt = -1;
        for (let commit = 0; ; commit++) {
          let n = 0;
          while (n < batch && reader.read()) n++;
          if (n === 0) break;
          const before = bytesFree(memory.loadControl(RingControl.writeIndex), memory.loadControl(RingControl.readIndex), dsize);
          const signalled = reader.commitRead();
          const after = bytesFree(memory.loadControl(RingControl.writeIndex), memory.loadControl(RingControl.readIndex), dsize);
          expect(signalled).toBe(before <= pending && after > pending);
          if (signalled) {
            signals++;
            crossedAt = commit;
          }
        }
        expect(signals).toBe(1);
        expect(crossedAt).toBeGreaterThanOrEqual(0);
        // Woken, the refused packet fits now, and writing it clears pending_send_sz.
        expect(writer.writeInband(new Uint8Array(refused.needed - 24), 1).ok).toBe(true);
        expect(memory.loadControl(RingControl.pendingSendSize)).toBe(0);
        expect(writer.blocked).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('ring edge cases', () => {
  it('admission is strict: a packet exactly filling the free space is refused, 8 bytes less is accepted', () => {
    const memory = flatRingMemory(8192);
    const writer = new OutgoingRing(memory);
    // Empty ring: 4096 free. A footprint of 4096 is refused (and too large ever), 4088 accepted.
    expect(() => writer.writeInband(new Uint8Array(4096 - 24))).toThrow(PacketTooLargeError);
    expect(writer.maxInbandPayload).toBe(4096 - 32);
    expect(writer.writeInband(new Uint8Array(writer.maxInbandPayload)).ok).toBe(true);
    writer.commitWrite();
    expect(memory.loadControl(RingControl.writeIndex)).toBe(4088);
    // 8 bytes free: even the smallest packet (24) is refused.
    expect(writer.writeInband(new Uint8Array(0))).toEqual({ ok: false, needed: 24 });
    const reader = new IncomingRing(memory);
    expect(reader.read()?.payloadLength).toBe(4096 - 32);
    expect(reader.commitRead()).toBe(true); // the writer waited for 1024 (a quarter); now 4096 free
    // Now 4096 free with w = r = 4088: 32 + 8 fits, wrapping the descriptor.
    expect(writer.writeInband(new Uint8Array(16), 5n).ok).toBe(true);
    expect(writer.commitWrite()).toBe(true);
    expect(reader.read()?.transactionId).toBe(5n);
  });

  it('reader signal boundaries: free before == p signals on crossing, free after == p does not', () => {
    const memory = flatRingMemory(8192);
    const writer = new OutgoingRing(memory);
    const reader = new IncomingRing(memory);
    // Three 1024-byte footprints: 3072 used, 1024 free.
    for (let i = 0; i < 3; i++) expect(writer.writeInband(new Uint8Array(1000), i).ok).toBe(true);
    writer.commitWrite();
    memory.storeControl(RingControl.pendingSendSize, 1024); // free before == p: not enough yet
    reader.read();
    expect(reader.commitRead()).toBe(true); // 2048 > 1024, 1024 <= 1024
    memory.storeControl(RingControl.pendingSendSize, 3072 + 7); // low bits ignored: p = 3072
    reader.read();
    expect(reader.commitRead()).toBe(false); // 3072 free == p: exactly enough is not enough
    reader.read();
    expect(reader.commitRead()).toBe(true); // 4096 > 3072, 3072 <= 3072
    // Without the feature bit the reader never signals.
    for (let i = 0; i < 3; i++) writer.writeInband(new Uint8Array(1000), i);
    writer.commitWrite();
    memory.storeControl(RingControl.pendingSendSize, 1024);
    memory.storeControl(RingControl.featureBits, 0);
    reader.read();
    expect(reader.commitRead()).toBe(false);
  });

  it('writer signal: only when the reader had drained up to the batch start and is unmasked', () => {
    const memory = flatRingMemory(8192);
    const writer = new OutgoingRing(memory);
    const reader = new IncomingRing(memory);
    writer.writeInband(Uint8Array.of(1));
    memory.storeControl(RingControl.interruptMask, 0x8000_0000); // any non-zero value masks
    expect(writer.commitWrite()).toBe(false);
    memory.storeControl(RingControl.interruptMask, 0);
    writer.writeInband(Uint8Array.of(2));
    expect(writer.commitWrite()).toBe(false); // the reader has not read the first packet
    reader.read();
    reader.read();
    reader.commitRead();
    writer.writeInband(Uint8Array.of(3));
    expect(writer.commitWrite()).toBe(true);
  });

  it('a writer opened on a non-empty ring does not overwrite unread packets', () => {
    const memory = flatRingMemory(8192);
    const first = new OutgoingRing(memory);
    for (let i = 0; i < 3; i++) expect(first.writeInband(new Uint8Array(1000).fill(i + 1), i).ok).toBe(true);
    first.commitWrite();
    // A second writer takes over the same ring (reopened after a restart): 3 * 1024 bytes unread.
    const second = new OutgoingRing(memory);
    expect(second.writeInband(new Uint8Array(1000).fill(9), 9)).toEqual({ ok: false, needed: 1024 });
    second.commitWrite();
    const reader = new IncomingRing(memory);
    for (let i = 0; i < 3; i++) {
      const read = reader.read();
      expect(read?.transactionId).toBe(BigInt(i));
      expect(read?.payload()[0]).toBe(i + 1);
    }
    expect(reader.read()).toBeUndefined();
  });

  it('a reader opened on a non-empty ring reads from the published read_index', () => {
    const memory = flatRingMemory(8192);
    const writer = new OutgoingRing(memory);
    writer.writeInband(Uint8Array.of(1), 1);
    writer.writeInband(Uint8Array.of(2), 2);
    writer.commitWrite();
    const first = new IncomingRing(memory);
    expect(first.read()?.transactionId).toBe(1n);
    first.commitRead();
    const second = new IncomingRing(memory);
    expect(second.read()?.transactionId).toBe(2n);
    expect(second.read()).toBeUndefined();
  });

  it('commits with nothing new neither publish nor signal', () => {
    const memory = flatRingMemory(8192);
    const writer = new OutgoingRing(memory);
    const reader = new IncomingRing(memory);
    expect(writer.commitWrite()).toBe(false);
    expect(reader.commitRead()).toBe(false);
    writer.writeInband(Uint8Array.of(1));
    expect(writer.commitWrite()).toBe(true);
    expect(writer.commitWrite()).toBe(false);
    // A second batch while the reader has not read: no signal (§3.1: ring was not empty).
    writer.writeInband(Uint8Array.of(2));
    expect(writer.commitWrite()).toBe(false);
  });
});
