/**
 * Unit tests of PagedRingMemory: control words and data bytes land at the GPAs of the ring's
 * scattered pages, copies split at page boundaries, every construction check has a malformed-input
 * test, and copies that stay on the small-copy path create no views.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GuestMemoryError } from '../errors.ts';
import { RingControl } from '../protocol/ring-layout.ts';
import { PagedRingMemory } from './paged-ring-memory.ts';

const PAGE = 4096;

/** Guest memory of `pages` pages. */
function memory(pages: number): SharedArrayBuffer {
  return new SharedArrayBuffer(pages * PAGE);
}

function pattern(length: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed + i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('PagedRingMemory', () => {
  // Control page 5, data pages 9, 2, 7 (data offsets 0, 4096, 8192).
  const PFNS = [5, 9, 2, 7];

  it('keeps control words in the control page, accessed as u32', () => {
    const buffer = memory(10);
    const ring = new PagedRingMemory(buffer, PFNS);
    expect(ring.dataSize).toBe(3 * PAGE);
    ring.storeControl(RingControl.writeIndex, 0x1238);
    ring.storeControl(RingControl.featureBits, 0xffff_fff0);
    const view = new DataView(buffer);
    expect(view.getUint32(5 * PAGE + RingControl.writeIndex, true)).toBe(0x1238);
    expect(view.getUint32(5 * PAGE + RingControl.featureBits, true)).toBe(0xffff_fff0);
    expect(ring.loadControl(RingControl.featureBits)).toBe(0xffff_fff0);
    view.setUint32(5 * PAGE + RingControl.readIndex, 0x8000_0008, true);
    expect(ring.loadControl(RingControl.readIndex)).toBe(0x8000_0008);

    new Uint8Array(buffer, 5 * PAGE, PAGE).fill(0xab);
    ring.clearControl();
    expect(new Uint8Array(buffer, 5 * PAGE, PAGE).every((byte) => byte === 0)).toBe(true);
  });

  it.each([
    ['a small aligned copy inside a page', 8, 16],
    ['a small unaligned copy inside a page', 13, 21],
    ['a large copy inside a page', 256, 3000],
    ['a small copy across a boundary', PAGE - 8, 16],
    ['an unaligned copy across a boundary', PAGE - 5, 11],
    ['a large copy across two boundaries', PAGE - 100, PAGE + 300],
    ['the whole data area', 0, 3 * PAGE],
  ])('writes and reads %s at the right GPAs', (_name, offset, length) => {
    const buffer = memory(10);
    const ring = new PagedRingMemory(buffer, PFNS);
    const source = pattern(length + 8, offset);
    ring.write(offset, source, 4, length);

    const guest = new Uint8Array(buffer);
    const dataPfns = PFNS.slice(1);
    for (let i = 0; i < length; i++) {
      const at = offset + i;
      const gpa = dataPfns[Math.floor(at / PAGE)]! * PAGE + (at % PAGE);
      if (guest[gpa] !== source[4 + i]) throw new Error(`byte ${i} (data offset ${at}) not at GPA ${gpa}`);
    }
    // Nothing else was touched: the control page and the unused pages stay zero.
    let written = 0;
    for (const byte of guest) if (byte !== 0) written++;
    expect(written).toBeLessThanOrEqual(length);

    const target = new Uint8Array(length + 4);
    ring.read(offset, target, 4, length);
    expect(target.subarray(4)).toEqual(source.subarray(4, 4 + length));
  });

  it('zeroes across page boundaries and nothing else', () => {
    const buffer = memory(10);
    const ring = new PagedRingMemory(buffer, PFNS);
    ring.write(0, pattern(3 * PAGE), 0, 3 * PAGE);
    ring.zero(PAGE - 10, PAGE + 20);
    const data = new Uint8Array(3 * PAGE);
    ring.read(0, data, 0, data.length);
    const expected = pattern(3 * PAGE);
    expected.fill(0, PAGE - 10, 2 * PAGE + 10);
    expect(data).toEqual(expected);
    expect(new Uint8Array(buffer, 9 * PAGE - 10, 10).every((byte) => byte === 0)).toBe(true);
    expect(new Uint8Array(buffer, 2 * PAGE, PAGE).every((byte) => byte === 0)).toBe(true);
    expect(new Uint8Array(buffer, 7 * PAGE, 10).every((byte) => byte === 0)).toBe(true);
    expect(new Uint8Array(buffer, 7 * PAGE + 10, 10)).toEqual(expected.subarray(2 * PAGE + 10, 2 * PAGE + 20));
  });

  it('creates no views for small copies, inside a page or across one', () => {
    const ring = new PagedRingMemory(memory(10), PFNS);
    const scratch = new Uint8Array(512);
    ring.write(0, scratch, 0, 16); // primes the word-view cache for this buffer
    const subarray = vi.spyOn(Uint8Array.prototype, 'subarray');
    const int32 = vi.spyOn(globalThis, 'Int32Array');
    for (let i = 0; i < 1000; i++) {
      ring.write((i * 8) % (3 * PAGE - 256), scratch, 0, 200);
      ring.read((i * 8) % (3 * PAGE - 256), scratch, 8, 248);
      ring.read(PAGE - 8, scratch, 0, 16);
      ring.write(2 * PAGE - 3, scratch, 1, 7);
    }
    expect(subarray).not.toHaveBeenCalled();
    expect(int32).not.toHaveBeenCalled();
    // The spies do see views: a large copy makes one per page, a new peer buffer one word view.
    ring.read(PAGE - 300, new Uint8Array(600), 0, 600);
    expect(subarray).toHaveBeenCalledTimes(2);
    ring.write(0, new Uint8Array(8), 0, 8);
    expect(int32).toHaveBeenCalledTimes(1);
  });

  it('serves a ring in a growable buffer once the pages exist', () => {
    const buffer = new SharedArrayBuffer(4 * PAGE, { maxByteLength: 16 * PAGE });
    expect((thrown(() => new PagedRingMemory(buffer, [1, 3, 6])) as GuestMemoryError).reason).toBe('pfn-beyond-memory');
    buffer.grow(8 * PAGE);
    const ring = new PagedRingMemory(buffer, [1, 3, 6]);
    ring.write(PAGE - 2, pattern(4), 0, 4);
    expect(new Uint8Array(buffer, 6 * PAGE, 2)).toEqual(pattern(4).subarray(2));
  });

  it.each<[string, readonly number[], GuestMemoryError['reason']]>([
    ['no pages', [], 'ring-too-small'],
    ['only a control page', [3], 'ring-too-small'],
    ['a PFN beyond memory', [1, 10], 'pfn-beyond-memory'],
    ['a huge PFN', [1, 2 ** 40], 'pfn-beyond-memory'],
    ['a negative PFN', [1, -1], 'pfn-invalid'],
    ['a fractional PFN', [1, 1.5], 'pfn-invalid'],
    ['a NaN PFN', [1, Number.NaN], 'pfn-invalid'],
    ['a repeated data page', [1, 2, 2], 'pfn-repeated'],
    ['the control page as a data page', [4, 2, 4], 'pfn-repeated'],
  ])('rejects %s with GuestMemoryError', (_name, pfns, reason) => {
    const error = thrown(() => new PagedRingMemory(memory(10), pfns));
    expect(error).toBeInstanceOf(GuestMemoryError);
    expect((error as GuestMemoryError).code).toBe('VIRIDIAN_GUEST_MEMORY');
    expect((error as GuestMemoryError).reason).toBe(reason);
  });

  it('rejects a data area beyond the u32 indices before looking at the pages', () => {
    const pfns = new Array<number>(0x8000_0000 / PAGE + 2).fill(0);
    expect((thrown(() => new PagedRingMemory(memory(1), pfns)) as GuestMemoryError).reason).toBe('ring-too-large');
  });

  it('keeps its own copy of the page list', () => {
    const buffer = memory(10);
    const pfns = [1, 2, 3];
    const ring = new PagedRingMemory(buffer, pfns);
    pfns[1] = 9;
    ring.write(0, pattern(4), 0, 4);
    expect(new Uint8Array(buffer, 2 * PAGE, 4)).toEqual(pattern(4));
    expect(new Uint8Array(buffer, 9 * PAGE, 4).every((byte) => byte === 0)).toBe(true);
    expect(ring.pfns).toEqual([1, 2, 3]);
  });
});
