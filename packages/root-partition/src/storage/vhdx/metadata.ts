/**
 * The VHDX metadata region (hyperv-tlfs.md §7 "Metadata region"): a 64 KiB `"metadata"` table of
 * 32-byte entries pointing at items in the same region, and the system items (file parameters,
 * virtual disk size, logical/physical sector size, page 83 data, parent locator). Parsing is two
 * steps so the caller reads only what the table names: `parseMetadataTable`, then
 * `parseMetadataItems` over the item bytes.
 */
import type { Guid } from '@viridian/vmbus';
import { DiskCorruptError } from '../errors.ts';
import { VhdxReader, VhdxWriter } from './bytes.ts';
import {
  FileParameterFlags,
  FileParametersLayout,
  Limits,
  MetadataFlags,
  MetadataGuid,
  MetadataTableEntryLayout,
  MetadataTableHeaderLayout,
  Page83Layout,
  SectorSizeLayout,
  Signature,
  VirtualDiskSizeLayout,
} from './layout.ts';
import { parseParentLocator, serializeParentLocator, type ParentLocator } from './parent-locator.ts';

/** One metadata table entry. */
export interface MetadataEntry {
  readonly itemId: Guid;
  /** From the start of the metadata region. */
  readonly offset: number;
  readonly length: number;
  readonly flags: number;
}

/** The decoded system metadata. */
export interface VhdxMetadata {
  readonly blockSize: number;
  readonly leaveBlocksAllocated: boolean;
  readonly hasParent: boolean;
  readonly virtualSize: number;
  readonly logicalSectorSize: number;
  readonly physicalSectorSize: number;
  readonly page83: Guid;
  readonly parentLocator: ParentLocator | null;
  /** Offset of the virtual disk size item in the region (resize rewrites it through the log). */
  readonly virtualSizeItemOffset: number;
}

/** What `serializeMetadataRegion` writes. */
export type MetadataInput = Omit<VhdxMetadata, 'virtualSizeItemOffset' | 'parentLocator'> & { readonly parentLocatorEntries: ReadonlyMap<string, string> | null };

/**
 * Parses the 64 KiB table at the start of the metadata region of length `regionLength`.
 * @throws {DiskCorruptError} `bad-signature`, or `bad-metadata` (too many entries, an item outside
 *   the region or below 64 KiB or over 1 MiB, overlapping items, a duplicate system item, an
 *   unknown required item).
 */
export function parseMetadataTable(table: Uint8Array, regionLength: number, path: string): MetadataEntry[] {
  const bad = (detail: string): DiskCorruptError => new DiskCorruptError('bad-metadata', path, detail);
  if (table.byteLength < MetadataTableHeaderLayout.TABLE_SIZE) throw new DiskCorruptError('truncated', path, 'metadata table is cut short');
  const r = new VhdxReader(table);
  if (r.ascii(MetadataTableHeaderLayout.signature, 8) !== Signature.metadata) throw new DiskCorruptError('bad-signature', path, 'metadata table signature is not "metadata"');
  const count = r.u16(MetadataTableHeaderLayout.entryCount);
  if (count > Limits.MAX_METADATA_ENTRIES) throw bad(`${count} metadata entries (max ${Limits.MAX_METADATA_ENTRIES})`);
  const known = new Set<string>(Object.values(MetadataGuid));
  const entries: MetadataEntry[] = [];
  for (let i = 0; i < count; i++) {
    const e = r.sub(MetadataTableHeaderLayout.SIZE + i * MetadataTableEntryLayout.SIZE);
    const entry: MetadataEntry = {
      itemId: e.guid(MetadataTableEntryLayout.itemId),
      offset: e.u32(MetadataTableEntryLayout.offset),
      length: e.u32(MetadataTableEntryLayout.length),
      flags: e.u32(MetadataTableEntryLayout.flags),
    };
    if (entry.length > Limits.MAX_METADATA_ITEM_LENGTH) throw bad(`item ${entry.itemId} is ${entry.length} bytes (max 1 MiB)`);
    if (entry.length > 0 && (entry.offset < Limits.MIN_METADATA_ITEM_OFFSET || entry.offset + entry.length > regionLength)) {
      throw bad(`item ${entry.itemId} [${entry.offset}, +${entry.length}) is outside the region's item area`);
    }
    for (const other of entries) {
      if (other.itemId === entry.itemId) throw bad(`item ${entry.itemId} appears twice`);
      if (entry.length > 0 && other.length > 0 && entry.offset < other.offset + other.length && other.offset < entry.offset + entry.length) {
        throw bad(`items ${entry.itemId} and ${other.itemId} overlap`);
      }
    }
    if (!known.has(entry.itemId) && (entry.flags & MetadataFlags.isRequired) !== 0) throw bad(`unknown required item ${entry.itemId}`);
    entries.push(entry);
  }
  return entries;
}

/**
 * Decodes the system items. `items(entry)` returns the bytes of one entry's item.
 * @throws {DiskCorruptError} `bad-metadata` when a required item is missing or short,
 *   `bad-block-size`, `bad-virtual-size`, `bad-sector-size`, and `bad-parent-locator` (a
 *   differencing disk without one, or a malformed one).
 */
export function parseMetadataItems(entries: readonly MetadataEntry[], items: (entry: MetadataEntry) => Uint8Array, path: string): VhdxMetadata {
  const find = (id: Guid, name: string, size: number): { reader: VhdxReader; entry: MetadataEntry } => {
    const entry = entries.find((e) => e.itemId === id);
    if (entry === undefined) throw new DiskCorruptError('bad-metadata', path, `missing the ${name} item`);
    if (entry.length < size) throw new DiskCorruptError('bad-metadata', path, `${name} item is ${entry.length} bytes, needs ${size}`);
    return { reader: new VhdxReader(items(entry)), entry };
  };
  const params = find(MetadataGuid.fileParameters, 'file parameters', FileParametersLayout.SIZE).reader;
  const blockSize = params.u32(FileParametersLayout.blockSize);
  const flags = params.u32(FileParametersLayout.flags);
  if (blockSize < Limits.MIN_BLOCK_SIZE || blockSize > Limits.MAX_BLOCK_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw new DiskCorruptError('bad-block-size', path, `block size ${blockSize} is not a power of two in 1 MiB–256 MiB`);
  }
  const logicalSectorSize = find(MetadataGuid.logicalSectorSize, 'logical sector size', SectorSizeLayout.SIZE).reader.u32(SectorSizeLayout.size);
  const physicalSectorSize = find(MetadataGuid.physicalSectorSize, 'physical sector size', SectorSizeLayout.SIZE).reader.u32(SectorSizeLayout.size);
  for (const size of [logicalSectorSize, physicalSectorSize]) {
    if (size !== 512 && size !== 4096) throw new DiskCorruptError('bad-sector-size', path, `sector size ${size} is not 512 or 4096`);
  }
  const sizeItem = find(MetadataGuid.virtualDiskSize, 'virtual disk size', VirtualDiskSizeLayout.SIZE);
  const virtualSize = sizeItem.reader.u64(VirtualDiskSizeLayout.size);
  if (virtualSize === 0 || virtualSize > Limits.MAX_VIRTUAL_SIZE || virtualSize % logicalSectorSize !== 0) {
    throw new DiskCorruptError('bad-virtual-size', path, `virtual size ${virtualSize} is zero, unaligned or above 64 TiB`);
  }
  const page83 = find(MetadataGuid.page83Data, 'page 83 data', Page83Layout.SIZE).reader.guid(Page83Layout.guid);
  const hasParent = (flags & FileParameterFlags.hasParent) !== 0;
  let parentLocator: ParentLocator | null = null;
  if (hasParent) {
    const entry = entries.find((e) => e.itemId === MetadataGuid.parentLocator);
    if (entry === undefined || entry.length === 0) throw new DiskCorruptError('bad-parent-locator', path, 'differencing disk without a parent locator');
    parentLocator = parseParentLocator(items(entry), path);
  }
  return {
    blockSize,
    leaveBlocksAllocated: (flags & FileParameterFlags.leaveBlocksAllocated) !== 0,
    hasParent,
    virtualSize,
    logicalSectorSize,
    physicalSectorSize,
    page83,
    parentLocator,
    virtualSizeItemOffset: sizeItem.entry.offset,
  };
}

/** Where `serializeMetadataRegion` puts the items (offsets from the region start). */
export const MetadataItemOffset = Object.freeze({
  fileParameters: 64 * 1024,
  virtualDiskSize: 64 * 1024 + 8,
  logicalSectorSize: 64 * 1024 + 16,
  physicalSectorSize: 64 * 1024 + 20,
  page83Data: 64 * 1024 + 24,
  parentLocator: 64 * 1024 + 40,
});

/** The table plus items of a new metadata region (`regionLength` bytes, zero padded). */
export function serializeMetadataRegion(input: MetadataInput, regionLength: number): Uint8Array {
  const w = VhdxWriter.alloc(regionLength);
  const required = MetadataFlags.isRequired;
  const disk = MetadataFlags.isRequired | MetadataFlags.isVirtualDisk;
  const locator = input.parentLocatorEntries === null ? null : serializeParentLocator(input.parentLocatorEntries);
  const entries: [Guid, number, number, number][] = [
    [MetadataGuid.fileParameters, MetadataItemOffset.fileParameters, FileParametersLayout.SIZE, required],
    [MetadataGuid.virtualDiskSize, MetadataItemOffset.virtualDiskSize, VirtualDiskSizeLayout.SIZE, disk],
    [MetadataGuid.logicalSectorSize, MetadataItemOffset.logicalSectorSize, SectorSizeLayout.SIZE, disk],
    [MetadataGuid.physicalSectorSize, MetadataItemOffset.physicalSectorSize, SectorSizeLayout.SIZE, disk],
    [MetadataGuid.page83Data, MetadataItemOffset.page83Data, Page83Layout.SIZE, disk],
  ];
  if (locator !== null) entries.push([MetadataGuid.parentLocator, MetadataItemOffset.parentLocator, locator.byteLength, disk]);
  w.ascii(MetadataTableHeaderLayout.signature, Signature.metadata).u16(MetadataTableHeaderLayout.entryCount, entries.length);
  entries.forEach(([id, offset, length, flags], i) => {
    w.sub(MetadataTableHeaderLayout.SIZE + i * MetadataTableEntryLayout.SIZE)
      .guid(MetadataTableEntryLayout.itemId, id)
      .u32(MetadataTableEntryLayout.offset, offset)
      .u32(MetadataTableEntryLayout.length, length)
      .u32(MetadataTableEntryLayout.flags, flags);
  });
  const fileFlags = (input.leaveBlocksAllocated ? FileParameterFlags.leaveBlocksAllocated : 0) | (input.hasParent ? FileParameterFlags.hasParent : 0);
  w.sub(MetadataItemOffset.fileParameters).u32(FileParametersLayout.blockSize, input.blockSize).u32(FileParametersLayout.flags, fileFlags);
  w.u64(MetadataItemOffset.virtualDiskSize, input.virtualSize);
  w.u32(MetadataItemOffset.logicalSectorSize, input.logicalSectorSize);
  w.u32(MetadataItemOffset.physicalSectorSize, input.physicalSectorSize);
  w.guid(MetadataItemOffset.page83Data, input.page83);
  if (locator !== null) w.copy(MetadataItemOffset.parentLocator, locator);
  return w.bytes;
}
