/**
 * VHDX region table (hyperv-tlfs.md §7 "Region table"): a 64 KiB `"regi"` table, CRC-32C over all
 * of it, naming the BAT and metadata regions (both required, both 1 MiB aligned). Two copies sit at
 * 192 KiB and 256 KiB; the first valid one is used. An unknown region marked required makes the
 * file unreadable, as the spec demands.
 */
import type { Guid } from '@viridian/vmbus';
import { DiskCorruptError } from '../errors.ts';
import { VhdxReader, VhdxWriter } from './bytes.ts';
import { checksumMatches, sealChecksum } from './checksum.ts';
import { HeaderSection, Limits, MiB, REGION_REQUIRED, RegionGuid, RegionTableEntryLayout, RegionTableHeaderLayout, Signature } from './layout.ts';

/** One region: where it is and how long. */
export interface VhdxRegion {
  readonly fileOffset: number;
  readonly length: number;
}

/** The two regions Viridian uses. */
export interface VhdxRegions {
  readonly bat: VhdxRegion;
  readonly metadata: VhdxRegion;
}

/** The 64 KiB region table naming `regions` (BAT first, then metadata, both required). */
export function serializeRegionTable(regions: VhdxRegions): Uint8Array {
  const w = VhdxWriter.alloc(RegionTableHeaderLayout.TABLE_SIZE);
  w.u32(RegionTableHeaderLayout.signature, Signature.regi).u32(RegionTableHeaderLayout.entryCount, 2);
  const entries: [Guid, VhdxRegion][] = [
    [RegionGuid.bat, regions.bat],
    [RegionGuid.metadata, regions.metadata],
  ];
  entries.forEach(([guid, region], i) => {
    w.sub(RegionTableHeaderLayout.SIZE + i * RegionTableEntryLayout.SIZE)
      .guid(RegionTableEntryLayout.guid, guid)
      .u64(RegionTableEntryLayout.fileOffset, region.fileOffset)
      .u32(RegionTableEntryLayout.length, region.length)
      .u32(RegionTableEntryLayout.flags, REGION_REQUIRED);
  });
  sealChecksum(w.bytes, RegionTableHeaderLayout.checksum);
  return w.bytes;
}

/**
 * Parses one 64 KiB region table copy.
 * @throws {DiskCorruptError} `bad-signature`, `bad-checksum`, or `bad-region-table` (too many
 *   entries, a duplicate or missing BAT/metadata region, an unaligned or overlapping region, a
 *   region inside the header section, an unknown required region).
 */
export function parseRegionTable(bytes: Uint8Array, path: string): VhdxRegions {
  if (bytes.byteLength < RegionTableHeaderLayout.TABLE_SIZE) throw new DiskCorruptError('truncated', path, 'region table is cut short');
  const table = bytes.subarray(0, RegionTableHeaderLayout.TABLE_SIZE);
  const r = new VhdxReader(table);
  if (r.u32(RegionTableHeaderLayout.signature) !== Signature.regi) throw new DiskCorruptError('bad-signature', path, 'region table signature is not "regi"');
  if (!checksumMatches(table, RegionTableHeaderLayout.checksum)) throw new DiskCorruptError('bad-checksum', path, 'region table CRC-32C mismatch');
  const count = r.u32(RegionTableHeaderLayout.entryCount);
  if (count > Limits.MAX_REGION_ENTRIES) throw new DiskCorruptError('bad-region-table', path, `${count} region entries (max ${Limits.MAX_REGION_ENTRIES})`);
  let bat: VhdxRegion | undefined;
  let metadata: VhdxRegion | undefined;
  const seen: VhdxRegion[] = [];
  for (let i = 0; i < count; i++) {
    const e = r.sub(RegionTableHeaderLayout.SIZE + i * RegionTableEntryLayout.SIZE);
    const guid = e.guid(RegionTableEntryLayout.guid);
    const region = { fileOffset: e.u64(RegionTableEntryLayout.fileOffset), length: e.u32(RegionTableEntryLayout.length) };
    const required = (e.u32(RegionTableEntryLayout.flags) & REGION_REQUIRED) !== 0;
    if (guid === RegionGuid.bat || guid === RegionGuid.metadata) {
      if ((guid === RegionGuid.bat ? bat : metadata) !== undefined) throw new DiskCorruptError('bad-region-table', path, `region ${guid} appears twice`);
      if (region.fileOffset % MiB !== 0 || region.fileOffset < HeaderSection.SIZE || region.length === 0 || region.length % MiB !== 0) {
        throw new DiskCorruptError('bad-region-table', path, `region ${guid} at ${region.fileOffset} (+${region.length}) is not 1 MiB aligned past the header section`);
      }
      for (const other of seen) {
        if (region.fileOffset < other.fileOffset + other.length && other.fileOffset < region.fileOffset + region.length) {
          throw new DiskCorruptError('overlapping-blocks', path, `region ${guid} overlaps another region`);
        }
      }
      seen.push(region);
      if (guid === RegionGuid.bat) bat = region;
      else metadata = region;
    } else if (required) {
      throw new DiskCorruptError('bad-region-table', path, `unknown required region ${guid}`);
    }
  }
  if (bat === undefined || metadata === undefined) throw new DiskCorruptError('bad-region-table', path, `missing the ${bat === undefined ? 'BAT' : 'metadata'} region`);
  return { bat, metadata };
}

/**
 * Parses the first valid of the two region table copies.
 * @throws {DiskCorruptError} the first copy's error when neither is valid.
 */
export function parseRegionTables(copy1: Uint8Array, copy2: Uint8Array, path: string): VhdxRegions {
  try {
    return parseRegionTable(copy1, path);
  } catch (error) {
    try {
      return parseRegionTable(copy2, path);
    } catch {
      throw error;
    }
  }
}

/** File offsets of the two region table copies. */
export const REGION_TABLE_OFFSETS = [HeaderSection.regionTable1, HeaderSection.regionTable2] as const;
