/**
 * The host file under an image: a thin wrapper over a `node:fs/promises` FileHandle that turns
 * short reads and writes into loops and every host failure into a `DiskIoError` (errno kept).
 * All positions are absolute byte offsets in the file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DiskClosedError, DiskExistsError, toDiskError } from './errors.ts';

/** How to open a host file. */
export type HostFileMode = 'read' | 'read-write' | 'create' | 'create-overwrite';

const FLAGS: Readonly<Record<HostFileMode, string>> = Object.freeze({ read: 'r', 'read-write': 'r+', create: 'wx+', 'create-overwrite': 'w+' });

/** An open image file. */
export class HostFile {
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly writable: boolean,
  ) {}

  /**
   * Opens `path`.
   * @throws DiskNotFoundError if it does not exist (read modes).
   * @throws DiskExistsError if it exists (mode `create`).
   * @throws DiskIoError for any other host failure.
   */
  static async open(path: string, mode: HostFileMode): Promise<HostFile> {
    try {
      return new HostFile(path, await open(path, FLAGS[mode]), mode !== 'read');
    } catch (error) {
      if (mode === 'create' && (error as { code?: unknown }).code === 'EEXIST') throw new DiskExistsError(path);
      throw toDiskError(error, path, 'open');
    }
  }

  /** Current size of the file in bytes. @throws DiskIoError. */
  async size(): Promise<number> {
    this.checkOpen();
    try {
      return (await this.handle.stat()).size;
    } catch (error) {
      throw toDiskError(error, this.path, 'stat');
    }
  }

  /**
   * Fills `target` from `position`. Bytes past the end of the file read as zeros (as a hole
   * would): callers validate extents against the file size before trusting them.
   * @throws DiskIoError.
   */
  async readAt(target: Uint8Array, position: number): Promise<void> {
    this.checkOpen();
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

  /** Writes all of `data` at `position`, extending the file if needed. @throws DiskIoError. */
  async writeAt(data: Uint8Array, position: number): Promise<void> {
    this.checkOpen();
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

  /** Sets the file's length (new bytes read as zeros). @throws DiskIoError. */
  async truncate(length: number): Promise<void> {
    this.checkOpen();
    try {
      await this.handle.truncate(length);
    } catch (error) {
      throw toDiskError(error, this.path, 'truncate');
    }
  }

  /** Makes written data durable (`fdatasync`). @throws DiskIoError. */
  async sync(): Promise<void> {
    this.checkOpen();
    try {
      await this.handle.datasync();
    } catch (error) {
      throw toDiskError(error, this.path, 'sync');
    }
  }

  /** Closes the handle; idempotent. @throws DiskIoError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.handle.close();
    } catch (error) {
      throw toDiskError(error, this.path, 'close');
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new DiskClosedError(this.path);
  }
}
