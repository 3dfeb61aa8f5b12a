/**
 * `--format` on the command line → a `DiskFormat`. The CLI takes the family names (`vhd`, `vhdx`:
 * dynamic, or differencing with `--parent`) and every subformat; without `--format`, `disk new`
 * goes by the file extension (`.vhd`, `.vhdx`, anything else raw). Which formats can actually be
 * created is up to the format registry: an unregistered family fails in `createDisk` with
 * `DiskUnsupportedError`, so the CLI works with whatever drivers are loaded.
 */
import { extname } from 'node:path';
import { registeredDiskFormats } from '../storage/format-registry.ts';
import { DISK_FORMATS, formatFamily, type DiskFormat, type DiskFormatFamily } from '../storage/virtual-disk.ts';
import { invalidArgument } from './errors.ts';

/** Every `--format` value the CLI understands (families and subformats). */
export const FORMAT_NAMES: readonly string[] = ['raw', 'vhd', 'vhdx', ...DISK_FORMATS.filter((f) => f !== 'raw')];

/** The subformats the registered drivers can create, for help texts. */
export function registeredFormatNames(): string[] {
  return registeredDiskFormats()
    .flatMap((driver) => driver.formats)
    .filter((format) => !format.endsWith('-differencing'));
}

/**
 * The format of a new disk from `--format`, the path's extension and whether it has a parent.
 * @throws CliError (`VIRIDIAN_CLI_INVALID_ARGUMENT`) for an unknown name, or a fixed/raw format with a parent.
 */
export function newDiskFormat(name: string | undefined, path: string, hasParent: boolean): DiskFormat {
  const parsed = name === undefined ? familyFromExtension(path) : parseFamilyOrFormat(name);
  if (typeof parsed === 'string') {
    if (parsed === 'raw') {
      if (hasParent) throw invalidArgument('a raw image cannot have a parent: use vhd or vhdx with --parent');
      return 'raw';
    }
    return hasParent ? `${parsed}-differencing` : `${parsed}-dynamic`;
  }
  const { format } = parsed;
  if (!hasParent) {
    if (format.endsWith('-differencing')) throw invalidArgument(`format ${format} needs --parent`);
    return format;
  }
  if (format === 'raw' || format.endsWith('-fixed')) throw invalidArgument(`a differencing disk cannot be ${format}: use vhd or vhdx with --parent`);
  return `${formatFamily(format)}-differencing` as DiskFormat;
}

/**
 * The target format of `disk convert` (no differencing: a conversion makes a standalone image).
 * @throws CliError (`VIRIDIAN_CLI_INVALID_ARGUMENT`) for an unknown or differencing format.
 */
export function convertTargetFormat(name: string): DiskFormat {
  const parsed = parseFamilyOrFormat(name);
  if (typeof parsed === 'string') return parsed === 'raw' ? 'raw' : `${parsed}-dynamic`;
  if (parsed.format.endsWith('-differencing')) throw invalidArgument(`cannot convert to ${parsed.format}: a conversion makes a standalone image`);
  return parsed.format;
}

function parseFamilyOrFormat(name: string): DiskFormatFamily | { readonly format: DiskFormat } {
  const lower = name.toLowerCase();
  if (isFamily(lower)) return lower;
  if ((DISK_FORMATS as readonly string[]).includes(lower)) return { format: lower as DiskFormat };
  throw invalidArgument(`unknown disk format "${name}": expected one of ${FORMAT_NAMES.join(', ')}`);
}

function isFamily(name: string): name is DiskFormatFamily {
  return name === 'raw' || name === 'vhd' || name === 'vhdx';
}

function familyFromExtension(path: string): DiskFormatFamily {
  const ext = extname(path).toLowerCase();
  return ext === '.vhd' ? 'vhd' : ext === '.vhdx' ? 'vhdx' : 'raw';
}
