/**
 * Tests of GuestPageAllocator: first fit, coalescing, the free checks (out of range, double free,
 * overlap) and argument checks, plus a property against a per-page bitmap model.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, PageAllocationError, type PageAllocationErrorReason } from '../errors.ts';
import { GuestPageAllocator } from './guest-page-allocator.ts';

function thrown(make: () => unknown): unknown {
  try {
    make();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('GuestPageAllocator', () => {
  it('hands out the lowest run that fits, above the reserved pages', () => {
    const pages = new GuestPageAllocator(32, 4);
    expect(pages.available).toBe(28);
    expect(pages.allocate(4)).toBe(4);
    expect(pages.allocate(2)).toBe(8);
    expect(pages.allocate(6)).toBe(10);
    expect(pages.available).toBe(16);
    pages.free(8, 2); // a 2-page hole at 8
    expect(pages.allocate(3)).toBe(16); // does not fit the hole
    expect(pages.allocate(1)).toBe(8); // first fit: the hole
    expect(pages.allocate(13)).toBe(19);
    expect(pages.allocate(1)).toBe(9);
    expect(pages.available).toBe(0);
    expect(pages.allocate(1)).toBeUndefined();
  });

  it('coalesces freed runs with both neighbours', () => {
    const pages = new GuestPageAllocator(16, 0);
    const a = pages.allocate(4)!;
    const b = pages.allocate(4)!;
    const c = pages.allocate(4)!;
    expect(pages.allocate(5)).toBeUndefined();
    pages.free(a, 4);
    pages.free(c, 4); // joins the free tail
    expect(pages.allocate(9)).toBeUndefined();
    pages.free(b, 4); // joins both sides: one run of 16
    expect(pages.available).toBe(16);
    expect(pages.allocate(16)).toBe(0);
  });

  it('accepts a partial free of an allocation', () => {
    const pages = new GuestPageAllocator(8, 0);
    expect(pages.allocate(8)).toBe(0);
    pages.free(2, 3);
    expect(pages.available).toBe(3);
    expect(pages.allocate(3)).toBe(2);
  });

  it('is empty when no pages are usable', () => {
    const pages = new GuestPageAllocator(4, 4);
    expect(pages.available).toBe(0);
    expect(pages.allocate(1)).toBeUndefined();
  });

  it.each<[string, (pages: GuestPageAllocator) => void, PageAllocationErrorReason]>([
    ['a run below the usable pages', (p) => p.free(1, 2), 'out-of-range'],
    ['a run past the end', (p) => p.free(30, 4), 'out-of-range'],
    ['a run never allocated', (p) => p.free(20, 2), 'double-free'],
    ['a run freed twice', (p) => p.free(4, 4), 'double-free'],
    ['a run inside a free extent', (p) => p.free(5, 1), 'double-free'],
    ['a run starting in free space', (p) => p.free(6, 4), 'overlap'],
    ['a run ending in free space', (p) => p.free(10, 4), 'overlap'],
    ['a run spanning a free extent', (p) => p.free(8, 6), 'overlap'],
  ])('refuses to free %s', (_name, act, reason) => {
    const pages = new GuestPageAllocator(32, 2);
    // Allocated: 2-3, 8-11, 13. Free: 4-7, 12, 14-31.
    pages.allocate(2);
    pages.allocate(4);
    pages.allocate(4);
    pages.allocate(1);
    pages.allocate(1);
    pages.allocate(1);
    pages.free(4, 4);
    pages.free(12, 1);
    pages.free(14, 1);
    const before = pages.available;
    const error = thrown(() => act(pages));
    expect(error).toBeInstanceOf(PageAllocationError);
    expect((error as PageAllocationError).code).toBe('VIRIDIAN_PAGE_ALLOCATION');
    expect((error as PageAllocationError).reason).toBe(reason);
    expect(pages.available).toBe(before); // a refused free changes nothing
  });

  it.each<[string, () => unknown]>([
    ['a first usable page past the end', () => new GuestPageAllocator(4, 5)],
    ['a negative first usable page', () => new GuestPageAllocator(4, -1)],
    ['a fractional size', () => new GuestPageAllocator(4.5, 0)],
    ['allocating 0 pages', () => new GuestPageAllocator(4, 0).allocate(0)],
    ['allocating a fraction of a page', () => new GuestPageAllocator(4, 0).allocate(0.5)],
    ['freeing 0 pages', () => new GuestPageAllocator(4, 0).free(0, 0)],
    ['freeing at a NaN PFN', () => new GuestPageAllocator(4, 0).free(Number.NaN, 1)],
  ])('refuses %s with InvalidArgumentError', (_name, make) => {
    expect(thrown(make)).toBeInstanceOf(InvalidArgumentError);
  });

  it('agrees with a per-page model under random allocations and frees (property)', () => {
    type Op = { op: 'allocate'; pages: number } | { op: 'free'; pick: number; part: number } | { op: 'bad'; first: number; pages: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.integer({ min: 1, max: 12 }).map((pages) => ({ op: 'allocate' as const, pages })),
      fc.tuple(fc.nat(), fc.nat()).map(([pick, part]) => ({ op: 'free' as const, pick, part })),
      fc.tuple(fc.nat({ max: 70 }), fc.integer({ min: 1, max: 10 })).map(([first, pages]) => ({ op: 'bad' as const, first, pages })),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.array(op, { maxLength: 80, size: 'max' }), (reserved, ops) => {
        const total = 64;
        const allocator = new GuestPageAllocator(total, reserved);
        const used = new Array<boolean>(total).fill(false);
        for (let i = 0; i < reserved; i++) used[i] = true;
        const live: [number, number][] = [];
        for (const step of ops) {
          if (step.op === 'allocate') {
            const got = allocator.allocate(step.pages);
            // First fit in the model: the lowest start of `pages` free pages.
            let want: number | undefined;
            for (let start = reserved; start + step.pages <= total && want === undefined; start++) {
              if (used.slice(start, start + step.pages).every((u) => !u)) want = start;
            }
            expect(got).toBe(want);
            if (got !== undefined) {
              used.fill(true, got, got + step.pages);
              live.push([got, step.pages]);
            }
          } else if (step.op === 'free') {
            if (live.length === 0) continue;
            const [first, pages] = live.splice(step.pick % live.length, 1)[0]!;
            // Free a prefix, keep the rest allocated (partial frees are allowed).
            const part = 1 + (step.part % pages);
            allocator.free(first, part);
            used.fill(false, first, first + part);
            if (part < pages) live.push([first + part, pages - part]);
          } else {
            const end = step.first + step.pages;
            const inRange = step.first >= reserved && end <= total;
            const allUsed = inRange && used.slice(step.first, end).every((u) => u);
            if (allUsed) continue; // a valid free: covered above
            const error = thrown(() => allocator.free(step.first, step.pages)) as PageAllocationError;
            const freeCount = inRange ? used.slice(step.first, end).filter((u) => !u).length : 0;
            expect(error.reason).toBe(!inRange ? 'out-of-range' : freeCount === step.pages ? 'double-free' : 'overlap');
          }
          expect(allocator.available).toBe(used.filter((u) => !u).length);
        }
      }),
      { numRuns: 100 },
    );
  });
});
