/**
 * Users' VSC drivers, loaded by the guest kernel from modules the host named in the VM spec
 * (compiled JavaScript, file URLs): each module's default export is a {@link VscDriver}. A module
 * that does not load, or whose default export is not a driver, fails the guest program with a
 * {@link GuestDriverModuleError} (the host sees it as the VM's `GuestProgramError`).
 */
import { isGuid } from '@viridian/vmbus';
import type { VscDriver } from '../drivers/vsc-driver.ts';
import { GuestKernelError } from '../errors.ts';

/** Names the kernel's own drivers use: a user's driver may not take them. */
const RESERVED_NAMES: ReadonlySet<string> = new Set(['echo', 'report', 'scsi']);

/** A driver module did not load or does not export a `VscDriver`. */
export class GuestDriverModuleError extends GuestKernelError {
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super('VIRIDIAN_GUEST_DRIVER_MODULE_INVALID', `driver module ${url}: ${detail}`);
    this.name = 'GuestDriverModuleError';
  }
}

/**
 * Imports every driver module, in order.
 * @throws {GuestDriverModuleError} for the first module that is not a driver, or a repeated name
 */
export async function loadDriverModules(urls: readonly string[]): Promise<VscDriver[]> {
  const drivers: VscDriver[] = [];
  for (const url of urls) {
    let module: { default?: unknown };
    try {
      module = (await import(url)) as { default?: unknown };
    } catch (error) {
      throw new GuestDriverModuleError(url, `did not load: ${error instanceof Error ? error.message : String(error)}`);
    }
    const driver = module.default as Partial<VscDriver> | undefined;
    if (
      typeof driver !== 'object' ||
      driver === null ||
      typeof driver.name !== 'string' ||
      driver.name.length === 0 ||
      typeof driver.classId !== 'string' ||
      !isGuid(driver.classId) ||
      typeof driver.attach !== 'function' ||
      !Number.isSafeInteger(driver.rings?.sendRingBytes) ||
      !Number.isSafeInteger(driver.rings?.receiveRingBytes)
    ) {
      throw new GuestDriverModuleError(url, 'the default export is not a VscDriver (name, classId, rings, attach)');
    }
    if (RESERVED_NAMES.has(driver.name) || drivers.some((other) => other.name === driver.name)) {
      throw new GuestDriverModuleError(url, `driver name ${driver.name} is taken`);
    }
    drivers.push(driver as VscDriver);
  }
  return drivers;
}
