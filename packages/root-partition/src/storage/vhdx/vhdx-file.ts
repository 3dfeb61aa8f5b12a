/**
 * The host file under a VHDX image: positioned reads and writes that always complete in full
 * (Node may return short counts), `fdatasync`, size and truncate, every failure mapped to the
 * storage layer's typed errors (`DiskIoError` with the errno kept, `DiskCorruptError('truncated')`
 * for structures past the end of the file).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DiskCorruptError, toDiskError } from '../errors.ts';

/** An open image file. */
export class VhdxFile {
  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly writable: boolean,
  ) {}

  /**
   * Opens `path` (`'r'` or `'r+'`; `create` makes a new file, failing if one exists unless `overwrite`).
   * @throws {DiskNotFoundError} when the file does not exist.
   * @throws {DiskIoError} on any other host failure (`EEXIST` included).
   */
  static async open(path: string, mode: { writable: boolean; create?: boolean; overwrite?: boolean }): Promise<VhdxFile> {
    const flags = mode.create ? (mode.overwrite ? 'w+' : 'wx+') : mode.writable ? 'r+' : 'r';
    try {
      return new VhdxFile(await open(path, flags), path, mode.writable || mode.create === true);
    } catch (error) {
      throw toDiskError(error, path, 'open');
    }
  }

  /** @throws {DiskIoError} */
  async size(): Promise<number> {
    try {
      return (await this.handle.stat()).size;
    } catch (error) {
      throw toDiskError(error, this.path, 'stat');
    }
  }

  /**
   * Reads into `target` from `position`; bytes past the end of the file read as zero.
   * @throws {DiskIoError}
   */
  async readInto(target: Uint8Array, position: number): Promise<void> {
    let done = 0;
    try {
      while (done < target.byteLength) {
        const { bytesRead } = await this.handle.read(target, done, target.byteLength - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
    } catch (error) {
      throw toDiskError(error, this.path, 'read');
    }
    if (done < target.byteLength) target.fill(0, done);
  }

  /**
   * Reads a structure that must lie inside the file.
   * @throws {DiskCorruptError} `truncated` when `[position, position + length)` passes the end.
   * @throws {DiskIoError}
   */
  async readStructure(position: number, length: number, fileSize: number, what: string): Promise<Buffer> {
    if (position + length > fileSize) throw new DiskCorruptError('truncated', this.path, `${what} [${position}, +${length}) passes the end of the ${fileSize}-byte file`);
    const buffer = Buffer.alloc(length);
    await this.readInto(buffer, position);
    return buffer;
  }

  /** @throws {DiskIoError} */
  async write(position: number, data: Uint8Array): Promise<void> {
    let done = 0;
    try {
      while (done < data.byteLength) {
        const { bytesWritten } = await this.handle.write(data, done, data.byteLength - done, position + done);
        done += bytesWritten;
      }
    } catch (error) {
      throw toDiskError(error, this.path, 'write');
    }
  }

  /** @throws {DiskIoError} */
  async datasync(): Promise<void> {
    try {
      await this.handle.datasync();
    } catch (error) {
      throw toDiskError(error, this.path, 'fdatasync');
    }
  }

  /** @throws {DiskIoError} */
  async truncate(size: number): Promise<void> {
    try {
      await this.handle.truncate(size);
    } catch (error) {
      throw toDiskError(error, this.path, 'truncate');
    }
  }

  /** @throws {DiskIoError} */
  async close(): Promise<void> {
    try {
      await this.handle.close();
    } catch (error) {
      throw toDiskError(error, this.path, 'close');
    }
  }
}
