/**
 * The VHDX parent locator metadata item (hyperv-tlfs.md §7 "Parent Locator"): a locator type GUID
 * (VHDX parent), then key/value entries whose UTF-16LE strings follow in the same item. Keys used
 * (MS VHDX spec §2.6.2.6): `parent_linkage` (the parent's DataWriteGuid, braced), `relative_path`
 * (from the child's folder, Windows separators) and `absolute_win32_path` (here: the host's
 * absolute path; Viridian runs on POSIX hosts).
 */
import type { Guid } from '@viridian/vmbus';
import { formatGuidBraced, isGuid, parseGuid } from '@viridian/vmbus';
import * as nodePath from 'node:path';
import { DiskCorruptError } from '../errors.ts';
import { VhdxReader, VhdxWriter } from './bytes.ts';
import { ParentLocatorEntryLayout, ParentLocatorHeaderLayout, VHDX_PARENT_LOCATOR_TYPE } from './layout.ts';

/** A decoded parent locator. */
export interface ParentLocator {
  readonly locatorType: Guid;
  /** Key → value, in file order. */
  readonly entries: ReadonlyMap<string, string>;
}

/** Well-known locator keys. */
export const LocatorKey = Object.freeze({
  parentLinkage: 'parent_linkage',
  parentLinkage2: 'parent_linkage2',
  relativePath: 'relative_path',
  volumePath: 'volume_path',
  absoluteWin32Path: 'absolute_win32_path',
});

/** Most key/value pairs a locator may carry (a sanity cap; the item is at most 1 MiB anyway). */
export const MAX_LOCATOR_ENTRIES = 256;

/** The item bytes of a VHDX parent locator holding `entries`. */
export function serializeParentLocator(entries: ReadonlyMap<string, string>): Uint8Array {
  const pairs = [...entries];
  let size = ParentLocatorHeaderLayout.SIZE + pairs.length * ParentLocatorEntryLayout.SIZE;
  for (const [k, v] of pairs) size += 2 * (k.length + v.length);
  const w = VhdxWriter.alloc(size);
  w.guid(ParentLocatorHeaderLayout.locatorType, VHDX_PARENT_LOCATOR_TYPE).u16(ParentLocatorHeaderLayout.keyValueCount, pairs.length);
  let cursor = ParentLocatorHeaderLayout.SIZE + pairs.length * ParentLocatorEntryLayout.SIZE;
  pairs.forEach(([key, value], i) => {
    const e = w.sub(ParentLocatorHeaderLayout.SIZE + i * ParentLocatorEntryLayout.SIZE);
    const keyLength = w.utf16(cursor, key);
    e.u32(ParentLocatorEntryLayout.keyOffset, cursor).u16(ParentLocatorEntryLayout.keyLength, keyLength);
    cursor += keyLength;
    const valueLength = w.utf16(cursor, value);
    e.u32(ParentLocatorEntryLayout.valueOffset, cursor).u16(ParentLocatorEntryLayout.valueLength, valueLength);
    cursor += valueLength;
  });
  return w.bytes;
}

/**
 * Parses a parent locator item.
 * @throws {DiskCorruptError} `bad-parent-locator` when the type is not VHDX, an entry or string
 *   falls outside the item, a key or value is empty, or a key repeats.
 */
export function parseParentLocator(bytes: Uint8Array, path: string): ParentLocator {
  const bad = (detail: string): DiskCorruptError => new DiskCorruptError('bad-parent-locator', path, detail);
  if (bytes.byteLength < ParentLocatorHeaderLayout.SIZE) throw bad('item shorter than its header');
  const r = new VhdxReader(bytes);
  const locatorType = r.guid(ParentLocatorHeaderLayout.locatorType);
  if (locatorType !== VHDX_PARENT_LOCATOR_TYPE) throw bad(`locator type ${locatorType} is not VHDX`);
  const count = r.u16(ParentLocatorHeaderLayout.keyValueCount);
  if (count > MAX_LOCATOR_ENTRIES || ParentLocatorHeaderLayout.SIZE + count * ParentLocatorEntryLayout.SIZE > bytes.byteLength) {
    throw bad(`${count} entries do not fit a ${bytes.byteLength}-byte item`);
  }
  const entries = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const e = r.sub(ParentLocatorHeaderLayout.SIZE + i * ParentLocatorEntryLayout.SIZE);
    const text = (offsetField: number, lengthField: number, what: string): string => {
      const offset = e.u32(offsetField);
      const length = e.u16(lengthField);
      if (length === 0 || length % 2 !== 0 || offset + length > bytes.byteLength) throw bad(`entry ${i} ${what} [${offset}, +${length}) is empty, odd or outside the item`);
      return r.utf16(offset, length);
    };
    const key = text(ParentLocatorEntryLayout.keyOffset, ParentLocatorEntryLayout.keyLength, 'key');
    const value = text(ParentLocatorEntryLayout.valueOffset, ParentLocatorEntryLayout.valueLength, 'value');
    if (entries.has(key)) throw bad(`key ${key} repeats`);
    entries.set(key, value);
  }
  return { locatorType, entries };
}

/**
 * The locator entries for a child at `childPath` whose parent is `parentPath` with data write
 * GUID `parentDataWriteGuid`.
 */
export function locatorEntriesFor(childPath: string, parentPath: string, parentDataWriteGuid: Guid): Map<string, string> {
  const relative = nodePath.relative(nodePath.dirname(nodePath.resolve(childPath)), nodePath.resolve(parentPath));
  return new Map([
    [LocatorKey.parentLinkage, formatGuidBraced(parentDataWriteGuid)],
    [LocatorKey.relativePath, `.\\${relative.split(nodePath.sep).join('\\')}`],
    [LocatorKey.absoluteWin32Path, nodePath.resolve(parentPath)],
  ]);
}

/** The parent's expected DataWriteGuid, or `null` when the locator has no (valid) linkage. */
export function locatorLinkage(locator: ParentLocator): Guid | null {
  const text = locator.entries.get(LocatorKey.parentLinkage);
  return text !== undefined && isGuid(text) ? parseGuid(text) : null;
}

/**
 * Absolute candidate paths of the parent, in the order to try: the relative path resolved against
 * the child's folder, then the absolute path(s). Windows separators become the host's.
 */
export function locatorCandidates(locator: ParentLocator, childPath: string): string[] {
  const folder = nodePath.dirname(nodePath.resolve(childPath));
  const candidates: string[] = [];
  const relative = locator.entries.get(LocatorKey.relativePath);
  if (relative !== undefined) candidates.push(nodePath.resolve(folder, relative.replaceAll('\\', '/')));
  for (const key of [LocatorKey.absoluteWin32Path, LocatorKey.volumePath]) {
    const value = locator.entries.get(key);
    if (value !== undefined && nodePath.isAbsolute(value) && !candidates.includes(value)) candidates.push(value);
  }
  return candidates;
}
