/**
 * The host file under a VHDX image, in the calls the VHDX code makes: the storage layer's one
 * {@link HostFile} (full positioned reads and writes, `fdatasync`, size, truncate, failures as typed
 * errors with the errno kept), plus `readStructure` for metadata that must lie inside the file.
 */
import { DiskCorruptError } from '../errors.ts';
import { HostFile } from '../host-file.ts';

/** An open image file. */
export class VhdxFile {
  private constructor(private readonly file: HostFile) {}

  get path(): string {
    return this.file.path;
  }

  get writable(): boolean {
    return this.file.writable;
  }

  /**
   * Opens `path` (`create` makes a new file, failing if one exists unless `overwrite`).
   * @throws {DiskNotFoundError} when the file does not exist.
   * @throws {DiskExistsError} when creating over an existing file without `overwrite`.
   * @throws {DiskIoError} on any other host failure.
   */
  static async open(path: string, mode: { writable: boolean; create?: boolean; overwrite?: boolean }): Promise<VhdxFile> {
    const hostMode = mode.create ? (mode.overwrite ? 'create-overwrite' : 'create') : mode.writable ? 'read-write' : 'read';
    return new VhdxFile(await HostFile.open(path, hostMode));
  }

  /** @throws {DiskIoError} */
  size(): Promise<number> {
    return this.file.size();
  }

  /**
   * Reads into `target` from `position`; bytes past the end of the file read as zero.
   * @throws {DiskIoError}
   */
  readInto(target: Uint8Array, position: number): Promise<void> {
    return this.file.readAt(target, position);
  }

  /**
   * Reads a structure that must lie inside the file.
   * @throws {DiskCorruptError} `truncated` when `[position, position + length)` passes the end.
   * @throws {DiskIoError}
   */
  async readStructure(position: number, length: number, fileSize: number, what: string): Promise<Buffer> {
    if (position + length > fileSize) throw new DiskCorruptError('truncated', this.path, `${what} [${position}, +${length}) passes the end of the ${fileSize}-byte file`);
    const buffer = Buffer.alloc(length);
    await this.file.readAt(buffer, position);
    return buffer;
  }

  /** @throws {DiskIoError} */
  write(position: number, data: Uint8Array): Promise<void> {
    return this.file.writeAt(data, position);
  }

  /** @throws {DiskIoError} */
  datasync(): Promise<void> {
    return this.file.sync();
  }

  /** @throws {DiskIoError} */
  truncate(size: number): Promise<void> {
    return this.file.truncate(size);
  }

  /** @throws {DiskIoError} */
  close(): Promise<void> {
    return this.file.close();
  }
}
