/**
 * Devices from VM specs: checking the host's device specs, and loading users' VSPs from modules.
 * A device module is compiled JavaScript (the host compiles TypeScript first) whose default export
 * is `(options) => VmbusDevice`; the root imports it and calls the factory with the spec's
 * `options`. Every way a module can be wrong is a refusal with a stable code, never a crash of the
 * root: it does not load (`VIRIDIAN_DEVICE_MODULE_LOAD_FAILED`), its default export is not a
 * function or does not return a device (`VIRIDIAN_DEVICE_MODULE_INVALID`), or the factory throws
 * (`VIRIDIAN_DEVICE_MODULE_FAILED`).
 */
import { isAbsolute } from 'node:path';
import { StorvscProtocol, isGuid } from '@viridian/vmbus';
import { MAX_STORVSP_SUB_CHANNELS } from '../devices/storvsp/sub-channels.ts';
import type { VmbusDevice } from '../vmbus/vmbus-device.ts';
import { ManagementError } from './management-errors.ts';
import type { DeviceSpec, ScsiDiskSpec } from './management-protocol.ts';

/** Most devices (and driver modules) one VM spec may name. */
export const MAX_DEVICES_PER_VM = 32;
/** Most queues (the primary channel and its sub-channels) of one synthetic SCSI controller. */
export const MAX_SCSI_QUEUES = MAX_STORVSP_SUB_CHANNELS + 1;

/**
 * Checks the `devices` of a VM spec.
 * @throws {ManagementError} `VIRIDIAN_VM_BAD_SPEC`
 */
export function checkDeviceSpecs(devices: unknown): DeviceSpec[] {
  if (devices === undefined) return [];
  if (!Array.isArray(devices) || devices.length > MAX_DEVICES_PER_VM) throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `devices must be a list of at most ${MAX_DEVICES_PER_VM}`);
  return devices.map((device: unknown) => {
    const kind = (device as { kind?: unknown } | null)?.kind;
    if (kind === 'echo') return { kind };
    if (kind === 'scsi') {
      const { disks, queues } = device as { disks?: unknown; queues?: unknown };
      if (queues === undefined) return { kind, disks: checkScsiDisks(disks) };
      if (typeof queues !== 'number' || !Number.isInteger(queues) || queues < 1 || queues > MAX_SCSI_QUEUES) {
        throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `scsi queues must be an integer in 1..${MAX_SCSI_QUEUES}`);
      }
      return { kind, disks: checkScsiDisks(disks), queues };
    }
    if (kind === 'module') {
      const { url, options } = device as { url?: unknown; options?: unknown };
      if (typeof url !== 'string' || !url.startsWith('file:')) throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', 'a module device needs a file URL');
      return options === undefined ? { kind, url } : { kind, url, options };
    }
    throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `unknown device kind ${String(kind)}`);
  });
}

/**
 * Checks the disks of a SCSI device spec and gives each its LUN (unnamed ones take the next free).
 * @throws {ManagementError} `VIRIDIAN_VM_BAD_SPEC`
 */
export function checkScsiDisks(disks: unknown): ScsiDiskSpec[] {
  if (!Array.isArray(disks) || disks.length > StorvscProtocol.MAX_LUNS) throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `a scsi device needs a list of at most ${StorvscProtocol.MAX_LUNS} disks`);
  const taken = new Set<number>();
  for (const disk of disks as { lun?: unknown }[]) {
    const lun = disk?.lun;
    if (lun === undefined) continue;
    if (typeof lun !== 'number' || !Number.isInteger(lun) || lun < 0 || lun >= StorvscProtocol.MAX_LUNS || taken.has(lun)) {
      throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `scsi LUN ${String(lun)} must be a distinct integer in 0..${StorvscProtocol.MAX_LUNS - 1}`);
    }
    taken.add(lun);
  }
  let next = 0;
  return disks.map((disk: unknown) => {
    const { path, lun, readOnly } = (disk ?? {}) as { path?: unknown; lun?: unknown; readOnly?: unknown };
    if (typeof path !== 'string' || !isAbsolute(path)) throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', 'a scsi disk needs an absolute path');
    if (readOnly !== undefined && typeof readOnly !== 'boolean') throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', 'a scsi disk readOnly must be a boolean');
    let assigned = lun as number | undefined;
    if (assigned === undefined) {
      while (taken.has(next)) next++;
      assigned = next;
      taken.add(next);
    }
    return { path, lun: assigned, readOnly: readOnly === true };
  });
}

/**
 * Checks the `drivers` of a VM spec (guest driver modules: file URLs).
 * @throws {ManagementError} `VIRIDIAN_VM_BAD_SPEC`
 */
export function checkDriverUrls(drivers: unknown): string[] {
  if (drivers === undefined) return [];
  if (!Array.isArray(drivers) || drivers.length > MAX_DEVICES_PER_VM || drivers.some((url) => typeof url !== 'string' || !url.startsWith('file:'))) {
    throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `drivers must be a list of at most ${MAX_DEVICES_PER_VM} file URLs`);
  }
  return drivers as string[];
}

/**
 * Imports a device module and builds its device.
 * @throws {ManagementError} `VIRIDIAN_DEVICE_MODULE_LOAD_FAILED`, `VIRIDIAN_DEVICE_MODULE_INVALID`, `VIRIDIAN_DEVICE_MODULE_FAILED`
 */
export async function loadModuleDevice(url: string, options: unknown): Promise<VmbusDevice> {
  let module: { default?: unknown };
  try {
    module = (await import(url)) as { default?: unknown };
  } catch (error) {
    throw new ManagementError('VIRIDIAN_DEVICE_MODULE_LOAD_FAILED', `device module ${url} did not load: ${describe(error)}`);
  }
  const factory = module.default;
  if (typeof factory !== 'function') throw new ManagementError('VIRIDIAN_DEVICE_MODULE_INVALID', `device module ${url} has no default export function (options) => VmbusDevice`);
  let device: unknown;
  try {
    device = await (factory as (options: unknown) => unknown)(options);
  } catch (error) {
    throw new ManagementError('VIRIDIAN_DEVICE_MODULE_FAILED', `device factory of ${url} threw: ${describe(error)}`);
  }
  const candidate = device as Partial<VmbusDevice> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.name !== 'string' ||
    typeof candidate.open !== 'function' ||
    typeof candidate.offer?.interfaceType !== 'string' ||
    !isGuid(candidate.offer.interfaceType) ||
    typeof candidate.offer.interfaceInstance !== 'string' ||
    !isGuid(candidate.offer.interfaceInstance)
  ) {
    throw new ManagementError('VIRIDIAN_DEVICE_MODULE_INVALID', `device factory of ${url} did not return a VmbusDevice (name, offer with GUIDs, open)`);
  }
  return candidate as VmbusDevice;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
