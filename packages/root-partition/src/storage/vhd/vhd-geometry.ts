/**
 * CHS geometry of a VHD, computed exactly as the VHD specification's appendix ("CHS
 * calculation") does: the footer records it, Virtual PC and old qemu size disks from it.
 */

/** Cylinders, heads and sectors per track. */
export interface ChsGeometry {
  readonly cylinders: number;
  readonly heads: number;
  readonly sectorsPerTrack: number;
}

/** The largest geometry (65535 × 16 × 255); larger disks are clamped to it. */
export const VHD_MAX_CHS_SECTORS = 65535 * 16 * 255;

/** The geometry the specification assigns to a disk of `totalSectors` 512-byte sectors. */
export function vhdGeometry(totalSectors: number): ChsGeometry {
  const sectors = Math.min(totalSectors, VHD_MAX_CHS_SECTORS);
  let sectorsPerTrack: number;
  let heads: number;
  let cylinderTimesHeads: number;
  if (sectors >= 65535 * 16 * 63) {
    sectorsPerTrack = 255;
    heads = 16;
    cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
  } else {
    sectorsPerTrack = 17;
    cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
    heads = Math.floor((cylinderTimesHeads + 1023) / 1024);
    if (heads < 4) heads = 4;
    if (cylinderTimesHeads >= heads * 1024 || heads > 16) {
      sectorsPerTrack = 31;
      heads = 16;
      cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
    }
    if (cylinderTimesHeads >= heads * 1024) {
      sectorsPerTrack = 63;
      heads = 16;
      cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
    }
  }
  return { cylinders: Math.floor(cylinderTimesHeads / heads), heads, sectorsPerTrack };
}
