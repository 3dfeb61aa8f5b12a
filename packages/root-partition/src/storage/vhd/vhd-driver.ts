/**
 * The VHD format's driver for the registry: probes for the "conectix" cookie at offset 0
 * (dynamic and differencing) or in the last 512 bytes (fixed), and opens/creates through
 * vhd-open.ts and vhd-create.ts.
 */
import type { DiskFormatDriver, ProbeInput } from '../format-registry.ts';
import { hasVhdFooterCookie } from './vhd-footer.ts';
import { createVhdDisk } from './vhd-create.ts';
import { openVhdDisk } from './vhd-open.ts';

/** True if the file carries a VHD footer cookie where a VHD keeps one. */
export function probeVhd(input: ProbeInput): boolean {
  return hasVhdFooterCookie(input.head) || (input.tail.length === 512 && hasVhdFooterCookie(input.tail));
}

/** The VHD driver (fixed, dynamic and differencing). */
export const vhdDriver: DiskFormatDriver = Object.freeze({
  family: 'vhd' as const,
  formats: Object.freeze(['vhd-fixed', 'vhd-dynamic', 'vhd-differencing'] as const),
  priority: 100,
  probe: probeVhd,
  open: openVhdDisk,
  create: createVhdDisk,
});
