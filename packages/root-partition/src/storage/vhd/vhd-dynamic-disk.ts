/**
 * Dynamic and differencing VHDs (hyperv-tlfs.md §7): a footer copy at 0, the "cxsparse" header,
 * the BAT, then blocks of [sector bitmap | data], and the footer again at the very end.
 *
 * Design:
 * - Data I/O is concurrent; only metadata (block allocation, bitmap and BAT writes, resize) runs
 *   under one `AsyncMutex`. The in-memory BAT is the truth for reads; it is updated after the
 *   on-disk entry is written.
 * - Allocation (as qemu does): the new block goes where the end footer is; its bitmap is written
 *   there (overwriting that footer), the footer is rewritten past the block, then the BAT entry.
 *   The data area is past the old end of file, so it reads as zeros until written.
 * - Dynamic disks set every bitmap bit when a block is allocated (so qemu, which ignores the
 *   bitmap for dynamic disks, and Hyper-V agree); differencing disks set bits as sectors are
 *   written, and clear bits read from the parent. Bitmaps of existing blocks are honoured for
 *   both types.
 * - Trim (VHD's BAT cannot free a block without compaction): on dynamic disks the trimmed sectors
 *   of allocated blocks are overwritten with zeros (they read as zeros for every reader, so
 *   `trimReadsZeros` is true); on differencing disks their bitmap bits are cleared, which hands
 *   them back to the parent (`trimReadsZeros` false). Unallocated blocks need nothing.
 * - Growing keeps the BAT in place if its padding has room, else writes a larger BAT at the end
 *   of the file (the old one becomes dead space) and points the header at it.
 */
import { AsyncMutex } from '../async-mutex.ts';
import { DiskUnsupportedError } from '../errors.ts';
import type { HostFile } from '../host-file.ts';
import { checkRange, checkVirtualSize } from '../request-checks.ts';
import type { DiskInfo, ResizeOptions, VirtualDisk } from '../virtual-disk.ts';
import { batBytes, encodeBat } from './vhd-bat.ts';
import { encodeVhdDynamicHeader, vhdBitmapSize, type VhdDynamicHeaderFields } from './vhd-dynamic-header.ts';
import { encodeVhdFooter, type VhdFooterFields } from './vhd-footer.ts';
import { vhdGeometry } from './vhd-geometry.ts';
import { uniqueIdHex, type VhdIdentified } from './vhd-identity.ts';
import { VhdImage } from './vhd-image.ts';
import { VHD_BAT_UNALLOCATED, VHD_MAX_SIZE, VHD_SECTOR_SIZE, VhdFooter } from './vhd-layout.ts';
import { bitmapAllSet, bitmapRuns, bitmapSetRange } from './vhd-sector-bitmap.ts';

/** Everything `openVhdDisk`/`createVhdDisk` validated or built, handed to the disk. */
export interface VhdDynamicState {
  readonly file: HostFile;
  readonly footer: VhdFooterFields;
  readonly header: VhdDynamicHeaderFields;
  /** File offset of the dynamic header (the footer's DataOffset). */
  readonly headerOffset: number;
  readonly bat: Uint32Array;
  /** Where the next block goes (the end footer's offset). */
  readonly nextFree: number;
  readonly allocatedBlocks: number;
  readonly readOnly: boolean;
  /** The open parent (differencing only); this disk closes it. */
  readonly parent: VirtualDisk | null;
}

const ZEROES = Buffer.alloc(1024 * 1024);

/** A bitmap cache entry: the bytes, or `'full'` when every sector is present. */
type CachedBitmap = Uint8Array | 'full';

/** An open dynamic or differencing VHD. */
export class VhdDynamicDisk extends VhdImage implements VirtualDisk, VhdIdentified {
  readonly format: 'vhd-dynamic' | 'vhd-differencing';
  readonly trimReadsZeros: boolean;
  readonly readOnly: boolean;
  private header: VhdDynamicHeaderFields;
  private readonly headerOffset: number;
  private bat: Uint32Array;
  private nextFree: number;
  private allocatedBlocks: number;
  private readonly parent: VirtualDisk | null;
  private readonly blockSize: number;
  private readonly bitmapSize: number;
  private readonly sectorsPerBlock: number;
  private readonly bitmaps = new Map<number, CachedBitmap | Promise<CachedBitmap>>();
  private readonly metadata = new AsyncMutex();

  constructor(state: VhdDynamicState) {
    super(state.file, state.footer);
    this.header = state.header;
    this.headerOffset = state.headerOffset;
    this.bat = state.bat;
    this.nextFree = state.nextFree;
    this.allocatedBlocks = state.allocatedBlocks;
    this.readOnly = state.readOnly;
    this.parent = state.parent;
    this.format = state.parent === null ? 'vhd-dynamic' : 'vhd-differencing';
    this.trimReadsZeros = state.parent === null;
    this.blockSize = state.header.blockSize;
    this.bitmapSize = vhdBitmapSize(this.blockSize);
    this.sectorsPerBlock = this.blockSize / VHD_SECTOR_SIZE;
  }


  /** @throws see `VirtualDisk.readInto`. */
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    this.checkOpen();
    checkRange(offset, target.byteLength, this.virtualSize, VHD_SECTOR_SIZE);
    await Promise.all(this.chunks(offset, target.byteLength).map((c) => this.readChunkUnchecked(c, target.subarray(c.done, c.done + c.length))));
  }

  /** @throws see `VirtualDisk.write`. */
  async write(offset: number, data: Uint8Array): Promise<void> {
    this.checkWritable();
    checkRange(offset, data.byteLength, this.virtualSize, VHD_SECTOR_SIZE);
    await Promise.all(this.chunks(offset, data.byteLength).map((c) => this.writeChunkUnchecked(c, data.subarray(c.done, c.done + c.length))));
  }

  /** @throws see `VirtualDisk.flush`. */
  async flush(): Promise<void> {
    this.checkOpen();
    if (!this.readOnly) await this.file.sync();
  }

  /** See the module comment for what trim does per type. @throws see `VirtualDisk.trim`. */
  async trim(offset: number, length: number): Promise<void> {
    this.checkWritable();
    checkRange(offset, length, this.virtualSize, VHD_SECTOR_SIZE);
    for (const c of this.chunks(offset, length)) {
      const entry = this.bat[c.block] ?? VHD_BAT_UNALLOCATED;
      if (entry === VHD_BAT_UNALLOCATED) continue;
      if (this.parent === null) {
        const start = this.dataStart(entry) + c.inBlock;
        for (let done = 0; done < c.length; done += ZEROES.length) {
          await this.file.writeAt(ZEROES.subarray(0, Math.min(ZEROES.length, c.length - done)), start + done);
        }
      } else {
        await this.updateBitmap(c.block, c.inBlock / VHD_SECTOR_SIZE, c.length / VHD_SECTOR_SIZE, false);
      }
    }
  }

  /** Grows the disk (shrinking a dynamic VHD is not supported). @throws see `VirtualDisk.resize`. */
  async resize(newSize: number, options: ResizeOptions = {}): Promise<void> {
    this.checkWritable();
    checkVirtualSize(newSize, VHD_SECTOR_SIZE, VHD_MAX_SIZE);
    if (newSize < this.virtualSize) {
      throw new DiskUnsupportedError(this.path, options.allowShrink === true ? 'shrinking a dynamic VHD is not supported' : 'shrinking needs allowShrink');
    }
    await this.metadata.run(() => this.growUnchecked(newSize));
  }

  info(): DiskInfo {
    const { geometry } = this.footer;
    return {
      path: this.path,
      format: this.format,
      virtualSize: this.virtualSize,
      logicalSectorSize: VHD_SECTOR_SIZE,
      physicalSectorSize: VHD_SECTOR_SIZE,
      blockSize: this.blockSize,
      fileSize: this.nextFree + VhdFooter.SIZE,
      allocatedBytes: this.allocatedBlocks * this.blockSize,
      readOnly: this.readOnly,
      parentPath: this.parent?.path ?? null,
      parent: this.parent?.info() ?? null,
      details: {
        creatorApp: this.footer.creatorApp,
        uniqueId: uniqueIdHex(this.footer.uniqueId),
        geometry: `${geometry.cylinders}/${geometry.heads}/${geometry.sectorsPerTrack}`,
        timestamp: this.footer.timestamp,
        batEntries: this.header.maxTableEntries,
        allocatedBlocks: this.allocatedBlocks,
        parentUniqueId: this.parent === null ? null : uniqueIdHex(this.header.parentUniqueId),
      },
    };
  }

  /** Flushes, closes the file, then the parent chain. @throws see `VirtualDisk.close`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.metadata.run(async () => {
        if (!this.readOnly) await this.file.sync();
      });
    } finally {
      try {
        await this.file.close();
      } finally {
        await this.parent?.close();
      }
    }
  }

  /** Splits `[offset, offset + length)` at block boundaries. */
  private chunks(offset: number, length: number): { block: number; inBlock: number; length: number; virtual: number; done: number }[] {
    const out = [];
    for (let done = 0; done < length; ) {
      const virtual = offset + done;
      const block = Math.floor(virtual / this.blockSize);
      const inBlock = virtual - block * this.blockSize;
      const n = Math.min(length - done, this.blockSize - inBlock);
      out.push({ block, inBlock, length: n, virtual, done });
      done += n;
    }
    return out;
  }

  private dataStart(entry: number): number {
    return entry * VHD_SECTOR_SIZE + this.bitmapSize;
  }

  /** Reads one in-block chunk; the range was checked by the caller. */
  private async readChunkUnchecked(c: { block: number; inBlock: number; length: number; virtual: number }, target: Uint8Array): Promise<void> {
    const entry = this.bat[c.block] ?? VHD_BAT_UNALLOCATED;
    if (entry === VHD_BAT_UNALLOCATED) return this.readAbsent(c.virtual, target);
    const bitmap = await this.bitmap(c.block, entry);
    const start = this.dataStart(entry) + c.inBlock;
    if (bitmap === 'full') return this.file.readAt(target, start);
    const first = c.inBlock / VHD_SECTOR_SIZE;
    await Promise.all(
      bitmapRuns(bitmap, first, c.length / VHD_SECTOR_SIZE).map((run) => {
        const at = (run.first - first) * VHD_SECTOR_SIZE;
        const part = target.subarray(at, at + run.count * VHD_SECTOR_SIZE);
        return run.present ? this.file.readAt(part, start + at) : this.readAbsent(c.virtual + at, part);
      }),
    );
  }

  /** Data this file does not hold: zeros, or the parent's (zeros past the parent's end). */
  private async readAbsent(virtual: number, target: Uint8Array): Promise<void> {
    const fromParent = this.parent === null ? 0 : Math.max(0, Math.min(target.byteLength, this.parent.virtualSize - virtual));
    if (fromParent > 0 && this.parent !== null) await this.parent.readInto(virtual, target.subarray(0, fromParent));
    target.fill(0, fromParent);
  }

  /** Writes one in-block chunk, allocating its block first if needed; range checked by the caller. */
  private async writeChunkUnchecked(c: { block: number; inBlock: number; length: number }, data: Uint8Array): Promise<void> {
    const first = c.inBlock / VHD_SECTOR_SIZE;
    const count = c.length / VHD_SECTOR_SIZE;
    let entry = this.bat[c.block] ?? VHD_BAT_UNALLOCATED;
    if (entry === VHD_BAT_UNALLOCATED) {
      entry = await this.metadata.run(() => this.allocateUnchecked(c.block));
    }
    await this.file.writeAt(data, this.dataStart(entry) + c.inBlock);
    if ((await this.bitmap(c.block, entry)) !== 'full') await this.updateBitmap(c.block, first, count, true);
  }

  /** The block's bitmap, loaded once and cached. */
  private bitmap(block: number, entry: number): Promise<CachedBitmap> | CachedBitmap {
    const cached = this.bitmaps.get(block);
    if (cached !== undefined) return cached;
    const loading = (async (): Promise<CachedBitmap> => {
      const bytes = new Uint8Array(this.bitmapSize);
      await this.file.readAt(bytes, entry * VHD_SECTOR_SIZE);
      const result = bitmapAllSet(bytes, this.sectorsPerBlock) ? 'full' : bytes;
      this.bitmaps.set(block, result);
      return result;
    })();
    this.bitmaps.set(block, loading);
    loading.catch(() => this.bitmaps.delete(block));
    return loading;
  }

  /** Sets or clears sectors in a block's bitmap and writes the changed bitmap sectors. */
  private updateBitmap(block: number, first: number, count: number, present: boolean): Promise<void> {
    return this.metadata.run(async () => {
      const entry = this.bat[block] ?? VHD_BAT_UNALLOCATED;
      const cached = await this.bitmap(block, entry);
      if (cached === 'full' && present) return;
      const bytes = cached === 'full' ? new Uint8Array(this.bitmapSize).fill(0xff) : cached;
      bitmapSetRange(bytes, first, count, present);
      const from = Math.floor(first / 8 / VHD_SECTOR_SIZE) * VHD_SECTOR_SIZE;
      const to = Math.ceil((first + count) / 8 / VHD_SECTOR_SIZE) * VHD_SECTOR_SIZE;
      await this.file.writeAt(bytes.subarray(from, to), entry * VHD_SECTOR_SIZE + from);
      this.bitmaps.set(block, bitmapAllSet(bytes, this.sectorsPerBlock) ? 'full' : bytes);
    });
  }

  /** Allocates `block` at the end of the file (under the metadata mutex); returns its BAT entry. */
  private async allocateUnchecked(block: number): Promise<number> {
    const existing = this.bat[block] ?? VHD_BAT_UNALLOCATED;
    if (existing !== VHD_BAT_UNALLOCATED) return existing;
    const start = this.nextFree;
    const entry = start / VHD_SECTOR_SIZE;
    const bitmap = new Uint8Array(this.bitmapSize).fill(this.parent === null ? 0xff : 0);
    await this.file.writeAt(bitmap, start);
    const end = start + this.bitmapSize + this.blockSize;
    await this.file.writeAt(encodeVhdFooter(this.footer), end);
    const batEntry = Buffer.alloc(4);
    batEntry.writeUInt32BE(entry);
    await this.file.writeAt(batEntry, this.header.tableOffset + block * 4);
    this.bitmaps.set(block, this.parent === null ? 'full' : bitmap);
    this.bat[block] = entry;
    this.nextFree = end;
    this.allocatedBlocks++;
    return entry;
  }

  /** Grows to `newSize` (under the metadata mutex). */
  private async growUnchecked(newSize: number): Promise<void> {
    const entries = Math.ceil(newSize / this.blockSize);
    let header = this.header;
    if (entries > header.maxTableEntries) {
      const bat = new Uint32Array(entries).fill(VHD_BAT_UNALLOCATED);
      bat.set(this.bat);
      let tableOffset = header.tableOffset;
      if (entries * 4 > batBytes(header.maxTableEntries)) {
        // The BAT does not fit its old place: write it at the end of the file.
        tableOffset = this.nextFree;
        this.nextFree += batBytes(entries);
      }
      await this.file.writeAt(encodeBat(bat), tableOffset);
      header = { ...header, tableOffset, maxTableEntries: entries };
      this.bat = bat;
    }
    const footer = { ...this.footer, currentSize: newSize, geometry: vhdGeometry(newSize / VHD_SECTOR_SIZE) };
    const encoded = encodeVhdFooter(footer);
    await this.file.writeAt(encoded, this.nextFree);
    await this.file.sync();
    await this.file.writeAt(encodeVhdDynamicHeader(header), this.headerOffset);
    await this.file.writeAt(encoded, 0);
    this.header = header;
    this.footer = footer;
  }


}
