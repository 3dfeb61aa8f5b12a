/**
 * Model-based property: random writes, concurrent write batches, trims, reads, flushes and
 * reopens against a Buffer model, for every format here (differencing over a patterned parent).
 * A trim changes the model as the disk's `trimReadsZeros` promises: zeros, or (differencing) the
 * parent's data, or (raw and fixed, where it is a no-op) nothing.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createDisk, openDisk } from './disk-files.ts';
import { pattern, withTempDir } from './test-helpers.ts';
import type { DiskFormat, VirtualDisk } from './virtual-disk.ts';

const SIZE = 4 * 2 ** 20;
const SECTORS = SIZE / 512;

type Op =
  | { kind: 'write'; sector: number; count: number; seed: number }
  | { kind: 'batch'; writes: { sector: number; count: number; seed: number }[] }
  | { kind: 'trim'; sector: number; count: number }
  | { kind: 'read'; sector: number; count: number }
  | { kind: 'flush' }
  | { kind: 'reopen' };

const range = fc.integer({ min: 0, max: SECTORS - 1 }).chain((sector) => fc.record({ sector: fc.constant(sector), count: fc.integer({ min: 1, max: Math.min(2100, SECTORS - sector) }) }));
const write = fc.record({ range, seed: fc.nat() }).map(({ range: r, seed }) => ({ ...r, seed }));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: write.map((w) => ({ kind: 'write' as const, ...w })) },
  { weight: 2, arbitrary: fc.array(write, { minLength: 2, maxLength: 6 }).map((writes) => ({ kind: 'batch' as const, writes })) },
  { weight: 2, arbitrary: range.map((r) => ({ kind: 'trim' as const, ...r })) },
  { weight: 3, arbitrary: range.map((r) => ({ kind: 'read' as const, ...r })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

/** Keeps the writes of a batch that overlap no earlier one (overlapping concurrent writes are unordered). */
function disjoint(writes: { sector: number; count: number; seed: number }[]): { sector: number; count: number; seed: number }[] {
  const kept: typeof writes = [];
  for (const w of writes) if (kept.every((k) => w.sector + w.count <= k.sector || k.sector + k.count <= w.sector)) kept.push(w);
  return kept;
}

async function runFormat(format: DiskFormat, ops: Op[]): Promise<void> {
  await withTempDir(async (dir) => {
    const path = join(dir, 'disk');
    let parentData: Buffer | null = null;
    let disk: VirtualDisk;
    if (format === 'vhd-differencing') {
      parentData = pattern(SIZE, 77);
      const parent = await createDisk(join(dir, 'parent.vhd'), { format: 'vhd-dynamic', size: SIZE, blockSize: 256 * 1024 });
      await parent.write(0, parentData.subarray(0, SIZE / 2));
      await parent.close();
      parentData.fill(0, SIZE / 2);
      disk = await createDisk(path, { format, parentPath: join(dir, 'parent.vhd'), blockSize: 512 * 1024 });
    } else {
      disk = await createDisk(path, { format, size: SIZE, blockSize: 512 * 1024 });
    }
    const model: Buffer = parentData === null ? Buffer.alloc(SIZE) : Buffer.from(parentData);
    try {
      for (const o of ops) {
        switch (o.kind) {
          case 'write': {
            const data = pattern(o.count * 512, o.seed);
            await disk.write(o.sector * 512, data);
            data.copy(model, o.sector * 512);
            break;
          }
          case 'batch': {
            const writes = disjoint(o.writes);
            await Promise.all(writes.map((w) => disk.write(w.sector * 512, pattern(w.count * 512, w.seed))));
            for (const w of writes) pattern(w.count * 512, w.seed).copy(model, w.sector * 512);
            break;
          }
          case 'trim': {
            await disk.trim(o.sector * 512, o.count * 512);
            const [from, to] = [o.sector * 512, (o.sector + o.count) * 512];
            if (disk.trimReadsZeros) model.fill(0, from, to);
            else if (parentData !== null) parentData.copy(model, from, from, to);
            break;
          }
          case 'read':
            expect((await disk.read(o.sector * 512, o.count * 512)).equals(model.subarray(o.sector * 512, (o.sector + o.count) * 512))).toBe(true);
            break;
          case 'flush':
            await disk.flush();
            break;
          case 'reopen':
            await disk.close();
            disk = await openDisk(path);
            expect(disk.format).toBe(format);
            break;
        }
      }
      expect((await disk.read(0, SIZE)).equals(model)).toBe(true);
    } finally {
      await disk.close();
    }
  });
}

describe('disks behave like a buffer', () => {
  for (const format of ['raw', 'vhd-fixed', 'vhd-dynamic', 'vhd-differencing'] as const) {
    test(format, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 25 }), (ops) => runFormat(format, ops)),
        { numRuns: 30 },
      );
    });
  }
});
