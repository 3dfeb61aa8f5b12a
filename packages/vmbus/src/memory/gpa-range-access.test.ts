/**
 * Tests of GpaRangeAccess and GpadlMemory: reads and writes land at the GPAs the range names
 * (byte offset into the first page, scattered PFNs), views merge consecutive pages, and every
 * construction and access check has a malformed-input test.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuestMemoryError, InvalidArgumentError, type GuestMemoryErrorReason } from '../errors.ts';
import type { GpaRange } from '../ring/incoming-packet.ts';
import { GpaRangeAccess, GpadlMemory } from './gpa-range-access.ts';

const PAGE = 4096;

function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}

function pattern(length: number, seed = 3): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed + i * 11 + (i >> 8)) & 0xff;
  return bytes;
}

/** The GPA of byte `offset` of `range`, computed the slow way. */
function gpaOf(range: GpaRange, offset: number): number {
  const position = range.byteOffset + offset;
  return range.pfns[Math.floor(position / PAGE)]! * PAGE + (position % PAGE);
}

describe('GpaRangeAccess', () => {
  // 10000 bytes from 1000 into PFN 7, then PFNs 3, 4 (consecutive), then 12.
  const RANGE: GpaRange = { byteCount: 10_000, byteOffset: 1000, pfns: [7, 3, 4] };

  it('writes and reads at the GPAs the range names', () => {
    const buffer = new SharedArrayBuffer(16 * PAGE);
    const access = new GpaRangeAccess(buffer, RANGE);
    expect(access.byteCount).toBe(10_000);
    const source = pattern(10_000);
    access.write(0, source, 0, source.length);
    const guest = new Uint8Array(buffer);
    for (let i = 0; i < source.length; i++) {
      if (guest[gpaOf(RANGE, i)] !== source[i]) throw new Error(`byte ${i} not at GPA ${gpaOf(RANGE, i)}`);
    }
    // Nothing outside the range: the first 1000 bytes of PFN 7 and the tail of PFN 4 stay zero.
    expect(guest.subarray(7 * PAGE, 7 * PAGE + 1000).every((byte) => byte === 0)).toBe(true);
    expect(guest.subarray(4 * PAGE + (11_000 - 2 * PAGE), 5 * PAGE).every((byte) => byte === 0)).toBe(true);

    const back = new Uint8Array(10_004);
    access.read(0, back, 4, 10_000);
    expect(Buffer.from(back.subarray(4)).equals(Buffer.from(source))).toBe(true);
  });

  it('reads and writes any sub-span like a flat array would (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4095 }),
        fc.integer({ min: 1, max: 5 * PAGE }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 10 }),
        (byteOffset, byteCount, seed, ops) => {
          const pages = Math.ceil((byteOffset + byteCount) / PAGE);
          // Some consecutive PFNs, some not, from 24 pages (repeats allowed in a data range).
          const pfns = Array.from({ length: pages }, (_, k) => ((seed >> k) & 1 ? (seed + k) % 24 : (seed * (k + 3)) % 24));
          const range = { byteCount, byteOffset, pfns };
          const access = new GpaRangeAccess(new SharedArrayBuffer(24 * PAGE), range);
          const guest = new Uint8Array(24 * PAGE); // the model: where each byte should land
          for (const [a, b, value] of ops) {
            const offset = a % byteCount;
            const length = b % (byteCount - offset + 1);
            const data = new Uint8Array(length).fill(value);
            access.write(offset, data, 0, length);
            for (let i = 0; i < length; i++) guest[gpaOf(range, offset + i)] = value;
          }
          const read = new Uint8Array(byteCount);
          access.copyTo(read);
          const expected = read.map((_, i) => guest[gpaOf(range, i)]!);
          expect(Buffer.from(read).equals(Buffer.from(expected))).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('copyTo / copyFrom / fill move whole arrays at an offset', () => {
    const buffer = new SharedArrayBuffer(16 * PAGE);
    const access = new GpaRangeAccess(buffer, RANGE);
    access.copyFrom(pattern(5000), 3000);
    const out = new Uint8Array(5000);
    access.copyTo(out, 3000);
    expect(out).toEqual(pattern(5000));
    access.fill(3100, 100, 0xaa);
    access.copyTo(out, 3000);
    expect(out.subarray(100, 200).every((byte) => byte === 0xaa)).toBe(true);
    expect(out.subarray(200)).toEqual(pattern(5000).subarray(200));
    expect(new Uint8Array(buffer)[gpaOf(RANGE, 3150)]).toBe(0xaa);
  });

  it('views() merges consecutive pages into one view and splits where they stop', () => {
    const buffer = new SharedArrayBuffer(16 * PAGE);
    const access = new GpaRangeAccess(buffer, RANGE);
    const views = access.views();
    expect(views.map((view) => [view.byteOffset, view.length])).toEqual([
      [7 * PAGE + 1000, PAGE - 1000],
      [3 * PAGE, 10_000 - (PAGE - 1000)], // PFNs 3 and 4 are one run
    ]);
    for (const view of views) expect(view.buffer).toBe(buffer);
    // A sub-span inside the run; one ending exactly at a page boundary; an empty one.
    expect(access.views(PAGE - 1000 + 10, PAGE).map((view) => [view.byteOffset, view.length])).toEqual([[3 * PAGE + 10, PAGE]]);
    expect(access.views(0, PAGE - 1000).map((view) => [view.byteOffset, view.length])).toEqual([[7 * PAGE + 1000, PAGE - 1000]]);
    expect(access.views(500, 0)).toEqual([]);

    const all = new GpaRangeAccess(buffer, { byteCount: 4 * PAGE, byteOffset: 0, pfns: [2, 3, 4, 5] });
    expect(all.views().map((view) => [view.byteOffset, view.length])).toEqual([[2 * PAGE, 4 * PAGE]]);
    const none = new GpaRangeAccess(buffer, { byteCount: 3 * PAGE, byteOffset: 0, pfns: [5, 4, 3] });
    expect(none.views()).toHaveLength(3);
  });

  it('checks PFNs against the current length of a growable buffer', () => {
    const buffer = new SharedArrayBuffer(4 * PAGE, { maxByteLength: 32 * PAGE });
    expect((thrown(() => new GpaRangeAccess(buffer, RANGE)) as GuestMemoryError).reason).toBe('pfn-beyond-memory');
    buffer.grow(8 * PAGE);
    const access = new GpaRangeAccess(buffer, RANGE);
    access.write(9999, new Uint8Array([0x5a]), 0, 1);
    expect(new Uint8Array(buffer)[gpaOf(RANGE, 9999)]).toBe(0x5a);
  });

  it.each<[string, GpaRange, GuestMemoryErrorReason]>([
    ['a zero byte count', { byteCount: 0, byteOffset: 0, pfns: [] }, 'range-empty'],
    ['a negative byte count', { byteCount: -1, byteOffset: 0, pfns: [1] }, 'range-invalid'],
    ['a byte count beyond u32', { byteCount: 2 ** 32, byteOffset: 0, pfns: [1] }, 'range-invalid'],
    ['a fractional byte count', { byteCount: 1.5, byteOffset: 0, pfns: [1] }, 'range-invalid'],
    ['a NaN byte offset', { byteCount: 1, byteOffset: Number.NaN, pfns: [1] }, 'range-invalid'],
    ['a byte offset of a page', { byteCount: 1, byteOffset: PAGE, pfns: [1, 2] }, 'range-offset-beyond-page'],
    ['too few PFNs', { byteCount: PAGE + 1, byteOffset: 0, pfns: [1] }, 'range-page-count-mismatch'],
    ['too many PFNs', { byteCount: 100, byteOffset: 4000, pfns: [1, 2, 3] }, 'range-page-count-mismatch'],
    ['a huge byte count with one PFN', { byteCount: 0xffff_ffff, byteOffset: 0, pfns: [1] }, 'range-page-count-mismatch'],
    ['a PFN beyond memory', { byteCount: 2 * PAGE, byteOffset: 0, pfns: [1, 16] }, 'pfn-beyond-memory'],
    ['a PFN far beyond memory', { byteCount: 10, byteOffset: 0, pfns: [2 ** 40 - 1] }, 'pfn-beyond-memory'],
    ['a negative PFN', { byteCount: 10, byteOffset: 0, pfns: [-1] }, 'pfn-invalid'],
  ])('refuses %s', (_name, range, reason) => {
    for (const make of [() => new GpaRangeAccess(new SharedArrayBuffer(16 * PAGE), range), () => new GpadlMemory(new SharedArrayBuffer(16 * PAGE), range)]) {
      const error = thrown(make);
      expect(error).toBeInstanceOf(GuestMemoryError);
      expect((error as GuestMemoryError).code).toBe('VIRIDIAN_GUEST_MEMORY');
      expect((error as GuestMemoryError).reason).toBe(reason);
    }
  });

  it.each<[string, (access: GpaRangeAccess) => unknown]>([
    ['a read past the end', (a) => a.read(9000, new Uint8Array(2000), 0, 1001)],
    ['a read at a negative offset', (a) => a.read(-1, new Uint8Array(8), 0, 1)],
    ['a read of negative length', (a) => a.read(0, new Uint8Array(8), 0, -1)],
    ['a read at a fractional offset', (a) => a.read(0.5, new Uint8Array(8), 0, 1)],
    ['a write past the end', (a) => a.write(10_000, new Uint8Array(1), 0, 1)],
    ['a write at an offset beyond u32', (a) => a.write(2 ** 40, new Uint8Array(1), 0, 1)],
    ['a fill past the end', (a) => a.fill(1, 10_000)],
    ['copyTo past the end', (a) => a.copyTo(new Uint8Array(10_001))],
    ['copyFrom past the end', (a) => a.copyFrom(new Uint8Array(10), 9991)],
    ['views past the end', (a) => a.views(0, 10_001)],
    ['views at a NaN offset', (a) => a.views(Number.NaN, 1)],
    ['views at an offset past the end (default length)', (a) => a.views(10_001)],
  ])('refuses %s with access-out-of-range', (_name, access) => {
    const error = thrown(() => access(new GpaRangeAccess(new SharedArrayBuffer(16 * PAGE), RANGE)));
    expect(error).toBeInstanceOf(GuestMemoryError);
    expect((error as GuestMemoryError).reason).toBe('access-out-of-range');
  });

  it('refuses local spans outside the local array with InvalidArgumentError', () => {
    const access = new GpaRangeAccess(new SharedArrayBuffer(16 * PAGE), RANGE);
    expect(thrown(() => access.read(0, new Uint8Array(8), 4, 5))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => access.write(0, new Uint8Array(8), -1, 2))).toBeInstanceOf(InvalidArgumentError);
    expect(thrown(() => access.write(0, new Uint8Array(8), 0, 9))).toBeInstanceOf(InvalidArgumentError);
  });

  it('keeps its own copy of the PFNs', () => {
    const buffer = new SharedArrayBuffer(16 * PAGE);
    const pfns = [5, 6];
    const access = new GpaRangeAccess(buffer, { byteCount: 2 * PAGE, byteOffset: 0, pfns });
    pfns[0] = 15;
    access.write(0, new Uint8Array([9]), 0, 1);
    expect(new Uint8Array(buffer)[5 * PAGE]).toBe(9);
    expect(new Uint8Array(buffer)[15 * PAGE]).toBe(0);
  });
});

describe('GpadlMemory', () => {
  it('reads and writes at offsets within a pre-shared GPADL buffer', () => {
    const buffer = new SharedArrayBuffer(32 * PAGE);
    // A 6-page receive buffer the guest scattered over two runs.
    const gpadl = new GpadlMemory(buffer, { byteCount: 6 * PAGE, byteOffset: 0, pfns: [20, 21, 22, 8, 9, 10] });
    gpadl.write(3 * PAGE - 2, new Uint8Array([1, 2, 3, 4]), 0, 4);
    const guest = new Uint8Array(buffer);
    expect([guest[23 * PAGE - 2], guest[23 * PAGE - 1], guest[8 * PAGE], guest[8 * PAGE + 1]]).toEqual([1, 2, 3, 4]);
    const back = new Uint8Array(4);
    gpadl.read(3 * PAGE - 2, back, 0, 4);
    expect(back).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(gpadl.views().map((view) => [view.byteOffset, view.length])).toEqual([
      [20 * PAGE, 3 * PAGE],
      [8 * PAGE, 3 * PAGE],
    ]);
    expect(thrown(() => gpadl.write(6 * PAGE - 1, new Uint8Array(2), 0, 2))).toBeInstanceOf(GuestMemoryError);
  });
});
