/**
 * A raw image: the file's bytes are the disk's bytes. The virtual size is the file size rounded
 * down to whole logical sectors (a ragged tail is ignored, never written). Reads and writes go
 * straight to the file; trim is a no-op (Node has no hole punching), so `trimReadsZeros` is false.
 */
import { ImageDisk } from '../image-disk.ts';
import { DiskUnsupportedError } from '../errors.ts';
import type { HostFile } from '../host-file.ts';
import { checkRange, checkVirtualSize } from '../request-checks.ts';
import type { DiskInfo, ResizeOptions, VirtualDisk } from '../virtual-disk.ts';

/** The largest raw image Viridian creates or grows to (2^53 rounded to sectors is impractical). */
export const RAW_MAX_SIZE = 2 ** 50;

/** A raw disk image. Construct with `openRawDisk`/`createRawDisk` (raw-driver.ts). */
export class RawDisk extends ImageDisk implements VirtualDisk {
  readonly format = 'raw' as const;
  readonly trimReadsZeros = false;

  constructor(
    private readonly file: HostFile,
    private size: number,
    readonly logicalSectorSize: number,
    readonly physicalSectorSize: number,
    readonly readOnly: boolean,
  ) {
    super();
  }

  get path(): string {
    return this.file.path;
  }

  get virtualSize(): number {
    return this.size;
  }


  /**
   * Not `async`: the file's own promise is returned (the hot path of every guest read); a failed
   * check still rejects, never throws.
   * @throws see `VirtualDisk.readInto`.
   */
  readInto(offset: number, target: Uint8Array): Promise<void> {
    try {
      this.checkOpen();
      checkRange(offset, target.byteLength, this.size, this.logicalSectorSize);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.file.readAt(target, offset);
  }

  /** Not `async`, as `readInto`. @throws see `VirtualDisk.write`. */
  write(offset: number, data: Uint8Array): Promise<void> {
    try {
      this.checkWritable();
      checkRange(offset, data.byteLength, this.size, this.logicalSectorSize);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.file.writeAt(data, offset);
  }

  /** @throws see `VirtualDisk.flush`. */
  async flush(): Promise<void> {
    this.checkOpen();
    if (!this.readOnly) await this.file.sync();
  }

  /** A range check, then nothing: raw files cannot free space portably. @throws see `VirtualDisk.trim`. */
  async trim(offset: number, length: number): Promise<void> {
    this.checkWritable();
    checkRange(offset, length, this.size, this.logicalSectorSize);
  }

  /** Truncates or extends the file (new bytes are a hole reading zeros). @throws see `VirtualDisk.resize`. */
  async resize(newSize: number, options: ResizeOptions = {}): Promise<void> {
    this.checkWritable();
    checkVirtualSize(newSize, this.logicalSectorSize, RAW_MAX_SIZE);
    if (newSize < this.size && options.allowShrink !== true) throw new DiskUnsupportedError(this.path, 'shrinking needs allowShrink');
    await this.file.truncate(newSize);
    this.size = newSize;
  }

  info(): DiskInfo {
    return {
      path: this.path,
      format: this.format,
      virtualSize: this.size,
      logicalSectorSize: this.logicalSectorSize,
      physicalSectorSize: this.physicalSectorSize,
      blockSize: null,
      fileSize: this.size,
      allocatedBytes: this.size,
      readOnly: this.readOnly,
      parentPath: null,
      parent: null,
      details: {},
    };
  }

  /** @throws see `VirtualDisk.close`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.readOnly) await this.file.sync();
    } finally {
      await this.file.close();
    }
  }


}
