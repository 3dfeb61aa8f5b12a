/** HostFile: the descriptor reads and writes (callback API), zero-fill past the end, close waiting for them. */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { HostFile } from './host-file.ts';
import { pattern, withTempDir } from './test-helpers.ts';

describe('HostFile', () => {
  test('writes and reads back at positions, into views of shared memory too; past the end reads zeros', () =>
    withTempDir(async (dir) => {
      const file = await HostFile.open(join(dir, 'f.bin'), 'create');
      const data = pattern(3 * 4096, 1);
      await file.writeAt(data, 8192);
      expect(await file.size()).toBe(8192 + data.length);
      const shared = new Uint8Array(new SharedArrayBuffer(5 * 4096), 4096, 3 * 4096);
      await file.readAt(shared, 8192);
      expect(Buffer.from(shared).equals(data)).toBe(true);
      const tail = new Uint8Array(8192).fill(0xee);
      await file.readAt(tail, 8192 + data.length - 4096);
      expect(Buffer.from(tail.subarray(0, 4096)).equals(data.subarray(data.length - 4096))).toBe(true);
      expect(tail.subarray(4096).every((b) => b === 0)).toBe(true);
      await file.readAt(new Uint8Array(0), 0);
      await file.close();
    }));

  test('close waits for reads and writes in flight; later ones reject with DiskClosedError', () =>
    withTempDir(async (dir) => {
      const file = await HostFile.open(join(dir, 'f.bin'), 'create');
      const settled: string[] = [];
      const writes = Array.from({ length: 16 }, (_, i) => file.writeAt(pattern(65536, i), i * 65536).then(() => settled.push(`w${i}`)));
      const closing = file.close().then(() => settled.push('closed'));
      await Promise.all([...writes, closing]);
      expect(settled.at(-1)).toBe('closed');
      expect(settled).toHaveLength(17);
      await expect(file.readAt(new Uint8Array(512), 0)).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_CLOSED' });
      await expect(file.writeAt(new Uint8Array(512), 0)).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_CLOSED' });
      const again = await HostFile.open(join(dir, 'f.bin'), 'read');
      const back = new Uint8Array(65536);
      await again.readAt(back, 15 * 65536);
      expect(Buffer.from(back).equals(pattern(65536, 15))).toBe(true);
      await again.close();
    }));

  test('a host failure is a DiskIoError with its errno', () =>
    withTempDir(async (dir) => {
      const file = await HostFile.open(join(dir, 'f.bin'), 'create');
      await file.writeAt(pattern(512, 3), 0);
      await file.close();
      const readOnly = await HostFile.open(join(dir, 'f.bin'), 'read');
      await expect(readOnly.writeAt(new Uint8Array(512), 0)).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_IO', errno: 'EBADF' });
      await readOnly.close();
    }));
});
