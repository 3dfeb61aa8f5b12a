/**
 * VHDX file identifier and the two headers (hyperv-tlfs.md §7 "Header"): parse, serialize and
 * choose the current header. A header is valid when its signature is `"head"`, its CRC-32C over
 * 4 KiB matches and its version is 1; the current one is the valid header with the higher
 * sequence number (equal numbers on two different valid headers are corruption). Updates always
 * overwrite the non-current slot with sequence + 1 (see `VhdxHeaderState`).
 */
import type { Guid } from '@viridian/vmbus';
import { DiskCorruptError } from '../errors.ts';
import { VhdxReader, VhdxWriter } from './bytes.ts';
import { checksumMatches, sealChecksum } from './checksum.ts';
import { FileIdentifierLayout, HeaderLayout, HeaderSection, MiB, Signature } from './layout.ts';

/** A decoded header. */
export interface VhdxHeader {
  readonly sequenceNumber: bigint;
  readonly fileWriteGuid: Guid;
  readonly dataWriteGuid: Guid;
  readonly logGuid: Guid;
  readonly logVersion: number;
  readonly version: number;
  readonly logLength: number;
  readonly logOffset: number;
}

/** The creator string Viridian writes into the file identifier. */
export const VIRIDIAN_CREATOR = 'Viridian';

/** The 64 KiB file identifier slot: `"vhdxfile"` then the UTF-16 creator. */
export function serializeFileIdentifier(creator = VIRIDIAN_CREATOR): Uint8Array {
  const w = VhdxWriter.alloc(HeaderSection.SLOT_SIZE);
  w.ascii(FileIdentifierLayout.signature, Signature.file);
  w.sub(FileIdentifierLayout.creator).utf16(0, creator.slice(0, FileIdentifierLayout.CREATOR_SIZE / 2 - 1));
  return w.bytes;
}

/**
 * Checks the file identifier and returns the creator string.
 * @throws {DiskCorruptError} `bad-signature` when the first 8 bytes are not `"vhdxfile"`.
 */
export function parseFileIdentifier(bytes: Uint8Array, path: string): string {
  const r = new VhdxReader(bytes);
  if (bytes.byteLength < FileIdentifierLayout.SIZE || r.ascii(FileIdentifierLayout.signature, 8) !== Signature.file) {
    throw new DiskCorruptError('bad-signature', path, 'file identifier is not "vhdxfile"');
  }
  const creator = r.utf16(FileIdentifierLayout.creator, FileIdentifierLayout.CREATOR_SIZE);
  const end = creator.indexOf('\u0000');
  return end < 0 ? creator : creator.slice(0, end);
}

/** The 4 KiB checksummed image of `header`. */
export function serializeHeader(header: VhdxHeader): Uint8Array {
  const w = VhdxWriter.alloc(HeaderLayout.CHECKSUM_SIZE);
  w.u32(HeaderLayout.signature, Signature.head)
    .u64big(HeaderLayout.sequenceNumber, header.sequenceNumber)
    .guid(HeaderLayout.fileWriteGuid, header.fileWriteGuid)
    .guid(HeaderLayout.dataWriteGuid, header.dataWriteGuid)
    .guid(HeaderLayout.logGuid, header.logGuid)
    .u16(HeaderLayout.logVersion, header.logVersion)
    .u16(HeaderLayout.version, header.version)
    .u32(HeaderLayout.logLength, header.logLength)
    .u64(HeaderLayout.logOffset, header.logOffset);
  sealChecksum(w.bytes, HeaderLayout.checksum);
  return w.bytes;
}

/** Why one header slot is not usable (`undefined`-free result of `decodeHeader`). */
export type HeaderSlot = { readonly valid: true; readonly header: VhdxHeader } | { readonly valid: false; readonly why: 'bad-signature' | 'bad-checksum' | 'unsupported-version' };

/** Decodes one 4 KiB header image without throwing. */
export function decodeHeader(bytes: Uint8Array): HeaderSlot {
  if (bytes.byteLength < HeaderLayout.CHECKSUM_SIZE) return { valid: false, why: 'bad-signature' };
  const r = new VhdxReader(bytes);
  if (r.u32(HeaderLayout.signature) !== Signature.head) return { valid: false, why: 'bad-signature' };
  if (!checksumMatches(bytes.subarray(0, HeaderLayout.CHECKSUM_SIZE), HeaderLayout.checksum)) return { valid: false, why: 'bad-checksum' };
  if (r.u16(HeaderLayout.version) !== 1) return { valid: false, why: 'unsupported-version' };
  return {
    valid: true,
    header: {
      sequenceNumber: r.u64big(HeaderLayout.sequenceNumber),
      fileWriteGuid: r.guid(HeaderLayout.fileWriteGuid),
      dataWriteGuid: r.guid(HeaderLayout.dataWriteGuid),
      logGuid: r.guid(HeaderLayout.logGuid),
      logVersion: r.u16(HeaderLayout.logVersion),
      version: r.u16(HeaderLayout.version),
      logLength: r.u32(HeaderLayout.logLength),
      logOffset: r.u64(HeaderLayout.logOffset),
    },
  };
}

/** The current header and which slot (0 = header 1 at 64 KiB, 1 = header 2 at 128 KiB) holds it. */
export interface CurrentHeader {
  readonly header: VhdxHeader;
  readonly slot: 0 | 1;
}

/**
 * Picks the current header from the two slots and checks its log fields.
 * @throws {DiskCorruptError} `bad-signature`/`bad-checksum`/`unsupported-version` when neither slot is
 *   valid (the reason of header 1), `bad-header` when both are valid with equal sequence numbers
 *   but different contents, or the log offset/length/version is impossible.
 */
export function chooseHeader(slot1: Uint8Array, slot2: Uint8Array, path: string): CurrentHeader {
  const a = decodeHeader(slot1);
  const b = decodeHeader(slot2);
  let current: CurrentHeader;
  if (a.valid && b.valid) {
    if (a.header.sequenceNumber > b.header.sequenceNumber) current = { header: a.header, slot: 0 };
    else if (b.header.sequenceNumber > a.header.sequenceNumber) current = { header: b.header, slot: 1 };
    else if (Buffer.compare(Buffer.from(slot1.subarray(0, HeaderLayout.SIZE)), Buffer.from(slot2.subarray(0, HeaderLayout.SIZE))) === 0) current = { header: a.header, slot: 0 };
    else throw new DiskCorruptError('bad-header', path, `both headers carry sequence number ${a.header.sequenceNumber}`);
  } else if (a.valid) current = { header: a.header, slot: 0 };
  else if (b.valid) current = { header: b.header, slot: 1 };
  else throw new DiskCorruptError(a.why, path, `no valid header (header 1: ${a.why}, header 2: ${b.why})`);
  const h = current.header;
  if (h.logVersion !== 0) throw new DiskCorruptError('unsupported-version', path, `log version ${h.logVersion}`);
  if (h.logOffset % MiB !== 0 || h.logOffset < HeaderSection.SIZE || h.logLength % MiB !== 0) {
    throw new DiskCorruptError('bad-header', path, `log at ${h.logOffset} (+${h.logLength}) is not 1 MiB aligned past the header section`);
  }
  return current;
}

/** File offset of header slot `slot`. */
export function headerSlotOffset(slot: 0 | 1): number {
  return slot === 0 ? HeaderSection.header1 : HeaderSection.header2;
}
