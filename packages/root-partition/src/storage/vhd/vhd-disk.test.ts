/** VHD disks end to end on real files: round trips, growth, trim, differencing chains, recovery. */
import { mkdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createDisk, openDisk } from '../disk-files.ts';
import { pattern, withTempDir } from '../test-helpers.ts';

const MiB = 2 ** 20;

describe('VHD disks', () => {
  for (const format of ['vhd-fixed', 'vhd-dynamic'] as const) {
    test(`${format}: writes across blocks survive close and reopen`, () =>
      withTempDir(async (dir) => {
        const path = join(dir, 'd.vhd');
        const disk = await createDisk(path, { format, size: 16 * MiB });
        const data = pattern(3 * MiB, 1);
        await disk.write(MiB + 512, data);
        await Promise.all([disk.write(9 * MiB, pattern(4096, 2)), disk.write(9 * MiB + 8192, pattern(4096, 3)), disk.write(11 * MiB, pattern(512, 4))]);
        await disk.flush();
        await disk.close();
        const again = await openDisk(path);
        expect(again.format).toBe(format);
        expect((await again.read(MiB + 512, 3 * MiB)).equals(data)).toBe(true);
        expect((await again.read(9 * MiB, 4096)).equals(pattern(4096, 2))).toBe(true);
        expect((await again.read(9 * MiB + 4096, 4096)).equals(Buffer.alloc(4096))).toBe(true);
        expect((await again.read(9 * MiB + 8192, 4096)).equals(pattern(4096, 3))).toBe(true);
        expect((await again.read(0, MiB)).equals(Buffer.alloc(MiB))).toBe(true);
        if (format === 'vhd-dynamic') expect(again.info().allocatedBytes).toBe(5 * 2 * MiB);
        await again.close();
      }));

    test(`${format}: grows, keeping data, new space reads zeros`, () =>
      withTempDir(async (dir) => {
        const path = join(dir, 'g.vhd');
        const disk = await createDisk(path, { format, size: MiB, blockSize: 512 * 1024 });
        await disk.write(MiB - 4096, pattern(4096, 5));
        // 2 → 200 BAT entries: past the first BAT sector, so the BAT moves to the end of the file.
        await disk.resize(100 * MiB);
        await disk.write(99 * MiB, pattern(8192, 6));
        await disk.close();
        const again = await openDisk(path);
        expect(again.virtualSize).toBe(100 * MiB);
        expect((await again.read(MiB - 4096, 4096)).equals(pattern(4096, 5))).toBe(true);
        expect((await again.read(MiB, 8192)).equals(Buffer.alloc(8192))).toBe(true);
        expect((await again.read(99 * MiB, 8192)).equals(pattern(8192, 6))).toBe(true);
        await again.close();
      }));
  }

  test('many concurrent writes into one unallocated block allocate it once', () =>
    withTempDir(async (dir) => {
      const disk = await createDisk(join(dir, 'c.vhd'), { format: 'vhd-dynamic', size: 8 * MiB });
      await Promise.all(Array.from({ length: 64 }, (_, i) => disk.write(2 * MiB + i * 4096, pattern(4096, i))));
      expect(disk.info().allocatedBytes).toBe(2 * MiB);
      for (let i = 0; i < 64; i++) expect((await disk.read(2 * MiB + i * 4096, 4096)).equals(pattern(4096, i))).toBe(true);
      await disk.close();
    }));

  test('dynamic trim zeroes allocated sectors', () =>
    withTempDir(async (dir) => {
      const disk = await createDisk(join(dir, 't.vhd'), { format: 'vhd-dynamic', size: 8 * MiB });
      await disk.write(0, pattern(4 * MiB, 7));
      await disk.trim(MiB, 2 * MiB);
      await disk.trim(6 * MiB, MiB);
      expect(disk.trimReadsZeros).toBe(true);
      expect((await disk.read(MiB, 2 * MiB)).equals(Buffer.alloc(2 * MiB))).toBe(true);
      expect((await disk.read(0, MiB)).equals(pattern(4 * MiB, 7).subarray(0, MiB))).toBe(true);
      await disk.close();
    }));

  test('differencing chains: reads fall through, writes stay in the leaf, trim returns to the parent', () =>
    withTempDir(async (dir) => {
      const base = await createDisk(join(dir, 'base.vhd'), { format: 'vhd-dynamic', size: 8 * MiB });
      await base.write(0, pattern(8 * MiB, 1));
      await base.close();
      let parent = join(dir, 'base.vhd');
      for (let level = 1; level <= 4; level++) {
        const child = await createDisk(join(dir, `c${level}.vhd`), { format: 'vhd-differencing', parentPath: parent });
        await child.write(level * MiB, pattern(4096, 100 + level));
        await child.close();
        parent = join(dir, `c${level}.vhd`);
      }
      const leaf = await openDisk(parent);
      expect(leaf.format).toBe('vhd-differencing');
      const expected = pattern(8 * MiB, 1);
      for (let level = 1; level <= 4; level++) pattern(4096, 100 + level).copy(expected, level * MiB);
      expect((await leaf.read(0, 8 * MiB)).equals(expected)).toBe(true);
      let info = leaf.info();
      let depth = 0;
      while (info.parent !== null) [info, depth] = [info.parent, depth + 1];
      expect(depth).toBe(4);
      await leaf.write(4 * MiB + 512, pattern(512, 9));
      await leaf.trim(4 * MiB, 4096);
      expect(leaf.trimReadsZeros).toBe(false);
      expect((await leaf.read(4 * MiB, 4096)).equals(pattern(8 * MiB, 1).subarray(4 * MiB, 4 * MiB + 4096))).toBe(true);
      await leaf.resize(10 * MiB);
      expect((await leaf.read(8 * MiB - 512, 1024)).equals(Buffer.concat([expected.subarray(8 * MiB - 512), Buffer.alloc(512)]))).toBe(true);
      await leaf.close();
    }));

  test('a moved chain resolves through the relative locator; a deleted parent is typed', () =>
    withTempDir(async (dir) => {
      await mkdir(join(dir, 'a'));
      const base = await createDisk(join(dir, 'a', 'base.vhd'), { format: 'vhd-fixed', size: MiB });
      await base.write(0, pattern(MiB, 3));
      await base.close();
      await (await createDisk(join(dir, 'a', 'child.vhd'), { format: 'vhd-differencing', parentPath: join(dir, 'a', 'base.vhd') })).close();
      await rename(join(dir, 'a'), join(dir, 'b'));
      const moved = await openDisk(join(dir, 'b', 'child.vhd'));
      expect(moved.info().parentPath).toBe(join(dir, 'b', 'base.vhd'));
      expect((await moved.read(0, MiB)).equals(pattern(MiB, 3))).toBe(true);
      await moved.close();
      await rm(join(dir, 'b', 'base.vhd'));
      await expect(openDisk(join(dir, 'b', 'child.vhd'))).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_PARENT_MISSING' });
    }));

  test('a replaced parent is a parent mismatch', () =>
    withTempDir(async (dir) => {
      await (await createDisk(join(dir, 'p.vhd'), { format: 'vhd-dynamic', size: MiB })).close();
      await (await createDisk(join(dir, 'c.vhd'), { format: 'vhd-differencing', parentPath: join(dir, 'p.vhd') })).close();
      await (await createDisk(join(dir, 'p.vhd'), { format: 'vhd-dynamic', size: MiB, overwrite: true })).close();
      await expect(openDisk(join(dir, 'c.vhd'))).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_CORRUPT', reason: 'parent-mismatch' });
    }));

  test('a torn end footer (crash during allocation) opens from the copy and is repaired', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'torn.vhd');
      const disk = await createDisk(path, { format: 'vhd-dynamic', size: 8 * MiB });
      await disk.write(0, pattern(MiB, 4));
      await disk.close();
      const size = (await stat(path)).size;
      await truncate(path, size - 512);
      const again = await openDisk(path);
      expect((await again.read(0, MiB)).equals(pattern(MiB, 4))).toBe(true);
      await again.write(4 * MiB, pattern(512, 5));
      await again.close();
      const third = await openDisk(path, { readOnly: true });
      expect((await third.read(4 * MiB, 512)).equals(pattern(512, 5))).toBe(true);
      await third.close();
    }));
});
