/**
 * Argument checks shared by every format's public methods (STYLE.md 15: public methods check
 * their inputs; the private `…Unchecked` helpers after them assume these ran).
 */
import { DiskInvalidArgumentError, DiskOutOfRangeError, DiskUnalignedError } from './errors.ts';

/**
 * Checks that `[offset, offset + length)` is a whole number of sectors inside the disk.
 * @throws DiskUnalignedError if `offset` or `length` is not a multiple of `sectorSize`.
 * @throws DiskOutOfRangeError if the range is negative, not an integer, or passes `virtualSize`.
 */
export function checkRange(offset: number, length: number, virtualSize: number, sectorSize: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > virtualSize) {
    throw new DiskOutOfRangeError(offset, length, virtualSize);
  }
  if (offset % sectorSize !== 0 || length % sectorSize !== 0) throw new DiskUnalignedError(offset, length, sectorSize);
}

/**
 * Checks a new virtual size: a non-negative safe integer, a multiple of `sectorSize`, at most `max`.
 * @throws DiskInvalidArgumentError otherwise.
 */
export function checkVirtualSize(size: number, sectorSize: number, max: number): void {
  if (!Number.isSafeInteger(size) || size <= 0 || size % sectorSize !== 0 || size > max) {
    throw new DiskInvalidArgumentError(`virtual size ${size} must be a positive multiple of ${sectorSize} bytes, at most ${max}`);
  }
}

/**
 * Checks a sector size argument (512 or 4096).
 * @throws DiskInvalidArgumentError otherwise.
 */
export function checkSectorSize(size: number, what: string): void {
  if (size !== 512 && size !== 4096) throw new DiskInvalidArgumentError(`${what} must be 512 or 4096, not ${size}`);
}
