/**
 * Interoperability with qemu (Debian's qemu-utils): qemu-img/qemu-io images read back exactly in
 * Viridian, Viridian's images compare identical to a raw file with the same writes, and
 * conversions round trip both ways. qemu's `vpc` driver has no `check` and ignores differencing
 * parents, so differencing disks are covered by Viridian's own tests only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createDisk, openDisk } from '../disk-files.ts';
import { pattern, qemuImg, qemuIo, withTempDir } from '../test-helpers.ts';
import type { VirtualDisk } from '../virtual-disk.ts';

const MiB = 2 ** 20;
const WRITES: readonly [offset: number, length: number, seed: number][] = [
  [0, 4096, 1],
  [MiB + 512, 64 * 1024, 2],
  [3 * MiB - 1024, 8192, 3],
  [17 * MiB, MiB, 4],
  [31 * MiB, 512, 5],
];

async function writeAll(disk: VirtualDisk): Promise<void> {
  await Promise.all(WRITES.map(([offset, length, seed]) => disk.write(offset, pattern(length, seed))));
}

async function expectWrites(disk: VirtualDisk, size: number): Promise<void> {
  const expected = Buffer.alloc(size);
  for (const [offset, length, seed] of WRITES) pattern(length, seed).copy(expected, offset);
  expect((await disk.read(0, size)).equals(expected)).toBe(true);
}

describe('VHD interop with qemu', () => {
  for (const subformat of ['dynamic', 'fixed'] as const) {
    test(`qemu-img ${subformat} images read back what qemu-io wrote, and qemu reads Viridian's writes`, () =>
      withTempDir(async (dir) => {
        const path = join(dir, 'q.vhd');
        await qemuImg('create', '-q', '-f', 'vpc', '-o', `subformat=${subformat}`, path, '64M');
        await qemuIo('-f', 'vpc', '-c', 'write -P 0xab 1M 64k', '-c', 'write -P 0xcd 5M 4k', path);
        const disk = await openDisk(path);
        expect(disk.format).toBe(`vhd-${subformat}`);
        expect((await disk.read(MiB, 64 * 1024)).equals(Buffer.alloc(64 * 1024, 0xab))).toBe(true);
        expect((await disk.read(5 * MiB, 4096)).equals(Buffer.alloc(4096, 0xcd))).toBe(true);
        expect((await disk.read(MiB - 4096, 4096)).equals(Buffer.alloc(4096))).toBe(true);
        expect((await disk.read(MiB + 64 * 1024, 4096)).equals(Buffer.alloc(4096))).toBe(true);
        await disk.write(9 * MiB, Buffer.alloc(8192, 0x5a));
        await disk.close();
        const out = await qemuIo('-f', 'vpc', '-c', 'read -P 0x5a 9M 8k', '-c', 'read -P 0xab 1M 64k', '-c', 'read -P 0 8M 1M', path);
        expect(out).not.toMatch(/verification failed|error/i);
      }));
  }

  for (const format of ['vhd-dynamic', 'vhd-fixed'] as const) {
    test(`${format} images Viridian writes compare identical to raw (qemu-img compare)`, () =>
      withTempDir(async (dir) => {
        const vhd = await createDisk(join(dir, 'v.vhd'), { format, size: 32 * MiB });
        const raw = await createDisk(join(dir, 'v.raw'), { format: 'raw', size: 32 * MiB });
        await writeAll(vhd);
        await writeAll(raw);
        await vhd.resize(40 * MiB);
        await raw.resize(40 * MiB);
        await vhd.write(39 * MiB, pattern(4096, 9));
        await raw.write(39 * MiB, pattern(4096, 9));
        await Promise.all([vhd.close(), raw.close()]);
        const info = JSON.parse(await qemuImg('info', '--output=json', '-f', 'vpc', join(dir, 'v.vhd'))) as { 'virtual-size': number };
        expect(info['virtual-size']).toBe(40 * MiB);
        // qemu-img check: qemu's vpc driver does not implement it (it says so and exits 63).
        await expect(qemuImg('check', '-f', 'vpc', join(dir, 'v.vhd'))).rejects.toMatchObject({ code: 63 });
        expect(await qemuImg('compare', '-f', 'vpc', '-F', 'raw', join(dir, 'v.vhd'), join(dir, 'v.raw'))).toMatch(/identical/);
      }));
  }

  test('conversions round trip: raw → vpc by qemu → Viridian, and Viridian vpc → raw by qemu', () =>
    withTempDir(async (dir) => {
      const raw = await createDisk(join(dir, 'src.raw'), { format: 'raw', size: 32 * MiB });
      await writeAll(raw);
      await raw.close();
      for (const subformat of ['dynamic', 'fixed']) {
        const converted = join(dir, `qemu-${subformat}.vhd`);
        await qemuImg('convert', '-f', 'raw', '-O', 'vpc', '-o', `subformat=${subformat},force_size=on`, join(dir, 'src.raw'), converted);
        const disk = await openDisk(converted, { readOnly: true });
        expect(disk.virtualSize).toBe(32 * MiB);
        await expectWrites(disk, 32 * MiB);
        await disk.close();
      }
      const ours = await createDisk(join(dir, 'ours.vhd'), { format: 'vhd-dynamic', size: 32 * MiB });
      await writeAll(ours);
      await ours.close();
      await qemuImg('convert', '-f', 'vpc', '-O', 'raw', join(dir, 'ours.vhd'), join(dir, 'back.raw'));
      expect((await readFile(join(dir, 'back.raw'))).equals(await readFile(join(dir, 'src.raw')))).toBe(true);
      await qemuImg('convert', '-f', 'vpc', '-O', 'vpc', '-o', 'subformat=dynamic,force_size=on', join(dir, 'ours.vhd'), join(dir, 'again.vhd'));
      const again = await openDisk(join(dir, 'again.vhd'), { readOnly: true });
      await expectWrites(again, 32 * MiB);
      await again.close();
    }));
});
