/**
 * A fixed VHD: the disk's bytes, then the 512-byte footer (hyperv-tlfs.md §7). Data I/O goes
 * straight to the file; trim is a no-op (no allocation to give back). Resizing moves the footer:
 * the new one is written first, then the old one is zeroed (it now lies inside the data).
 */
import { AsyncMutex } from '../async-mutex.ts';
import { DiskUnsupportedError } from '../errors.ts';
import type { HostFile } from '../host-file.ts';
import { checkRange, checkVirtualSize } from '../request-checks.ts';
import type { DiskInfo, ResizeOptions, VirtualDisk } from '../virtual-disk.ts';
import { encodeVhdFooter, type VhdFooterFields } from './vhd-footer.ts';
import { vhdGeometry } from './vhd-geometry.ts';
import { uniqueIdHex, type VhdIdentified } from './vhd-identity.ts';
import { VhdImage } from './vhd-image.ts';
import { VHD_MAX_SIZE, VHD_SECTOR_SIZE, VhdFooter } from './vhd-layout.ts';

/** An open fixed VHD. Construct with `openVhdDisk`/`createVhdDisk`. */
export class VhdFixedDisk extends VhdImage implements VirtualDisk, VhdIdentified {
  readonly format = 'vhd-fixed' as const;
  readonly trimReadsZeros = false;
  private readonly metadata = new AsyncMutex();

  constructor(
    file: HostFile,
    footer: VhdFooterFields,
    private fileSize: number,
    readonly readOnly: boolean,
  ) {
    super(file, footer);
  }


  /** @throws see `VirtualDisk.readInto`. */
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    this.checkOpen();
    checkRange(offset, target.byteLength, this.virtualSize, VHD_SECTOR_SIZE);
    await this.file.readAt(target, offset);
  }

  /** @throws see `VirtualDisk.write`. */
  async write(offset: number, data: Uint8Array): Promise<void> {
    this.checkWritable();
    checkRange(offset, data.byteLength, this.virtualSize, VHD_SECTOR_SIZE);
    await this.file.writeAt(data, offset);
  }

  /** @throws see `VirtualDisk.flush`. */
  async flush(): Promise<void> {
    this.checkOpen();
    if (!this.readOnly) await this.file.sync();
  }

  /** Range check only: a fixed disk has nothing to free. @throws see `VirtualDisk.trim`. */
  async trim(offset: number, length: number): Promise<void> {
    this.checkWritable();
    checkRange(offset, length, this.virtualSize, VHD_SECTOR_SIZE);
  }

  /** Moves the footer to `newSize` (shrinking only with `allowShrink`). @throws see `VirtualDisk.resize`. */
  async resize(newSize: number, options: ResizeOptions = {}): Promise<void> {
    this.checkWritable();
    checkVirtualSize(newSize, VHD_SECTOR_SIZE, VHD_MAX_SIZE);
    if (newSize < this.virtualSize && options.allowShrink !== true) throw new DiskUnsupportedError(this.path, 'shrinking needs allowShrink');
    await this.metadata.run(async () => {
      const oldSize = this.virtualSize;
      if (newSize === oldSize) return;
      const footer = { ...this.footer, currentSize: newSize, geometry: vhdGeometry(newSize / VHD_SECTOR_SIZE) };
      await this.file.writeAt(encodeVhdFooter(footer), newSize);
      if (newSize > oldSize) await this.file.writeAt(Buffer.alloc(VhdFooter.SIZE), oldSize);
      else await this.file.truncate(newSize + VhdFooter.SIZE);
      this.footer = footer;
      this.fileSize = newSize + VhdFooter.SIZE;
    });
  }

  info(): DiskInfo {
    const { geometry } = this.footer;
    return {
      path: this.path,
      format: this.format,
      virtualSize: this.virtualSize,
      logicalSectorSize: VHD_SECTOR_SIZE,
      physicalSectorSize: VHD_SECTOR_SIZE,
      blockSize: null,
      fileSize: this.fileSize,
      allocatedBytes: this.virtualSize,
      readOnly: this.readOnly,
      parentPath: null,
      parent: null,
      details: {
        creatorApp: this.footer.creatorApp,
        uniqueId: uniqueIdHex(this.footer.uniqueId),
        geometry: `${geometry.cylinders}/${geometry.heads}/${geometry.sectorsPerTrack}`,
        timestamp: this.footer.timestamp,
      },
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
