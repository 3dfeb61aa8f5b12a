/**
 * Opening a VHDX image (hyperv-tlfs.md §7): the file identifier, the current header, the log
 * (replayed before anything else is read, as the spec requires), the region table, the metadata
 * and the BAT, each validated before use. `validateBat` checks every allocated block lies inside
 * the file, outside the header section and the regions, and overlaps no other block.
 * `updateHeaders` performs the spec's header update: write the non-current slot with sequence + 1,
 * sync, and do it twice so both slots end up valid.
 */
import { NIL_GUID, parseGuid, type Guid } from '@viridian/vmbus';
import { randomUUID } from 'node:crypto';
import { DiskCorruptError, DiskUnsupportedError } from '../errors.ts';
import { Bat, batGeometry, bitmapEntryIndex, payloadEntryIndex, type BatGeometry } from './bat.ts';
import { chooseHeader, headerSlotOffset, parseFileIdentifier, serializeHeader, type CurrentHeader, type VhdxHeader } from './header.ts';
import { HeaderLayout, HeaderSection, Limits, MetadataTableHeaderLayout, MiB, PayloadBlockState, SectorBitmapState } from './layout.ts';
import { scanLog } from './log.ts';
import { parseMetadataItems, parseMetadataTable, type VhdxMetadata } from './metadata.ts';
import { REGION_TABLE_OFFSETS, parseRegionTables, type VhdxRegions } from './region-table.ts';
import type { VhdxFile } from './vhdx-file.ts';

/** The largest log Viridian reads into memory for replay. */
export const MAX_LOG_LENGTH = 64 * MiB;

/** A fresh random GUID. */
export function newGuid(): Guid {
  return parseGuid(randomUUID());
}

/** Everything `loadImage` learned. */
export interface VhdxImage {
  readonly creator: string;
  readonly current: CurrentHeader;
  readonly regions: VhdxRegions;
  readonly metadata: VhdxMetadata;
  readonly geometry: BatGeometry;
  readonly bat: Bat;
  readonly fileSize: number;
  /** Log entries replayed while opening. */
  readonly replayedEntries: number;
}

/**
 * Writes `changes` into the headers the spec's way (twice, alternating slots, each synced).
 * @throws {DiskIoError}
 */
export async function updateHeaders(file: VhdxFile, current: CurrentHeader, changes: Partial<Omit<VhdxHeader, 'sequenceNumber'>>): Promise<CurrentHeader> {
  let state = current;
  for (let i = 0; i < 2; i++) {
    const slot: 0 | 1 = state.slot === 0 ? 1 : 0;
    const header: VhdxHeader = { ...state.header, ...changes, sequenceNumber: state.header.sequenceNumber + 1n };
    await file.write(headerSlotOffset(slot), serializeHeader(header));
    await file.datasync();
    state = { header, slot };
  }
  return state;
}

/**
 * Opens and validates the image in `file`, replaying its log when the header names one.
 * @throws {DiskCorruptError} for every validation failure (see the parsers' lists).
 * @throws {DiskUnsupportedError} when the log needs replaying but the file is open read-only.
 * @throws {DiskIoError}
 */
export async function loadImage(file: VhdxFile, path: string): Promise<VhdxImage> {
  let fileSize = await file.size();
  if (fileSize < HeaderSection.SIZE) throw new DiskCorruptError('truncated', path, `${fileSize}-byte file is shorter than the 1 MiB header section`);
  const creator = parseFileIdentifier(await file.readStructure(0, HeaderSection.SLOT_SIZE, fileSize, 'file identifier'), path);
  let current = chooseHeader(
    await file.readStructure(HeaderSection.header1, HeaderLayout.CHECKSUM_SIZE, fileSize, 'header 1'),
    await file.readStructure(HeaderSection.header2, HeaderLayout.CHECKSUM_SIZE, fileSize, 'header 2'),
    path,
  );

  let replayedEntries = 0;
  if (current.header.logGuid !== NIL_GUID && current.header.logLength > 0) {
    const { logOffset, logLength } = current.header;
    if (logLength > MAX_LOG_LENGTH) throw new DiskCorruptError('bad-log', path, `${logLength}-byte log is larger than ${MAX_LOG_LENGTH}`);
    const log = await file.readStructure(logOffset, logLength, fileSize, 'log');
    const plan = scanLog(log, current.header.logGuid, fileSize, path);
    if (plan !== null) {
      if (!file.writable) throw new DiskUnsupportedError(path, 'the log needs replaying; open the image read-write once');
      for (const entry of plan.entries) {
        for (const write of entry.writes) {
          await file.write(write.fileOffset, write.kind === 'data' ? write.data : new Uint8Array(write.length));
        }
        const size = await file.size();
        if (entry.lastFileOffset > size) await file.truncate(Math.ceil(entry.lastFileOffset / MiB) * MiB);
      }
      await file.datasync();
      replayedEntries = plan.entries.length;
      fileSize = await file.size();
    }
    if (file.writable) current = await updateHeaders(file, current, { logGuid: NIL_GUID, fileWriteGuid: newGuid() });
  }

  const regions = parseRegionTables(
    await file.readStructure(REGION_TABLE_OFFSETS[0], HeaderSection.SLOT_SIZE, fileSize, 'region table 1'),
    await file.readStructure(REGION_TABLE_OFFSETS[1], HeaderSection.SLOT_SIZE, fileSize, 'region table 2').catch(() => new Uint8Array(0)),
    path,
  );
  const log = { fileOffset: current.header.logOffset, length: current.header.logLength };
  for (const region of [regions.bat, regions.metadata]) {
    if (log.length > 0 && region.fileOffset < log.fileOffset + log.length && log.fileOffset < region.fileOffset + region.length) {
      throw new DiskCorruptError('overlapping-blocks', path, 'a region overlaps the log');
    }
  }

  const table = await file.readStructure(regions.metadata.fileOffset, MetadataTableHeaderLayout.TABLE_SIZE, fileSize, 'metadata table');
  const entries = parseMetadataTable(table, regions.metadata.length, path);
  const itemBytes = new Map<Guid, Uint8Array>();
  for (const entry of entries) {
    if (entry.length > 0) itemBytes.set(entry.itemId, await file.readStructure(regions.metadata.fileOffset + entry.offset, entry.length, fileSize, `metadata item ${entry.itemId}`));
  }
  const metadata = parseMetadataItems(entries, (entry) => itemBytes.get(entry.itemId) ?? new Uint8Array(0), path);

  const geometry = batGeometry(metadata.virtualSize, metadata.blockSize, metadata.logicalSectorSize, metadata.hasParent);
  if (geometry.totalEntries * 8 > regions.bat.length) {
    throw new DiskCorruptError('bad-bat', path, `${geometry.totalEntries} BAT entries do not fit a ${regions.bat.length}-byte BAT region`);
  }
  const batBytes = Buffer.alloc(Bat.bytesFor(geometry));
  const batRead = await file.readStructure(regions.bat.fileOffset, geometry.totalEntries * 8, fileSize, 'BAT');
  batRead.copy(batBytes);
  const bat = new Bat(batBytes, geometry);
  validateBat(bat, geometry, regions, log, fileSize, path);
  return { creator, current, regions, metadata, geometry, bat, fileSize, replayedEntries };
}

/**
 * Checks every BAT entry: a known state, allocated blocks 1 MiB aligned past the header section,
 * inside the file, overlapping neither a region nor another block; a partially present block only
 * in a differencing disk whose chunk has a sector bitmap.
 * @throws {DiskCorruptError} `bad-bat-state`, `bat-entry-misplaced`, `bat-entry-beyond-file`,
 *   `overlapping-blocks`, `bad-bat`.
 */
export function validateBat(bat: Bat, g: BatGeometry, regions: VhdxRegions, log: { fileOffset: number; length: number }, fileSize: number, path: string): void {
  const used: { start: number; end: number; what: string }[] = [
    { start: 0, end: HeaderSection.SIZE, what: 'the header section' },
    { start: log.fileOffset, end: log.fileOffset + log.length, what: 'the log' },
    { start: regions.bat.fileOffset, end: regions.bat.fileOffset + regions.bat.length, what: 'the BAT' },
    { start: regions.metadata.fileOffset, end: regions.metadata.fileOffset + regions.metadata.length, what: 'the metadata region' },
  ];
  const place = (fileOffset: number, length: number, what: string, index: number): void => {
    if (fileOffset < HeaderSection.SIZE || fileOffset % MiB !== 0) throw new DiskCorruptError('bat-entry-misplaced', path, `${what} (BAT entry ${index}) at ${fileOffset}`);
    if (fileOffset + length > fileSize) throw new DiskCorruptError('bat-entry-beyond-file', path, `${what} (BAT entry ${index}) [${fileOffset}, +${length}) passes the end of the ${fileSize}-byte file`);
    used.push({ start: fileOffset, end: fileOffset + length, what: `${what} (BAT entry ${index})` });
  };
  const bitmapPresent: boolean[] = [];
  for (let chunk = 0; chunk * g.chunkRatio < g.payloadBlocks; chunk++) {
    const index = bitmapEntryIndex(g, chunk);
    if (index >= g.totalEntries) break;
    const entry = bat.get(index);
    if (entry.state !== SectorBitmapState.notPresent && entry.state !== SectorBitmapState.present) throw new DiskCorruptError('bad-bat-state', path, `sector bitmap entry ${index} has state ${entry.state}`);
    bitmapPresent[chunk] = entry.state === SectorBitmapState.present;
    if (entry.state === SectorBitmapState.present) place(entry.fileOffset, Limits.SECTOR_BITMAP_BLOCK_SIZE, 'sector bitmap block', index);
  }
  for (let block = 0; block < g.payloadBlocks; block++) {
    const index = payloadEntryIndex(g, block);
    const entry = bat.get(index);
    switch (entry.state) {
      case PayloadBlockState.notPresent:
      case PayloadBlockState.undefined:
      case PayloadBlockState.zero:
      case PayloadBlockState.unmapped:
      case PayloadBlockState.unmappedV095:
        break;
      case PayloadBlockState.partiallyPresent:
      case PayloadBlockState.fullyPresent: {
        if (entry.state === PayloadBlockState.partiallyPresent) {
          if (!g.hasParent) throw new DiskCorruptError('bad-bat-state', path, `payload entry ${index} is partially present in a disk without a parent`);
          if (bitmapPresent[Math.floor(block / g.chunkRatio)] !== true) throw new DiskCorruptError('bad-bat', path, `payload entry ${index} is partially present but its chunk has no sector bitmap`);
        }
        // qemu once wrote images whose last block stops at the end of the virtual disk; accept them.
        const length = Math.min(g.blockSize, g.virtualSize - block * g.blockSize);
        place(entry.fileOffset, length, 'payload block', index);
        break;
      }
      default:
        throw new DiskCorruptError('bad-bat-state', path, `payload entry ${index} has state ${entry.state}`);
    }
  }
  const sorted = [...used].filter((u) => u.end > u.start).sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const before = sorted[i - 1];
    const after = sorted[i];
    if (before !== undefined && after !== undefined && after.start < before.end) {
      throw new DiskCorruptError('overlapping-blocks', path, `${after.what} overlaps ${before.what}`);
    }
  }
}
