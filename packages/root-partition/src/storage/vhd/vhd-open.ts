/**
 * Opening a VHD: every structure is read once, validated once, then handed to a disk class.
 *
 * Order (each step's failure is a `DiskCorruptError` with its reason, never a crash):
 * 1. The footer: the copy at offset 0 if it has the cookie (dynamic/differencing disks), else the
 *    one in the last 512 bytes (fixed disks). A dynamic disk's end footer may be missing or torn
 *    after a crash during allocation: the disk still opens from the copy, and a writable open
 *    rewrites the end footer.
 * 2. The dynamic header at DataOffset, then the BAT, which must fit the file and the virtual size.
 * 3. Every allocated block: inside the file, clear of metadata and of every other block.
 * 4. Differencing: the parent locators (inside the file, bounded), the parent opened read-only
 *    through the dispatcher, and its UniqueId checked against ParentUniqueId.
 */
import { DiskCorruptError } from '../errors.ts';
import type { DiskOpenContext } from '../format-registry.ts';
import { HostFile } from '../host-file.ts';
import type { OpenDiskOptions, VirtualDisk } from '../virtual-disk.ts';
import { batBytes, decodeBat, validateBat, type FileExtent } from './vhd-bat.ts';
import { parseVhdDynamicHeader, vhdBitmapSize, type VhdDynamicHeaderFields } from './vhd-dynamic-header.ts';
import { VhdDynamicDisk } from './vhd-dynamic-disk.ts';
import { VhdFixedDisk } from './vhd-fixed-disk.ts';
import { encodeVhdFooter, hasVhdFooterCookie, parseVhdFooter, type VhdFooterFields } from './vhd-footer.ts';
import { vhdIdentityOf } from './vhd-identity.ts';
import { VHD_MAX_LOCATOR_BYTES, VHD_SECTOR_SIZE, VhdDynamicHeader, VhdFooter } from './vhd-layout.ts';
import { decodeLocatorText, isReadableLocator, parentCandidates, type DecodedLocator } from './vhd-parent-locator.ts';

/**
 * Opens and validates the VHD at `path` (absolute).
 * @throws DiskCorruptError (reasons above), DiskParentMissingError, DiskNotFoundError, DiskIoError.
 */
export async function openVhdDisk(path: string, options: OpenDiskOptions, context: DiskOpenContext): Promise<VhdFixedDisk | VhdDynamicDisk> {
  const readOnly = options.readOnly === true;
  const file = await HostFile.open(path, readOnly ? 'read' : 'read-write');
  try {
    return await openOnFile(file, readOnly, context);
  } catch (error) {
    await file.close().catch(() => undefined);
    throw error;
  }
}

async function readBytes(file: HostFile, position: number, length: number): Promise<Buffer> {
  const bytes = Buffer.alloc(length);
  await file.readAt(bytes, position);
  return bytes;
}

async function openOnFile(file: HostFile, readOnly: boolean, context: DiskOpenContext): Promise<VhdFixedDisk | VhdDynamicDisk> {
  const path = file.path;
  const fileSize = await file.size();
  if (fileSize < VhdFooter.SIZE) throw new DiskCorruptError('truncated', path, `${fileSize}-byte file cannot hold a footer`);
  const head = await readBytes(file, 0, VhdFooter.SIZE);
  const headFooter = hasVhdFooterCookie(head) ? parseVhdFooter(head, path) : null;
  if (headFooter === null || headFooter.diskType === 'fixed') {
    const footer = parseVhdFooter(await readBytes(file, fileSize - VhdFooter.SIZE, VhdFooter.SIZE), path);
    if (footer.diskType !== 'fixed') {
      throw new DiskCorruptError('bad-signature', path, `${footer.diskType} disk without its footer copy at offset 0`);
    }
    if (footer.currentSize > fileSize - VhdFooter.SIZE) {
      throw new DiskCorruptError('truncated', path, `fixed disk of ${footer.currentSize} bytes in a ${fileSize}-byte file`);
    }
    return new VhdFixedDisk(file, footer, fileSize, readOnly);
  }
  return openDynamic(file, fileSize, headFooter, readOnly, context);
}

async function openDynamic(file: HostFile, fileSize: number, footer: VhdFooterFields, readOnly: boolean, context: DiskOpenContext): Promise<VhdDynamicDisk> {
  const path = file.path;
  const headerOffset = footer.dataOffset ?? 0;
  if (headerOffset < VhdFooter.SIZE || headerOffset + VhdDynamicHeader.SIZE > fileSize) {
    throw new DiskCorruptError('truncated', path, `dynamic header at ${headerOffset} is outside the ${fileSize}-byte file`);
  }
  const header = parseVhdDynamicHeader(await readBytes(file, headerOffset, VhdDynamicHeader.SIZE), path);
  if (header.maxTableEntries * header.blockSize < footer.currentSize) {
    throw new DiskCorruptError('bad-bat', path, `${header.maxTableEntries} BAT entries of ${header.blockSize} bytes cannot cover ${footer.currentSize} bytes`);
  }
  const tableEnd = header.tableOffset + header.maxTableEntries * 4;
  if (header.tableOffset < VhdFooter.SIZE || tableEnd > fileSize) {
    throw new DiskCorruptError('bad-bat', path, `BAT [${header.tableOffset}, ${tableEnd}) is outside the ${fileSize}-byte file`);
  }
  const bat = decodeBat(await readBytes(file, header.tableOffset, header.maxTableEntries * 4), header.maxTableEntries);

  // The end footer: valid unless a crash tore it (then blocks may reach the end of the file).
  const tail = await readBytes(file, fileSize - VhdFooter.SIZE, VhdFooter.SIZE);
  const endFooterValid = tail.equals(encodeVhdFooter(footer)) || isSameDisk(tail, footer, path);
  const metadata: FileExtent[] = [
    { start: 0, end: VhdFooter.SIZE, what: 'footer copy' },
    { start: headerOffset, end: headerOffset + VhdDynamicHeader.SIZE, what: 'dynamic header' },
    { start: header.tableOffset, end: header.tableOffset + batBytes(header.maxTableEntries), what: 'BAT' },
  ];
  const locators = footer.diskType === 'differencing' ? await readLocators(file, fileSize, header, metadata) : [];
  const limit = endFooterValid ? fileSize - VhdFooter.SIZE : fileSize;
  const summary = validateBat(bat, vhdBitmapSize(header.blockSize) + header.blockSize, limit, metadata, path);
  let nextFree = Math.max(summary.dataEnd, limit);
  nextFree = Math.ceil(nextFree / VHD_SECTOR_SIZE) * VHD_SECTOR_SIZE;
  if (!endFooterValid && !readOnly) await file.writeAt(encodeVhdFooter(footer), nextFree);

  let parent: VirtualDisk | null = null;
  if (footer.diskType === 'differencing') {
    parent = await context.openParent(path, parentCandidates(path, locators, header.parentUnicodeName));
    const identity = vhdIdentityOf(parent);
    if (identity === null || !Buffer.from(identity.uniqueId).equals(header.parentUniqueId)) {
      await parent.close().catch(() => undefined);
      throw new DiskCorruptError(
        'parent-mismatch',
        path,
        identity === null ? `parent ${parent.path} is ${parent.format}, not a VHD` : `parent ${parent.path} has a different unique id`,
      );
    }
  }
  return new VhdDynamicDisk({ file, footer, header, headerOffset, bat, nextFree, allocatedBlocks: summary.allocatedBlocks, readOnly, parent });
}

/** True if `tail` is a valid footer of the same disk (a newer tool may differ in minor fields). */
function isSameDisk(tail: Buffer, footer: VhdFooterFields, path: string): boolean {
  try {
    const parsed = parseVhdFooter(tail, path);
    return parsed.diskType === footer.diskType && Buffer.from(parsed.uniqueId).equals(footer.uniqueId);
  } catch {
    // A torn or missing end footer is recoverable from the copy at offset 0.
    return false;
  }
}

/**
 * Reads the parent locators this code understands; adds their data to `metadata` (blocks must
 * not overlap them).
 * @throws DiskCorruptError `bad-parent-locator` for a locator outside the file or too long.
 */
async function readLocators(file: HostFile, fileSize: number, header: VhdDynamicHeaderFields, metadata: FileExtent[]): Promise<DecodedLocator[]> {
  const decoded: DecodedLocator[] = [];
  for (const locator of header.parentLocators) {
    if (!isReadableLocator(locator.platformCode) || locator.dataLength === 0) continue;
    if (locator.dataLength > VHD_MAX_LOCATOR_BYTES || locator.dataOffset + locator.dataLength > fileSize) {
      throw new DiskCorruptError('bad-parent-locator', file.path, `locator of ${locator.dataLength} bytes at ${locator.dataOffset} in a ${fileSize}-byte file`);
    }
    const text = decodeLocatorText(locator.platformCode, await readBytes(file, locator.dataOffset, locator.dataLength));
    decoded.push({ platformCode: locator.platformCode, text });
    metadata.push({ start: locator.dataOffset, end: locator.dataOffset + Math.ceil(locator.dataLength / VHD_SECTOR_SIZE) * VHD_SECTOR_SIZE, what: 'parent locator' });
  }
  if (decoded.length === 0 && header.parentUnicodeName === '') {
    throw new DiskCorruptError('bad-parent-locator', file.path, 'differencing disk names no parent');
  }
  return decoded;
}
