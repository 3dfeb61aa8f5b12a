/**
 * The metadata journal of an open VHDX (hyperv-tlfs.md §7): the log session that every change to
 * the BAT, sector bitmaps, metadata items or region tables goes through.
 *
 * - `begin` starts a session on the first change: new FileWrite/DataWrite GUIDs and a new LogGuid
 *   in the headers.
 * - Sectors other than the BAT's and the bitmaps' (metadata items, region tables) are queued here
 *   (`queueSector`, or `patch` for a read-modify-write of part of a sector).
 * - `commit` writes the given sector writes plus the queued ones as log entries (sequence number,
 *   descriptors, data sectors, CRC-32C), each synced before it is applied in place; every entry's
 *   `tail` is itself, so a crash replays at most the newest entry.
 * - `end` (on close, after a commit) clears the LogGuid, so a cleanly closed file needs no replay.
 */
import { NIL_GUID, type Guid } from '@viridian/vmbus';
import { DiskUnsupportedError } from '../errors.ts';
import type { CurrentHeader } from './header.ts';
import { newGuid, updateHeaders } from './image.ts';
import { Limits } from './layout.ts';
import { descriptorSectors, encodeLogEntry, type LogSectorWrite } from './log.ts';
import type { VhdxFile } from './vhdx-file.ts';

const SECTOR = Limits.LOG_SECTOR_SIZE;

/** The open log session (from the first change to `end`). */
interface Session {
  readonly logGuid: Guid;
  /** Log offset of the next entry. */
  position: number;
  sequence: bigint;
}

/** Where the file ends, as each log entry records it. */
export interface FileExtent {
  /** The file's size as last flushed. */
  readonly flushedFileOffset: number;
  /** The 1 MiB-aligned end of the file, where new blocks go. */
  readonly lastFileOffset: number;
}

export class VhdxJournal {
  private session: Session | null = null;
  /** Sectors to log at the next commit (metadata items, region tables), by file offset. */
  private readonly queued = new Map<number, Uint8Array>();

  constructor(
    private readonly file: VhdxFile,
    private readonly path: string,
    /** The active header (replaced as the headers are updated). */
    private current: CurrentHeader,
  ) {}

  /** The active header. */
  get header(): CurrentHeader['header'] {
    return this.current.header;
  }

  /** Whether a session is open (the image has changed since it was opened or last closed). */
  get open(): boolean {
    return this.session !== null;
  }

  /**
   * Starts the session on the first change (the caller holds the image's exclusive lock).
   * @throws {DiskUnsupportedError} when the image has no log
   */
  async begin(): Promise<void> {
    if (this.session !== null) return;
    if (this.current.header.logLength < 2 * SECTOR) throw new DiskUnsupportedError(this.path, 'image has no log to record metadata changes in');
    const logGuid = newGuid();
    this.current = await updateHeaders(this.file, this.current, { fileWriteGuid: newGuid(), dataWriteGuid: newGuid(), logGuid });
    this.session = { logGuid, position: 0, sequence: 1n };
  }

  /** Queues a whole sector for the next commit. */
  queueSector(fileOffset: number, data: Uint8Array): void {
    this.queued.set(fileOffset, data);
  }

  /** Queues `bytes` at `fileOffset` as whole sectors (read-modify-write of the ones not queued yet). */
  async patch(fileOffset: number, bytes: Uint8Array): Promise<void> {
    const first = Math.floor(fileOffset / SECTOR) * SECTOR;
    const last = Math.floor((fileOffset + bytes.byteLength - 1) / SECTOR) * SECTOR;
    for (let at = first; at <= last; at += SECTOR) {
      let sector = this.queued.get(at);
      if (sector === undefined) {
        sector = new Uint8Array(SECTOR);
        await this.file.readInto(sector, at);
        this.queued.set(at, sector);
      }
      const from = Math.max(fileOffset, at);
      const to = Math.min(fileOffset + bytes.byteLength, at + SECTOR);
      sector.set(bytes.subarray(from - fileOffset, to - fileOffset), from - at);
    }
  }

  /**
   * Syncs the data, then logs and applies `writes` and the queued sectors (the caller holds the
   * exclusive lock). Returns false without a session (nothing changed).
   */
  async commit(writes: LogSectorWrite[], extent: FileExtent): Promise<boolean> {
    const session = this.session;
    if (session === null) return false;
    await this.file.datasync();
    for (const [fileOffset, data] of [...this.queued].sort((a, b) => a[0] - b[0])) writes.push({ kind: 'data', fileOffset, data });
    this.queued.clear();
    const perEntry = this.maxSectorsPerEntry();
    for (let i = 0; i < writes.length; i += perEntry) {
      // Each entry's tail is itself: the previous entry's in-place writes must be durable first.
      if (i > 0) await this.file.datasync();
      await this.logAndApply(session, writes.slice(i, i + perEntry), extent);
    }
    return true;
  }

  /** Ends the session after a final commit: syncs and clears the LogGuid. */
  async end(): Promise<void> {
    if (this.session === null) return;
    await this.file.datasync();
    this.current = await updateHeaders(this.file, this.current, { logGuid: NIL_GUID });
    this.session = null;
  }

  /** Data sectors one entry may carry so that it fits the log with a sector to spare. */
  private maxSectorsPerEntry(): number {
    const logSectors = this.current.header.logLength / SECTOR;
    let n = logSectors - 2;
    while (n > 1 && n + descriptorSectors(n) > logSectors - 1) n--;
    return n;
  }

  private async logAndApply(session: Session, writes: LogSectorWrite[], extent: FileExtent): Promise<void> {
    const { logOffset, logLength } = this.current.header;
    const entry = encodeLogEntry({
      sequenceNumber: session.sequence,
      logGuid: session.logGuid,
      tail: session.position,
      flushedFileOffset: extent.flushedFileOffset,
      lastFileOffset: extent.lastFileOffset,
      writes,
    });
    const first = Math.min(entry.byteLength, logLength - session.position);
    await this.file.write(logOffset + session.position, entry.subarray(0, first));
    if (first < entry.byteLength) await this.file.write(logOffset, entry.subarray(first));
    await this.file.datasync();
    for (const write of writes) await this.file.write(write.fileOffset, write.data);
    session.position = (session.position + entry.byteLength) % logLength;
    session.sequence++;
  }
}
