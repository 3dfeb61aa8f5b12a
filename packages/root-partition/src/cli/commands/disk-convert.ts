/**
 * `viridian disk convert <src> <dst> --format <fmt> [--block-size …] [--force]`: copies the
 * virtual contents of any readable image (a differencing chain reads through its parents) into a
 * new standalone image of `--format`. A new image reads as zeros everywhere, so all-zero chunks
 * are never written: dynamic targets stay sparse (no blocks allocated for them) and raw/fixed
 * targets keep the host file's holes. A failed conversion removes the half-made target.
 */
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createDisk, openDisk } from '../../storage/disk-files.ts';
import type { DiskInfo, VirtualDisk } from '../../storage/virtual-disk.ts';
import { walkChunkBytes, walkDisk } from '../disk-walk.ts';
import { invalidArgument } from '../errors.ts';
import { convertTargetFormat } from '../formats.ts';
import { writeLine, type CliIo } from '../io.ts';
import { startProgress } from '../progress.ts';
import { formatSize, parseSize } from '../sizes.ts';

/** The options commander hands `disk convert`. */
interface ConvertOptions {
  readonly format: string;
  readonly blockSize?: string;
  readonly force?: boolean;
}

/** What a conversion did. */
interface ConvertResult {
  readonly source: DiskInfo;
  readonly target: DiskInfo;
  /** Bytes written to the target (non-zero chunks). */
  readonly writtenBytes: number;
  readonly seconds: number;
}

/** Adds `convert` to the `disk` command. */
export function registerDiskConvert(disk: Command, io: CliIo, formatHelp: string): void {
  disk
    .command('convert')
    .description('copy an image into a new image of another format')
    .argument('<src>', 'the image to read (any format, differencing chains included)')
    .argument('<dst>', 'the image file to create')
    .requiredOption('-f, --format <format>', `target format: ${formatHelp}`)
    .option('-b, --block-size <size>', 'block size of a dynamic target (format default)')
    .option('--force', 'replace an existing target file')
    .action(async (src: string, dst: string, options: ConvertOptions) => {
      const result = await convertImage(io, src, dst, options);
      const { source, target } = result;
      writeLine(
        io.stdout,
        `converted ${source.path} (${source.format}) → ${target.path} (${target.format}): ${formatSize(source.virtualSize)}, ` +
          `${formatSize(result.writtenBytes)} written, ${formatSize(source.virtualSize - result.writtenBytes)} of zeros skipped, ${result.seconds.toFixed(1)} s`,
      );
    });
}

async function convertImage(io: CliIo, src: string, dst: string, options: ConvertOptions): Promise<ConvertResult> {
  const format = convertTargetFormat(options.format);
  const blockSize = options.blockSize === undefined ? undefined : parseSize(options.blockSize, '--block-size');
  const started = performance.now();
  const source = await openDisk(src, { readOnly: true });
  try {
    const sourceInfo = source.info();
    if (chainPaths(sourceInfo).includes(resolve(dst))) throw invalidArgument(`${resolve(dst)} is the source image (or one of its parents)`);
    const target = await createDisk(dst, {
      format,
      size: source.virtualSize,
      blockSize,
      logicalSectorSize: source.logicalSectorSize,
      overwrite: options.force === true,
    });
    let writtenBytes: number;
    let targetInfo: DiskInfo;
    try {
      writtenBytes = await copyContents(io, source, target);
      await target.flush();
      targetInfo = target.info();
      await target.close();
    } catch (error) {
      await removeHalfMade(target);
      throw error;
    }
    return { source: sourceInfo, target: targetInfo, writtenBytes, seconds: (performance.now() - started) / 1000 };
  } finally {
    await source.close();
  }
}

/** Copies every non-zero chunk of `source` to the same offset of `target`; returns bytes written. */
async function copyContents(io: CliIo, source: VirtualDisk, target: VirtualDisk): Promise<number> {
  const chunkBytes = walkChunkBytes(target);
  const zeros = Buffer.alloc(chunkBytes);
  let written = 0;
  const progress = startProgress(io, 'converting', source.virtualSize);
  try {
    await walkDisk(source, chunkBytes, async ({ offset, data }) => {
      if (!data.equals(zeros.subarray(0, data.length))) {
        await target.write(offset, data);
        written += data.length;
      }
      progress.update(offset + data.length);
    });
  } finally {
    progress.stop();
  }
  return written;
}

/** Closes and deletes a target whose conversion failed; the conversion's error is the one to report. */
async function removeHalfMade(target: VirtualDisk): Promise<void> {
  // A close failure here (the file is being thrown away) would only hide the error that matters.
  await target.close().catch(() => undefined);
  await rm(target.path, { force: true });
}

function chainPaths(info: DiskInfo): string[] {
  const paths: string[] = [];
  for (let level: DiskInfo | null = info; level !== null; level = level.parent) paths.push(level.path);
  return paths;
}
