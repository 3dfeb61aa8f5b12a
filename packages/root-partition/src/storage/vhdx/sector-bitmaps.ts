/**
 * Sector bitmaps of a differencing VHDX (hyperv-tlfs.md §7 "BAT", chunk ratio): one 1 MiB block per
 * chunk, bit `s mod 2^23` (LSB first) set when virtual sector `s` is present in this file; clear
 * means "read the parent". Cached per 4 KiB bitmap sector (loaded once, de-duplicated) with the set
 * of sectors changed since the last flush, which the disk logs like BAT sectors.
 */
import { Limits } from './layout.ts';

const SECTOR = Limits.LOG_SECTOR_SIZE;
/** Virtual sectors one 4 KiB bitmap sector describes. */
export const SECTORS_PER_BITMAP_SECTOR = SECTOR * 8;

/** Where the bitmap of a chunk lives: its file offset, or null when the block is not present. */
export type BitmapLocator = (chunk: number) => number | null;

/** Reads one 4 KiB sector of the file. */
export type SectorReader = (fileOffset: number) => Promise<Uint8Array>;

/** Cache of loaded bitmap sectors, keyed by the global bitmap sector number. */
export class SectorBitmaps {
  private readonly cache = new Map<number, Promise<Uint8Array>>();
  private readonly dirty = new Set<number>();

  constructor(
    private readonly locate: BitmapLocator,
    private readonly readSector: SectorReader,
  ) {}

  /** Global bitmap sector number holding virtual sector `sector`'s bit. */
  static sectorOf(sector: number): number {
    return Math.floor(sector / SECTORS_PER_BITMAP_SECTOR);
  }

  /** File offset of global bitmap sector `key`, or null when its chunk has no bitmap block. */
  fileOffsetOf(key: number): number | null {
    const perChunk = Limits.SECTORS_PER_BITMAP_BLOCK / SECTORS_PER_BITMAP_SECTOR;
    const base = this.locate(Math.floor(key / perChunk));
    return base === null ? null : base + (key % perChunk) * SECTOR;
  }

  private load(key: number): Promise<Uint8Array> {
    let sector = this.cache.get(key);
    if (sector === undefined) {
      const offset = this.fileOffsetOf(key);
      sector = offset === null ? Promise.resolve(new Uint8Array(SECTOR)) : this.readSector(offset);
      this.cache.set(key, sector);
      // A failed load is not cached: the next access retries.
      sector.catch(() => this.cache.delete(key));
    }
    return sector;
  }

  /**
   * Runs of `[first, first + count)` by presence, in order: `[present, length]` pairs.
   * @throws whatever reading a bitmap sector throws.
   */
  async runs(first: number, count: number): Promise<[boolean, number][]> {
    const runs: [boolean, number][] = [];
    let s = first;
    const end = first + count;
    while (s < end) {
      const key = SectorBitmaps.sectorOf(s);
      const bits = await this.load(key);
      const stop = Math.min(end, (key + 1) * SECTORS_PER_BITMAP_SECTOR);
      for (; s < stop; s++) {
        const bit = s % SECTORS_PER_BITMAP_SECTOR;
        const present = (((bits[bit >> 3] ?? 0) >> (bit & 7)) & 1) === 1;
        const last = runs[runs.length - 1];
        if (last !== undefined && last[0] === present) last[1]++;
        else runs.push([present, 1]);
      }
    }
    return runs;
  }

  /** Sets (or clears) the bits of `[first, first + count)` and marks their sectors dirty. */
  async mark(first: number, count: number, present: boolean): Promise<void> {
    let s = first;
    const end = first + count;
    while (s < end) {
      const key = SectorBitmaps.sectorOf(s);
      const bits = await this.load(key);
      const stop = Math.min(end, (key + 1) * SECTORS_PER_BITMAP_SECTOR);
      for (; s < stop; s++) {
        const bit = s % SECTORS_PER_BITMAP_SECTOR;
        const byte = bits[bit >> 3] ?? 0;
        bits[bit >> 3] = present ? byte | (1 << (bit & 7)) : byte & ~(1 << (bit & 7));
      }
      this.dirty.add(key);
    }
  }

  /** Dirty sectors as `[fileOffset, bytes]` (copies), sorted; clears the dirty set. */
  async takeDirty(): Promise<[number, Uint8Array][]> {
    const out: [number, Uint8Array][] = [];
    for (const key of [...this.dirty].sort((a, b) => a - b)) {
      const offset = this.fileOffsetOf(key);
      if (offset !== null) out.push([offset, new Uint8Array(await this.load(key))]);
    }
    this.dirty.clear();
    return out;
  }

}
