/**
 * `viridian disk …`: the virtual-disk commands (`new`, `info`, `check`, `convert`, `resize`), one
 * file each, all on top of `storage/disk-files.ts` so they serve every registered format.
 */
import type { Command } from 'commander';
import type { ExitCode } from '../errors.ts';
import { registeredFormatNames } from '../formats.ts';
import type { CliIo } from '../io.ts';
import { registerDiskCheck } from './disk-check.ts';
import { registerDiskConvert } from './disk-convert.ts';
import { registerDiskInfo } from './disk-info.ts';
import { registerDiskNew } from './disk-new.ts';
import { registerDiskResize } from './disk-resize.ts';

/** Adds `disk` and its subcommands to `program`. */
export function registerDiskCommands(program: Command, io: CliIo, setExitCode: (code: ExitCode) => void): void {
  const disk = program.command('disk').description('create, inspect, check, convert and resize virtual disk images');
  // The families first (vhd = dynamic), then what the registered drivers can make.
  const formatHelp = [...new Set(['raw', ...registeredFormatNames().flatMap((f) => (f === 'raw' ? [] : [f.split('-')[0] ?? f, f]))])].join(', ');
  registerDiskNew(disk, io, formatHelp);
  registerDiskInfo(disk, io);
  registerDiskCheck(disk, io, setExitCode);
  registerDiskConvert(disk, io, formatHelp);
  registerDiskResize(disk, io);
}
