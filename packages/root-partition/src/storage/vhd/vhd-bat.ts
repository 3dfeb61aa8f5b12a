/**
 * The block allocation table of dynamic and differencing VHDs: big-endian u32 sector offsets,
 * `0xFFFFFFFF` for an unallocated block. Decoding, encoding, and the single validation of every
 * allocated block's extent against the file and the metadata (so no later read can wander).
 */
import { DiskCorruptError } from '../errors.ts';
import { VHD_BAT_UNALLOCATED, VHD_SECTOR_SIZE } from './vhd-layout.ts';

/** A byte range `[start, end)` of the image file holding metadata. */
export interface FileExtent {
  readonly start: number;
  readonly end: number;
  readonly what: string;
}

/** Bytes the BAT of `entries` entries occupies on disk (padded to a sector). */
export function batBytes(entries: number): number {
  return Math.ceil((entries * 4) / VHD_SECTOR_SIZE) * VHD_SECTOR_SIZE;
}

/** Decodes `entries` BAT entries from `bytes` into host order. */
export function decodeBat(bytes: Buffer, entries: number): Uint32Array {
  const bat = new Uint32Array(entries);
  for (let i = 0; i < entries; i++) bat[i] = bytes.readUInt32BE(i * 4);
  return bat;
}

/** Encodes `bat` into its on-disk form, padding the last sector with unallocated entries. */
export function encodeBat(bat: Uint32Array): Buffer {
  const bytes = Buffer.alloc(batBytes(bat.length), 0xff);
  for (let i = 0; i < bat.length; i++) bytes.writeUInt32BE(bat[i] ?? VHD_BAT_UNALLOCATED, i * 4);
  return bytes;
}

/** What validation learned about the allocated blocks. */
export interface BatSummary {
  readonly allocatedBlocks: number;
  /** The end of the last block or metadata extent: where the next block may go. */
  readonly dataEnd: number;
}

/**
 * Checks every allocated block `[entry × 512, + blockSpan)` lies within `[0, limit)`, overlaps
 * no metadata extent and no other block.
 * @throws DiskCorruptError `bat-entry-beyond-file` or `overlapping-blocks`.
 */
export function validateBat(bat: Uint32Array, blockSpan: number, limit: number, metadata: readonly FileExtent[], path: string): BatSummary {
  const starts: number[] = [];
  for (let i = 0; i < bat.length; i++) {
    const entry = bat[i] ?? VHD_BAT_UNALLOCATED;
    if (entry === VHD_BAT_UNALLOCATED) continue;
    const start = entry * VHD_SECTOR_SIZE;
    if (start + blockSpan > limit) {
      throw new DiskCorruptError('bat-entry-beyond-file', path, `block ${i} at ${start} ends at ${start + blockSpan}, past the data end ${limit}`);
    }
    for (const extent of metadata) {
      if (start < extent.end && extent.start < start + blockSpan) {
        throw new DiskCorruptError('overlapping-blocks', path, `block ${i} at ${start} overlaps the ${extent.what} [${extent.start}, ${extent.end})`);
      }
    }
    starts.push(start);
  }
  starts.sort((a, b) => a - b);
  for (let i = 1; i < starts.length; i++) {
    const previous = starts[i - 1] ?? 0;
    const current = starts[i] ?? 0;
    if (current < previous + blockSpan) throw new DiskCorruptError('overlapping-blocks', path, `blocks at ${previous} and ${current} overlap`);
  }
  const lastBlockEnd = starts.length === 0 ? 0 : (starts[starts.length - 1] ?? 0) + blockSpan;
  const metadataEnd = Math.max(0, ...metadata.map((extent) => extent.end));
  return { allocatedBlocks: starts.length, dataEnd: Math.max(lastBlockEnd, metadataEnd) };
}
