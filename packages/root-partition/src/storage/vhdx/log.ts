/**
 * The VHDX metadata log (hyperv-tlfs.md §7 "Log"; MS VHDX spec §2.3; qemu `block/vhdx-log.c`).
 *
 * An entry is a `"loge"` header (64 bytes) and 32-byte descriptors packed into 4 KiB descriptor
 * sectors (the header takes two descriptor slots of the first), then one 4 KiB `"data"` sector per
 * `"desc"` descriptor. A data sector holds bytes 8..4091 of the target sector between the split
 * sequence number; the descriptor keeps bytes 0..7 and 4092..4095. The CRC-32C covers the whole
 * entry with the checksum field zero. The log is circular: entries wrap sector by sector.
 *
 * Replay (`scanLog`): every 4 KiB position is tried as an entry start; the active sequence is the
 * valid entry with the highest sequence number together with the entries from its `tail` up to
 * it, with consecutive sequence numbers. Replaying writes the target sectors in order.
 */
import type { Guid } from '@viridian/vmbus';
import { DiskCorruptError } from '../errors.ts';
import { VhdxReader, VhdxWriter } from './bytes.ts';
import { vhdxChecksum, sealChecksum } from './checksum.ts';
import { HeaderSection, Limits, LogDataSectorLayout, LogDescriptorLayout, LogEntryHeaderLayout, Signature } from './layout.ts';

const SECTOR = Limits.LOG_SECTOR_SIZE;
/** Descriptor slots per 4 KiB sector. */
const DESCRIPTORS_PER_SECTOR = SECTOR / LogDescriptorLayout.SIZE;
/** The largest zero descriptor replay accepts (a cap on work a hostile log can ask for). */
export const MAX_ZERO_DESCRIPTOR_LENGTH = Limits.MAX_BLOCK_SIZE;

/** One 4 KiB target sector of a log entry. */
export interface LogSectorWrite {
  readonly kind: 'data';
  /** Multiple of 4 KiB. */
  readonly fileOffset: number;
  /** Exactly 4 KiB. */
  readonly data: Uint8Array;
}

/** A zeroed range of a log entry. */
export interface LogZeroWrite {
  readonly kind: 'zero';
  readonly fileOffset: number;
  readonly length: number;
}

export type LogWrite = LogSectorWrite | LogZeroWrite;

/** What a new entry carries. */
export interface LogEntryInput {
  readonly sequenceNumber: bigint;
  readonly logGuid: Guid;
  /** Log offset of the first entry of the sequence this one ends. */
  readonly tail: number;
  readonly flushedFileOffset: number;
  readonly lastFileOffset: number;
  readonly writes: readonly LogWrite[];
}

/** 4 KiB sectors the descriptors of `count` writes need (never 0: the header needs one). */
export function descriptorSectors(count: number): number {
  return Math.ceil((count + 2) / DESCRIPTORS_PER_SECTOR);
}

/** Bytes an entry with these writes takes in the log. */
export function logEntryLength(writes: readonly LogWrite[]): number {
  const data = writes.filter((w) => w.kind === 'data').length;
  return (descriptorSectors(writes.length) + data) * SECTOR;
}

/** Encodes one log entry, checksum included. */
export function encodeLogEntry(input: LogEntryInput): Uint8Array {
  const descSectors = descriptorSectors(input.writes.length);
  const length = logEntryLength(input.writes);
  const w = VhdxWriter.alloc(length);
  w.u32(LogEntryHeaderLayout.signature, Signature.loge)
    .u32(LogEntryHeaderLayout.entryLength, length)
    .u32(LogEntryHeaderLayout.tail, input.tail)
    .u64big(LogEntryHeaderLayout.sequenceNumber, input.sequenceNumber)
    .u32(LogEntryHeaderLayout.descriptorCount, input.writes.length)
    .guid(LogEntryHeaderLayout.logGuid, input.logGuid)
    .u64(LogEntryHeaderLayout.flushedFileOffset, input.flushedFileOffset)
    .u64(LogEntryHeaderLayout.lastFileOffset, input.lastFileOffset);
  let dataSector = descSectors;
  input.writes.forEach((write, i) => {
    const d = w.sub(LogEntryHeaderLayout.SIZE + i * LogDescriptorLayout.SIZE);
    d.u64(LogDescriptorLayout.fileOffset, write.fileOffset).u64big(LogDescriptorLayout.sequenceNumber, input.sequenceNumber);
    if (write.kind === 'zero') {
      d.u32(LogDescriptorLayout.signature, Signature.zero).u64(LogDescriptorLayout.leadingBytes, write.length);
      return;
    }
    const src = new VhdxReader(write.data);
    d.u32(LogDescriptorLayout.signature, Signature.desc)
      .u32(LogDescriptorLayout.trailingBytes, src.u32(LogDataSectorLayout.sequenceLow))
      .copy(LogDescriptorLayout.leadingBytes, src.view8(0, 8));
    w.sub(dataSector * SECTOR)
      .u32(LogDataSectorLayout.signature, Signature.data)
      .u32(LogDataSectorLayout.sequenceHigh, Number(input.sequenceNumber >> 32n))
      .copy(LogDataSectorLayout.data, src.view8(LogDataSectorLayout.data, LogDataSectorLayout.DATA_SIZE))
      .u32(LogDataSectorLayout.sequenceLow, Number(input.sequenceNumber & 0xffffffffn));
    dataSector++;
  });
  sealChecksum(w.bytes, LogEntryHeaderLayout.checksum);
  return w.bytes;
}

/** A valid entry found in the log. */
export interface LogEntry {
  /** Log offset of its first sector. */
  readonly position: number;
  readonly length: number;
  readonly tail: number;
  readonly sequenceNumber: bigint;
  readonly flushedFileOffset: number;
  readonly lastFileOffset: number;
  readonly writes: readonly LogWrite[];
}

/** The entries to replay, oldest first, and the sequence number to continue with. */
export interface ReplayPlan {
  readonly entries: readonly LogEntry[];
  readonly nextSequenceNumber: bigint;
  /** Log offset just past the newest entry. */
  readonly head: number;
}

/** `length` bytes of the circular `log` starting at `position`. */
function circular(log: Uint8Array, position: number, length: number): Uint8Array {
  if (position + length <= log.byteLength) return log.subarray(position, position + length);
  const out = new Uint8Array(length);
  const first = log.byteLength - position;
  out.set(log.subarray(position), 0);
  out.set(log.subarray(0, length - first), first);
  return out;
}

/** Decodes the entry at `position`, or `null` when it is not a valid entry of `logGuid`. */
export function decodeLogEntry(log: Uint8Array, position: number, logGuid: Guid): LogEntry | null {
  const head = new VhdxReader(circular(log, position, LogEntryHeaderLayout.SIZE));
  if (head.u32(LogEntryHeaderLayout.signature) !== Signature.loge) return null;
  const length = head.u32(LogEntryHeaderLayout.entryLength);
  const sequenceNumber = head.u64big(LogEntryHeaderLayout.sequenceNumber);
  const count = head.u32(LogEntryHeaderLayout.descriptorCount);
  if (length === 0 || length % SECTOR !== 0 || length > log.byteLength || sequenceNumber === 0n) return null;
  if (head.guid(LogEntryHeaderLayout.logGuid) !== logGuid) return null;
  const descSectors = descriptorSectors(count);
  if (descSectors * SECTOR > length) return null;
  const bytes = circular(log, position, length);
  const r = new VhdxReader(bytes);
  if (r.u32(LogEntryHeaderLayout.checksum) !== vhdxChecksum(bytes, LogEntryHeaderLayout.checksum)) return null;
  const tail = r.u32(LogEntryHeaderLayout.tail);
  if (tail % SECTOR !== 0 || tail >= log.byteLength) return null;
  const writes: LogWrite[] = [];
  let dataSector = descSectors;
  for (let i = 0; i < count; i++) {
    const d = r.sub(LogEntryHeaderLayout.SIZE + i * LogDescriptorLayout.SIZE);
    const fileOffset = d.u64(LogDescriptorLayout.fileOffset);
    if (d.u64big(LogDescriptorLayout.sequenceNumber) !== sequenceNumber || fileOffset % SECTOR !== 0) return null;
    const signature = d.u32(LogDescriptorLayout.signature);
    if (signature === Signature.zero) {
      const zeroLength = d.u64(LogDescriptorLayout.leadingBytes);
      if (zeroLength % SECTOR !== 0) return null;
      writes.push({ kind: 'zero', fileOffset, length: zeroLength });
    } else if (signature === Signature.desc) {
      if ((dataSector + 1) * SECTOR > length) return null;
      const s = r.sub(dataSector * SECTOR);
      const seq = (BigInt(s.u32(LogDataSectorLayout.sequenceHigh)) << 32n) | BigInt(s.u32(LogDataSectorLayout.sequenceLow));
      if (s.u32(LogDataSectorLayout.signature) !== Signature.data || seq !== sequenceNumber) return null;
      const data = new VhdxWriter(new Uint8Array(SECTOR));
      data.copy(0, d.view8(LogDescriptorLayout.leadingBytes, 8));
      data.copy(LogDataSectorLayout.data, s.view8(LogDataSectorLayout.data, LogDataSectorLayout.DATA_SIZE));
      data.u32(LogDataSectorLayout.sequenceLow, d.u32(LogDescriptorLayout.trailingBytes));
      writes.push({ kind: 'data', fileOffset, data: data.bytes });
      dataSector++;
    } else {
      return null;
    }
  }
  return {
    position,
    length,
    tail,
    sequenceNumber,
    flushedFileOffset: r.u64(LogEntryHeaderLayout.flushedFileOffset),
    lastFileOffset: r.u64(LogEntryHeaderLayout.lastFileOffset),
    writes,
  };
}

/**
 * Finds the active sequence of the log (`log` is the whole log region).
 * @returns `null` when the log holds no valid entry of `logGuid` (nothing to replay).
 * @throws {DiskCorruptError} `bad-log` when valid entries exist but none closes a sequence from
 *   its tail, or an entry targets the file identifier or headers, passes `fileSize` in its flushed offset
 *   (the file was truncated), or asks for an oversized zero range.
 */
export function scanLog(log: Uint8Array, logGuid: Guid, fileSize: number, path: string): ReplayPlan | null {
  const found = new Map<number, LogEntry>();
  for (let position = 0; position + SECTOR <= log.byteLength; position += SECTOR) {
    const entry = decodeLogEntry(log, position, logGuid);
    if (entry !== null) found.set(position, entry);
  }
  if (found.size === 0) return null;
  const candidates = [...found.values()].sort((a, b) => (a.sequenceNumber < b.sequenceNumber ? 1 : a.sequenceNumber > b.sequenceNumber ? -1 : 0));
  for (const newest of candidates) {
    const chain = sequenceEnding(found, newest, log.byteLength);
    if (chain === null) continue;
    for (const entry of chain) {
      if (entry.flushedFileOffset > fileSize) throw new DiskCorruptError('bad-log', path, `log entry ${entry.sequenceNumber} says the file held ${entry.flushedFileOffset} bytes; it has ${fileSize}`);
      for (const write of entry.writes) {
        const length = write.kind === 'data' ? SECTOR : write.length;
        // Region tables (192 KiB on) may be logged (a BAT relocation); the identifier and headers never.
        if (write.fileOffset < HeaderSection.regionTable1) throw new DiskCorruptError('bad-log', path, `log entry ${entry.sequenceNumber} writes over the file identifier or headers`);
        if (write.kind === 'zero' && length > MAX_ZERO_DESCRIPTOR_LENGTH) throw new DiskCorruptError('bad-log', path, `log entry ${entry.sequenceNumber} zeroes ${length} bytes`);
      }
    }
    return { entries: chain, nextSequenceNumber: newest.sequenceNumber + 1n, head: (newest.position + newest.length) % log.byteLength };
  }
  throw new DiskCorruptError('bad-log', path, `${found.size} valid log entries but no complete sequence`);
}

/** The entries from `newest.tail` to `newest` with consecutive sequence numbers, or `null`. */
function sequenceEnding(found: ReadonlyMap<number, LogEntry>, newest: LogEntry, logLength: number): LogEntry[] | null {
  const chain: LogEntry[] = [];
  let position = newest.tail;
  let expected: bigint | null = null;
  for (let steps = 0; steps <= logLength / SECTOR; steps++) {
    const entry = found.get(position);
    if (entry === undefined || (expected !== null && entry.sequenceNumber !== expected)) return null;
    chain.push(entry);
    if (entry === newest) return chain;
    expected = entry.sequenceNumber + 1n;
    position = (position + entry.length) % logLength;
  }
  return null;
}
