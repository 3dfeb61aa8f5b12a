/**
 * `VhdxDisk`: a VHDX image (fixed, dynamic or differencing; hyperv-tlfs.md §7) as a `VirtualDisk`.
 *
 * Design:
 * - Data I/O on allocated blocks runs concurrently under the shared side of an `RwLock`; block
 *   allocation, trim, resize, flush and close take it exclusively (so a block is never freed or
 *   reused under an in-flight write).
 * - New blocks are appended at the 1 MiB-aligned end of the file (which reads as zeros) or reuse a
 *   block freed by a trim that a flush already committed (then zero-filled).
 * - BAT, sector-bitmap and metadata changes live in memory until `flush`, which hands them to the
 *   journal (`vhdx-journal.ts`): logged, synced, then applied in place. The first change opens
 *   the journal's session (new header GUIDs); `close` ends it, so a clean file needs no replay.
 * - Differencing disks read sectors whose bitmap bit is clear (and not-present blocks) from the
 *   parent, which they hold open read-only.
 */
import { ImageDisk } from '../image-disk.ts';
import { DiskCorruptError, DiskUnsupportedError } from '../errors.ts';
import type { DiskOpenContext } from '../format-registry.ts';
import { checkRange, checkVirtualSize } from '../request-checks.ts';
import type { DiskFormat, DiskInfo, OpenDiskOptions, ResizeOptions, VirtualDisk } from '../virtual-disk.ts';
import { Bat, batGeometry, batRegionLength, bitmapEntryIndex, payloadEntryIndex, type BatGeometry } from './bat.ts';
import type { CurrentHeader } from './header.ts';
import { loadImage } from './image.ts';
import { Limits, MiB, PayloadBlockState, SectorBitmapState } from './layout.ts';
import type { LogSectorWrite } from './log.ts';
import type { VhdxMetadata } from './metadata.ts';
import { locatorCandidates, locatorLinkage } from './parent-locator.ts';
import { REGION_TABLE_OFFSETS, serializeRegionTable, type VhdxRegions } from './region-table.ts';
import { RwLock } from './rw-lock.ts';
import { SectorBitmaps } from './sector-bitmaps.ts';
import { VhdxFile } from './vhdx-file.ts';
import { VhdxJournal } from './vhdx-journal.ts';

const SECTOR = Limits.LOG_SECTOR_SIZE;

/** One block-sized piece of a request. */
interface Segment {
  readonly block: number;
  /** Byte offset inside the block. */
  readonly inBlock: number;
  readonly length: number;
  /** Byte offset inside the request's buffer. */
  readonly at: number;
}

/** A VHDX image opened as a virtual disk. */
export class VhdxDisk extends ImageDisk implements VirtualDisk {
  readonly format: DiskFormat;
  readonly logicalSectorSize: number;
  readonly physicalSectorSize: number;
  readonly trimReadsZeros: boolean;

  private readonly lock = new RwLock();
  private readonly journal: VhdxJournal;
  private geometry: BatGeometry;
  private bat: Bat;
  private readonly bitmaps: SectorBitmaps | null;
  private fileEnd: number;
  private fileSize: number;
  /** Blocks freed by a committed trim, ready for reuse. */
  private freeBlocks: number[] = [];
  /** Blocks freed by a trim not yet committed by a flush. */
  private pendingFree: number[] = [];

  private constructor(
    private readonly file: VhdxFile,
    readonly path: string,
    readonly readOnly: boolean,
    current: CurrentHeader,
    private regions: VhdxRegions,
    private metadata: VhdxMetadata,
    bat: Bat,
    fileSize: number,
    private readonly parent: VirtualDisk | null,
    private readonly creator: string,
    private readonly replayedEntries: number,
  ) {
    super();
    this.journal = new VhdxJournal(file, path, current);
    this.geometry = bat.geometry;
    this.bat = bat;
    this.fileSize = fileSize;
    this.fileEnd = Math.ceil(fileSize / MiB) * MiB;
    this.logicalSectorSize = metadata.logicalSectorSize;
    this.physicalSectorSize = metadata.physicalSectorSize;
    this.format = metadata.hasParent ? 'vhdx-differencing' : metadata.leaveBlocksAllocated ? 'vhdx-fixed' : 'vhdx-dynamic';
    this.trimReadsZeros = !metadata.leaveBlocksAllocated;
    this.bitmaps = metadata.hasParent
      ? new SectorBitmaps(
          (chunk) => {
            const entry = this.bat.get(bitmapEntryIndex(this.geometry, chunk));
            return entry.state === SectorBitmapState.present ? entry.fileOffset : null;
          },
          async (offset) => {
            const sector = new Uint8Array(SECTOR);
            await this.file.readInto(sector, offset);
            return sector;
          },
        )
      : null;
  }

  /**
   * Opens and validates the VHDX image at `path` (and, for a differencing disk, its parent chain
   * through `context`), replaying its log first when needed.
   * @throws {DiskCorruptError} for any invalid structure (every reason VHDX uses), `parent-mismatch`
   *   when the parent's DataWriteGuid or sector size differs from what the child recorded.
   * @throws {DiskParentMissingError} when no recorded parent path exists.
   * @throws {DiskUnsupportedError} when a log needs replaying and `readOnly` is set.
   * @throws {DiskNotFoundError}, {DiskIoError}
   */
  static async open(path: string, options: OpenDiskOptions, context: DiskOpenContext): Promise<VhdxDisk> {
    const readOnly = options.readOnly === true;
    const file = await VhdxFile.open(path, { writable: !readOnly });
    let parent: VirtualDisk | null = null;
    try {
      const image = await loadImage(file, path);
      const locator = image.metadata.parentLocator;
      if (locator !== null) {
        parent = await context.openParent(path, locatorCandidates(locator, path));
        if (parent.logicalSectorSize !== image.metadata.logicalSectorSize) {
          throw new DiskCorruptError('parent-mismatch', path, `parent has ${parent.logicalSectorSize}-byte sectors, child ${image.metadata.logicalSectorSize}`);
        }
        const linkage = locatorLinkage(locator);
        const parentGuid = parent.info().details['dataWriteGuid'];
        if (linkage !== null && parent.format.startsWith('vhdx-') && parentGuid !== linkage) {
          throw new DiskCorruptError('parent-mismatch', path, `parent ${parent.path} has DataWriteGuid ${String(parentGuid)}, child expects ${linkage}`);
        }
      }
      return new VhdxDisk(file, path, readOnly, image.current, image.regions, image.metadata, image.bat, image.fileSize, parent, image.creator, image.replayedEntries);
    } catch (error) {
      await parent?.close().catch(() => undefined);
      await file.close().catch(() => undefined);
      throw error;
    }
  }

  get virtualSize(): number {
    return this.geometry.virtualSize;
  }



  private *segments(offset: number, length: number): Generator<Segment> {
    const bs = this.geometry.blockSize;
    for (let pos = offset; pos < offset + length; ) {
      const block = Math.floor(pos / bs);
      const inBlock = pos - block * bs;
      const n = Math.min(offset + length - pos, bs - inBlock);
      yield { block, inBlock, length: n, at: pos - offset };
      pos += n;
    }
  }


  /**
   * Not `async`: a request inside one fully present block, with the lock free, is the file's own
   * read under the shared lock (the hot path); anything else takes `readIntoSlow`. Failed checks
   * reject.
   * @inheritDoc
   */
  readInto(offset: number, target: Uint8Array): Promise<void> {
    try {
      this.checkOpen();
      checkRange(offset, target.byteLength, this.virtualSize, this.logicalSectorSize);
    } catch (error) {
      return Promise.reject(error);
    }
    const at = this.presentExtentShared(offset, target.byteLength);
    if (at < 0) return this.readIntoSlow(offset, target);
    return this.file.readInto(target, at).then(this.releaseSharedAfter, this.releaseSharedAfterFailure);
  }

  /**
   * When `[offset, +length)` lies inside one fully present block and the shared lock could be
   * taken at once: the lock is held and the file offset of `offset` is returned; else -1 (lock
   * not held). Range checked by the caller.
   */
  private presentExtentShared(offset: number, length: number): number {
    const g = this.geometry;
    const block = Math.floor(offset / g.blockSize);
    const inBlock = offset - block * g.blockSize;
    if (inBlock + length > g.blockSize || !this.lock.tryAcquireShared()) return -1;
    const entry = this.bat.get(payloadEntryIndex(g, block));
    if (entry.state === PayloadBlockState.fullyPresent) return entry.fileOffset + inBlock;
    this.lock.releaseShared();
    return -1;
  }

  private readonly releaseSharedAfter = (): void => this.lock.releaseShared();
  private readonly releaseSharedAfterFailure = (error: unknown): never => {
    this.lock.releaseShared();
    throw error;
  };

  /** Reads any range, segment by segment (range checked). */
  private async readIntoSlow(offset: number, target: Uint8Array): Promise<void> {
    await this.lock.acquireShared();
    try {
      for (const seg of this.segments(offset, target.byteLength)) await this.readSegmentUnchecked(seg, target.subarray(seg.at, seg.at + seg.length));
    } finally {
      this.lock.releaseShared();
    }
  }

  /** Reads one segment (range checked, lock held). */
  private async readSegmentUnchecked(seg: Segment, out: Uint8Array): Promise<void> {
    const entry = this.bat.get(payloadEntryIndex(this.geometry, seg.block));
    const virtualOffset = seg.block * this.geometry.blockSize + seg.inBlock;
    switch (entry.state) {
      case PayloadBlockState.fullyPresent:
        return this.file.readInto(out, entry.fileOffset + seg.inBlock);
      case PayloadBlockState.partiallyPresent: {
        const lss = this.logicalSectorSize;
        const runs = await this.requireBitmaps().runs(virtualOffset / lss, seg.length / lss);
        let at = 0;
        for (const [present, count] of runs) {
          const piece = out.subarray(at, at + count * lss);
          if (present) await this.file.readInto(piece, entry.fileOffset + seg.inBlock + at);
          else await this.readParent(virtualOffset + at, piece);
          at += count * lss;
        }
        return;
      }
      case PayloadBlockState.notPresent:
        if (this.parent !== null) return this.readParent(virtualOffset, out);
        out.fill(0);
        return;
      default:
        out.fill(0);
    }
  }

  private async readParent(offset: number, out: Uint8Array): Promise<void> {
    const parent = this.parent;
    const inside = parent === null ? 0 : Math.max(0, Math.min(out.byteLength, parent.virtualSize - offset));
    if (parent !== null && inside > 0) await parent.readInto(offset, out.subarray(0, inside));
    out.fill(0, inside);
  }

  private requireBitmaps(): SectorBitmaps {
    if (this.bitmaps === null) throw new DiskCorruptError('bad-bat-state', this.path, 'partially present block in a disk without a parent');
    return this.bitmaps;
  }

  /**
   * Not `async`: once the session is open, a write inside one fully present block with the lock
   * free is the file's own write under the shared lock (the hot path); anything else (allocation,
   * several blocks) takes `writeSlow`. Failed checks reject.
   * @inheritDoc
   */
  write(offset: number, data: Uint8Array): Promise<void> {
    try {
      this.checkWritable();
      checkRange(offset, data.byteLength, this.virtualSize, this.logicalSectorSize);
    } catch (error) {
      return Promise.reject(error);
    }
    const at = !this.journal.open ? -1 : this.presentExtentShared(offset, data.byteLength);
    if (at < 0) return this.writeSlow(offset, data);
    return this.file.write(at, data).then(this.releaseSharedAfter, this.releaseSharedAfterFailure);
  }

  /** Writes any range, allocating as needed (range checked). */
  private async writeSlow(offset: number, data: Uint8Array): Promise<void> {
    if (!this.journal.open) await this.lock.exclusively(() => this.journal.begin());
    await this.lock.acquireShared();
    let shared = true;
    try {
      for (const seg of this.segments(offset, data.byteLength)) {
        const piece = data.subarray(seg.at, seg.at + seg.length);
        const entry = this.bat.get(payloadEntryIndex(this.geometry, seg.block));
        if (entry.state === PayloadBlockState.fullyPresent) {
          await this.file.write(entry.fileOffset + seg.inBlock, piece);
          continue;
        }
        this.lock.releaseShared();
        shared = false;
        await this.lock.exclusively(() => this.writeSegmentUnchecked(seg, piece));
        await this.lock.acquireShared();
        shared = true;
      }
    } finally {
      if (shared) this.lock.releaseShared();
    }
  }

  /** Writes one segment, allocating as needed (range checked, exclusive lock held). */
  private async writeSegmentUnchecked(seg: Segment, piece: Uint8Array): Promise<void> {
    const g = this.geometry;
    const index = payloadEntryIndex(g, seg.block);
    const entry = this.bat.get(index);
    const lss = this.logicalSectorSize;
    const firstSector = (seg.block * g.blockSize + seg.inBlock) / lss;
    if (entry.state === PayloadBlockState.fullyPresent) return this.file.write(entry.fileOffset + seg.inBlock, piece);
    if (entry.state === PayloadBlockState.partiallyPresent) {
      await this.file.write(entry.fileOffset + seg.inBlock, piece);
      return this.requireBitmaps().mark(firstSector, seg.length / lss, true);
    }
    const whole = seg.inBlock === 0 && (seg.length === g.blockSize || seg.block * g.blockSize + seg.length >= g.virtualSize);
    if (this.parent !== null && entry.state === PayloadBlockState.notPresent && !whole) {
      // Only the written sectors become present; the rest still come from the parent.
      await this.ensureBitmapBlockUnchecked(Math.floor(seg.block / g.chunkRatio));
      const { offset } = await this.allocateBlockUnchecked();
      const bitmaps = this.requireBitmaps();
      await bitmaps.mark((seg.block * g.blockSize) / lss, g.sectorsPerBlock, false);
      await this.file.write(offset + seg.inBlock, piece);
      await bitmaps.mark(firstSector, seg.length / lss, true);
      this.bat.set(index, PayloadBlockState.partiallyPresent, offset);
      return;
    }
    // The block reads as zeros outside this write (or the write covers it): make it fully present.
    const { offset, fresh } = await this.allocateBlockUnchecked();
    if (fresh || whole) await this.file.write(offset + seg.inBlock, piece);
    else {
      const block = Buffer.alloc(g.blockSize);
      block.set(piece, seg.inBlock);
      await this.file.write(offset, block);
    }
    this.bat.set(index, PayloadBlockState.fullyPresent, offset);
  }

  /** A block's worth of file: a committed free block (stale contents) or a fresh one at the end (zeros). */
  private async allocateBlockUnchecked(): Promise<{ offset: number; fresh: boolean }> {
    const reused = this.freeBlocks.pop();
    if (reused !== undefined) return { offset: reused, fresh: false };
    return { offset: await this.extendUnchecked(this.geometry.blockSize), fresh: true };
  }

  /** Appends `length` zero bytes at the 1 MiB-aligned end of the file; returns where they start. */
  private async extendUnchecked(length: number): Promise<number> {
    const offset = this.fileEnd;
    this.fileEnd += length;
    await this.file.truncate(this.fileEnd);
    this.fileSize = this.fileEnd;
    return offset;
  }

  private async ensureBitmapBlockUnchecked(chunk: number): Promise<void> {
    const index = bitmapEntryIndex(this.geometry, chunk);
    if (this.bat.get(index).state === SectorBitmapState.present) return;
    this.bat.set(index, SectorBitmapState.present, await this.extendUnchecked(Limits.SECTOR_BITMAP_BLOCK_SIZE));
  }

  /** @inheritDoc */
  async trim(offset: number, length: number): Promise<void> {
    this.checkWritable();
    checkRange(offset, length, this.virtualSize, this.logicalSectorSize);
    if (this.metadata.leaveBlocksAllocated || length === 0) return;
    await this.lock.exclusively(async () => {
      await this.journal.begin();
      const g = this.geometry;
      for (const seg of this.segments(offset, length)) {
        const index = payloadEntryIndex(g, seg.block);
        const entry = this.bat.get(index);
        const allocated = entry.state === PayloadBlockState.fullyPresent || entry.state === PayloadBlockState.partiallyPresent;
        const whole = seg.inBlock === 0 && (seg.length === g.blockSize || seg.block * g.blockSize + seg.length >= g.virtualSize);
        if (whole) {
          // Dynamic: UNMAPPED (reads zeros); differencing: ZERO (zeros, not the parent's data).
          const state = this.parent !== null ? PayloadBlockState.zero : PayloadBlockState.unmapped;
          if (allocated) this.pendingFree.push(entry.fileOffset);
          if (entry.state !== state || entry.fileOffset !== 0) this.bat.set(index, state, 0);
        } else if (allocated || (this.parent !== null && entry.state === PayloadBlockState.notPresent)) {
          await this.writeSegmentUnchecked(seg, new Uint8Array(seg.length));
        }
      }
    });
  }

  /** @inheritDoc */
  async flush(): Promise<void> {
    this.checkOpen();
    if (this.readOnly) return;
    await this.lock.exclusively(() => this.commitUnchecked());
  }

  /** Syncs data, then logs and applies every pending metadata change (exclusive lock held). */
  private async commitUnchecked(): Promise<void> {
    if (!this.journal.open) return;
    const writes: LogSectorWrite[] = [];
    for (const sector of this.bat.takeDirty()) writes.push({ kind: 'data', fileOffset: this.regions.bat.fileOffset + sector * SECTOR, data: this.bat.sector(sector) });
    if (this.bitmaps !== null) for (const [fileOffset, data] of await this.bitmaps.takeDirty()) writes.push({ kind: 'data', fileOffset, data });
    await this.journal.commit(writes, { flushedFileOffset: this.fileSize, lastFileOffset: this.fileEnd });
    this.freeBlocks.push(...this.pendingFree);
    this.pendingFree = [];
  }

  /** @inheritDoc */
  async resize(newSize: number, options: ResizeOptions = {}): Promise<void> {
    this.checkWritable();
    checkVirtualSize(newSize, this.logicalSectorSize, Limits.MAX_VIRTUAL_SIZE);
    const oldSize = this.virtualSize;
    if (newSize === oldSize) return;
    if (newSize < oldSize && options.allowShrink !== true) throw new DiskUnsupportedError(this.path, `shrinking from ${oldSize} to ${newSize} bytes needs allowShrink`);
    await this.lock.exclusively(async () => {
      await this.journal.begin();
      const old = this.geometry;
      const g = batGeometry(newSize, old.blockSize, old.logicalSectorSize, old.hasParent);
      for (let block = g.payloadBlocks; block < old.payloadBlocks; block++) this.bat.set(payloadEntryIndex(old, block), PayloadBlockState.notPresent, 0);
      const bat = new Bat(Buffer.alloc(Bat.bytesFor(g)), g);
      this.bat.bytes.copy(bat.bytes, 0, 0, Math.min(this.bat.bytes.byteLength, bat.bytes.byteLength));
      for (const sector of this.bat.takeDirty()) if (sector * SECTOR < bat.bytes.byteLength) bat.markDirty(sector);
      for (let index = old.totalEntries; index < g.totalEntries; index++) bat.set(index, 0, 0);
      if (g.totalEntries * 8 > this.regions.bat.length) {
        // Relocate the BAT to the end of the file; the region tables switch to it through the log.
        const length = batRegionLength(g);
        const fileOffset = await this.extendUnchecked(length);
        await this.file.write(fileOffset, bat.bytes);
        bat.takeDirty();
        this.regions = { ...this.regions, bat: { fileOffset, length } };
        const table = serializeRegionTable(this.regions);
        for (const base of REGION_TABLE_OFFSETS) {
          for (let at = 0; at < table.byteLength; at += SECTOR) this.journal.queueSector(base + at, table.subarray(at, at + SECTOR));
        }
      }
      this.geometry = g;
      this.bat = bat;
      this.metadata = { ...this.metadata, virtualSize: newSize };
      const sizeItem = Buffer.alloc(8);
      sizeItem.writeBigUInt64LE(BigInt(newSize));
      await this.journal.patch(this.regions.metadata.fileOffset + this.metadata.virtualSizeItemOffset, sizeItem);
      if (newSize > oldSize) await this.zeroGrownRangeUnchecked(oldSize, newSize);
      await this.commitUnchecked();
    });
  }

  /** After a grow, makes `[oldSize, newSize)` read as zeros (and keeps a fixed disk fully allocated). */
  private async zeroGrownRangeUnchecked(oldSize: number, newSize: number): Promise<void> {
    const g = this.geometry;
    for (const seg of this.segments(oldSize, newSize - oldSize)) {
      const index = payloadEntryIndex(g, seg.block);
      const entry = this.bat.get(index);
      const blockStart = seg.block * g.blockSize;
      const allocated = entry.state === PayloadBlockState.fullyPresent || entry.state === PayloadBlockState.partiallyPresent;
      const parentCovers = this.parent !== null && this.parent.virtualSize > blockStart + seg.inBlock;
      if (this.metadata.leaveBlocksAllocated && !allocated) {
        this.bat.set(index, PayloadBlockState.fullyPresent, await this.extendUnchecked(g.blockSize));
      } else if (seg.inBlock === 0 && !allocated) {
        if (parentCovers) this.bat.set(index, PayloadBlockState.zero, 0);
      } else if (allocated || (parentCovers && entry.state === PayloadBlockState.notPresent)) {
        await this.writeSegmentUnchecked(seg, new Uint8Array(seg.length));
      }
    }
  }

  /** @inheritDoc */
  info(): DiskInfo {
    const g = this.geometry;
    let allocatedBlocks = 0;
    for (let block = 0; block < g.payloadBlocks; block++) {
      const state = this.bat.get(payloadEntryIndex(g, block)).state;
      if (state === PayloadBlockState.fullyPresent || state === PayloadBlockState.partiallyPresent) allocatedBlocks++;
    }
    const h = this.journal.header;
    const locator = this.metadata.parentLocator;
    return {
      path: this.path,
      format: this.format,
      virtualSize: this.virtualSize,
      logicalSectorSize: this.logicalSectorSize,
      physicalSectorSize: this.physicalSectorSize,
      blockSize: g.blockSize,
      fileSize: this.fileSize,
      allocatedBytes: this.format === 'vhdx-fixed' ? this.virtualSize : Math.min(this.virtualSize, allocatedBlocks * g.blockSize),
      readOnly: this.readOnly,
      parentPath: this.parent?.path ?? null,
      parent: this.parent?.info() ?? null,
      details: {
        creator: this.creator,
        headerSequenceNumber: h.sequenceNumber.toString(),
        fileWriteGuid: h.fileWriteGuid,
        dataWriteGuid: h.dataWriteGuid,
        logGuid: h.logGuid,
        logOffset: h.logOffset,
        logLength: h.logLength,
        batOffset: this.regions.bat.fileOffset,
        metadataOffset: this.regions.metadata.fileOffset,
        chunkRatio: g.chunkRatio,
        page83: this.metadata.page83,
        parentLinkage: locator === null ? null : locatorLinkage(locator),
        replayedLogEntries: this.replayedEntries,
      },
    };
  }

  /** @inheritDoc */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.readOnly) {
        await this.lock.exclusively(async () => {
          await this.commitUnchecked();
          await this.journal.end();
        });
      }
    } finally {
      this.closed = true;
      await this.file.close();
      await this.parent?.close();
    }
  }
}
