/**
 * What a differencing VHD records about its parent: the parent footer's UniqueId and Timestamp.
 * Both VHD disk classes expose it so a child can be created over, and checked against, either.
 */
import type { VirtualDisk } from '../virtual-disk.ts';

/** A VHD's identity as its children record it. */
export interface VhdIdentity {
  readonly uniqueId: Uint8Array;
  readonly timestamp: number;
}

/** A disk that is a VHD (any subtype) and can say who it is. */
export interface VhdIdentified extends VirtualDisk {
  readonly vhdIdentity: VhdIdentity;
}

/** `disk`'s VHD identity, or `null` if it is not a VHD. */
export function vhdIdentityOf(disk: VirtualDisk): VhdIdentity | null {
  return disk.format.startsWith('vhd-') && 'vhdIdentity' in disk ? (disk as VhdIdentified).vhdIdentity : null;
}

/** Lower-case hex of a unique id (for `DiskInfo.details`). */
export function uniqueIdHex(id: Uint8Array): string {
  return Buffer.from(id).toString('hex');
}
