/**
 * Devices from VM specs: checking the host's device specs, and loading users' VSPs from modules.
 * A device module is compiled JavaScript (the host compiles TypeScript first) whose default export
 * is `(options) => VmbusDevice`; the root imports it and calls the factory with the spec's
 * `options`. Every way a module can be wrong is a refusal with a stable code, never a crash of the
 * root: it does not load (`VIRIDIAN_DEVICE_MODULE_LOAD_FAILED`), its default export is not a
 * function or does not return a device (`VIRIDIAN_DEVICE_MODULE_INVALID`), or the factory throws
 * (`VIRIDIAN_DEVICE_MODULE_FAILED`).
 */
import { isGuid } from '@viridian/vmbus';
import type { VmbusDevice } from '../vmbus/vmbus-device.ts';
import { ManagementError } from './management-errors.ts';
import type { DeviceSpec } from './management-protocol.ts';

/** Most devices (and driver modules) one VM spec may name. */
export const MAX_DEVICES_PER_VM = 32;

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
    if (kind === 'module') {
      const { url, options } = device as { url?: unknown; options?: unknown };
      if (typeof url !== 'string' || !url.startsWith('file:')) throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', 'a module device needs a file URL');
      return options === undefined ? { kind, url } : { kind, url, options };
    }
    throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `unknown device kind ${String(kind)}`);
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
