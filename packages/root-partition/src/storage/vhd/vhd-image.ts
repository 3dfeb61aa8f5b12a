/**
 * What fixed and dynamic (and differencing) VHDs share: the host file, the footer with the disk's
 * size and identity, and 512-byte sectors (hyperv-tlfs.md §7).
 */
import { ImageDisk } from '../image-disk.ts';
import type { HostFile } from '../host-file.ts';
import type { VhdFooterFields } from './vhd-footer.ts';
import type { VhdIdentity } from './vhd-identity.ts';
import { VHD_SECTOR_SIZE } from './vhd-layout.ts';

export abstract class VhdImage extends ImageDisk {
  readonly logicalSectorSize = VHD_SECTOR_SIZE;
  readonly physicalSectorSize = VHD_SECTOR_SIZE;

  constructor(
    protected readonly file: HostFile,
    /** The footer as last written (resizing replaces it). */
    protected footer: VhdFooterFields,
  ) {
    super();
  }

  get path(): string {
    return this.file.path;
  }

  get virtualSize(): number {
    return this.footer.currentSize;
  }

  get vhdIdentity(): VhdIdentity {
    return { uniqueId: this.footer.uniqueId, timestamp: this.footer.timestamp };
  }
}
