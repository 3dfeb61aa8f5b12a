/**
 * Parent locators of differencing VHDs: how a child names its parent, and how Viridian turns
 * those names back into paths to try.
 *
 * Written: a W2ru locator (path relative to the child's folder, Windows style ".\parent.vhd") and
 * a W2ku locator (the absolute path as given), both UTF-16LE, each in `VHD_LOCATOR_SPACE` bytes
 * after the BAT, plus the parent's file name in ParentUnicodeName. PlatformDataSpace is written
 * in bytes, as Windows does (the specification says sectors; readers use only the length).
 *
 * Read, in this order: W2ru resolved against the child's folder, W2ku, MacX (a UTF-8 file URL),
 * then ParentUnicodeName next to the child. Backslashes become the host separator; a Windows
 * drive path ("C:\…") is skipped on POSIX hosts, where it can never resolve.
 */
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VHD_LOCATOR_SPACE, VHD_PLATFORM_CODE } from './vhd-layout.ts';
import type { VhdParentLocator } from './vhd-dynamic-header.ts';

/** A locator's decoded text with its platform code. */
export interface DecodedLocator {
  readonly platformCode: number;
  readonly text: string;
}

/** The locator entries and data a new child of `parentPath` gets, placed from `dataOffset`. */
export interface EncodedLocators {
  readonly locators: readonly VhdParentLocator[];
  /** `VHD_LOCATOR_SPACE` × locators.length bytes to write at the first locator's offset. */
  readonly data: Buffer;
}

/** True for the platform codes Viridian reads. */
export function isReadableLocator(platformCode: number): boolean {
  return platformCode === VHD_PLATFORM_CODE.w2ru || platformCode === VHD_PLATFORM_CODE.w2ku || platformCode === VHD_PLATFORM_CODE.macx;
}

/** Decodes a locator's bytes (UTF-16LE for W2ru/W2ku, UTF-8 for MacX), dropping trailing NULs. */
export function decodeLocatorText(platformCode: number, bytes: Buffer): string {
  const text = platformCode === VHD_PLATFORM_CODE.macx ? bytes.toString('utf8') : bytes.toString('utf16le');
  return text.replace(/\0+$/, '');
}

/** Builds the W2ru and W2ku locators for a child at `childPath` of the parent at `parentPath`. */
export function encodeParentLocators(childPath: string, parentPath: string, dataOffset: number): EncodedLocators {
  const relativePath = relative(dirname(childPath), parentPath).split(sep).join('\\');
  const texts: [number, string][] = [
    [VHD_PLATFORM_CODE.w2ru, relativePath.startsWith('..') ? relativePath : `.\\${relativePath}`],
    [VHD_PLATFORM_CODE.w2ku, parentPath],
  ];
  const data = Buffer.alloc(VHD_LOCATOR_SPACE * texts.length);
  const locators = texts.map(([platformCode, text], i) => {
    const encoded = Buffer.from(text, 'utf16le').subarray(0, VHD_LOCATOR_SPACE);
    encoded.copy(data, i * VHD_LOCATOR_SPACE);
    return { platformCode, dataSpace: VHD_LOCATOR_SPACE, dataLength: encoded.length, dataOffset: dataOffset + i * VHD_LOCATOR_SPACE };
  });
  return { locators, data };
}

/** The absolute paths to try for the parent of `childPath`, most specific first, no duplicates. */
export function parentCandidates(childPath: string, locators: readonly DecodedLocator[], parentUnicodeName: string): string[] {
  const folder = dirname(childPath);
  const candidates: string[] = [];
  const add = (path: string | null): void => {
    if (path !== null && path !== '' && !candidates.includes(path)) candidates.push(path);
  };
  const byCode = (code: number): DecodedLocator[] => locators.filter((l) => l.platformCode === code);
  for (const l of byCode(VHD_PLATFORM_CODE.w2ru)) add(fromWindowsPath(l.text, folder));
  for (const l of byCode(VHD_PLATFORM_CODE.w2ku)) add(fromWindowsPath(l.text, folder));
  for (const l of byCode(VHD_PLATFORM_CODE.macx)) add(fromFileUrl(l.text));
  if (parentUnicodeName !== '') add(resolve(folder, basename(parentUnicodeName.split('\\').join('/'))));
  return candidates;
}

function fromWindowsPath(text: string, folder: string): string | null {
  if (sep === '/' && /^[A-Za-z]:[\\/]/.test(text)) return null;
  const path = sep === '/' ? text.split('\\').join('/') : text;
  return isAbsolute(path) ? resolve(path) : resolve(folder, path);
}

function fromFileUrl(text: string): string | null {
  try {
    return fileURLToPath(text);
  } catch {
    // Not a file URL this host understands: this locator just yields no candidate.
    return null;
  }
}
