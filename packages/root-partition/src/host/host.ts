/**
 * The script API: boot a host, create VMs with devices and guest programs, run them, read their
 * results. `Host.boot` starts the hypervisor with the root partition's kernel; every later action
 * is a request to the root's management service (the root owns the VMs, as Hyper-V's VMMS does).
 *
 * ```ts
 * const host = await Host.boot({ memoryBytes: 512 * MiB });
 * const vm = await host.createVm({ name: 'a', memoryBytes: 32 * MiB, program: new URL('./guest.ts', import.meta.url), devices: [{ kind: 'echo' }] });
 * await vm.start();
 * console.log(await vm.result);
 * await host.shutdown();
 * ```
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Hypervisor } from '@viridian/hypervisor';
import { compileWorkerEntry } from '@viridian/worker-bootstrap';
import type { DeviceSpec, ManagementEvent, ManagementReply, ManagementRequest, RootBootData } from '../kernel/management-protocol.ts';
import { Vm } from './vm.ts';

export const MiB = 1024 * 1024;

/** Options of {@link Host.boot}. */
export interface HostOptions {
  /** The host's memory budget for all partitions (default 1 GiB). */
  readonly memoryBytes?: number;
  /** The root partition's log level (pino; default 'warn'). */
  readonly logLevel?: string;
}

/**
 * A device of {@link CreateVmOptions}: the echo device, a synthetic SCSI controller with disk
 * images (raw, VHD, VHDX; `path` relative to the working folder or absolute; `lun` defaults to the
 * next free one; the guest sees them in `guest.disks`), or a VSP from a module (TypeScript or
 * JavaScript) whose default export is `(options) => VmbusDevice`; the host compiles it and the
 * root partition imports it and calls it with `options` (structured-clonable).
 */
export type DeviceOption =
  | { readonly kind: 'echo' }
  /** `queues`: the primary channel plus sub-channels the guest's storvsc may open (1-64, default 1). */
  | { readonly kind: 'scsi'; readonly disks: readonly { readonly path: string; readonly lun?: number; readonly readOnly?: boolean }[]; readonly queues?: number }
  | { readonly kind: 'module'; readonly url: URL | string; readonly options?: unknown };

/** What {@link Host.createVm} takes. */
export interface CreateVmOptions {
  readonly name: string;
  readonly memoryBytes: number;
  /** The guest program: a module whose default export is `(guest, args) => result`. */
  readonly program: URL | string;
  readonly args?: unknown;
  /** The VM's devices, in order: a device's index here names it in `vm.packets$` and `vm.injectFault`. */
  readonly devices?: readonly DeviceOption[];
  /**
   * Extra VSC drivers for the guest kernel: modules whose default export is a `VscDriver`; the
   * kernel opens the offers each claims, beside echo and report, and the program finds the
   * devices in `guest.devices.byDriver[driver.name]`.
   */
  readonly drivers?: readonly (URL | string)[];
  /**
   * Boot this VP entry instead of Viridian's guest kernel (default export `(vp, args) => void`):
   * another operating system, such as a hostile one in tests. `program` is then only compiled.
   */
  readonly kernel?: URL | string;
}

/** A management request the root refused. */
export class ManagementRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ManagementRequestError';
  }
}

const require = createRequire(import.meta.url);

export class Host {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly vms = new Map<string, Vm>();

  private constructor(
    readonly hypervisor: Hypervisor,
    private readonly port: MessagePort,
  ) {
    port.on('message', (message: ManagementReply | ManagementEvent) => this.onMessage(message));
  }

  /** Boots the hypervisor and the root partition, and waits for the root's management service. */
  static async boot(options: HostOptions = {}): Promise<Host> {
    const { port1, port2 } = new MessageChannel();
    const data: RootBootData = {
      management: port2,
      guestKernel: pathToFileURL(require.resolve('@viridian/child-partition/kernel')).href,
      logLevel: options.logLevel ?? 'warn',
    };
    const ready = once(port1, 'message');
    const hypervisor = Hypervisor.boot({
      memoryBytes: options.memoryBytes ?? 1024 * MiB,
      root: { entry: new URL('../kernel/root-kernel.ts', import.meta.url), data, transferList: [port2] },
    });
    const [first] = (await ready) as [ManagementEvent];
    if (first.event !== 'root-ready') throw new Error(`the root partition said ${JSON.stringify(first)} before it was ready`);
    return new Host(hypervisor, port1);
  }

  /**
   * Creates a VM (suspended: call `vm.start()`).
   * @throws {ManagementRequestError} when the root refuses the spec (codes such as
   *   `VIRIDIAN_VM_BAD_SPEC`, `VIRIDIAN_DEVICE_MODULE_INVALID`, `VIRIDIAN_DEVICE_MODULE_FAILED`)
   * @throws {WorkerEntryNotFoundError} when the program or a device or driver module does not exist
   * @throws {WorkerCompileError} when the program or a device or driver module does not compile
   */
  async createVm(options: CreateVmOptions): Promise<Vm> {
    // VPs run plain JavaScript: TypeScript modules loaded inside partitions (the program, device
    // and driver modules) are compiled once, here, like VP entries.
    const compile = async (url: URL | string): Promise<string> => (await compileWorkerEntry(url)).href;
    const program = await compile(options.program);
    const devices: DeviceSpec[] = await Promise.all(
      (options.devices ?? []).map(async (device): Promise<DeviceSpec> => {
        if (device?.kind === 'scsi') {
          // The root opens the images: it gets absolute paths.
          const disks = (Array.isArray(device.disks) ? device.disks : []).map((disk) => ({ ...disk, path: typeof disk?.path === 'string' ? resolvePath(disk.path) : disk?.path }));
          return device.queues === undefined ? { kind: 'scsi', disks } : { kind: 'scsi', disks, queues: device.queues };
        }
        if (device?.kind !== 'module') return device;
        const url = await compile(device.url);
        return device.options === undefined ? { kind: 'module', url } : { kind: 'module', url, options: device.options };
      }),
    );
    const drivers = await Promise.all((options.drivers ?? []).map(compile));
    const kernel = options.kernel === undefined ? undefined : await compile(options.kernel);
    const spec = { name: options.name, memoryBytes: options.memoryBytes, program, args: options.args, devices, drivers, ...(kernel === undefined ? {} : { kernel }) };
    const { partitionId } = (await this.request({ op: 'create-vm', spec })) as { partitionId: string };
    const vm = new Vm(options.name, BigInt(partitionId), (request) => this.request(request));
    this.vms.set(options.name, vm);
    return vm;
  }

  /** Stops every partition and the hypervisor. */
  async shutdown(): Promise<void> {
    for (const vm of this.vms.values()) vm.fail(new Error('the host shut down'), true);
    this.port.close();
    await this.hypervisor.shutdown();
  }

  private request(request: DistributiveOmit<ManagementRequest, 'id'>): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage({ ...request, id });
    });
  }

  private onMessage(message: ManagementReply | ManagementEvent): void {
    if ('id' in message) {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.value);
      else waiter?.reject(new ManagementRequestError(message.error.code, message.error.message));
      return;
    }
    switch (message.event) {
      case 'vm-report':
        this.vms.get(message.vm)?.report(message);
        break;
      case 'channel-packet':
        this.vms.get(message.vm)?.packet(message.device, message.packet);
        break;
      case 'channel-ring-full':
        this.vms.get(message.vm)?.ringFull(message.device, message.state);
        break;
      case 'vm-crashed':
        this.vms.get(message.vm)?.fail(new Error(`VM ${message.vm} crashed: ${message.reason}`));
        break;
      case 'root-ready':
        break;
    }
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
