/**
 * The `viridian disk` commands' success paths, run as real processes on temporary files: `new`
 * for every format (cross-checked with `qemu-img info`), `info` (text and `--json`) on a
 * differencing chain, `check`, `convert` round trips that keep the bytes, and `resize`.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import type { DiskInfo } from '../storage/virtual-disk.ts';
import type { CheckReport } from './commands/disk-check.ts';
import { viridian, withTempDir } from './cli.test-support.ts';

const MiB = 1024 * 1024;
const run = promisify(execFile);

/** The virtual size `qemu-img info` reads from `path` as `format` (qemu's name: raw, vpc, vhdx). */
async function qemuVirtualSize(path: string, format: string): Promise<number> {
  // Explicit -f: qemu does not probe footer-only (fixed) VHDs.
  const { stdout } = await run('qemu-img', ['info', '-f', format, '--output=json', path]);
  return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
}

/** Deterministic non-zero bytes. */
function pattern(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

describe.concurrent('viridian disk', () => {
  test('new makes every format; info --json describes it and qemu-img agrees on the virtual size', async () => {
    await withTempDir(async (dir) => {
      const cases = [
        { file: 'plain.img', args: ['--size', '3M'], format: 'raw', qemu: 'raw', size: 3 * MiB },
        { file: 'fixed.vhd', args: ['--size', '5M', '--format', 'vhd-fixed'], format: 'vhd-fixed', qemu: 'vpc', size: 5 * MiB },
        { file: 'dyn.vhd', args: ['--size', '1G'], format: 'vhd-dynamic', qemu: 'vpc', size: 1024 * MiB },
        { file: 'dyn.vhdx', args: ['-s', '10M', '-f', 'vhdx', '--block-size', '1M'], format: 'vhdx-dynamic', qemu: 'vhdx', size: 10 * MiB },
        // qemu cannot open 4 KiB-sector VHDX images, so this one is checked by Viridian alone.
        { file: 'fixed4k.vhdx', args: ['-s', '2M', '-f', 'vhdx-fixed', '--logical-sector', '4096'], format: 'vhdx-fixed', qemu: null, size: 2 * MiB },
      ];
      const created = await Promise.all(cases.map((c) => viridian('disk', 'new', join(dir, c.file), ...c.args)));
      for (const [i, result] of created.entries()) {
        expect(result, cases[i]?.file).toMatchObject({ code: 0, stderr: '' });
        expect(result.stdout).toContain(`created ${join(dir, cases[i]?.file ?? '')}: ${cases[i]?.format}`);
      }
      const infos = await Promise.all(cases.map((c) => viridian('disk', 'info', '--json', join(dir, c.file))));
      for (const [i, c] of cases.entries()) {
        const result = infos[i];
        expect(result?.code).toBe(0);
        const info = JSON.parse(result?.stdout ?? '') as DiskInfo;
        expect(info).toMatchObject({ path: join(dir, c.file), format: c.format, virtualSize: c.size, parent: null });
        if (c.qemu !== null) expect(await qemuVirtualSize(join(dir, c.file), c.qemu), c.file).toBe(c.size);
      }
      expect(JSON.parse(infos[3]?.stdout ?? '') as DiskInfo).toMatchObject({ blockSize: MiB, logicalSectorSize: 512, allocatedBytes: 0 });
      expect(JSON.parse(infos[4]?.stdout ?? '') as DiskInfo).toMatchObject({ logicalSectorSize: 4096, allocatedBytes: 2 * MiB });
    });
  });

  test('new --parent makes a differencing disk; info shows the chain as text and nested JSON', async () => {
    await withTempDir(async (dir) => {
      const base = join(dir, 'base.vhdx');
      const child = join(dir, 'child.vhdx');
      expect((await viridian('disk', 'new', base, '--size', '8M')).code).toBe(0);
      const made = await viridian('disk', 'new', child, '--parent', base);
      expect(made).toMatchObject({ code: 0, stderr: '' });
      expect(made.stdout).toContain(`vhdx-differencing, 8 MiB`);
      const [text, json] = await Promise.all([viridian('disk', 'info', child), viridian('disk', 'info', child, '--json')]);
      expect(text.code).toBe(0);
      expect(text.stdout.split('\n')[0]).toBe(child);
      expect(text.stdout).toMatch(/^ {2}format +vhdx-differencing$/m);
      expect(text.stdout).toMatch(new RegExp(`^ {2}parent +${base}$`, 'm'));
      expect(text.stdout).toContain(`parent 1: ${base}`);
      expect(text.stdout).toMatch(/^ {2}virtual size +8 MiB \(8388608 bytes\)$/m);
      const info = JSON.parse(json.stdout) as DiskInfo;
      expect(info).toMatchObject({ format: 'vhdx-differencing', virtualSize: 8 * MiB, parentPath: base, parent: { path: base, format: 'vhdx-dynamic', parent: null } });
    });
  });

  test('convert raw → vhd → raw keeps every byte, check passes, resize grows', async () => {
    await withTempDir(async (dir) => {
      const raw = join(dir, 'src.raw');
      const vhd = join(dir, 'mid.vhd');
      const back = join(dir, 'back.raw');
      // 12 MiB: data, a 6 MiB hole of zeros (3 whole VHD blocks to skip), data ending mid-block.
      const content = Buffer.concat([pattern(4 * MiB, 7), Buffer.alloc(6 * MiB), pattern(2 * MiB - 4096, 9), Buffer.alloc(4096)]);
      await writeFile(raw, content);

      const toVhd = await viridian('disk', 'convert', raw, vhd, '--format', 'vhd');
      expect(toVhd).toMatchObject({ code: 0, stderr: '' });
      // Not a TTY: no progress bar, one final line.
      expect(toVhd.stdout).toBe(`converted ${raw} (raw) → ${vhd} (vhd-dynamic): 12 MiB, 6 MiB written, 6 MiB of zeros skipped, ${/\d+\.\d s/.exec(toVhd.stdout)?.[0]}\n`);

      const [check, info, back1] = await Promise.all([
        viridian('disk', 'check', vhd, '--json'),
        viridian('disk', 'info', vhd, '--json'),
        viridian('disk', 'convert', vhd, back, '-f', 'raw'),
      ]);
      expect(check.code).toBe(0);
      expect(JSON.parse(check.stdout) as CheckReport).toEqual({ path: vhd, format: 'vhd-dynamic', virtualSize: 12 * MiB, clean: true, checkedBytes: 12 * MiB, problems: [], truncated: false });
      expect((JSON.parse(info.stdout) as DiskInfo).allocatedBytes).toBe(6 * MiB);
      expect(back1.code).toBe(0);
      expect((await readFile(back)).equals(content)).toBe(true);
      await run('qemu-img', ['compare', '-f', 'raw', '-F', 'vpc', raw, vhd]);

      const resized = await viridian('disk', 'resize', vhd, '--size', '20M');
      expect(resized).toMatchObject({ code: 0, stdout: `resized ${vhd}: 12 MiB → 20 MiB\n`, stderr: '' });
      const checked = await viridian('disk', 'check', vhd);
      expect(checked).toMatchObject({ code: 0, stdout: `${vhd}: ok (vhd-dynamic, 20 MiB read, no problems)\n`, stderr: '' });
      expect(await qemuVirtualSize(vhd, 'vpc')).toBe(20 * MiB);
    });
  });
});
