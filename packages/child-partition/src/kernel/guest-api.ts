/**
 * What a guest program receives: the devices its kernel found and opened, by kind, and a small
 * view of its own partition. A guest program is a module whose default export is
 * `(guest: GuestApi, args) => result`; the kernel reports the result (or the error) to the root.
 */
import type { EchoClient } from '../drivers/echo/driver.ts';
import type { GuestDisk, StorvscController } from '../drivers/storvsc/index.ts';

export interface GuestApi {
  /** This partition's id. */
  readonly partitionId: bigint;
  /** The devices the host offered and the kernel opened. */
  readonly devices: {
    readonly echo: readonly EchoClient[];
    /** The synthetic SCSI controllers, initialized, with their disks. */
    readonly scsi: readonly StorvscController[];
    /**
     * Devices of the VM's extra drivers (`createVm({ drivers })`), by driver name, in the order
     * their channels opened: what each driver's `attach` returned.
     */
    readonly byDriver: Readonly<Record<string, readonly unknown[]>>;
  };
  /**
   * Every disk of every SCSI controller, in controller then LUN order: block devices with
   * `capacity`, `blockSize`, `read`, `write`, `flush` and `trim` (many requests may be in flight).
   */
  readonly disks: readonly GuestDisk[];
  /**
   * The `index`th (default first) device of driver `driver`, typed by the caller.
   * @throws {GuestKernelError} `VIRIDIAN_GUEST_NO_DEVICE` when there is no such device
   */
  device<Device>(driver: string, index?: number): Device;
  /** The negotiated VMBus version (major << 16 | minor). */
  readonly vmbusVersion: number;
}

/** The default export of a guest program module. */
export type GuestProgram = (guest: GuestApi, args: unknown) => unknown;
