/**
 * VhdxDisk behaviour against an in-memory model: fast-check action sequences (write, trim, flush,
 * reopen, read) on dynamic and differencing disks (chains up to depth 3), fixed disks, 4 KiB
 * sectors, resize (grow with BAT relocation, shrink), argument errors.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDisk, openDisk } from '../disk-files.ts';
import { DiskOutOfRangeError, DiskReadOnlyError, DiskUnalignedError, DiskUnsupportedError } from '../errors.ts';
import type { VirtualDisk } from '../virtual-disk.ts';
import './index.ts';
import { pattern, tempFolder } from './vhdx.test-support.ts';

const MiB = 1024 * 1024;
let folder: Awaited<ReturnType<typeof tempFolder>>;
beforeAll(async () => {
  folder = await tempFolder();
});
afterAll(async () => {
  await folder.remove();
});

type Action =
  | { kind: 'write'; sector: number; count: number; tag: number }
  | { kind: 'trim'; sector: number; count: number }
  | { kind: 'read'; sector: number; count: number }
  | { kind: 'flush' }
  | { kind: 'reopen' };

const SIZE = 6 * MiB + 3 * 512;
const SECTORS = SIZE / 512;

function actions(): fc.Arbitrary<Action[]> {
  const range = fc
    .tuple(fc.integer({ min: 0, max: SECTORS - 1 }), fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 5000 })))
    .map(([sector, count]) => ({ sector, count: Math.min(count, SECTORS - sector) }));
  return fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.tuple(range, fc.integer({ min: 1, max: 1000 })).map(([r, tag]) => ({ kind: 'write' as const, ...r, tag })) },
      { weight: 2, arbitrary: range.map((r) => ({ kind: 'trim' as const, ...r })) },
      { weight: 2, arbitrary: range.map((r) => ({ kind: 'read' as const, ...r })) },
      { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
    ),
    { minLength: 1, maxLength: 25 },
  );
}

async function runModel(disk: VirtualDisk, model: Buffer, list: Action[], path: string): Promise<VirtualDisk> {
  for (const action of list) {
    switch (action.kind) {
      case 'write': {
        const data = pattern(action.sector * 512, action.count * 512, action.tag);
        await disk.write(action.sector * 512, data);
        data.copy(model, action.sector * 512);
        break;
      }
      case 'trim':
        await disk.trim(action.sector * 512, action.count * 512);
        if (disk.trimReadsZeros) model.fill(0, action.sector * 512, (action.sector + action.count) * 512);
        break;
      case 'read':
        expect((await disk.read(action.sector * 512, action.count * 512)).equals(model.subarray(action.sector * 512, (action.sector + action.count) * 512))).toBe(true);
        break;
      case 'flush':
        await disk.flush();
        break;
      case 'reopen':
        await disk.close();
        disk = await openDisk(path);
        break;
    }
  }
  expect((await disk.read(0, SIZE)).equals(model)).toBe(true);
  return disk;
}

describe('VhdxDisk against a model', () => {
  it('dynamic: random writes, trims, flushes and reopens read back', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(actions(), async (list) => {
        const path = folder.file(`dyn-${n++}.vhdx`);
        let disk = await createDisk(path, { format: 'vhdx-dynamic', size: SIZE, blockSize: MiB });
        disk = await runModel(disk, Buffer.alloc(SIZE), list, path);
        await disk.close();
        const again = await openDisk(path, { readOnly: true });
        expect(again.info().details['logGuid']).toBe('00000000-0000-0000-0000-000000000000');
        await again.close();
      }),
      { numRuns: 25 },
    );
  });

  it('differencing chains (depth 1–3): reads fall through to the parents for absent sectors', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(actions(), { minLength: 3, maxLength: 3 }), async (depth, lists) => {
        const model = Buffer.alloc(SIZE);
        const base = folder.file(`base-${n}.vhdx`);
        let disk = await createDisk(base, { format: 'vhdx-dynamic', size: SIZE, blockSize: MiB });
        disk = await runModel(disk, model, (lists[0] ?? []).filter((a) => a.kind !== 'reopen'), base);
        await disk.close();
        let parent = base;
        for (let level = 1; level <= depth; level++) {
          const path = folder.file(`child-${n}-${level}.vhdx`);
          disk = await createDisk(path, { format: 'vhdx-differencing', parentPath: parent, blockSize: MiB });
          expect(disk.virtualSize).toBe(SIZE);
          disk = await runModel(disk, model, lists[level - 1] ?? [], path);
          await disk.close();
          parent = path;
        }
        n++;
        const top = await openDisk(parent, { readOnly: true });
        expect((await top.read(0, SIZE)).equals(model)).toBe(true);
        let info = top.info();
        for (let level = depth; level > 0; level--) {
          expect(info.format).toBe('vhdx-differencing');
          expect(info.parent).not.toBeNull();
          info = info.parent ?? info;
        }
        expect(info.format).toBe('vhdx-dynamic');
        await top.close();
      }),
      { numRuns: 12 },
    );
  });
});

describe('VhdxDisk', () => {
  it('fixed disks are fully allocated; trim is a no-op', async () => {
    const path = folder.file('fixed.vhdx');
    const disk = await createDisk(path, { format: 'vhdx-fixed', size: 3 * MiB, blockSize: MiB });
    expect(disk.info().allocatedBytes).toBe(3 * MiB);
    expect(disk.trimReadsZeros).toBe(false);
    await disk.write(MiB - 512, pattern(MiB - 512, 4096, 9));
    await disk.trim(0, 3 * MiB);
    expect((await disk.read(MiB - 512, 4096)).equals(pattern(MiB - 512, 4096, 9))).toBe(true);
    await disk.resize(5 * MiB);
    expect(disk.info().allocatedBytes).toBe(5 * MiB);
    expect((await disk.read(3 * MiB, 2 * MiB)).every((b) => b === 0)).toBe(true);
    await disk.close();
  });

  it('4 KiB logical sectors', async () => {
    const path = folder.file('4k.vhdx');
    const disk = await createDisk(path, { format: 'vhdx-dynamic', size: 8 * MiB, blockSize: MiB, logicalSectorSize: 4096 });
    expect(disk.logicalSectorSize).toBe(4096);
    await expect(disk.write(512, Buffer.alloc(512))).rejects.toBeInstanceOf(DiskUnalignedError);
    await disk.write(4096 * 3, pattern(4096 * 3, 8192, 4));
    await disk.close();
    const again = await openDisk(path);
    expect((await again.read(4096 * 3, 8192)).equals(pattern(4096 * 3, 8192, 4))).toBe(true);
    await again.close();
  });

  it('grows (with a BAT relocation past 128 GiB) and shrinks', async () => {
    const path = folder.file('grow.vhdx');
    const disk = await createDisk(path, { format: 'vhdx-dynamic', size: 3 * MiB + 512, blockSize: MiB });
    await disk.write(3 * MiB, pattern(3 * MiB, 512, 1));
    await disk.resize(129 * 1024 * MiB);
    const batOffset = disk.info().details['batOffset'];
    expect(batOffset).not.toBe(2 * MiB);
    expect((await disk.read(3 * MiB, 1024)).equals(Buffer.concat([pattern(3 * MiB, 512, 1), Buffer.alloc(512)]))).toBe(true);
    await disk.write(128 * 1024 * MiB, pattern(128 * 1024 * MiB, 4096, 2));
    await disk.close();
    const again = await openDisk(path);
    expect(again.virtualSize).toBe(129 * 1024 * MiB);
    expect((await again.read(128 * 1024 * MiB, 4096)).equals(pattern(128 * 1024 * MiB, 4096, 2))).toBe(true);
    await expect(again.resize(MiB)).rejects.toBeInstanceOf(DiskUnsupportedError);
    await again.resize(3 * MiB, { allowShrink: true });
    await again.resize(4 * MiB);
    expect((await again.read(3 * MiB, MiB)).every((b) => b === 0)).toBe(true);
    await again.close();
  });

  it('checks requests and read-only opens', async () => {
    const path = folder.file('args.vhdx');
    const disk = await createDisk(path, { format: 'vhdx-dynamic', size: 2 * MiB, blockSize: MiB });
    await expect(disk.read(2 * MiB, 512)).rejects.toBeInstanceOf(DiskOutOfRangeError);
    await expect(disk.write(1, Buffer.alloc(512))).rejects.toBeInstanceOf(DiskUnalignedError);
    await disk.close();
    const ro = await openDisk(path, { readOnly: true });
    await expect(ro.write(0, Buffer.alloc(512))).rejects.toBeInstanceOf(DiskReadOnlyError);
    await ro.close();
  });

  it('serves many concurrent writes to one fresh block', async () => {
    const path = folder.file('concurrent.vhdx');
    const disk = await createDisk(path, { format: 'vhdx-dynamic', size: 4 * MiB, blockSize: MiB });
    await Promise.all(Array.from({ length: 64 }, (_, i) => disk.write(i * 4096, pattern(i * 4096, 4096, i + 1))));
    for (let i = 0; i < 64; i++) expect((await disk.read(i * 4096, 4096)).equals(pattern(i * 4096, 4096, i + 1))).toBe(true);
    expect(disk.info().allocatedBytes).toBe(MiB);
    await disk.close();
  });
});
