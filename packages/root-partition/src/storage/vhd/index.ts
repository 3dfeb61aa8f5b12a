/**
 * The VHD format (fixed, dynamic, differencing): its driver, disk classes and layouts.
 */
export { vhdDriver, probeVhd } from './vhd-driver.ts';
export { openVhdDisk } from './vhd-open.ts';
export { createVhdDisk } from './vhd-create.ts';
export { VhdFixedDisk } from './vhd-fixed-disk.ts';
export { VhdDynamicDisk } from './vhd-dynamic-disk.ts';
export { vhdGeometry } from './vhd-geometry.ts';
export type { ChsGeometry } from './vhd-geometry.ts';
