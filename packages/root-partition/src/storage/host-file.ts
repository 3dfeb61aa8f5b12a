/**
 * The host file under an image: a thin wrapper over a `node:fs/promises` FileHandle that turns
 * short reads and writes into loops and every host failure into a `DiskIoError` (errno kept).
 * All positions are absolute byte offsets in the file.
 *
 * Small reads and writes into shared memory (a child's pages, up to IO_THREAD_MAX_BYTES) go to the
 * calling thread's block I/O thread (io-thread/io-thread.ts), which skips the thread pool's wake-ups.
 * Other data reads and writes (the hot path of every disk request) go through the callback API on the
 * handle's descriptor (`fs.read`/`fs.write`), one promise per call: the same thread-pool request
 * as `FileHandle.read`, at about a third of its cost on the calling thread (no FileHandle
 * promise request, no result object; measured 3-6 us instead of 9 us per 4 KiB read). The handle
 * does not see those operations, so this class counts them and `close` waits for them before it
 * closes the descriptor (which could otherwise be reused under a late read).
 */
import { read, write } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { DiskClosedError, DiskExistsError, toDiskError } from './errors.ts';
import { IoThread } from './io-thread/io-thread.ts';

/** How to open a host file. */
export type HostFileMode = 'read' | 'read-write' | 'create' | 'create-overwrite';

const FLAGS: Readonly<Record<HostFileMode, string>> = Object.freeze({ read: 'r', 'read-write': 'r+', create: 'wx+', 'create-overwrite': 'w+' });

/** An open image file. */
export class HostFile {
  private closed = false;
  /** Reads and writes on the descriptor not yet finished; `close` waits for 0. */
  private running = 0;
  private idle: (() => void) | undefined;
  private readonly fd: number;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly writable: boolean,
  ) {
    this.fd = handle.fd;
  }

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
  readAt(target: Uint8Array, position: number): Promise<void> {
    if (this.closed) return Promise.reject(new DiskClosedError(this.path));
    const length = target.byteLength;
    if (length === 0) return Promise.resolve();
    if (IoThread.takes(target)) {
      // Started on the first such transfer only: threads that never move guest memory get none.
      const onThread = IoThread.forThisThread()?.submit('read', this.fd, target, position);
      if (onThread !== undefined) return this.track(onThread, 'read');
    }
    return new Promise((resolve, reject) => {
      this.running++;
      let done = 0;
      const next = (): void => read(this.fd, target, done, length - done, position + done, settle);
      const settle = (error: Error | null, bytesRead: number): void => {
        if (error !== null) return this.finish(reject, toDiskError(error, this.path, 'read'));
        done += bytesRead;
        if (bytesRead > 0 && done < length) return next();
        if (done < length) target.fill(0, done);
        this.finish(resolve);
      };
      next();
    });
  }

  /** Writes all of `data` at `position`, extending the file if needed. @throws DiskIoError. */
  writeAt(data: Uint8Array, position: number): Promise<void> {
    if (this.closed) return Promise.reject(new DiskClosedError(this.path));
    const length = data.byteLength;
    if (length === 0) return Promise.resolve();
    if (IoThread.takes(data)) {
      const onThread = IoThread.forThisThread()?.submit('write', this.fd, data, position);
      if (onThread !== undefined) return this.track(onThread, 'write');
    }
    return new Promise((resolve, reject) => {
      this.running++;
      let done = 0;
      const next = (): void => write(this.fd, data, done, length - done, position + done, settle);
      const settle = (error: Error | null, bytesWritten: number): void => {
        if (error !== null) return this.finish(reject, toDiskError(error, this.path, 'write'));
        done += bytesWritten;
        if (done < length) return next();
        this.finish(resolve);
      };
      next();
    });
  }

  /** Counts a request on the block I/O thread as a descriptor operation, and maps its failure. */
  private track(request: Promise<number>, operation: 'read' | 'write'): Promise<void> {
    this.running++;
    return request.then(
      () => this.ended(),
      (error: unknown) => {
        this.ended();
        throw toDiskError(error, this.path, operation);
      },
    );
  }

  /** Ends one descriptor operation: settles it, and wakes `close` after the last one. */
  private finish<T>(settle: (value: T) => void, value?: T): void {
    this.ended();
    settle(value as T);
  }

  /** One descriptor operation is over: wakes `close` after the last one. */
  private ended(): void {
    if (--this.running === 0 && this.idle !== undefined) {
      this.idle();
      this.idle = undefined;
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
    if (this.running > 0) await new Promise<void>((resolve) => (this.idle = resolve));
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
