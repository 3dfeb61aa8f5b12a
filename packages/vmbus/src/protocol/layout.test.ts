/**
 * Layout of the ring and its packets, checked against vmbus-wire.md §1.2, §1.4, §2.1-§2.3 with the
 * reference's numbers written out literally (never derived from the constants under test), plus
 * byte-exact golden images of packets the OutgoingRing writes.
 */
import { describe, expect, it } from 'vitest';
import {
  GpaDirectHeader,
  GpaRangeLayout,
  KNOWN_PACKET_FLAGS,
  MAX_PFN,
  PacketDescriptor,
  PacketFlags,
  PacketType,
  TransferPageHeader,
} from './packet-layout.ts';
import { PACKET_ALIGNMENT, PACKET_TRAILER_SIZE, PAGE_SHIFT, PAGE_SIZE, RingControl, RingFeature } from './ring-layout.ts';
import { ContiguousRingMemory } from '../ring/ring-memory.ts';
import { OutgoingRing } from '../ring/outgoing-ring.ts';
import { IncomingRing } from '../ring/incoming-ring.ts';

describe('ring layout (§1.2)', () => {
  it('has a 4 KiB control page with the reference offsets', () => {
    expect(PAGE_SIZE).toBe(4096);
    expect(PAGE_SHIFT).toBe(12);
    expect(RingControl.writeIndex).toBe(0);
    expect(RingControl.readIndex).toBe(4);
    expect(RingControl.interruptMask).toBe(8);
    expect(RingControl.pendingSendSize).toBe(12);
    expect(RingControl.featureBits).toBe(64);
    expect(RingControl.SIZE).toBe(4096);
    expect(RingFeature.pendingSendSize).toBe(1);
  });

  it('aligns packets to 8 bytes and appends an 8-byte trailer (§1.4)', () => {
    expect(PACKET_ALIGNMENT).toBe(8);
    expect(PACKET_TRAILER_SIZE).toBe(8);
  });
});

describe('packet layout (§2)', () => {
  it('has the 16-byte vmpacket_descriptor', () => {
    expect(PacketDescriptor.type).toBe(0);
    expect(PacketDescriptor.offset8).toBe(2);
    expect(PacketDescriptor.len8).toBe(4);
    expect(PacketDescriptor.flags).toBe(6);
    expect(PacketDescriptor.transactionId).toBe(8);
    expect(PacketDescriptor.SIZE).toBe(16);
  });

  it('numbers the packet types 0x0..0xd as enum vmbus_packet_type', () => {
    expect({ ...PacketType }).toEqual({
      invalid: 0x0,
      synch: 0x1,
      addTransferPageSet: 0x2,
      removeTransferPageSet: 0x3,
      establishGpadl: 0x4,
      teardownGpadl: 0x5,
      dataInband: 0x6,
      dataUsingTransferPages: 0x7,
      dataUsingGpadl: 0x8,
      dataUsingGpaDirect: 0x9,
      cancelRequest: 0xa,
      completion: 0xb,
      dataUsingAdditionalPacket: 0xc,
      additionalData: 0xd,
    });
  });

  it('knows only the completion-requested flag', () => {
    expect(PacketFlags.completionRequested).toBe(1);
    expect(KNOWN_PACKET_FLAGS).toBe(1);
  });

  it('has the GPA-direct header and gpa_range layout (§2.2)', () => {
    expect(GpaDirectHeader.reserved).toBe(16);
    expect(GpaDirectHeader.rangeCount).toBe(20);
    expect(GpaDirectHeader.ranges).toBe(24);
    expect(GpaDirectHeader.SIZE).toBe(24);
    expect(GpaRangeLayout.byteCount).toBe(0);
    expect(GpaRangeLayout.byteOffset).toBe(4);
    expect(GpaRangeLayout.pfns).toBe(8);
    expect(GpaRangeLayout.SIZE).toBe(8);
    expect(GpaRangeLayout.PFN_SIZE).toBe(8);
    expect(MAX_PFN).toBe(2 ** 40 - 1);
  });

  it('has the transfer-page header layout (§2.3)', () => {
    expect(TransferPageHeader.pageSetId).toBe(16);
    expect(TransferPageHeader.senderOwnsSet).toBe(18);
    expect(TransferPageHeader.reserved).toBe(19);
    expect(TransferPageHeader.rangeCount).toBe(20);
    expect(TransferPageHeader.ranges).toBe(24);
    expect(TransferPageHeader.SIZE).toBe(24);
    expect(TransferPageHeader.RANGE_SIZE).toBe(8);
  });
});

/** A one-data-page ring in a plain buffer whose raw bytes the test inspects directly. */
function rawRing(dataPages = 1): { buffer: ArrayBuffer; memory: ContiguousRingMemory; control: DataView; data: Uint8Array } {
  const buffer = new ArrayBuffer(4096 * (1 + dataPages));
  const memory = new ContiguousRingMemory(buffer, 0, buffer.byteLength);
  // Poison the data area so padding the writer forgets to zero shows up.
  new Uint8Array(buffer, 4096).fill(0xee);
  return { buffer, memory, control: new DataView(buffer, 0, 4096), data: new Uint8Array(buffer, 4096) };
}

const u64le = (value: bigint): number[] => {
  const out: number[] = [];
  for (let i = 0n; i < 8n; i++) out.push(Number((value >> (8n * i)) & 0xffn));
  return out;
};

describe('golden packet bytes', () => {
  it('writes an in-band packet and a completion byte for byte, then publishes write_index', () => {
    const { memory, control, data } = rawRing();
    const ring = new OutgoingRing(memory);
    // Opening the writing end advertises feat_pending_send_sz and clears pending_send_sz.
    expect(control.getUint32(64, true)).toBe(1);
    expect(control.getUint32(12, true)).toBe(0);

    expect(ring.writeInband(Uint8Array.of(1, 2, 3, 4, 5), 0x1122334455667788n, true)).toEqual({ ok: true });
    expect(ring.writeCompletion(Uint8Array.of(0xaa, 0xbb, 0xcc), 2n ** 64n - 3n)).toEqual({ ok: true });
    // Nothing is published before the commit.
    expect(control.getUint32(0, true)).toBe(0);

    const expected = [
      // packet 1 at 0: type 6, offset8 2, len8 3 (16 + 5 -> 24 bytes), flags 1, trans id
      0x06, 0x00, 0x02, 0x00, 0x03, 0x00, 0x01, 0x00, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
      0x01, 0x02, 0x03, 0x04, 0x05, 0x00, 0x00, 0x00,
      // trailer: start offset 0 << 32
      0, 0, 0, 0, 0, 0, 0, 0,
      // packet 2 at 32: type 0xb, offset8 2, len8 3 (16 + 3 -> 24), flags 0, trans id 2^64 - 3
      0x0b, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xaa, 0xbb, 0xcc, 0x00, 0x00, 0x00, 0x00, 0x00,
      // trailer: 32 << 32, little-endian
      0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
    ];
    expect(Array.from(data.subarray(0, expected.length))).toEqual(expected);
    expect(data[expected.length]).toBe(0xee); // nothing written past the second trailer

    expect(ring.commitWrite()).toBe(true); // empty ring, mask clear: signal
    expect(control.getUint32(0, true)).toBe(64);
    expect(control.getUint32(4, true)).toBe(0);
    expect(control.getUint32(64, true)).toBe(1);
  });

  it('writes a large (unassembled) in-band packet with zero padding and its trailer', () => {
    const { memory, data } = rawRing();
    const ring = new OutgoingRing(memory);
    ring.writeInband(new Uint8Array(16), 0); // 32 + 8 bytes, so the next starts at 40
    const payload = new Uint8Array(601).map((_, i) => (i * 7 + 3) & 0xff);
    ring.writeInband(payload, 7);
    const start = 40;
    const len = Math.ceil((16 + 601) / 8) * 8; // 624
    const view = new DataView(data.buffer, data.byteOffset);
    expect(view.getUint16(start + 0, true)).toBe(6);
    expect(view.getUint16(start + 2, true)).toBe(2);
    expect(view.getUint16(start + 4, true)).toBe(len / 8);
    expect(view.getUint16(start + 6, true)).toBe(0);
    expect(view.getBigUint64(start + 8, true)).toBe(7n);
    expect(Array.from(data.subarray(start + 16, start + 16 + 601))).toEqual(Array.from(payload));
    expect(Array.from(data.subarray(start + 617, start + len))).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(view.getBigUint64(start + len, true)).toBe(BigInt(start) << 32n);
    expect(data[start + len + 8]).toBe(0xee);
  });

  it('wraps a packet whose descriptor straddles the end of the data area', () => {
    const { memory, control, data } = rawRing();
    // Both indices at 4088: the descriptor's first 8 bytes go at the end, the rest at 0.
    memory.storeControl(0, 4088);
    memory.storeControl(4, 4088);
    const ring = new OutgoingRing(memory);
    ring.writeInband(Uint8Array.of(9, 8, 7), 0x0102030405060708n);
    expect(Array.from(data.subarray(4088, 4096))).toEqual([0x06, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00]);
    expect(Array.from(data.subarray(0, 24))).toEqual([
      ...u64le(0x0102030405060708n),
      9, 8, 7, 0, 0, 0, 0, 0,
      // trailer: 4088 << 32
      ...u64le(4088n << 32n),
    ]);
    ring.commitWrite();
    expect(control.getUint32(0, true)).toBe(24);
    const reader = new IncomingRing(memory);
    const packet = reader.read();
    expect(packet?.kind).toBe('inband');
    expect(packet?.transactionId).toBe(0x0102030405060708n);
    expect(Array.from(packet!.payload())).toEqual([9, 8, 7, 0, 0, 0, 0, 0]);
  });

  it('writes a GPA-direct packet with the reference header layout', () => {
    const { memory, data } = rawRing();
    const ring = new OutgoingRing(memory);
    const pfns = [0x12345, 2 ** 40 - 1];
    ring.writeGpaDirect([{ byteCount: 5000, byteOffset: 100, pfns }], Uint8Array.of(1, 2, 3, 4), 5n);
    const view = new DataView(data.buffer, data.byteOffset);
    // Header block: 24 + 8 + 2 PFNs * 8 = 48 -> offset8 6; 48 + 4 -> 56 -> len8 7.
    expect(view.getUint16(0, true)).toBe(9);
    expect(view.getUint16(2, true)).toBe(6);
    expect(view.getUint16(4, true)).toBe(7);
    expect(view.getUint16(6, true)).toBe(1); // completion requested by default
    expect(view.getBigUint64(8, true)).toBe(5n);
    expect(view.getUint32(16, true)).toBe(0);
    expect(view.getUint32(20, true)).toBe(1);
    expect(view.getUint32(24, true)).toBe(5000);
    expect(view.getUint32(28, true)).toBe(100);
    expect(view.getBigUint64(32, true)).toBe(0x12345n);
    expect(view.getBigUint64(40, true)).toBe(2n ** 40n - 1n);
    expect(Array.from(data.subarray(48, 56))).toEqual([1, 2, 3, 4, 0, 0, 0, 0]);
    expect(view.getBigUint64(56, true)).toBe(0n);
  });

  it('writes a transfer-page packet with the reference header layout', () => {
    const { memory, data } = rawRing();
    const ring = new OutgoingRing(memory);
    ring.writeTransferPages(0xcafe, [{ byteCount: 1500, byteOffset: 0x10000 }, { byteCount: 60, byteOffset: 0x20000 }], Uint8Array.of(0x42), 9n, false);
    const view = new DataView(data.buffer, data.byteOffset);
    // Header: 24 + 2 * 8 = 40 -> offset8 5; 41 -> 48 -> len8 6.
    expect(view.getUint16(0, true)).toBe(7);
    expect(view.getUint16(2, true)).toBe(5);
    expect(view.getUint16(4, true)).toBe(6);
    expect(view.getUint16(6, true)).toBe(0);
    expect(view.getUint16(16, true)).toBe(0xcafe);
    expect(view.getUint8(18)).toBe(0);
    expect(view.getUint32(20, true)).toBe(2);
    expect([view.getUint32(24, true), view.getUint32(28, true), view.getUint32(32, true), view.getUint32(36, true)]).toEqual([1500, 0x10000, 60, 0x20000]);
    expect(Array.from(data.subarray(40, 48))).toEqual([0x42, 0, 0, 0, 0, 0, 0, 0]);
    expect(view.getBigUint64(48, true)).toBe(0n);
  });
});
