/**
 * Tests of gpadlChannelRings: the ring pair of an OPENCHANNEL over a ring GPADL in guest memory.
 * Consecutive PFNs take the contiguous path, scattered ones the paged path; both rings sit where
 * vmbus-wire.md §1.1 puts them; two endpoints talk over them; and every check a hostile guest can
 * fail has a malformed-input test naming its reason.
 */
import { describe, expect, it } from 'vitest';
import { ChannelEndpoint } from '../channel/channel-endpoint.ts';
import { GuestMemoryError, type GuestMemoryErrorReason } from '../errors.ts';
import type { GpadlRange } from '../protocol/gpadl.ts';
import { RingControl, RingFeature } from '../protocol/ring-layout.ts';
import { Doorbell } from '../ring/doorbell.ts';
import { ContiguousRingMemory } from '../ring/ring-memory.ts';
import { gpadlChannelRings, GpadlChannelRings } from './gpadl-rings.ts';
import { PagedRingMemory } from './paged-ring-memory.ts';

const PAGE = 4096;

function gpadl(pfns: readonly number[]): GpadlRange {
  return { byteCount: pfns.length * PAGE, byteOffset: 0, pfns };
}

function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('gpadlChannelRings', () => {
  it('uses the contiguous memory for consecutive PFNs and the paged one otherwise', () => {
    const buffer = new SharedArrayBuffer(32 * PAGE);
    const contiguous = gpadlChannelRings(buffer, gpadl([4, 5, 6, 7, 8, 9]), 2);
    expect(contiguous).toBeInstanceOf(GpadlChannelRings);
    expect(contiguous.ringMemory('send')).toBeInstanceOf(ContiguousRingMemory);
    expect(contiguous.ringMemory('receive')).toBeInstanceOf(ContiguousRingMemory);
    expect(contiguous.ringMemory('send').dataSize).toBe(PAGE);
    expect(contiguous.ringMemory('receive').dataSize).toBe(3 * PAGE);
    expect(contiguous.downstreamPageOffset).toBe(2);

    // The send ring is consecutive; the receive ring is not (the split itself may jump).
    const mixed = gpadlChannelRings(buffer, gpadl([10, 11, 12, 20, 3, 21]), 3);
    expect(mixed.ringMemory('send')).toBeInstanceOf(ContiguousRingMemory);
    expect(mixed.ringMemory('receive')).toBeInstanceOf(PagedRingMemory);
    expect(mixed.ringMemory('receive')).toBe(mixed.receive);
  });

  it('puts each ring where its PFNs say: send first, receive downstreamPageOffset pages in', () => {
    const buffer = new SharedArrayBuffer(32 * PAGE);
    const rings = gpadlChannelRings(buffer, gpadl([30, 2, 17, 8, 1, 9, 4]), 3);
    rings.ringMemory('send').storeControl(RingControl.writeIndex, 0x100);
    rings.ringMemory('receive').storeControl(RingControl.writeIndex, 0x200);
    rings.ringMemory('send').write(PAGE - 2, new Uint8Array([1, 2, 3, 4]), 0, 4);
    rings.ringMemory('receive').write(2 * PAGE - 1, new Uint8Array([5, 6]), 0, 2);
    const view = new DataView(buffer);
    const bytes = new Uint8Array(buffer);
    expect(view.getUint32(30 * PAGE, true)).toBe(0x100);
    expect(view.getUint32(8 * PAGE, true)).toBe(0x200);
    expect([bytes[3 * PAGE - 2], bytes[3 * PAGE - 1], bytes[17 * PAGE], bytes[17 * PAGE + 1]]).toEqual([1, 2, 3, 4]);
    expect([bytes[10 * PAGE - 1], bytes[4 * PAGE]]).toEqual([5, 6]);
  });

  it('initialize() clears both control pages and sets feat_pending_send_sz', () => {
    const buffer = new SharedArrayBuffer(16 * PAGE);
    new Uint8Array(buffer).fill(0xee);
    const rings = gpadlChannelRings(buffer, gpadl([9, 3, 5, 2, 7]), 2);
    rings.initialize();
    for (const pfn of [9, 5]) {
      const control = new DataView(buffer, pfn * PAGE, PAGE);
      expect(control.getUint32(RingControl.featureBits, true)).toBe(RingFeature.pendingSendSize);
      expect(control.getUint32(RingControl.writeIndex, true)).toBe(0);
      expect(control.getUint32(PAGE - 4, true)).toBe(0);
    }
  });

  it('carries packets both ways between a guest and a host endpoint over scattered pages', () => {
    const buffer = new SharedArrayBuffer(64 * PAGE);
    const pfns = [40, 7, 33, 12, 2, 50, 21, 5, 44, 9];
    const guestRings = gpadlChannelRings(buffer, gpadl(pfns), 4);
    guestRings.initialize();
    // The host builds its own view of the same GPADL, as the VMBus runtime does on OPENCHANNEL.
    const hostRings = gpadlChannelRings(buffer, gpadl(pfns), 4);
    const guestBell = Doorbell.create();
    const hostBell = Doorbell.create();
    const guest = new ChannelEndpoint(guestRings, 'guest', { interrupt: guestBell, signalPeer: () => hostBell.ring() });
    const host = new ChannelEndpoint(hostRings, 'host', { interrupt: hostBell, signalPeer: () => guestBell.ring() });

    // 3000 bytes: successive packets straddle data pages and wrap the 3-page ring. Kept under 4 KiB
    // because IncomingRing's growCopy drops the descriptor of the packet that grows its copy buffer
    // (a ring bug, reported; it is not specific to paged memory).
    const request = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
    for (let round = 0; round < 16; round++) {
      expect(guest.outgoing.writeInband(request, round, true)).toEqual({ ok: true });
      guest.flush();
      const received = host.incoming.read();
      expect(received?.kind).toBe('inband');
      expect(received?.transactionId).toBe(BigInt(round));
      expect(Buffer.from(received!.payload().subarray(0, request.length)).equals(Buffer.from(request))).toBe(true);
      host.release();
      expect(host.outgoing.writeCompletion(new Uint8Array([round, 1, 2, 3]), round)).toEqual({ ok: true });
      host.flush();
      const completion = guest.incoming.read();
      expect(completion?.kind).toBe('completion');
      expect(completion?.payload()[0]).toBe(round);
      guest.release();
    }
  });

  it('checks PFNs against the current length of a growable buffer', () => {
    const buffer = new SharedArrayBuffer(4 * PAGE, { maxByteLength: 64 * PAGE });
    expect((thrown(() => gpadlChannelRings(buffer, gpadl([0, 1, 2, 6]), 2)) as GuestMemoryError).reason).toBe('pfn-beyond-memory');
    buffer.grow(7 * PAGE);
    expect(gpadlChannelRings(buffer, gpadl([0, 1, 2, 6]), 2).ringMemory('receive')).toBeInstanceOf(PagedRingMemory);
  });

  it.each<[string, GpadlRange, number, GuestMemoryErrorReason]>([
    ['a non-zero byte offset', { byteCount: 4 * PAGE, byteOffset: 16, pfns: [1, 2, 3, 4] }, 2, 'gpadl-offset-nonzero'],
    ['a byte count short of the pages', { byteCount: 4 * PAGE - 1, byteOffset: 0, pfns: [1, 2, 3, 4] }, 2, 'gpadl-size-mismatch'],
    ['a byte count beyond the pages', { byteCount: 5 * PAGE, byteOffset: 0, pfns: [1, 2, 3, 4] }, 2, 'gpadl-size-mismatch'],
    ['no pages', { byteCount: 0, byteOffset: 0, pfns: [] }, 0, 'downstream-offset-out-of-range'],
    ['a page offset of 0', gpadl([1, 2, 3, 4]), 0, 'downstream-offset-out-of-range'],
    ['a page offset at the end', gpadl([1, 2, 3, 4]), 4, 'downstream-offset-out-of-range'],
    ['a page offset past the end', gpadl([1, 2, 3, 4]), 0xffff_ffff, 'downstream-offset-out-of-range'],
    ['a negative page offset', gpadl([1, 2, 3, 4]), -2, 'downstream-offset-out-of-range'],
    ['a fractional page offset', gpadl([1, 2, 3, 4]), 2.5, 'downstream-offset-out-of-range'],
    ['a one-page send ring', gpadl([1, 2, 3, 4]), 1, 'ring-too-small'],
    ['a one-page receive ring', gpadl([1, 2, 3, 4]), 3, 'ring-too-small'],
    ['three pages in all', gpadl([1, 2, 3]), 2, 'ring-too-small'],
    ['a PFN beyond memory', gpadl([1, 2, 3, 16]), 2, 'pfn-beyond-memory'],
    ['a PFN far beyond memory', gpadl([1, 2, 2 ** 40 - 1, 4]), 2, 'pfn-beyond-memory'],
    ['a negative PFN', gpadl([1, 2, -3, 4]), 2, 'pfn-invalid'],
    ['a fractional PFN', gpadl([1, 2.5, 3, 4]), 2, 'pfn-invalid'],
    ['a data page repeated in one ring', gpadl([1, 2, 3, 4, 5, 4]), 3, 'pfn-repeated'],
    ['a control page reused as data', gpadl([1, 2, 3, 1]), 2, 'pfn-repeated'],
    ['a page shared by both rings', gpadl([1, 2, 3, 5, 6, 2]), 3, 'pfn-repeated'],
  ])('refuses %s with its reason', (_name, range, offset, reason) => {
    const error = thrown(() => gpadlChannelRings(new SharedArrayBuffer(16 * PAGE), range, offset));
    expect(error).toBeInstanceOf(GuestMemoryError);
    expect((error as GuestMemoryError).code).toBe('VIRIDIAN_GUEST_MEMORY');
    expect((error as GuestMemoryError).reason).toBe(reason);
  });

  it('refuses a ring beyond the u32 indices before looking at the pages', () => {
    const pages = 0x8000_0000 / PAGE + 4;
    const error = thrown(() => gpadlChannelRings(new SharedArrayBuffer(PAGE), gpadl(new Array<number>(pages).fill(0)), 2));
    expect((error as GuestMemoryError).reason).toBe('ring-too-large');
  });

  it('uses its own copy of the page list', () => {
    const buffer = new SharedArrayBuffer(16 * PAGE);
    const pfns = [1, 9, 3, 4];
    const rings = gpadlChannelRings(buffer, gpadl(pfns), 2);
    pfns[0] = 15;
    rings.ringMemory('send').storeControl(RingControl.writeIndex, 8);
    expect(new DataView(buffer).getUint32(PAGE, true)).toBe(8);
  });
});
