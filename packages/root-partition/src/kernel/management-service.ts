/**
 * The root partition's management service (Hyper-V's VMMS, in small): creates child partitions
 * from {@link VmSpec}s with the parent-side hypercall library, wires their VMBus, offers their
 * devices (plus the guest report device), starts them, and tells the host what becomes of them.
 * Requests come from the host over the management port; every field is checked before use.
 *
 * Devices are the echo device or users' VSPs loaded from modules (management-devices.ts). Each is
 * offered through a {@link DeviceTap}, so the host can observe a device's channel and inject
 * faults on it (the VMBus test bed); a tap costs nothing on the data path until it is used.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ChannelId } from '@viridian/vmbus';
import { createChildPartition, MAX_STRING_REGISTER_BYTES, type ChildPartition, type VpContext } from '@viridian/hypervisor';
import { StorvscProtocol, parseGuid, type Guid } from '@viridian/vmbus';
import { echoDevice, type EchoDevice } from '../devices/echo/index.ts';
import { ScsiController, storvspDevice, type StorvspDevice } from '../devices/storvsp/index.ts';
import { openDisk } from '../storage/disk-files.ts';
import type { VirtualDisk } from '../storage/virtual-disk.ts';
import '../storage/vhdx/index.ts';
import { reportDevice } from '../devices/report/device.ts';
import type { VmbusDevice } from '../vmbus/vmbus-device.ts';
import { checkDeviceSpecs, checkDriverUrls, checkScsiDisks, loadModuleDevice } from './management-devices.ts';
import { ManagementError } from './management-errors.ts';
import { parseFault } from './management-faults.ts';
import type { ManagementEvent, ManagementReply, ManagementRequest, VmSpec } from './management-protocol.ts';
import { DeviceTap } from './management-taps.ts';
import type { ChildVmbus, RootVmbus } from './root-vmbus.ts';

interface Vm {
  readonly spec: VmSpec;
  readonly partition: ChildPartition;
  readonly vmbus: ChildVmbus;
  readonly echo: EchoDevice[];
  readonly scsi: StorvspDevice[];
  /** The SCSI devices by their index in the spec's devices. */
  readonly scsiBySpecIndex: Map<number, StorvspDevice>;
  /** Disk images the VM's SCSI controllers hold open. */
  readonly disks: VirtualDisk[];
  /** Per device of the spec, in order: its channel and its tap. */
  readonly devices: { readonly channel: ChannelId; readonly tap: DeviceTap }[];
}

export class ManagementService {
  private readonly vms = new Map<string, Vm>();
  /** Names of VMs being created (their device modules load asynchronously). */
  private readonly creating = new Set<string>();
  private readonly byPartition = new Map<bigint, string>();

  constructor(
    private readonly vp: VpContext,
    private readonly vmbus: RootVmbus,
    private readonly port: MessagePort,
    private readonly guestKernel: string,
    private readonly acquireChildMemory: (childId: bigint) => SharedArrayBuffer,
    private readonly logger: Logger,
  ) {}

  /** Answers one request from the host (requests that load modules answer later). */
  handle(request: ManagementRequest): void {
    let value: unknown;
    try {
      value = this.run(request);
    } catch (error) {
      this.port.postMessage(refusal(request, error));
      return;
    }
    if (value instanceof Promise) {
      value.then(
        (settled: unknown) => this.port.postMessage({ id: request.id, ok: true, value: settled } satisfies ManagementReply),
        (error: unknown) => this.port.postMessage(refusal(request, error)),
      );
    } else {
      this.port.postMessage({ id: request.id, ok: true, value } satisfies ManagementReply);
    }
  }

  /** A child crashed (the hypervisor's message on SINT 0). */
  childCrashed(partitionId: bigint, reason: string): void {
    const name = this.byPartition.get(partitionId);
    if (name === undefined) return;
    const vm = this.vms.get(name);
    if (vm === undefined) {
      this.emit({ event: 'vm-crashed', vm: name, reason });
      return;
    }
    for (const device of vm.devices) device.tap.dispose();
    // The host hears of the crash once the VM's VMBus wiring and disks are released, so what it
    // does next (create another VM) finds the ids and files free.
    void this.vmbus
      .detachChild(vm.vmbus)
      .then(() => closeDisks(vm.disks))
      .catch((error: unknown) => this.logger.warn({ vm: name, err: error }, 'closing a crashed VM failed'))
      .finally(() => this.emit({ event: 'vm-crashed', vm: name, reason }));
  }

  private run(request: ManagementRequest): unknown {
    switch (request.op) {
      case 'create-vm':
        return this.createVm(request.spec);
      case 'start-vm':
        this.vm(request.vm).partition.start();
        return undefined;
      case 'vm-stats': {
        const vm = this.vm(request.vm);
        const channels = vm.devices.map(({ channel: id }) => {
          const channel = vm.vmbus.host.channel(id);
          return { id, packets: channel?.counters.packets ?? 0, signalsSent: channel?.endpoint.counters.signalsSent ?? 0, sleeps: channel?.endpoint.counters.sleeps ?? 0 };
        });
        return {
          echo: vm.echo.map((d) => ({ ...d.metrics })),
          scsi: vm.scsi.map((d) => ({ ...d.metrics, malformedReasons: { ...d.metrics.malformedReasons } })),
          channels,
          vmbus: { ...vm.vmbus.host.server.metrics },
        };
      }
      case 'observe-channel':
        this.tap(request.vm, request.device).observe(request.observe === true);
        return undefined;
      case 'inject-fault':
        this.tap(request.vm, request.device).inject(parseFault(request.fault));
        return undefined;
      case 'scsi-attach-disk':
        return this.attachDisk(request.vm, request.device, request.disk);
      case 'scsi-detach-disk':
        return this.detachDisk(request.vm, request.device, request.lun);
      default:
        throw new ManagementError('VIRIDIAN_MANAGEMENT_BAD_REQUEST', `unknown operation ${(request as { op?: unknown }).op}`);
    }
  }

  private async createVm(spec: VmSpec): Promise<{ partitionId: string }> {
    if (typeof spec?.name !== 'string' || spec.name.length === 0) throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', 'a VM needs a name');
    if (this.vms.has(spec.name) || this.creating.has(spec.name)) throw new ManagementError('VIRIDIAN_VM_EXISTS', `VM ${spec.name} exists`);
    if (!Number.isSafeInteger(spec.memoryBytes) || spec.memoryBytes < 1024 * 1024 || spec.memoryBytes % 4096 !== 0) {
      throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `memory ${spec.memoryBytes} must be a multiple of 4096 of at least 1 MiB`);
    }
    if (typeof spec.program !== 'string' || !spec.program.startsWith('file:')) throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', 'program must be a file URL');
    if (spec.kernel !== undefined && (typeof spec.kernel !== 'string' || !spec.kernel.startsWith('file:'))) throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', 'kernel must be a file URL');
    const specs = checkDeviceSpecs(spec.devices);
    const drivers = checkDriverUrls(spec.drivers);
    checkEntryArguments(entryArguments(spec, drivers));
    this.creating.add(spec.name);
    try {
      // Every device is built before the partition exists: a refused module leaves nothing behind.
      const echo: EchoDevice[] = [];
      const scsi: StorvspDevice[] = [];
      const scsiBySpecIndex = new Map<number, StorvspDevice>();
      const disks: VirtualDisk[] = [];
      const devices: ((memory: SharedArrayBuffer) => VmbusDevice)[] = [];
      try {
        for (const device of specs) {
          if (device.kind === 'echo') {
            const created = echoDevice();
            echo.push(created);
            devices.push(() => created);
          } else if (device.kind === 'scsi') {
            const instance = scsiInstance(devices.length);
            const controller = new ScsiController(`${spec.name}/${instance}`, StorvscProtocol.MAX_TRANSFER_BYTES, StorvscProtocol.MAX_LUNS);
            for (const disk of device.disks) {
              let opened: VirtualDisk;
              try {
                opened = await openDisk(disk.path, { readOnly: disk.readOnly === true });
              } catch (error) {
                throw new ManagementError('VIRIDIAN_DISK_OPEN_FAILED', `disk ${disk.path}: ${error instanceof Error ? error.message : String(error)}`);
              }
              disks.push(opened);
              controller.attach(disk.lun ?? 0, opened);
            }
            const specIndex = devices.length;
            devices.push((guestMemory) => {
              const created = storvspDevice({ guestMemory, controller, instance, maxSubChannels: (device.queues ?? 1) - 1 });
              scsi.push(created);
              scsiBySpecIndex.set(specIndex, created);
              return created;
            });
          } else {
            const created = await loadModuleDevice(device.url, device.options);
            devices.push(() => created);
          }
        }
      } catch (error) {
        await closeDisks(disks);
        throw error;
      }
      return this.createPartition(spec, drivers, devices, { echo, scsi, scsiBySpecIndex, disks });
    } finally {
      this.creating.delete(spec.name);
    }
  }

  private createPartition(
    spec: VmSpec,
    drivers: string[],
    builders: ((memory: SharedArrayBuffer) => VmbusDevice)[],
    built: Pick<Vm, 'echo' | 'scsi' | 'scsiBySpecIndex' | 'disks'>,
  ): { partitionId: string } {
    const partition = createChildPartition(this.vp.hypercalls, {
      memoryBytes: spec.memoryBytes,
      entry: spec.kernel ?? this.guestKernel,
      args: entryArguments(spec, drivers),
      suspended: true,
      extraPages: 64,
    });
    let vmbus: ChildVmbus | undefined;
    let tapped: { channel: ChannelId; tap: DeviceTap }[];
    try {
      const memory = this.acquireChildMemory(partition.id);
      const wired = this.vmbus.attachChild(partition.id, memory);
      vmbus = wired;
      const devices = builders.map((build) => build(memory));
      tapped = devices.map((device, index) => {
        const tap = new DeviceTap({
          packet: (packet) => this.port.postMessage({ event: 'channel-packet', vm: spec.name, device: index, packet } satisfies ManagementEvent, [packet.payload.buffer as ArrayBuffer]),
          ringFull: (state) => this.emit({ event: 'channel-ring-full', vm: spec.name, device: index, state }),
        });
        return { channel: this.vmbus.addDevice(wired, tap.wrap(device)), tap };
      });
      this.vmbus.addDevice(
        wired,
        reportDevice({
          onReport: (report) => this.emit({ event: 'vm-report', vm: spec.name, ...report }),
          onRefused: (reason) => this.logger.warn({ vm: spec.name, reason }, 'malformed guest report refused'),
        }),
      );
    } catch (error) {
      // Nothing half-built stays behind: the child's VMBus wiring, then the partition itself.
      if (vmbus) void this.vmbus.detachChild(vmbus);
      try {
        partition.destroy();
      } catch {
        // Best effort: the original failure is the one to report.
      }
      throw error;
    }
    this.vms.set(spec.name, { spec, partition, vmbus, ...built, devices: tapped });
    this.byPartition.set(partition.id, spec.name);
    return { partitionId: String(partition.id) };
  }

  private async attachDisk(name: string, device: number, spec: unknown): Promise<number> {
    const vm = this.vm(name);
    const scsi = this.scsiDevice(vm, device);
    const used = scsi.controller.lunNumbers;
    const requested = (spec as { lun?: unknown } | null)?.lun;
    let lun = typeof requested === 'number' ? requested : 0;
    if (requested === undefined) while (used.includes(lun)) lun++;
    const [disk] = checkScsiDisks([{ ...(spec as object), lun }]);
    if (used.includes(disk!.lun!)) throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `LUN ${disk!.lun} is taken`);
    let opened: VirtualDisk;
    try {
      opened = await openDisk(disk!.path, { readOnly: disk!.readOnly === true });
    } catch (error) {
      throw new ManagementError('VIRIDIAN_DISK_OPEN_FAILED', `disk ${disk!.path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    try {
      scsi.attachDisk(disk!.lun!, opened);
    } catch (error) {
      await opened.close();
      throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', error instanceof Error ? error.message : String(error));
    }
    vm.disks.push(opened);
    return disk!.lun!;
  }

  private async detachDisk(name: string, device: number, lun: number): Promise<void> {
    const vm = this.vm(name);
    const disk = await this.scsiDevice(vm, device).detachDisk(lun);
    if (disk === undefined) throw new ManagementError('VIRIDIAN_DEVICE_NOT_FOUND', `VM ${name} device ${device} has no disk at LUN ${String(lun)}`);
    vm.disks.splice(vm.disks.indexOf(disk), 1);
    await disk.close();
  }

  private scsiDevice(vm: Vm, device: number): StorvspDevice {
    const scsi = vm.scsiBySpecIndex.get(device);
    if (scsi === undefined) throw new ManagementError('VIRIDIAN_DEVICE_NOT_FOUND', `VM ${vm.spec.name} has no SCSI device ${String(device)}`);
    return scsi;
  }

  private vm(name: string): Vm {
    const vm = this.vms.get(name);
    if (vm === undefined) throw new ManagementError('VIRIDIAN_VM_NOT_FOUND', `no VM ${name}`);
    return vm;
  }

  private tap(name: string, device: number): DeviceTap {
    const vm = this.vm(name);
    const entry = Number.isSafeInteger(device) ? vm.devices[device] : undefined;
    if (entry === undefined) throw new ManagementError('VIRIDIAN_DEVICE_NOT_FOUND', `VM ${name} has no device ${String(device)}`);
    return entry.tap;
  }

  private emit(event: ManagementEvent): void {
    this.port.postMessage(event);
  }
}

/** The instance id of a VM's `index`th device when it is a SCSI controller (distinct per device). */
function scsiInstance(index: number): Guid {
  return parseGuid(`${StorvscProtocol.defaultInstance.slice(0, -2)}${(index & 0xff).toString(16).padStart(2, '0')}`);
}

/** Closes disk images (flushing them), logging nothing: a failure here has no one to tell. */
async function closeDisks(disks: readonly VirtualDisk[]): Promise<void> {
  await Promise.allSettled(disks.map((disk) => disk.close()));
}

function refusal(request: ManagementRequest, error: unknown): ManagementReply {
  const e = error as Error & { code?: string };
  return { id: request.id, ok: false, error: { code: e.code ?? 'VIRIDIAN_MANAGEMENT_FAILED', message: e.message } };
}

/** The guest kernel's boot arguments: the program, its arguments and the driver URLs. */
function entryArguments(spec: VmSpec, drivers: readonly string[]): { program: string; args: unknown; drivers: readonly string[] } {
  return { program: spec.program, args: spec.args ?? null, drivers };
}

/**
 * The boot arguments travel in the VP's EntryArguments register, a string of at most
 * MAX_STRING_REGISTER_BYTES bytes of JSON: refuse what cannot be written there with a message
 * that says so (the hypercall would only answer INVALID_PARAMETER).
 * @throws {ManagementError} `VIRIDIAN_VM_BAD_SPEC`
 */
function checkEntryArguments(entry: ReturnType<typeof entryArguments>): void {
  let json: string;
  try {
    json = JSON.stringify(entry);
  } catch (error) {
    throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `program args are not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_STRING_REGISTER_BYTES) {
    throw new ManagementError(
      'VIRIDIAN_VM_BAD_SPEC',
      `program args take ${bytes} bytes of JSON with the program and driver URLs; at most ${MAX_STRING_REGISTER_BYTES} fit the EntryArguments register (pass large inputs in a file or a device)`,
    );
  }
}
