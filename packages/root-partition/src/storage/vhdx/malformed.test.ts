/**
 * Malformed-image corpus: every validation branch of opening a VHDX (identifier, headers, log,
 * region table, metadata, parent locator, BAT) turns a damaged file into its typed error, never
 * a crash or a wrong read. Each case damages a fresh copy of a valid image (resealing CRC-32C
 * where the damage is behind a checksum).
 */
import { copyFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDisk, openDisk } from '../disk-files.ts';
import { DiskCorruptError, DiskParentMissingError, DiskUnsupportedError, type DiskCorruptionReason } from '../errors.ts';
import { sealChecksum } from './checksum.ts';
import './index.ts';
import { HeaderLayout, HeaderSection, LogEntryHeaderLayout, MetadataTableEntryLayout, MetadataTableHeaderLayout, MiB, RegionTableEntryLayout, RegionTableHeaderLayout } from './layout.ts';
import { MetadataItemOffset } from './metadata.ts';
import { pattern, tempFolder } from './vhdx.test-support.ts';

// Layout of images `createVhdx` makes: log at 1 MiB, BAT at 2 MiB, metadata at 3 MiB, data from 4 MiB.
const LOG = 1 * MiB;
const BAT = 2 * MiB;
const META = 3 * MiB;
const H1 = HeaderSection.header1;
const H2 = HeaderSection.header2;
const RT1 = HeaderSection.regionTable1;
const RT2 = HeaderSection.regionTable2;

let folder: Awaited<ReturnType<typeof tempFolder>>;
let base: string;
let diffBase: string;
let diffChild: string;
let n = 0;

beforeAll(async () => {
  folder = await tempFolder('viridian-malformed-');
  base = folder.file('base.vhdx');
  const disk = await createDisk(base, { format: 'vhdx-dynamic', size: 8 * MiB, blockSize: MiB });
  await disk.write(0, pattern(0, 4096, 1));
  await disk.write(3 * MiB, pattern(3 * MiB, 4096, 2));
  await disk.close();
  diffBase = folder.file('parent.vhdx');
  await (await createDisk(diffBase, { format: 'vhdx-dynamic', size: 8 * MiB, blockSize: MiB })).close();
  diffChild = folder.file('child.vhdx');
  const child = await createDisk(diffChild, { format: 'vhdx-differencing', parentPath: diffBase, blockSize: MiB });
  await child.write(512, pattern(512, 512, 3));
  await child.close();
});
afterAll(async () => {
  await folder.remove();
});

/** A damaged copy of `from`; `damage` edits the whole file in memory. */
async function damaged(damage: (b: Buffer) => void, from = base): Promise<string> {
  const path = folder.file(`case-${n++}.vhdx`);
  const bytes = await readFile(from);
  damage(bytes);
  await writeFile(path, bytes);
  return path;
}

const sealHeaders = (b: Buffer): void => {
  for (const at of [H1, H2]) sealChecksum(b.subarray(at, at + HeaderLayout.CHECKSUM_SIZE), HeaderLayout.checksum);
};
const sealRegions = (b: Buffer): void => {
  for (const at of [RT1, RT2]) sealChecksum(b.subarray(at, at + RegionTableHeaderLayout.TABLE_SIZE), RegionTableHeaderLayout.checksum);
};
const bothHeaders = (edit: (b: Buffer, at: number) => void) => (b: Buffer) => {
  for (const at of [H1, H2]) edit(b, at);
  sealHeaders(b);
};
const bothRegionTables = (edit: (b: Buffer, at: number) => void) => (b: Buffer) => {
  for (const at of [RT1, RT2]) edit(b, at);
  sealRegions(b);
};
const metaEntry = (i: number, field: number): number => META + MetadataTableHeaderLayout.SIZE + i * MetadataTableEntryLayout.SIZE + field;
const regionEntry = (at: number, i: number, field: number): number => at + RegionTableHeaderLayout.SIZE + i * RegionTableEntryLayout.SIZE + field;
const batEntry = (b: Buffer, index: number, value: bigint): void => {
  b.writeBigUInt64LE(value, BAT + index * 8);
};

async function expectCorrupt(path: string, reason: DiskCorruptionReason): Promise<void> {
  const error = await openDisk(path, { family: 'vhdx' }).then(
    async (disk) => {
      await disk.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DiskCorruptError);
  expect((error as DiskCorruptError).reason).toBe(reason);
  expect((error as DiskCorruptError).code).toBe('VIRIDIAN_DISK_CORRUPT');
}

const cases: [string, DiskCorruptionReason, (b: Buffer) => void][] = [
  ['file identifier signature', 'bad-signature', (b) => b.write('vhdxfilf', 0, 'latin1')],
  ['both headers fail their checksum', 'bad-checksum', (b) => { b[H1 + 100] = 1; b[H2 + 100] = 1; }],
  ['both headers have a bad signature', 'bad-signature', bothHeaders((b, at) => b.write('hexd', at, 'latin1'))],
  ['header version 2', 'unsupported-version', bothHeaders((b, at) => b.writeUInt16LE(2, at + HeaderLayout.version))],
  ['log version 1', 'unsupported-version', bothHeaders((b, at) => b.writeUInt16LE(1, at + HeaderLayout.logVersion))],
  ['equal sequence numbers, different headers', 'bad-header', bothHeaders((b, at) => { b.writeBigUInt64LE(9n, at + HeaderLayout.sequenceNumber); b[at + HeaderLayout.fileWriteGuid] = at === H1 ? 1 : 2; })],
  ['log offset not 1 MiB aligned', 'bad-header', bothHeaders((b, at) => b.writeBigUInt64LE(BigInt(LOG + 4096), at + HeaderLayout.logOffset))],
  ['region table signature', 'bad-signature', bothRegionTables((b, at) => b.write('regx', at, 'latin1'))],
  ['region table checksum', 'bad-checksum', (b) => { b[RT1 + 1000] = 1; b[RT2 + 1000] = 1; }],
  ['region table entry count', 'bad-region-table', bothRegionTables((b, at) => b.writeUInt32LE(3000, at + RegionTableHeaderLayout.entryCount))],
  ['metadata region missing', 'bad-region-table', bothRegionTables((b, at) => b.writeUInt32LE(1, at + RegionTableHeaderLayout.entryCount))],
  ['BAT region listed twice', 'bad-region-table', bothRegionTables((b, at) => b.copy(b, regionEntry(at, 1, 0), regionEntry(at, 0, 0), regionEntry(at, 0, 16)))],
  ['unknown required region', 'bad-region-table', bothRegionTables((b, at) => { b.writeUInt32LE(3, at + RegionTableHeaderLayout.entryCount); b.fill(0x42, regionEntry(at, 2, 0), regionEntry(at, 2, 16)); b.writeBigUInt64LE(BigInt(7 * MiB), regionEntry(at, 2, 16)); b.writeUInt32LE(MiB, regionEntry(at, 2, 24)); b.writeUInt32LE(1, regionEntry(at, 2, 28)); })],
  ['region not 1 MiB aligned', 'bad-region-table', bothRegionTables((b, at) => b.writeBigUInt64LE(BigInt(BAT + 4096), regionEntry(at, 0, 16)))],
  ['BAT region overlaps the metadata region', 'overlapping-blocks', bothRegionTables((b, at) => b.writeUInt32LE(2 * MiB, regionEntry(at, 0, 24)))],
  ['BAT region overlaps the log', 'overlapping-blocks', bothRegionTables((b, at) => b.writeBigUInt64LE(BigInt(LOG), regionEntry(at, 0, 16)))],
  ['metadata signature', 'bad-signature', (b) => b.write('metadatx', META, 'latin1')],
  ['metadata entry count', 'bad-metadata', (b) => b.writeUInt16LE(4000, META + MetadataTableHeaderLayout.entryCount)],
  ['page 83 item missing', 'bad-metadata', (b) => b.writeUInt16LE(4, META + MetadataTableHeaderLayout.entryCount)],
  ['item offset below 64 KiB', 'bad-metadata', (b) => b.writeUInt32LE(4096, metaEntry(1, MetadataTableEntryLayout.offset))],
  ['item past the region', 'bad-metadata', (b) => b.writeUInt32LE(MiB, metaEntry(1, MetadataTableEntryLayout.offset))],
  ['item longer than 1 MiB', 'bad-metadata', (b) => b.writeUInt32LE(2 * MiB, metaEntry(1, MetadataTableEntryLayout.length))],
  ['items overlap', 'bad-metadata', (b) => b.writeUInt32LE(MetadataItemOffset.fileParameters + 4, metaEntry(1, MetadataTableEntryLayout.offset))],
  ['item listed twice', 'bad-metadata', (b) => b.copy(b, metaEntry(1, 0), metaEntry(0, 0), metaEntry(0, 16))],
  ['unknown required item', 'bad-metadata', (b) => { b.writeUInt16LE(6, META + MetadataTableHeaderLayout.entryCount); b.fill(0x42, metaEntry(5, 0), metaEntry(5, 16)); b.writeUInt32LE(4, metaEntry(5, MetadataTableEntryLayout.flags)); }],
  ['short item', 'bad-metadata', (b) => b.writeUInt32LE(4, metaEntry(1, MetadataTableEntryLayout.length))],
  ['block size not a power of two', 'bad-block-size', (b) => b.writeUInt32LE(3 * MiB, META + MetadataItemOffset.fileParameters)],
  ['block size 512 MiB', 'bad-block-size', (b) => b.writeUInt32LE(512 * MiB, META + MetadataItemOffset.fileParameters)],
  ['logical sector size 1000', 'bad-sector-size', (b) => b.writeUInt32LE(1000, META + MetadataItemOffset.logicalSectorSize)],
  ['physical sector size 0', 'bad-sector-size', (b) => b.writeUInt32LE(0, META + MetadataItemOffset.physicalSectorSize)],
  ['virtual size 0', 'bad-virtual-size', (b) => b.writeBigUInt64LE(0n, META + MetadataItemOffset.virtualDiskSize)],
  ['virtual size unaligned', 'bad-virtual-size', (b) => b.writeBigUInt64LE(BigInt(8 * MiB + 1), META + MetadataItemOffset.virtualDiskSize)],
  ['differencing flag without a parent locator', 'bad-parent-locator', (b) => b.writeUInt32LE(2, META + MetadataItemOffset.fileParameters + 4)],
  ['BAT too small for the virtual size', 'bad-bat', (b) => b.writeBigUInt64LE(BigInt(200 * 1024 * MiB), META + MetadataItemOffset.virtualDiskSize)],
  ['BAT entry beyond the file', 'bat-entry-beyond-file', (b) => batEntry(b, 5, (BigInt(64) << 20n) | 6n)],
  ['BAT entry in the header section', 'bat-entry-misplaced', (b) => batEntry(b, 5, 6n)],
  ['BAT entry on the BAT', 'overlapping-blocks', (b) => batEntry(b, 5, (2n << 20n) | 6n)],
  ['two blocks share space', 'overlapping-blocks', (b) => b.copy(b, BAT + 5 * 8, BAT, BAT + 8)],
  ['undefined payload state 4', 'bad-bat-state', (b) => batEntry(b, 5, 4n)],
  ['partially present block in a dynamic disk', 'bad-bat-state', (b) => batEntry(b, 0, b.readBigUInt64LE(BAT) | 7n)],
];

describe('malformed VHDX images', () => {
  for (const [name, reason, damage] of cases) {
    it(`${name} → ${reason}`, async () => {
      await expectCorrupt(await damaged(damage), reason);
    });
  }

  it('a truncated file → truncated', async () => {
    const path = await damaged(() => undefined);
    await truncate(path, 512 * 1024);
    await expectCorrupt(path, 'truncated');
  });

  it('one damaged header or region table copy still opens from the other', async () => {
    for (const damage of [(b: Buffer) => b.writeUInt8(0x77, H1 + 8), (b: Buffer) => b.writeUInt8(0x77, H2 + 8), (b: Buffer) => b.writeUInt8(1, RT1 + 100)]) {
      const disk = await openDisk(await damaged(damage));
      expect((await disk.read(0, 4096)).equals(pattern(0, 4096, 1))).toBe(true);
      await disk.close();
    }
  });

  it('a missing parent → DiskParentMissingError', async () => {
    const parent = folder.file('gone-parent.vhdx');
    await (await createDisk(parent, { format: 'vhdx-dynamic', size: 8 * MiB, blockSize: MiB })).close();
    const child = folder.file('orphan.vhdx');
    await (await createDisk(child, { format: 'vhdx-differencing', parentPath: parent, blockSize: MiB })).close();
    await rm(parent);
    const error = await openDisk(child).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiskParentMissingError);
    expect((error as DiskParentMissingError).tried).toContain(parent);
  });

  it('a sector bitmap entry in state 2 → bad-bat-state', async () => {
    await expectCorrupt(await damaged((b) => (b[BAT + 4096 * 8] = 2), diffChild), 'bad-bat-state');
  });

  it('a parent written after the child was made → parent-mismatch', async () => {
    const parent = folder.file('mismatch-parent.vhdx');
    await (await createDisk(parent, { format: 'vhdx-dynamic', size: 8 * MiB, blockSize: MiB })).close();
    const child = folder.file('mismatch-child.vhdx');
    await (await createDisk(child, { format: 'vhdx-differencing', parentPath: parent, blockSize: MiB })).close();
    const p = await openDisk(parent);
    await p.write(0, Buffer.alloc(512, 1));
    await p.close();
    await expectCorrupt(child, 'parent-mismatch');
  });

  it('a parent locator of another type → bad-parent-locator', async () => {
    const path = await damaged((b) => b.writeUInt8(0x5a, META + MetadataItemOffset.parentLocator), diffChild);
    await expectCorrupt(path, 'bad-parent-locator');
  });

  it('a parent locator string outside the item → bad-parent-locator', async () => {
    const path = await damaged((b) => b.writeUInt32LE(0xfff0, META + MetadataItemOffset.parentLocator + 20), diffChild);
    await expectCorrupt(path, 'bad-parent-locator');
  });

  it('a partially present block without a sector bitmap → bad-bat', async () => {
    const path = await damaged((b) => b.writeBigUInt64LE(0n, BAT + 4096 * 8), diffChild);
    await expectCorrupt(path, 'bad-bat');
  });

  describe('log', () => {
    /** A copy of an image taken while a session is open (LogGuid set, one valid entry). */
    async function crashedCopy(): Promise<string> {
      const source = folder.file(`live-${n++}.vhdx`);
      const disk = await createDisk(source, { format: 'vhdx-dynamic', size: 8 * MiB, blockSize: MiB });
      await disk.write(MiB, pattern(MiB, 8192, 5));
      await disk.flush();
      const copy = folder.file(`crashed-${n++}.vhdx`);
      await copyFile(source, copy);
      await disk.close();
      return copy;
    }

    it('is replayed on open', async () => {
      const path = await crashedCopy();
      const bytes = await readFile(path);
      bytes.fill(0, BAT, BAT + 4096);
      await writeFile(path, bytes);
      const disk = await openDisk(path);
      expect(disk.info().details['replayedLogEntries']).toBe(1);
      expect((await disk.read(MiB, 8192)).equals(pattern(MiB, 8192, 5))).toBe(true);
      await disk.close();
    });

    it('that needs replaying refuses a read-only open', async () => {
      await expect(openDisk(await crashedCopy(), { readOnly: true })).rejects.toBeInstanceOf(DiskUnsupportedError);
    });

    it('of a truncated file → bad-log', async () => {
      const path = await crashedCopy();
      await truncate(path, 4 * MiB);
      await expectCorrupt(path, 'bad-log');
    });

    it('whose newest entry names a tail that is no entry → bad-log', async () => {
      const path = await damaged((b) => {
        b.writeUInt32LE(8192, LOG + LogEntryHeaderLayout.tail);
        const entryLength = b.readUInt32LE(LOG + LogEntryHeaderLayout.entryLength);
        sealChecksum(b.subarray(LOG, LOG + entryLength), LogEntryHeaderLayout.checksum);
      }, await crashedCopy());
      await expectCorrupt(path, 'bad-log');
    });

    it('that writes over the headers → bad-log', async () => {
      const path = await damaged((b) => {
        b.writeBigUInt64LE(BigInt(H1), LOG + LogEntryHeaderLayout.SIZE + 16);
        const entryLength = b.readUInt32LE(LOG + LogEntryHeaderLayout.entryLength);
        sealChecksum(b.subarray(LOG, LOG + entryLength), LogEntryHeaderLayout.checksum);
      }, await crashedCopy());
      await expectCorrupt(path, 'bad-log');
    });

    it('with a torn entry is skipped (nothing valid to replay)', async () => {
      const path = await damaged((b) => b.writeUInt8((b.readUInt8(LOG + 5000) ^ 0xff) & 0xff, LOG + 5000), await crashedCopy());
      const disk = await openDisk(path);
      expect(disk.info().details['replayedLogEntries']).toBe(0);
      await disk.close();
    });
  });
});
