/**
 * The malformed-image corpus: every validation branch of VHD opening gets an image that trips it
 * and must fail with its typed error (STYLE.md 21), plus a fuzz property: random byte damage to
 * the metadata yields a typed error or a disk whose reads succeed or fail typed, never a crash.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createDisk, openDisk } from '../disk-files.ts';
import { DiskError } from '../errors.ts';
import { pattern, withTempDir } from '../test-helpers.ts';
import { vhdChecksum } from './vhd-footer.ts';
import { VhdDynamicHeader, VhdFooter } from './vhd-layout.ts';

const MiB = 2 ** 20;
const HEADER = 512;
const BAT = 1536;

type Mutation = (image: Buffer) => Buffer;

/** Re-checksums the footer at `at` after `edit`, so only the edited field is wrong. */
const footerField = (at: number, edit: (b: Buffer) => void): Mutation => (image) => {
  const footer = image.subarray(at, at + VhdFooter.SIZE);
  edit(footer);
  footer.writeUInt32BE(vhdChecksum(footer, VhdFooter.checksum), VhdFooter.checksum);
  return image;
};
const bothFooters = (edit: (b: Buffer) => void): Mutation => (image) => footerField(image.length - 512, edit)(footerField(0, edit)(image));
const headerField = (edit: (b: Buffer) => void): Mutation => (image) => {
  const header = image.subarray(HEADER, HEADER + VhdDynamicHeader.SIZE);
  edit(header);
  header.writeUInt32BE(vhdChecksum(header, VhdDynamicHeader.checksum), VhdDynamicHeader.checksum);
  return image;
};

const DYNAMIC_CASES: [name: string, reason: string, mutation: Mutation][] = [
  ['footer copy cookie', 'bad-signature', (i) => (i.write('xonectix', 0, 'latin1'), i)],
  ['footer checksum', 'bad-checksum', (i) => ((i[VhdFooter.reserved] = 1), i)],
  ['footer version', 'unsupported-version', bothFooters((f) => f.writeUInt32BE(0x0002_0000, VhdFooter.formatVersion))],
  ['disk type', 'bad-disk-type', bothFooters((f) => f.writeUInt32BE(7, VhdFooter.diskType))],
  ['zero size', 'bad-virtual-size', bothFooters((f) => f.writeBigUInt64BE(0n, VhdFooter.currentSize))],
  ['unaligned size', 'bad-virtual-size', bothFooters((f) => f.writeBigUInt64BE(1000n, VhdFooter.currentSize))],
  ['huge size', 'bad-virtual-size', bothFooters((f) => f.writeBigUInt64BE(2n ** 60n, VhdFooter.currentSize))],
  ['unaligned header offset', 'bad-header', bothFooters((f) => f.writeBigUInt64BE(513n, VhdFooter.dataOffset))],
  ['header offset past the file', 'truncated', bothFooters((f) => f.writeBigUInt64BE(1n << 40n, VhdFooter.dataOffset))],
  ['header cookie', 'bad-signature', headerField((h) => h.write('cxsparsX', 0, 'latin1'))],
  ['header checksum', 'bad-checksum', (i) => ((i[HEADER + VhdDynamicHeader.reserved2] = 1), i)],
  ['header version', 'unsupported-version', headerField((h) => h.writeUInt32BE(0x0003_0000, VhdDynamicHeader.headerVersion))],
  ['block size not a power of two', 'bad-block-size', headerField((h) => h.writeUInt32BE(3 * MiB, VhdDynamicHeader.blockSize))],
  ['no BAT entries', 'bad-bat', headerField((h) => h.writeUInt32BE(0, VhdDynamicHeader.maxTableEntries))],
  ['too few BAT entries', 'bad-bat', headerField((h) => h.writeUInt32BE(2, VhdDynamicHeader.maxTableEntries))],
  ['BAT past the file', 'bad-bat', headerField((h) => h.writeBigUInt64BE(1n << 30n, VhdDynamicHeader.tableOffset))],
  ['unaligned BAT', 'bad-bat', headerField((h) => h.writeBigUInt64BE(1537n, VhdDynamicHeader.tableOffset))],
  ['BAT entry past the file', 'bat-entry-beyond-file', (i) => (i.writeUInt32BE(1 << 20, BAT + 4), i)],
  ['block over the metadata', 'overlapping-blocks', (i) => (i.writeUInt32BE(1, BAT + 4), i)],
  ['two blocks in one place', 'overlapping-blocks', (i) => (i.writeUInt32BE(i.readUInt32BE(BAT), BAT + 8), i)],
  ['truncated file', 'bat-entry-beyond-file', (i) => i.subarray(0, i.length - MiB)],
  ['shorter than a footer', 'truncated', () => Buffer.from('conectix')],
];

async function dynamicImage(dir: string): Promise<Buffer> {
  const disk = await createDisk(join(dir, 'base.vhd'), { format: 'vhd-dynamic', size: 8 * MiB });
  await disk.write(0, pattern(4096, 1));
  await disk.close();
  return readFile(join(dir, 'base.vhd'));
}

describe('malformed VHD images', () => {
  test('each dynamic-disk validation branch fails with its reason', () =>
    withTempDir(async (dir) => {
      const base = await dynamicImage(dir);
      for (const [name, reason, mutate] of DYNAMIC_CASES) {
        const path = join(dir, `${name}.vhd`);
        await writeFile(path, mutate(Buffer.from(base)));
        await expect(openDisk(path), name).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_CORRUPT', reason });
      }
    }));

  test('fixed-disk branches', () =>
    withTempDir(async (dir) => {
      await (await createDisk(join(dir, 'f.vhd'), { format: 'vhd-fixed', size: MiB })).close();
      const base = await readFile(join(dir, 'f.vhd'));
      const end = base.length - 512;
      const cases: [string, string, Mutation][] = [
        ['checksum', 'bad-checksum', (i) => ((i[end + VhdFooter.reserved] = 1), i)],
        ['data offset', 'bad-header', footerField(end, (f) => f.writeBigUInt64BE(512n, VhdFooter.dataOffset))],
        ['size past the file', 'truncated', footerField(end, (f) => f.writeBigUInt64BE(BigInt(2 * MiB), VhdFooter.currentSize))],
        ['dynamic footer without its copy', 'bad-signature', footerField(end, (f) => (f.writeUInt32BE(3, VhdFooter.diskType), f.writeBigUInt64BE(512n, VhdFooter.dataOffset)))],
      ];
      for (const [name, reason, mutate] of cases) {
        await writeFile(join(dir, 'm.vhd'), mutate(Buffer.from(base)));
        await expect(openDisk(join(dir, 'm.vhd')), name).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_CORRUPT', reason });
      }
      // Without any cookie the file is not a VHD: detection says raw, forcing VHD says bad signature.
      const noCookie = Buffer.from(base);
      noCookie.write('XXXXXXXX', end, 'latin1');
      await writeFile(join(dir, 'n.vhd'), noCookie);
      await expect(openDisk(join(dir, 'n.vhd'), { family: 'vhd' })).rejects.toMatchObject({ reason: 'bad-signature' });
      const raw = await openDisk(join(dir, 'n.vhd'));
      expect(raw.format).toBe('raw');
      await raw.close();
    }));

  test('differencing branches: locators, missing parent, loops', () =>
    withTempDir(async (dir) => {
      await (await createDisk(join(dir, 'p.vhd'), { format: 'vhd-dynamic', size: MiB })).close();
      await (await createDisk(join(dir, 'c.vhd'), { format: 'vhd-differencing', parentPath: join(dir, 'p.vhd') })).close();
      const child = await readFile(join(dir, 'c.vhd'));
      const locator = (i: number): number => HEADER + VhdDynamicHeader.parentLocators + i * 24;
      const longLocator = headerField((h) => h.writeUInt32BE(1 << 20, VhdDynamicHeader.parentLocators + 8))(Buffer.from(child));
      await writeFile(join(dir, 'x.vhd'), longLocator);
      await expect(openDisk(join(dir, 'x.vhd'))).rejects.toMatchObject({ reason: 'bad-parent-locator' });
      const anonymous = headerField((h) => {
        h.fill(0, VhdDynamicHeader.parentUnicodeName, VhdDynamicHeader.reserved2);
      })(Buffer.from(child));
      expect(anonymous.readUInt32BE(locator(0))).toBe(0);
      await writeFile(join(dir, 'x.vhd'), anonymous);
      await expect(openDisk(join(dir, 'x.vhd'))).rejects.toMatchObject({ reason: 'bad-parent-locator' });
      // A parent replaced by a child of its own child: the chain loops until the depth cap.
      await (await createDisk(join(dir, 'loop.vhd'), { format: 'vhd-differencing', parentPath: join(dir, 'c.vhd') })).close();
      await rename(join(dir, 'loop.vhd'), join(dir, 'p.vhd'));
      await expect(openDisk(join(dir, 'c.vhd'))).rejects.toMatchObject({ reason: 'parent-chain-too-deep' });
      await rename(join(dir, 'p.vhd'), join(dir, 'gone.vhd'));
      await expect(openDisk(join(dir, 'c.vhd'))).rejects.toMatchObject({ code: 'VIRIDIAN_DISK_PARENT_MISSING' });
    }));

  test('random metadata damage never crashes and never escapes as an untyped error', () =>
    withTempDir(async (dir) => {
      const base = await dynamicImage(dir);
      const path = join(dir, 'fuzz.vhd');
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.nat(BAT + 512 + 511), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), async (edits) => {
          const image = Buffer.from(base);
          for (const [at, value] of edits) image[at >= BAT + 512 ? image.length - 512 + (at - BAT - 512) : at] = value;
          await writeFile(path, image);
          try {
            const disk = await openDisk(path, { readOnly: true });
            try {
              await disk.read(0, Math.min(disk.virtualSize, 4 * MiB));
            } finally {
              await disk.close();
            }
          } catch (error) {
            if (!(error instanceof DiskError)) throw error;
          }
        }),
        { numRuns: 150 },
      );
    }));
});
