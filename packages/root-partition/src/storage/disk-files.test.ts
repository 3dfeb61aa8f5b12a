/** The dispatcher and the raw format: detection, routing, the shared request checks and errors. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createDisk, detectDiskFormat, openDisk } from './disk-files.ts';
import { registeredDiskFormats } from './format-registry.ts';
import { pattern, withTempDir } from './test-helpers.ts';

describe('disk files', () => {
  test('raw round trip, resize, trim as a no-op, info', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'a.img');
      const disk = await createDisk(path, { format: 'raw', size: 1 << 20 });
      await disk.write(4096, pattern(8192, 1));
      await disk.trim(4096, 512);
      expect(disk.trimReadsZeros).toBe(false);
      await disk.resize(2 << 20);
      await disk.write((2 << 20) - 512, pattern(512, 2));
      expect(disk.info()).toMatchObject({ format: 'raw', virtualSize: 2 << 20, blockSize: null, parent: null });
      await disk.close();
      await disk.close();
      const again = await openDisk(path, { readOnly: true });
      expect(again.format).toBe('raw');
      expect((await again.read(4096, 8192)).equals(pattern(8192, 1))).toBe(true);
      expect((await again.read((2 << 20) - 512, 512)).equals(pattern(512, 2))).toBe(true);
      await expect(again.write(0, Buffer.alloc(512))).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_READ_ONLY' });
      await again.close();
      await expect(again.read(0, 512)).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_CLOSED' });
    }));

  test('requests are checked: range, alignment, shrink', () =>
    withTempDir(async (dir) => {
      for (const format of ['raw', 'vhd-fixed', 'vhd-dynamic'] as const) {
        const disk = await createDisk(join(dir, format), { format, size: 1 << 20 });
        await expect(disk.read(1 << 20, 512)).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_OUT_OF_RANGE' });
        await expect(disk.read(-512, 512)).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_OUT_OF_RANGE' });
        await expect(disk.write((1 << 20) - 512, Buffer.alloc(1024))).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_OUT_OF_RANGE' });
        await expect(disk.read(100, 512)).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_UNALIGNED' });
        await expect(disk.trim(0, 100)).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_UNALIGNED' });
        await expect(disk.resize(512)).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_UNSUPPORTED' });
        await expect(disk.resize(1000)).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_INVALID_ARGUMENT' });
        await disk.close();
      }
    }));

  test('formats are detected by signature; raw is anything else', () =>
    withTempDir(async (dir) => {
      await writeFile(join(dir, 'tiny'), 'hello');
      expect(await detectDiskFormat(join(dir, 'tiny'))).toBe('raw');
      await (await createDisk(join(dir, 'f.vhd'), { format: 'vhd-fixed', size: 1 << 20 })).close();
      await (await createDisk(join(dir, 'd.vhd'), { format: 'vhd-dynamic', size: 1 << 20 })).close();
      expect(await detectDiskFormat(join(dir, 'f.vhd'))).toBe('vhd');
      expect((await openDisk(join(dir, 'd.vhd'), { readOnly: true }).then(async (d) => [d.format, await d.close()]))[0]).toBe('vhd-dynamic');
      // Forcing raw reads the container bytes themselves.
      const raw = await openDisk(join(dir, 'f.vhd'), { family: 'raw', readOnly: true });
      expect(raw.virtualSize).toBe((1 << 20) + 512);
      await raw.close();
      expect(registeredDiskFormats().at(-1)?.family).toBe('raw');
    }));

  test('creation and open errors are typed', () =>
    withTempDir(async (dir) => {
      await expect(openDisk(join(dir, 'missing'))).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_NOT_FOUND' });
      await (await createDisk(join(dir, 'x'), { format: 'raw', size: 512 })).close();
      await expect(createDisk(join(dir, 'x'), { format: 'raw', size: 512 })).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_EXISTS' });
      await (await createDisk(join(dir, 'x'), { format: 'raw', size: 1024, overwrite: true })).close();
      await expect(createDisk(join(dir, 'y'), { format: 'raw' })).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_INVALID_ARGUMENT' });
      await expect(createDisk(join(dir, 'y'), { format: 'vhd-dynamic', size: 1 << 20, blockSize: 3000 })).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_INVALID_ARGUMENT' });
      await expect(createDisk(join(dir, 'y'), { format: 'vhd-fixed', size: 4096, logicalSectorSize: 4096 })).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_INVALID_ARGUMENT' });
      await expect(createDisk(join(dir, 'y'), { format: 'vhd-differencing' })).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_INVALID_ARGUMENT' });
      await expect(createDisk(join(dir, 'y'), { format: 'vhd-differencing', parentPath: join(dir, 'nope.vhd') })).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_PARENT_MISSING' });
      await expect(createDisk(join(dir, 'y'), { format: 'vhd-differencing', parentPath: join(dir, 'x') })).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_CORRUPT', reason: 'parent-mismatch' });
    }));
});
