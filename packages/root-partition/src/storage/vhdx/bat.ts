/**
 * The VHDX block allocation table (hyperv-tlfs.md §7 "BAT"): geometry (chunk ratio, entry count,
 * where payload and sector bitmap entries interleave), the 64-bit entry codec (state in bits 2:0,
 * file offset in MiB in bits 63:20), and `Bat`, the in-memory table that tracks which 4 KiB BAT
 * sectors changed so the disk can log exactly those.
 */
import { BatEntryLayout, Limits, MiB } from './layout.ts';

/** Derived sizes of a VHDX disk. */
export interface BatGeometry {
  readonly blockSize: number;
  readonly logicalSectorSize: number;
  readonly virtualSize: number;
  readonly hasParent: boolean;
  /** Payload blocks per sector bitmap block: 2^23 × sector size / block size. */
  readonly chunkRatio: number;
  readonly sectorsPerBlock: number;
  readonly payloadBlocks: number;
  readonly bitmapBlocks: number;
  /** Entries the BAT holds (payload and sector bitmap entries interleaved). */
  readonly totalEntries: number;
}

/** Computes the geometry (inputs already validated by the metadata parser or `create`). */
export function batGeometry(virtualSize: number, blockSize: number, logicalSectorSize: number, hasParent: boolean): BatGeometry {
  const chunkRatio = (Limits.SECTORS_PER_BITMAP_BLOCK * logicalSectorSize) / blockSize;
  const payloadBlocks = Math.ceil(virtualSize / blockSize);
  const bitmapBlocks = Math.ceil(payloadBlocks / chunkRatio);
  const totalEntries = hasParent ? bitmapBlocks * (chunkRatio + 1) : payloadBlocks + Math.floor((payloadBlocks - 1) / chunkRatio);
  return { blockSize, logicalSectorSize, virtualSize, hasParent, chunkRatio, sectorsPerBlock: blockSize / logicalSectorSize, payloadBlocks, bitmapBlocks, totalEntries };
}

/** BAT index of payload block `block`. */
export function payloadEntryIndex(g: BatGeometry, block: number): number {
  return block + Math.floor(block / g.chunkRatio);
}

/** BAT index of the sector bitmap entry of chunk `chunk`. */
export function bitmapEntryIndex(g: BatGeometry, chunk: number): number {
  return chunk * (g.chunkRatio + 1) + g.chunkRatio;
}

/** Bytes of BAT region the geometry needs, rounded up to 1 MiB. */
export function batRegionLength(g: BatGeometry): number {
  return Math.max(MiB, Math.ceil((g.totalEntries * BatEntryLayout.SIZE) / MiB) * MiB);
}

/** A decoded BAT entry. */
export interface BatEntry {
  readonly state: number;
  /** Byte offset in the file (0 when none). */
  readonly fileOffset: number;
}

const TWO_32 = 2 ** 32;
const LOG_SECTOR = Limits.LOG_SECTOR_SIZE;

/**
 * The BAT in memory: the region's bytes, entry accessors and the set of 4 KiB sectors changed
 * since the last `takeDirty`.
 */
export class Bat {
  private readonly view: DataView;
  private dirty = new Set<number>();

  /** `bytes` covers at least `geometry.totalEntries` entries, rounded up to whole 4 KiB sectors. */
  constructor(
    readonly bytes: Buffer,
    readonly geometry: BatGeometry,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes the in-memory copy of a BAT of `g` needs: its entries, in whole 4 KiB sectors. */
  static bytesFor(g: BatGeometry): number {
    return Math.ceil((g.totalEntries * BatEntryLayout.SIZE) / LOG_SECTOR) * LOG_SECTOR;
  }

  /** Entry `index` (caller keeps `index < totalEntries`). */
  get(index: number): BatEntry {
    const lo = this.view.getUint32(index * 8, true);
    const hi = this.view.getUint32(index * 8 + 4, true);
    const offsetMiB = hi * 2 ** 12 + (lo >>> BatEntryLayout.OFFSET_SHIFT);
    return { state: lo & BatEntryLayout.STATE_MASK, fileOffset: offsetMiB * MiB };
  }

  /** Sets entry `index`; `fileOffset` is a multiple of 1 MiB (or 0). Marks its sector dirty. */
  set(index: number, state: number, fileOffset: number): void {
    const offsetMiB = fileOffset / MiB;
    const lo = ((offsetMiB % 2 ** 12) * 2 ** BatEntryLayout.OFFSET_SHIFT + state) >>> 0;
    const hi = Math.floor(offsetMiB / 2 ** 12) % TWO_32;
    this.view.setUint32(index * 8, lo, true);
    this.view.setUint32(index * 8 + 4, hi, true);
    this.dirty.add(Math.floor((index * 8) / LOG_SECTOR));
  }

  /** Marks 4 KiB sector `sector` as changed. */
  markDirty(sector: number): void {
    this.dirty.add(sector);
  }

  /** Whether any sector changed since the last `takeDirty`. */
  get isDirty(): boolean {
    return this.dirty.size > 0;
  }

  /** The changed sectors (indexes of 4 KiB sectors of the BAT), sorted; clears the set. */
  takeDirty(): number[] {
    const sectors = [...this.dirty].sort((a, b) => a - b);
    this.dirty = new Set();
    return sectors;
  }

  /** A copy of 4 KiB BAT sector `sector`. */
  sector(sector: number): Buffer {
    return Buffer.from(this.bytes.subarray(sector * LOG_SECTOR, (sector + 1) * LOG_SECTOR));
  }
}
