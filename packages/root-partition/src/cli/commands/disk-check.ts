/**
 * `viridian disk check <path> [--json]`: validates an image. Opening it runs the format's own
 * validation (signatures, checksums, headers, the BAT against the file, overlaps, the parent
 * chain; VHDX replays its log into memory only since the image is opened read-only), then every
 * block of the virtual disk is read, which checks the metadata each one depends on (sector
 * bitmaps, parent reads). Problems are reported, not thrown: exit 0 when clean, `EXIT.corrupt`
 * when not. A missing image or parent is still an error (exit 3), as are host I/O errors (exit 5).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { openDisk } from '../../storage/disk-files.ts';
import { DiskCorruptError } from '../../storage/errors.ts';
import type { DiskFormat, VirtualDisk } from '../../storage/virtual-disk.ts';
import { walkChunkBytes, walkDisk } from '../disk-walk.ts';
import { EXIT, type ExitCode } from '../errors.ts';
import { writeLine, type CliIo } from '../io.ts';
import { startProgress } from '../progress.ts';
import { formatSize } from '../sizes.ts';

/** Stop collecting after this many problems: a wrecked image would otherwise list every block. */
export const MAX_REPORTED_PROBLEMS = 100;

/** One thing wrong with the image. */
export interface CheckProblem {
  /** The storage layer's `DiskCorruptionReason`. */
  readonly reason: string;
  /** Guest offset of the block whose read failed; `null` when opening failed. */
  readonly offset: number | null;
  readonly message: string;
}

/** What `disk check --json` prints. */
export interface CheckReport {
  readonly path: string;
  /** `null` when the image did not open. */
  readonly format: DiskFormat | null;
  readonly virtualSize: number | null;
  readonly clean: boolean;
  /** Guest bytes read back without error. */
  readonly checkedBytes: number;
  readonly problems: readonly CheckProblem[];
  /** True when more problems existed than `MAX_REPORTED_PROBLEMS`. */
  readonly truncated: boolean;
}

/** Adds `check` to the `disk` command; `setExitCode` receives `EXIT.corrupt` for a corrupt image. */
export function registerDiskCheck(disk: Command, io: CliIo, setExitCode: (code: ExitCode) => void): void {
  disk
    .command('check')
    .description('validate an image and read every block (exit 2 if corrupt)')
    .argument('<path>', 'the image file')
    .option('--json', 'print the report as JSON only')
    .action(async (path: string, options: { readonly json?: boolean }) => {
      const report = await checkImage(path, io, options.json !== true);
      if (options.json === true) writeLine(io.stdout, JSON.stringify(report, null, 2));
      else printReport(io, report);
      if (!report.clean) {
        writeLine(io.stderr, `viridian: ${report.path}: corrupt image, ${report.problems.length}${report.truncated ? '+' : ''} problem(s) (VIRIDIAN_DISK_CORRUPT)`);
        setExitCode(EXIT.corrupt);
      }
    });
}

/**
 * Checks the image at `path`.
 * @throws DiskNotFoundError, DiskParentMissingError, DiskIoError (not corruption: that is reported).
 */
export async function checkImage(path: string, io: CliIo, showProgress: boolean): Promise<CheckReport> {
  let disk: VirtualDisk;
  try {
    disk = await openDisk(path, { readOnly: true });
  } catch (error) {
    if (!(error instanceof DiskCorruptError)) throw error;
    const problem = { reason: error.reason, offset: null, message: error.message };
    return { path: resolve(path), format: null, virtualSize: null, clean: false, checkedBytes: 0, problems: [problem], truncated: false };
  }
  try {
    return await checkDisk(disk, io, showProgress);
  } finally {
    await disk.close();
  }
}

/**
 * Reads every block of an open disk, collecting `DiskCorruptError`s as problems (at most
 * `MAX_REPORTED_PROBLEMS`); the disk stays open.
 * @throws any other read error (`DiskIoError`).
 */
export async function checkDisk(disk: VirtualDisk, io: CliIo, showProgress: boolean): Promise<CheckReport> {
  const problems: CheckProblem[] = [];
  let truncated = false;
  let checkedBytes = 0;
  const progress = startProgress(io, 'checking', disk.virtualSize, showProgress);
  try {
    await walkDisk(
      disk,
      walkChunkBytes(disk),
      ({ offset, data }) => {
        checkedBytes += data.length;
        progress.update(offset + data.length);
      },
      (error, offset) => {
        if (!(error instanceof DiskCorruptError)) throw error;
        if (problems.length === MAX_REPORTED_PROBLEMS) {
          truncated = true;
          return;
        }
        problems.push({ reason: error.reason, offset, message: error.message });
      },
    );
  } finally {
    progress.stop();
  }
  const clean = problems.length === 0;
  return { path: disk.path, format: disk.format, virtualSize: disk.virtualSize, clean, checkedBytes, problems, truncated };
}

function printReport(io: CliIo, report: CheckReport): void {
  if (report.clean) {
    writeLine(io.stdout, `${report.path}: ok (${report.format}, ${formatSize(report.checkedBytes)} read, no problems)`);
    return;
  }
  const what = report.format === null ? 'does not open' : `${report.format}, ${formatSize(report.checkedBytes)} read`;
  writeLine(io.stdout, `${report.path}: corrupt (${what})`);
  for (const problem of report.problems) {
    const where = problem.offset === null ? 'open' : `block at ${problem.offset}`;
    writeLine(io.stdout, `  ${where}: ${problem.reason}: ${problem.message}`);
  }
  if (report.truncated) writeLine(io.stdout, `  … more than ${MAX_REPORTED_PROBLEMS} problems, stopped listing`);
}
