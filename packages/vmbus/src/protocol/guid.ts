/**
 * GUIDs as VMBus carries them (vmbus-wire.md §0): in memory a branded string in canonical
 * lower-case `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` form (cheap to compare and to use as a map key),
 * on the wire 16 bytes in Microsoft's mixed-endian layout: Data1 (u32), Data2 (u16) and Data3 (u16)
 * little-endian, the last 8 bytes in string order.
 */
import { InvalidArgumentError } from '../errors.ts';

/** A GUID in canonical lower-case form, without braces. */
export type Guid = string & { readonly __brand: 'Guid' };

/** Bytes of a GUID on the wire. */
export const GUID_SIZE = 16;

/** The all-zero GUID. */
export const NIL_GUID = '00000000-0000-0000-0000-000000000000' as Guid;

const GUID_PATTERN = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/** Whether `text` is a GUID (canonical form, any case, braces optional). */
export function isGuid(text: string): boolean {
  return GUID_PATTERN.test(text) && text.startsWith('{') === text.endsWith('}');
}

/**
 * Parses a GUID written `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (any case, braces optional).
 * @throws {InvalidArgumentError} when `text` is not a GUID
 */
export function parseGuid(text: string): Guid {
  if (!isGuid(text)) throw new InvalidArgumentError(`not a GUID: ${JSON.stringify(text)}`);
  const bare = text.startsWith('{') ? text.slice(1, -1) : text;
  return bare.toLowerCase() as Guid;
}

/** Formats a GUID with braces, as Hyper-V and the reference print them. */
export function formatGuidBraced(guid: Guid): string {
  return `{${guid}}`;
}

/** Byte order of the wire form: wire byte i holds hex pair WIRE_ORDER[i] of the canonical string. */
const WIRE_ORDER = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15] as const;

/**
 * Writes `guid` in its 16-byte wire form at `target[offset..offset+16)`.
 * @throws {InvalidArgumentError} when the 16 bytes do not fit in `target`
 */
export function encodeGuid(guid: Guid, target: Uint8Array, offset = 0): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + GUID_SIZE > target.length) {
    throw new InvalidArgumentError(`GUID at ${offset} does not fit a ${target.length}-byte buffer`);
  }
  const hex = guid.replaceAll('-', '');
  for (let i = 0; i < GUID_SIZE; i++) {
    const pair = WIRE_ORDER[i] ?? i;
    target[offset + i] = Number.parseInt(hex.slice(pair * 2, pair * 2 + 2), 16);
  }
}

/** The 16-byte wire form of `guid` in a new array. */
export function guidToBytes(guid: Guid): Uint8Array {
  const bytes = new Uint8Array(GUID_SIZE);
  encodeGuid(guid, bytes);
  return bytes;
}

/**
 * Reads a GUID from its wire form at `source[offset..offset+16)`. Every 16 bytes are a GUID.
 * @throws {InvalidArgumentError} when the 16 bytes are not inside `source`
 */
export function decodeGuid(source: Uint8Array, offset = 0): Guid {
  if (!Number.isInteger(offset) || offset < 0 || offset + GUID_SIZE > source.length) {
    throw new InvalidArgumentError(`GUID at ${offset} is outside a ${source.length}-byte buffer`);
  }
  const pairs = new Array<string>(GUID_SIZE);
  for (let i = 0; i < GUID_SIZE; i++) {
    pairs[WIRE_ORDER[i] ?? i] = (source[offset + i] ?? 0).toString(16).padStart(2, '0');
  }
  const hex = pairs.join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` as Guid;
}
