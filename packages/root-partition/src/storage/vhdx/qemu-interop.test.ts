/**
 * Interoperability with qemu (issue 5): images `qemu-img create` makes (dynamic and fixed, 1 MiB
 * and 32 MiB blocks) read back what `qemu-io` wrote and accept Viridian's writes; images Viridian
 * creates and writes pass `qemu-img check` and `qemu-img compare` against a raw file holding the
 * same data; `qemu-img convert` round trips both ways. Tools run through `execFile`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDisk, openDisk } from '../disk-files.ts';
import './index.ts';
import { pattern, qemuImg, qemuIo, tempFolder } from './vhdx.test-support.ts';

const MiB = 1024 * 1024;
let folder: Awaited<ReturnType<typeof tempFolder>>;
beforeAll(async () => {
  folder = await tempFolder('viridian-qemu-');
});
afterAll(async () => {
  await folder.remove();
});

describe('qemu-img images', () => {
  for (const subformat of ['dynamic', 'fixed'] as const) {
    for (const blockSize of ['1M', '32M']) {
      it(`${subformat}, ${blockSize} blocks: reads what qemu-io wrote; qemu reads what Viridian wrote`, async () => {
        const path = folder.file(`qemu-${subformat}-${blockSize}.vhdx`);
        await qemuImg('create', '-q', '-f', 'vhdx', '-o', `subformat=${subformat},block_size=${blockSize}`, path, '64M');
        await qemuIo('-f', 'vhdx', '-c', 'write -P 0xab 1M 64k', '-c', 'write -P 0xcd 40M 4k', path);
        const disk = await openDisk(path);
        expect(disk.format).toBe(`vhdx-${subformat}`);
        expect(disk.virtualSize).toBe(64 * MiB);
        expect((await disk.read(MiB, 64 * 1024)).every((b) => b === 0xab)).toBe(true);
        expect((await disk.read(40 * MiB, 4096)).every((b) => b === 0xcd)).toBe(true);
        const around = await disk.read(MiB - 4096, 4096);
        expect(around.every((b) => b === 0)).toBe(true);
        await disk.write(50 * MiB, Buffer.alloc(8192, 0x5a));
        await disk.write(MiB + 4096, Buffer.alloc(4096, 0x11));
        await disk.close();
        await qemuImg('check', '-f', 'vhdx', path);
        await qemuIo('-f', 'vhdx', '-c', 'read -P 0x5a 50M 8k', '-c', 'read -P 0x11 1052672 4k', '-c', 'read -P 0xab 1M 4k', '-c', 'read -P 0xcd 40M 4k', path);
      });
    }
  }
});

describe('Viridian images in qemu', () => {
  for (const format of ['vhdx-dynamic', 'vhdx-fixed'] as const) {
    it(`${format}: qemu-img check and compare against raw; convert round trips`, async () => {
      const size = 24 * MiB;
      const path = folder.file(`ours-${format}.vhdx`);
      const rawPath = folder.file(`ours-${format}.raw`);
      const model = Buffer.alloc(size);
      const disk = await createDisk(path, { format, size, blockSize: MiB });
      let seed = 7;
      const next = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
      for (let i = 0; i < 60; i++) {
        const length = (1 + next(64)) * 4096;
        const offset = next((size - length) / 512 + 1) * 512;
        if (i % 9 === 8) {
          await disk.trim(offset, length);
          if (disk.trimReadsZeros) model.fill(0, offset, offset + length);
        } else {
          const data = pattern(offset, length, i + 1);
          await disk.write(offset, data);
          data.copy(model, offset);
        }
      }
      await disk.close();
      await writeFile(rawPath, model);
      await qemuImg('check', '-f', 'vhdx', path);
      await qemuImg('compare', '-f', 'vhdx', '-F', 'raw', path, rawPath);

      const back = folder.file(`ours-${format}.back.raw`);
      await qemuImg('convert', '-f', 'vhdx', '-O', 'raw', path, back);
      expect((await readFile(back)).equals(model)).toBe(true);

      const converted = folder.file(`ours-${format}.converted.vhdx`);
      await qemuImg('convert', '-f', 'raw', '-O', 'vhdx', '-o', 'subformat=dynamic,block_size=1M', rawPath, converted);
      const reopened = await openDisk(converted, { readOnly: true });
      expect((await reopened.read(0, size)).equals(model)).toBe(true);
      await reopened.close();
    });
  }
});
