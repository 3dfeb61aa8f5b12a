/**
 * The VMBus test bed: a few lines of a test boot a host whose root offers a user's VSP to one
 * child whose kernel runs the user's VSC driver and guest program, then watch and disturb the
 * channel between them. Everything is real: the hypervisor, both partitions' kernels, SynIC
 * signalling, the rings in child memory; only the device pair is the user's.
 *
 * ```ts
 * const bed = await vmbusTestbed({ device: { url: new URL('./kv/device.ts', import.meta.url) },
 *   driver: new URL('./kv/driver.ts', import.meta.url), program: new URL('./kv/guest.ts', import.meta.url) });
 * const seen = bed.record();
 * await bed.injectFault({ kind: 'drop' });
 * await bed.start();
 * console.log(await bed.result, seen);
 * await bed.close();
 * ```
 *
 * The device module's default export is `(options) => VmbusDevice` (it runs in the root
 * partition); the driver module's is a `VscDriver` (it runs in the child, beside echo and report);
 * the program's is `(guest, args) => result`, finding the device with `guest.device(driverName)`.
 * Subscribe and arm faults before `start()` to see and fault the channel from its first packet.
 */
import type { Observable } from 'rxjs';
import { Host, MiB } from '../host/host.ts';
import type { Vm } from '../host/vm.ts';
import type { ChannelFault } from '../kernel/management-protocol.ts';
import type { GuestRingState, ObservedPacket } from '../vmbus/host-channel.ts';

/** What {@link vmbusTestbed} builds. */
export interface VmbusTestbedOptions {
  /** The VSP: a module whose default export is `(options) => VmbusDevice`, and its options. */
  readonly device: { readonly url: URL | string; readonly options?: unknown };
  /** The VSC: a module (or several) whose default export is a `VscDriver`. */
  readonly driver: URL | string | readonly (URL | string)[];
  /** The guest program: a module whose default export is `(guest, args) => result`. */
  readonly program: URL | string;
  readonly args?: unknown;
  /** The child's memory (default 16 MiB). */
  readonly memoryBytes?: number;
  /** The host's memory budget (default 256 MiB). */
  readonly hostMemoryBytes?: number;
  /** The root partition's log level (default 'warn'). */
  readonly logLevel?: string;
}

/** A booted host with one child, its device pair on channel 0, not started yet. */
export interface VmbusTestbed {
  readonly host: Host;
  readonly vm: Vm;
  /** Every packet on the device's channel, both ways, while subscribed (`vm.packets$(0)`). */
  readonly packets$: Observable<ObservedPacket>;
  /** Subscribes to `packets$` and returns the array it fills (unsubscribed by `close`). */
  record(): ObservedPacket[];
  /** Arms a fault on the device's channel, or clears them: resolves once the root has it. */
  injectFault(fault: ChannelFault): Promise<void>;
  /** Resolves when, under `hold-ring-full`, the guest's writer finds the ring full and waits. */
  whenRingFull(): Promise<GuestRingState>;
  /** Starts the child: its kernel opens the channel and runs the program. */
  start(): Promise<void>;
  /** The program's result (rejects with `GuestProgramError` if it throws). */
  readonly result: Promise<unknown>;
  /** Shuts the host down. */
  close(): Promise<void>;
}

let beds = 0;

/**
 * Boots a host and creates the child (suspended: call `start()`).
 * @throws {ManagementRequestError} when the root refuses the device module (`VIRIDIAN_DEVICE_MODULE_*`)
 * @throws {WorkerCompileError} when a module does not compile
 */
export async function vmbusTestbed(options: VmbusTestbedOptions): Promise<VmbusTestbed> {
  const host = await Host.boot({ memoryBytes: options.hostMemoryBytes ?? 256 * MiB, ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }) });
  let vm: Vm;
  try {
    vm = await host.createVm({
      name: `testbed-${++beds}`,
      memoryBytes: options.memoryBytes ?? 16 * MiB,
      program: options.program,
      args: options.args,
      devices: [{ kind: 'module', url: options.device.url, options: options.device.options }],
      drivers: Array.isArray(options.driver) ? options.driver : [options.driver as URL | string],
    });
  } catch (error) {
    await host.shutdown();
    throw error;
  }
  const packets$ = vm.packets$(0);
  const recordings: { unsubscribe(): void }[] = [];
  return {
    host,
    vm,
    packets$,
    record() {
      const seen: ObservedPacket[] = [];
      recordings.push(packets$.subscribe((packet) => seen.push(packet)));
      return seen;
    },
    injectFault: (fault) => vm.injectFault(0, fault),
    whenRingFull: () => vm.whenRingFull(0),
    start: () => vm.start(),
    result: vm.result,
    async close() {
      for (const recording of recordings) recording.unsubscribe();
      await host.shutdown();
    },
  };
}
