/**
 * Every failure of the `viridian disk` commands, run as real processes: the exit code, one stderr
 * line `viridian: <message> (<code>)` and never a stack trace. Missing files and parents (3), a
 * corrupt VHD (2), bad sizes, unknown formats, existing files and shrinking (4), usage errors (1).
 */
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { CheckReport } from './commands/disk-check.ts';
import { ERROR_LINE, viridian, withTempDir, type CliRun } from './cli.test-support.ts';

/** Asserts `run` failed with `code`, printed nothing on stdout and one error line containing `text`. */
function expectFailure(run: CliRun, code: number, errorCode: string, text: string): void {
  expect(run.stdout).toBe('');
  const [line, ...rest] = run.stderr.trimEnd().split('\n');
  expect(line).toMatch(ERROR_LINE);
  expect(line).toContain(text);
  expect(line?.endsWith(`(${errorCode})`)).toBe(true);
  expect(rest.every((l) => l.startsWith("(run 'viridian"))).toBe(true);
  expect(run.code).toBe(code);
}

/** Overwrites `length` bytes at `offset` of `path` with garbage. */
async function scribble(path: string, offset: number, length: number): Promise<void> {
  const file = await open(path, 'r+');
  try {
    await file.write(Buffer.alloc(length, 0x5a), 0, length, offset);
  } finally {
    await file.close();
  }
}

describe.concurrent('viridian disk errors', () => {
  test('a missing image exits 3; a missing parent exits 3', async () => {
    await withTempDir(async (dir) => {
      const missing = join(dir, 'nope.vhd');
      const base = join(dir, 'base.vhd');
      const child = join(dir, 'child.vhd');
      const [info, check, newChild] = await Promise.all([
        viridian('disk', 'info', missing, '--json'),
        viridian('disk', 'check', missing),
        viridian('disk', 'new', child, '--parent', missing),
      ]);
      expectFailure(info, 3, 'VIRIDIAN_DISK_NOT_FOUND', `${missing}: no such file`);
      expectFailure(check, 3, 'VIRIDIAN_DISK_NOT_FOUND', missing);
      expectFailure(newChild, 3, 'VIRIDIAN_DISK_PARENT_MISSING', `${child}: parent not found (tried ${missing})`);

      expect((await viridian('disk', 'new', base, '-s', '4M')).code).toBe(0);
      expect((await viridian('disk', 'new', child, '-p', base)).code).toBe(0);
      await rm(base);
      expectFailure(await viridian('disk', 'info', child), 3, 'VIRIDIAN_DISK_PARENT_MISSING', `${child}: parent not found`);
    });
  });

  test('a VHD with garbage over its footers: check reports it and exits 2, info exits 2', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'bad.vhd');
      expect((await viridian('disk', 'new', path, '-s', '8M')).code).toBe(0);
      // A dynamic VHD keeps a footer copy at the start; spoil both after the "conectix" cookie so
      // the file is still recognized as a VHD but neither footer validates.
      const size = (await stat(path)).size;
      await scribble(path, 8, 100);
      await scribble(path, size - 512 + 8, 100);
      const [check, json, info] = await Promise.all([viridian('disk', 'check', path), viridian('disk', 'check', path, '--json'), viridian('disk', 'info', path)]);

      expect(check.code).toBe(2);
      expect(check.stdout).toContain(`${path}: corrupt (does not open)`);
      expect(check.stdout).toMatch(/open: bad-checksum: /);
      expect(check.stderr).toBe(`viridian: ${path}: corrupt image, 1 problem(s) (VIRIDIAN_DISK_CORRUPT)\n`);

      expect(json.code).toBe(2);
      const report = JSON.parse(json.stdout) as CheckReport;
      expect(report).toMatchObject({ path, clean: false, format: null, problems: [{ reason: 'bad-checksum', offset: null }] });

      expectFailure(info, 2, 'VIRIDIAN_DISK_CORRUPT', 'corrupt image (bad-checksum)');
    });
  });

  test('bad sizes, unknown formats, an existing file and shrinking exit 4', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'disk.vhd');
      const runs = await Promise.all([
        viridian('disk', 'new', join(dir, 'a.img'), '--size', '10Q'),
        viridian('disk', 'new', join(dir, 'b.img'), '--size', '1000'),
        viridian('disk', 'new', join(dir, 'c.img'), '--size', '1M', '--format', 'qcow2'),
        viridian('disk', 'new', join(dir, 'd.img'), '--size', '1M', '--logical-sector', '1024'),
        viridian('disk', 'new', path, '--size', '4M'),
      ]);
      expectFailure(runs[0] as CliRun, 4, 'VIRIDIAN_CLI_INVALID_ARGUMENT', 'invalid --size "10Q"');
      expectFailure(runs[1] as CliRun, 4, 'VIRIDIAN_DISK_INVALID_ARGUMENT', '');
      expectFailure(runs[2] as CliRun, 4, 'VIRIDIAN_CLI_INVALID_ARGUMENT', 'unknown disk format "qcow2"');
      expectFailure(runs[3] as CliRun, 4, 'VIRIDIAN_CLI_INVALID_ARGUMENT', 'invalid --logical-sector "1024"');
      expect(runs[4]?.code).toBe(0);
      const before = await readFile(path);

      const [exists, convertFormat, shrink, forced] = await Promise.all([
        viridian('disk', 'new', path, '--size', '8M'),
        viridian('disk', 'convert', path, join(dir, 'out.img'), '--format', 'vmdk'),
        viridian('disk', 'resize', path, '--size', '2M'),
        viridian('disk', 'new', join(dir, 'forced.vhd'), '--size', '2M', '--force'),
      ]);
      expectFailure(exists, 4, 'VIRIDIAN_DISK_EXISTS', 'file exists; pass --force');
      expectFailure(convertFormat, 4, 'VIRIDIAN_CLI_INVALID_ARGUMENT', 'unknown disk format "vmdk"');
      expectFailure(shrink, 4, 'VIRIDIAN_CLI_INVALID_ARGUMENT', 'pass --allow-shrink');
      expect((await readFile(path)).equals(before)).toBe(true);
      expect(forced.code).toBe(0);
    });
  });

  test('usage errors exit 1 with commander\'s code; help exits 0', async () => {
    const [noSize, unknownOption, help] = await Promise.all([
      viridian('disk', 'new', '/nonexistent/x.img'),
      viridian('disk', 'info', '--frobnicate', 'x'),
      viridian('disk', 'convert', '--help'),
    ]);
    expectFailure(noSize, 1, 'VIRIDIAN_CLI_USAGE', 'needs --size');
    expectFailure(unknownOption, 1, 'commander.unknownOption', "unknown option '--frobnicate'");
    expect(unknownOption.stderr).toContain("(run 'viridian disk info --help' for usage)");
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('Usage: viridian disk convert [options] <src> <dst>');
  });
});
