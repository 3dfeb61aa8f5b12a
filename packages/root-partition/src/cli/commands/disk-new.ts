/**
 * `viridian disk new <path> --size <size> [--format …] [--block-size …] [--parent …]
 * [--logical-sector 512|4096] [--force]`: creates an image through `createDisk`. With `--parent`
 * the disk is a differencing child of that image and `--size` may be left out (it takes the
 * parent's).
 */
import type { Command } from 'commander';
import { createDisk } from '../../storage/disk-files.ts';
import { invalidArgument, usageError } from '../errors.ts';
import { newDiskFormat } from '../formats.ts';
import { writeLine, type CliIo } from '../io.ts';
import { formatSize, parseSize } from '../sizes.ts';

/** The options commander hands `disk new`. */
interface NewOptions {
  readonly size?: string;
  readonly format?: string;
  readonly blockSize?: string;
  readonly parent?: string;
  readonly logicalSector?: string;
  readonly force?: boolean;
}

/** Adds `new` to the `disk` command. */
export function registerDiskNew(disk: Command, io: CliIo, formatHelp: string): void {
  disk
    .command('new')
    .description('create a disk image (a differencing disk with --parent)')
    .argument('<path>', 'the image file to create')
    .option('-s, --size <size>', 'virtual size: 512, 10M, 4G, 1T (required unless --parent)')
    .option('-f, --format <format>', `image format: ${formatHelp} (default: by extension, else raw)`)
    .option('-b, --block-size <size>', 'block size of a dynamic or differencing image (format default)')
    .option('-p, --parent <path>', 'make a differencing disk on top of this image')
    .option('--logical-sector <bytes>', 'logical sector size: 512 or 4096', '512')
    .option('--force', 'replace an existing file')
    .action(async (path: string, options: NewOptions) => {
      const hasParent = options.parent !== undefined;
      if (options.size === undefined && !hasParent) throw usageError('disk new needs --size (or --parent to take the parent\'s size)');
      const format = newDiskFormat(options.format, path, hasParent);
      const created = await createDisk(path, {
        format,
        size: options.size === undefined ? undefined : parseSize(options.size, '--size'),
        blockSize: options.blockSize === undefined ? undefined : parseSize(options.blockSize, '--block-size'),
        parentPath: options.parent,
        logicalSectorSize: parseSectorSize(options.logicalSector ?? '512'),
        overwrite: options.force === true,
      });
      const info = created.info();
      await created.close();
      const block = info.blockSize === null ? '' : `, ${formatSize(info.blockSize)} blocks`;
      const parent = info.parentPath === null ? '' : `, parent ${info.parentPath}`;
      writeLine(io.stdout, `created ${info.path}: ${info.format}, ${formatSize(info.virtualSize)}${block}${parent}`);
    });
}

function parseSectorSize(text: string): number {
  if (text !== '512' && text !== '4096') throw invalidArgument(`invalid --logical-sector "${text}": expected 512 or 4096`);
  return Number(text);
}
