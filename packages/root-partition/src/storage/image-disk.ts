/**
 * What every image-file disk shares: the open/closed state and the checks each request makes
 * first (closed → `DiskClosedError`, read-only → `DiskReadOnlyError`), and `read` as a checked
 * allocation plus the format's own `readInto`. The formats (raw, VHD, VHDX) extend it.
 */
import { DiskClosedError, DiskReadOnlyError } from './errors.ts';
import { checkRange } from './request-checks.ts';

export abstract class ImageDisk {
  /** Set by the format's `close`. */
  protected closed = false;
  abstract readonly path: string;
  abstract readonly readOnly: boolean;
  abstract readonly virtualSize: number;
  abstract readonly logicalSectorSize: number;

  /** @throws see `VirtualDisk.readInto`. */
  abstract readInto(offset: number, target: Uint8Array): Promise<void>;

  /** @throws see `VirtualDisk.read`. */
  async read(offset: number, length: number): Promise<Buffer> {
    this.checkOpen();
    checkRange(offset, length, this.virtualSize, this.logicalSectorSize);
    const target = Buffer.allocUnsafe(length);
    await this.readInto(offset, target);
    return target;
  }

  /** @throws {DiskClosedError} */
  protected checkOpen(): void {
    if (this.closed) throw new DiskClosedError(this.path);
  }

  /** @throws {DiskClosedError} @throws {DiskReadOnlyError} */
  protected checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new DiskReadOnlyError(this.path);
  }
}
