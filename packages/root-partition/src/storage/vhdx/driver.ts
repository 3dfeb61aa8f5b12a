/**
 * The VHDX format driver for the storage format registry: probes the `"vhdxfile"` identifier,
 * opens with `VhdxDisk.open`, creates with `createVhdx`. Registered by `index.ts` on import.
 */
import type { DiskFormatDriver, ProbeInput } from '../format-registry.ts';
import { createVhdx } from './create.ts';
import { Signature } from './layout.ts';
import { VhdxDisk } from './vhdx-disk.ts';

/** The driver. */
export const vhdxDriver: DiskFormatDriver = {
  family: 'vhdx',
  formats: ['vhdx-fixed', 'vhdx-dynamic', 'vhdx-differencing'],
  priority: 100,
  probe: (input: ProbeInput) => input.head.byteLength >= 8 && input.head.subarray(0, 8).toString('latin1') === Signature.file,
  open: (path, options, context) => VhdxDisk.open(path, options, context),
  create: (path, options, context) => createVhdx(path, options, context),
};
