/**
 * In-process unit tests of the CLI's pieces: size strings, `--format` resolution, the error →
 * exit code map, the block walk of `disk check` on a disk whose blocks fail, and the progress bar
 * (drawn only when interactive).
 */
import { CommanderError } from 'commander';
import { describe, expect, test } from 'vitest';
import { DiskCorruptError, DiskIoError, DiskNotFoundError, DiskUnsupportedError } from '../storage/errors.ts';
import type { DiskInfo, VirtualDisk } from '../storage/virtual-disk.ts';
import { MAX_REPORTED_PROBLEMS, checkDisk } from './commands/disk-check.ts';
import { CliError, EXIT, describeError, exitCodeFor } from './errors.ts';
import { convertTargetFormat, newDiskFormat } from './formats.ts';
import type { CliIo } from './io.ts';
import { startProgress } from './progress.ts';
import { formatSize, parseSize } from './sizes.ts';

const MiB = 1024 * 1024;

function memoryIo(interactive: boolean): CliIo & { readonly out: string[]; readonly err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, interactive, stdout: { write: (t: string) => out.push(t), isTTY: interactive }, stderr: { write: (t: string) => err.push(t), isTTY: interactive } };
}

/** A disk of `blocks` 1 MiB blocks whose reads fail with `fail(offset)` when it returns an error. */
function fakeDisk(blocks: number, fail: (offset: number) => Error | undefined): VirtualDisk {
  const disk = {
    format: 'vhd-dynamic',
    path: '/fake.vhd',
    virtualSize: blocks * MiB,
    info: () => ({ blockSize: MiB }) as DiskInfo,
    readInto: async (offset: number) => {
      const error = fail(offset);
      if (error !== undefined) throw error;
    },
  };
  return disk as unknown as VirtualDisk;
}

describe('sizes', () => {
  test.each([
    ['512', 512],
    ['10M', 10 * MiB],
    ['4G', 4 * 1024 * MiB],
    ['1T', 2 ** 40],
    ['1.5k', 1536],
    ['64MiB', 64 * MiB],
    ['2gb', 2 * 1024 * MiB],
  ])('parseSize(%s) = %d', (text, bytes) => expect(parseSize(text, '--size')).toBe(bytes));

  test.each(['', '10Q', '-1M', 'M', '1.3', '0', '1E'])('parseSize(%j) is an invalid argument', (text) => {
    expect(() => parseSize(text, '--size')).toThrow(CliError);
  });

  test('formatSize', () => {
    expect([512, 1536, 10 * MiB, 1.5 * 1024 * MiB, 2 ** 40].map(formatSize)).toEqual(['512 B', '1.5 KiB', '10 MiB', '1.5 GiB', '1 TiB']);
  });
});

describe('formats', () => {
  test('new: families, extensions and parents', () => {
    expect(newDiskFormat(undefined, 'a.vhd', false)).toBe('vhd-dynamic');
    expect(newDiskFormat(undefined, 'a.VHDX', true)).toBe('vhdx-differencing');
    expect(newDiskFormat(undefined, 'a.img', false)).toBe('raw');
    expect(newDiskFormat('vhd-fixed', 'a.img', false)).toBe('vhd-fixed');
    expect(newDiskFormat('vhdx-dynamic', 'a', true)).toBe('vhdx-differencing');
    expect(() => newDiskFormat('vhd-fixed', 'a', true)).toThrow(/cannot be vhd-fixed/);
    expect(() => newDiskFormat(undefined, 'a.img', true)).toThrow(/raw image cannot have a parent/);
    expect(() => newDiskFormat('vhd-differencing', 'a', false)).toThrow(/needs --parent/);
  });

  test('convert targets', () => {
    expect(convertTargetFormat('vhdx')).toBe('vhdx-dynamic');
    expect(convertTargetFormat('RAW')).toBe('raw');
    expect(() => convertTargetFormat('vhd-differencing')).toThrow(/standalone/);
  });
});

describe('exit codes', () => {
  test('each error class maps to its documented code and one line', () => {
    expect(exitCodeFor(new DiskCorruptError('bad-bat', '/x', 'd'))).toBe(EXIT.corrupt);
    expect(exitCodeFor(new DiskNotFoundError('/x'))).toBe(EXIT.notFound);
    expect(exitCodeFor(new DiskUnsupportedError('/x', 'no'))).toBe(EXIT.invalid);
    expect(exitCodeFor(new DiskIoError('/x', 'read', 'EIO', new Error('eio')))).toBe(EXIT.io);
    expect(exitCodeFor(new CommanderError(1, 'commander.unknownOption', 'error: x'))).toBe(EXIT.usage);
    expect(exitCodeFor(new Error('bug'))).toBe(EXIT.internal);
    expect(describeError(new DiskIoError('/x', 'read', 'EIO', null))).toBe('viridian: /x: read failed (EIO) (VIRIDIAN_DISK_IO)');
  });
});

describe('disk check walk', () => {
  test('reports each corrupt block at its offset and reads the rest', async () => {
    const disk = fakeDisk(8, (offset) => (offset === 3 * MiB || offset === 5 * MiB ? new DiskCorruptError('bat-entry-beyond-file', '/fake.vhd', `block ${offset / MiB}`) : undefined));
    const report = await checkDisk(disk, memoryIo(false), true);
    expect(report).toMatchObject({ clean: false, checkedBytes: 6 * MiB, truncated: false });
    expect(report.problems.map((p) => [p.reason, p.offset])).toEqual([
      ['bat-entry-beyond-file', 3 * MiB],
      ['bat-entry-beyond-file', 5 * MiB],
    ]);
  });

  test('stops listing after MAX_REPORTED_PROBLEMS', async () => {
    const disk = fakeDisk(MAX_REPORTED_PROBLEMS + 5, () => new DiskCorruptError('bad-bat', '/fake.vhd', 'x'));
    const report = await checkDisk(disk, memoryIo(false), true);
    expect(report.problems).toHaveLength(MAX_REPORTED_PROBLEMS);
    expect(report.truncated).toBe(true);
  });

  test('an I/O error is not a problem but an error', async () => {
    const disk = fakeDisk(4, (offset) => (offset === 2 * MiB ? new DiskIoError('/fake.vhd', 'read', 'EIO', null) : undefined));
    await expect(checkDisk(disk, memoryIo(false), true)).rejects.toBeInstanceOf(DiskIoError);
  });
});

describe('progress', () => {
  test('draws on stderr only when interactive, never on stdout', () => {
    const quiet = memoryIo(false);
    const silent = startProgress(quiet, 'checking', 10 * MiB);
    silent.update(5 * MiB);
    silent.stop();
    expect([quiet.out, quiet.err]).toEqual([[], []]);

    const tty = memoryIo(true);
    const bar = startProgress(tty, 'converting', 10 * MiB);
    bar.update(10 * MiB);
    bar.stop();
    bar.stop();
    expect(tty.out).toEqual([]);
    expect(tty.err.join('')).toContain('converting [');
    expect(tty.err.join('')).toContain('100% | 10 MiB / 10 MiB');
  });
});
