/**
 * Byte sizes on the command line: `512`, `10M`, `4G`, `1T` (binary multiples: K = 1024; an
 * optional `B`/`iB` after the suffix and a decimal point are accepted as long as the result is a
 * whole number of bytes), and the human form the CLI prints (`10 MiB`).
 */
import { invalidArgument } from './errors.ts';

const MULTIPLIERS: Readonly<Record<string, number>> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i;

/**
 * Parses a size string into bytes.
 * @param what names the option in the error message (`--size`).
 * @throws CliError (`VIRIDIAN_CLI_INVALID_ARGUMENT`) for anything but a positive whole number of bytes
 *   below 2^53.
 */
export function parseSize(text: string, what: string): number {
  const match = SIZE_PATTERN.exec(text.trim());
  const multiplier = match === null ? undefined : MULTIPLIERS[(match[2] ?? '').toLowerCase()];
  if (match === null || multiplier === undefined) {
    throw invalidArgument(`invalid ${what} "${text}": expected a number of bytes with an optional K, M, G, T or P suffix (e.g. 512, 10M, 4G)`);
  }
  const bytes = Number(match[1]) * multiplier;
  if (!Number.isSafeInteger(bytes)) throw invalidArgument(`invalid ${what} "${text}": not a whole number of bytes below 2^53`);
  if (bytes === 0) throw invalidArgument(`invalid ${what} "${text}": must be more than zero`);
  return bytes;
}

/** `bytes` in the largest binary unit that keeps it readable: `10 MiB`, `1.5 GiB`, `512 B`. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  // Two decimals below 10, one above; `Number` drops trailing zeros ("1.50" → 1.5).
  return `${Number(value.toFixed(value < 10 ? 2 : 1))} ${units[unit]}`;
}
