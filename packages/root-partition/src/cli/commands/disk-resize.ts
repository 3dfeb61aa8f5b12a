/**
 * `viridian disk resize <path> --size <size> [--allow-shrink]`: changes an image's virtual size
 * through `VirtualDisk.resize` (the format decides what it can do: growing always, shrinking only
 * where the format supports it and only with `--allow-shrink`).
 */
import type { Command } from 'commander';
import { openDisk } from '../../storage/disk-files.ts';
import { invalidArgument } from '../errors.ts';
import { writeLine, type CliIo } from '../io.ts';
import { formatSize, parseSize } from '../sizes.ts';

/** The options commander hands `disk resize`. */
interface ResizeCommandOptions {
  readonly size: string;
  readonly allowShrink?: boolean;
}

/** Adds `resize` to the `disk` command. */
export function registerDiskResize(disk: Command, io: CliIo): void {
  disk
    .command('resize')
    .description('change the virtual size of an image')
    .argument('<path>', 'the image file')
    .requiredOption('-s, --size <size>', 'new virtual size: 512, 10M, 4G, 1T')
    .option('--allow-shrink', 'allow a smaller size (data past the new end is lost)')
    .action(async (path: string, options: ResizeCommandOptions) => {
      const newSize = parseSize(options.size, '--size');
      const disk = await openDisk(path);
      let before: number;
      try {
        before = disk.virtualSize;
        if (newSize < before && options.allowShrink !== true) {
          throw invalidArgument(`${disk.path}: shrinking from ${formatSize(before)} to ${formatSize(newSize)} loses data past the new end; pass --allow-shrink`);
        }
        if (newSize !== before) await disk.resize(newSize, { allowShrink: options.allowShrink === true });
      } finally {
        await disk.close();
      }
      const what = newSize === before ? `already ${formatSize(newSize)}` : `${formatSize(before)} → ${formatSize(newSize)}`;
      writeLine(io.stdout, `resized ${disk.path}: ${what}`);
    });
}
