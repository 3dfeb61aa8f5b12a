/** The block I/O thread: reads and writes into shared memory, zero fill past the end, errors, fallbacks, many in flight. */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { HostFile } from '../host-file.ts';
import { pattern, withTempDir } from '../test-helpers.ts';
import { IO_SLOTS } from './io-ring-layout.ts';
import { IO_THREAD_MAX_BYTES, IoThread } from './io-thread.ts';

async function thread(): Promise<IoThread> {
  const io = IoThread.forThisThread();
  if (io === undefined) throw new Error('the I/O thread is turned off (VIRIDIAN_IO_THREAD=0)');
  expect(await io.ready).toBe(true);
  return io;
}

afterAll(() => IoThread.shutdown());

describe('IoThread', () => {
  test('writes from and reads into shared memory at any offset; a read past the end fills zeros', () =>
    withTempDir(async (dir) => {
      const io = await thread();
      const handle = await open(join(dir, 'f.bin'), 'w+');
      const memory = new SharedArrayBuffer(64 * 1024);
      const source = new Uint8Array(memory, 4096 + 3, 5000);
      source.set(pattern(5000, 7));
      expect(await io.submit('write', handle.fd, source, 100)).toBe(5000);
      const target = new Uint8Array(memory, 20_000, 8000).fill(0xee);
      expect(await io.submit('read', handle.fd, target, 100)).toBe(8000);
      expect(Buffer.from(target.subarray(0, 5000)).equals(pattern(5000, 7))).toBe(true);
      expect(target.subarray(5000).every((b) => b === 0)).toBe(true); // the file ends at 5100
      await handle.close();
    }));

  test('takes only shared buffers up to IO_THREAD_MAX_BYTES: anything else is left to the thread pool', async () => {
    const io = await thread();
    expect(io.submit('read', 0, new Uint8Array(4096), 0)).toBeUndefined();
    expect(io.submit('read', 0, new Uint8Array(new SharedArrayBuffer(IO_THREAD_MAX_BYTES + 4096)), 0)).toBeUndefined();
  });

  test('fails a request with the fs error of its system call, and keeps serving', () =>
    withTempDir(async (dir) => {
      const io = await thread();
      const readOnly = await open(join(dir, 'r.bin'), 'w+').then(async (h) => {
        await h.close();
        return open(join(dir, 'r.bin'), 'r');
      });
      const data = new Uint8Array(new SharedArrayBuffer(4096));
      await expect(io.submit('write', readOnly.fd, data, 0)).rejects.toMatchObject({ code: 'EBADF', syscall: 'write' });
      const directory = await open(dir, 'r');
      await expect(io.submit('read', directory.fd, data, 0)).rejects.toMatchObject({ code: 'EISDIR' });
      expect(await io.submit('read', readOnly.fd, data, 0)).toBe(4096);
      await readOnly.close();
      await directory.close();
    }));

  test('runs more requests than it has slots: the overflow is left to the caller, the rest all complete', () =>
    withTempDir(async (dir) => {
      const io = await thread();
      const handle = await open(join(dir, 'f.bin'), 'w+');
      const memory = new SharedArrayBuffer((IO_SLOTS + 64) * 4096);
      const requests = Array.from({ length: IO_SLOTS + 64 }, (_, i) => {
        const view = new Uint8Array(memory, i * 4096, 4096);
        view.set(pattern(4096, i));
        return io.submit('write', handle.fd, view, i * 4096);
      });
      expect(requests.filter((r) => r === undefined)).toHaveLength(64);
      expect(await Promise.all(requests.filter((r) => r !== undefined))).toEqual(new Array(IO_SLOTS).fill(4096));
      const back = new Uint8Array(new SharedArrayBuffer(4096));
      await io.submit('read', handle.fd, back, 17 * 4096);
      expect(Buffer.from(back).equals(pattern(4096, 17))).toBe(true);
      await handle.close();
    }));

  test('serves HostFile: small transfers into shared memory go through it, errors become disk errors', () =>
    withTempDir(async (dir) => {
      const io = await thread();
      const before = io.stats.submitted;
      const file = await HostFile.open(join(dir, 'f.bin'), 'create');
      const shared = new Uint8Array(new SharedArrayBuffer(8192));
      shared.set(pattern(8192, 3));
      await file.writeAt(shared, 4096);
      const back = new Uint8Array(new SharedArrayBuffer(8192));
      await file.readAt(back, 4096);
      expect(Buffer.from(back).equals(pattern(8192, 3))).toBe(true);
      expect(io.stats.submitted - before).toBe(2);
      await file.close();
      const readOnly = await HostFile.open(join(dir, 'f.bin'), 'read');
      await expect(readOnly.writeAt(shared, 0)).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_IO', errno: 'EBADF' });
      await readOnly.close();
    }));
});
