/**
 * The root partition's management service (Hyper-V's VMMS, in small): creates child partitions
 * from {@link VmSpec}s with the parent-side hypercall library, wires their VMBus, offers their
 * devices (plus the guest report device), starts them, and tells the host what becomes of them.
 * Requests come from the host over the management port; every field is checked before use.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ChannelId } from '@viridian/vmbus';
import { createChildPartition, type ChildPartition, type VpContext } from '@viridian/hypervisor';
import { echoDevice, type EchoDevice } from '../devices/echo/index.ts';
import { reportDevice } from '../devices/report/device.ts';
import type { ManagementEvent, ManagementReply, ManagementRequest, VmSpec } from './management-protocol.ts';
import type { ChildVmbus, RootVmbus } from './root-vmbus.ts';

interface Vm {
  readonly spec: VmSpec;
  readonly partition: ChildPartition;
  readonly vmbus: ChildVmbus;
  readonly echo: EchoDevice[];
  readonly channels: ChannelId[];
}

/** A request the service refuses, with a stable code for the host. */
class ManagementError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ManagementService {
  private readonly vms = new Map<string, Vm>();
  private readonly byPartition = new Map<bigint, string>();

  constructor(
    private readonly vp: VpContext,
    private readonly vmbus: RootVmbus,
    private readonly port: MessagePort,
    private readonly guestKernel: string,
    private readonly acquireChildMemory: (childId: bigint) => SharedArrayBuffer,
    private readonly logger: Logger,
  ) {}

  /** Answers one request from the host. */
  handle(request: ManagementRequest): void {
    let reply: ManagementReply;
    try {
      reply = { id: request.id, ok: true, value: this.run(request) };
    } catch (error) {
      const e = error as Error & { code?: string };
      reply = { id: request.id, ok: false, error: { code: e.code ?? 'VIRIDIAN_MANAGEMENT_FAILED', message: e.message } };
    }
    this.port.postMessage(reply);
  }

  /** A child crashed (the hypervisor's message on SINT 0). */
  childCrashed(partitionId: bigint, reason: string): void {
    const name = this.byPartition.get(partitionId);
    if (name === undefined) return;
    const vm = this.vms.get(name);
    if (vm) void this.vmbus.detachChild(vm.vmbus);
    this.emit({ event: 'vm-crashed', vm: name, reason });
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
        const channels = vm.channels.map((id) => {
          const channel = vm.vmbus.host.channel(id);
          return { id, packets: channel?.counters.packets ?? 0, signalsSent: channel?.endpoint.counters.signalsSent ?? 0, sleeps: channel?.endpoint.counters.sleeps ?? 0 };
        });
        return { echo: vm.echo.map((d) => ({ ...d.metrics })), channels, vmbus: { ...vm.vmbus.host.server.metrics } };
      }
      default:
        throw new ManagementError('VIRIDIAN_MANAGEMENT_BAD_REQUEST', `unknown operation ${(request as { op?: unknown }).op}`);
    }
  }

  private createVm(spec: VmSpec): { partitionId: string } {
    if (typeof spec?.name !== 'string' || spec.name.length === 0) throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', 'a VM needs a name');
    if (this.vms.has(spec.name)) throw new ManagementError('VIRIDIAN_VM_EXISTS', `VM ${spec.name} exists`);
    if (!Number.isSafeInteger(spec.memoryBytes) || spec.memoryBytes < 1024 * 1024 || spec.memoryBytes % 4096 !== 0) {
      throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `memory ${spec.memoryBytes} must be a multiple of 4096 of at least 1 MiB`);
    }
    if (typeof spec.program !== 'string' || !spec.program.startsWith('file:')) throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', 'program must be a file URL');
    const devices = Array.isArray(spec.devices) ? spec.devices : [];
    for (const device of devices) {
      if (device?.kind !== 'echo') throw new ManagementError('VIRIDIAN_VM_BAD_SPEC', `unknown device kind ${String((device as { kind?: unknown })?.kind)}`);
    }
    const partition = createChildPartition(this.vp.hypercalls, {
      memoryBytes: spec.memoryBytes,
      entry: this.guestKernel,
      args: { program: spec.program, args: spec.args ?? null },
      suspended: true,
      extraPages: 64,
    });
    const vmbus = this.vmbus.attachChild(partition.id, this.acquireChildMemory(partition.id));
    const echo: EchoDevice[] = [];
    const channels: ChannelId[] = [];
    for (const _device of devices) {
      const created = echoDevice();
      echo.push(created);
      channels.push(this.vmbus.addDevice(vmbus, created));
    }
    this.vmbus.addDevice(
      vmbus,
      reportDevice({
        onReport: (report) => this.emit({ event: 'vm-report', vm: spec.name, ...report }),
        onRefused: (reason) => this.logger.warn({ vm: spec.name, reason }, 'malformed guest report refused'),
      }),
    );
    this.vms.set(spec.name, { spec, partition, vmbus, echo, channels });
    this.byPartition.set(partition.id, spec.name);
    return { partitionId: String(partition.id) };
  }

  private vm(name: string): Vm {
    const vm = this.vms.get(name);
    if (vm === undefined) throw new ManagementError('VIRIDIAN_VM_NOT_FOUND', `no VM ${name}`);
    return vm;
  }

  private emit(event: ManagementEvent): void {
    this.port.postMessage(event);
  }
}
