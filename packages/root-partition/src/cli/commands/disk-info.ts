/**
 * `viridian disk info <path> [--json]`: the image's `DiskInfo` and its parent chain, as an aligned
 * key/value list per image (the image first, then each parent), or with `--json` the `DiskInfo`
 * object exactly as the storage layer describes it (parents nested under `parent`) and nothing
 * else on stdout. The image is opened read-only, so `readOnly` is always true in the output.
 */
import type { Command } from 'commander';
import { openDisk } from '../../storage/disk-files.ts';
import type { DiskInfo } from '../../storage/virtual-disk.ts';
import { writeLine, type CliIo } from '../io.ts';
import { formatSize } from '../sizes.ts';

/** Adds `info` to the `disk` command. */
export function registerDiskInfo(disk: Command, io: CliIo): void {
  disk
    .command('info')
    .description('describe an image and its parent chain')
    .argument('<path>', 'the image file')
    .option('--json', 'print the DiskInfo as JSON only')
    .action(async (path: string, options: { readonly json?: boolean }) => {
      const opened = await openDisk(path, { readOnly: true });
      let info: DiskInfo;
      try {
        info = opened.info();
      } finally {
        await opened.close();
      }
      if (options.json === true) {
        writeLine(io.stdout, JSON.stringify(info, null, 2));
        return;
      }
      for (const line of renderInfo(info)) writeLine(io.stdout, line);
    });
}

/** The readable form of `info`: one block per image in the chain, child first. */
export function renderInfo(info: DiskInfo): string[] {
  const lines: string[] = [];
  let level: DiskInfo | null = info;
  for (let depth = 0; level !== null; depth++, level = level.parent) {
    if (depth > 0) lines.push('', `parent ${depth}: ${level.path}`);
    else lines.push(level.path);
    lines.push(...keyValues(describe(level)));
  }
  return lines;
}

function describe(info: DiskInfo): [string, string][] {
  const rows: [string, string][] = [
    ['format', info.format],
    ['virtual size', bytes(info.virtualSize)],
    ['sector size', `${info.logicalSectorSize} logical, ${info.physicalSectorSize} physical`],
    ['block size', info.blockSize === null ? '-' : bytes(info.blockSize)],
    ['file size', bytes(info.fileSize)],
    ['allocated', bytes(info.allocatedBytes)],
    ['parent', info.parentPath ?? '-'],
  ];
  for (const [key, value] of Object.entries(info.details)) rows.push([key, value === null ? '-' : String(value)]);
  return rows;
}

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : `${formatSize(n)} (${n} bytes)`;
}

function keyValues(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`);
}
