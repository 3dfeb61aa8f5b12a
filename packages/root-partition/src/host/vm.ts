/**
 * A VM as a host script holds it: start it, await its program's result, read its counters, and
 * (for tests of VSP/VSC pairs) observe a device's channel and inject faults on it.
 *
 * Observation is reference-counted per device: the first subscriber to {@link Vm.packets$} asks
 * the root to forward the channel's packets, the last one to leave asks it to stop, so the channel
 * copies nothing while nobody watches. Requests reach the root in order: subscribe (and arm
 * faults) before `vm.start()` to see (and fault) the channel from its first packet.
 */
import { resolve as resolvePath } from 'node:path';
import { Observable, Subject } from 'rxjs';
import type { StorvspMetrics } from '../devices/storvsp/metrics.ts';
import type { ChannelFault, ManagementEvent, ManagementRequest } from '../kernel/management-protocol.ts';
import type { GuestRingState, ObservedPacket } from '../vmbus/host-channel.ts';

/** The guest program threw; `name` and `message` are the guest's. */
export class GuestProgramError extends Error {
  constructor(
    readonly vm: string,
    readonly guestName: string,
    message: string,
  ) {
    super(`guest program of ${vm} failed: ${guestName}: ${message}`);
    this.name = 'GuestProgramError';
  }
}

/** A VM's counters as the root sees them. */
export interface VmStats {
  /** Per echo device: requests echoed, payload bytes, packets ignored. */
  readonly echo: readonly { requests: number; bytes: number; ignored: number }[];
  /** Per SCSI controller: SRBs, reads, writes, bytes, flushes, CHECK CONDITIONs, malformed packets… (`StorvspMetrics`). */
  readonly scsi: readonly StorvspMetrics[];
  /** Per device channel, in the spec's order: packets received, interrupts the root raised at the guest, root sleeps. */
  readonly channels: readonly { id: number; packets: number; signalsSent: number; sleeps: number }[];
  /** The VMBus server's counters for this VM (messages, protocol errors, opens, GPADLs…). */
  readonly vmbus: Record<string, unknown>;
}

type Request = (request: ManagementRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never) => Promise<unknown>;

/** Observation of one device: the subject its subscribers share, and how many they are. */
interface Observation {
  readonly packets: Subject<ObservedPacket>;
  subscribers: number;
}

/** The ring-full report of the current hold of one device, and who waits for it. */
interface RingFullLatch {
  state: GuestRingState | undefined;
  readonly waiters: ((state: GuestRingState) => void)[];
}

export class Vm {
  /** The guest program's result (rejects if it throws or the VM crashes). */
  readonly result: Promise<unknown>;
  private settle!: { resolve: (value: unknown) => void; reject: (error: Error) => void };
  private readonly observations = new Map<number, Observation>();
  private readonly ringFullLatches = new Map<number, RingFullLatch>();

  constructor(
    readonly name: string,
    readonly partitionId: bigint,
    private readonly request: Request,
  ) {
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.result.catch(() => {}); // a script that never awaits the result must not crash the host
  }

  /** Starts the VM's processors. */
  async start(): Promise<void> {
    await this.request({ op: 'start-vm', vm: this.name });
  }

  /** The VM's device and VMBus counters, from the root. */
  async stats(): Promise<VmStats> {
    return (await this.request({ op: 'vm-stats', vm: this.name })) as VmStats;
  }

  /**
   * Every packet on the channel of device `device` (its index in `createVm`'s `devices`), both
   * directions, in the order the root saw them, while subscribed. Guest-to-host packets carry the
   * `fault` injection applied to them. Errors with `ManagementRequestError`
   * (`VIRIDIAN_DEVICE_NOT_FOUND`) for a device the VM does not have; completes when the host shuts down.
   */
  packets$(device = 0): Observable<ObservedPacket> {
    return new Observable<ObservedPacket>((subscriber) => {
      let observation = this.observations.get(device);
      if (observation === undefined) {
        observation = { packets: new Subject<ObservedPacket>(), subscribers: 0 };
        this.observations.set(device, observation);
      }
      const current = observation;
      const subscription = current.packets.subscribe(subscriber);
      if (current.subscribers++ === 0) {
        this.request({ op: 'observe-channel', vm: this.name, device, observe: true }).catch((error: Error) => current.packets.error(error));
      }
      return () => {
        subscription.unsubscribe();
        if (--current.subscribers > 0 || this.observations.get(device) !== current) return;
        this.observations.delete(device);
        this.request({ op: 'observe-channel', vm: this.name, device, observe: false }).catch(() => {});
      };
    });
  }

  /**
   * Arms a fault on device `device`'s channel (or clears them all); resolves once the root has it.
   * @throws {ManagementRequestError} `VIRIDIAN_FAULT_BAD_SPEC`, `VIRIDIAN_DEVICE_NOT_FOUND`
   */
  async injectFault(device: number, fault: ChannelFault): Promise<void> {
    if (fault.kind === 'hold-ring-full' || fault.kind === 'clear') this.latch(device).state = undefined;
    await this.request({ op: 'inject-fault', vm: this.name, device, fault });
  }

  /**
   * Hot-adds a disk image (path relative to the working folder or absolute) to SCSI device
   * `device` while the VM runs; resolves with its LUN (default: the lowest free). The guest rescans
   * and sees it in `guest.disks`.
   * @throws {ManagementRequestError} `VIRIDIAN_DISK_OPEN_FAILED`, `VIRIDIAN_VM_BAD_SPEC`, `VIRIDIAN_DEVICE_NOT_FOUND`
   */
  async attachDisk(device: number, disk: { readonly path: string; readonly lun?: number; readonly readOnly?: boolean }): Promise<number> {
    return (await this.request({ op: 'scsi-attach-disk', vm: this.name, device, disk: { ...disk, path: resolvePath(disk.path) } })) as number;
  }

  /**
   * Hot-removes the disk at `lun` of SCSI device `device`; resolves once the root has closed the
   * image (after the I/O started before the removal).
   * @throws {ManagementRequestError} `VIRIDIAN_DEVICE_NOT_FOUND`
   */
  async detachDisk(device: number, lun: number): Promise<void> {
    await this.request({ op: 'scsi-detach-disk', vm: this.name, device, lun });
  }

  /**
   * Resolves when, under the current `hold-ring-full` of device `device`, the guest's writer has
   * found the ring full and waits for space (at once if that already happened during this hold).
   */
  whenRingFull(device = 0): Promise<GuestRingState> {
    const latch = this.latch(device);
    if (latch.state !== undefined) return Promise.resolve(latch.state);
    return new Promise((resolve) => latch.waiters.push(resolve));
  }

  /** @internal the root's report of the guest program's outcome. */
  report(event: Extract<ManagementEvent, { event: 'vm-report' }>): void {
    if (event.outcome === 'completed') this.settle.resolve(event.result);
    else this.settle.reject(new GuestProgramError(this.name, event.error.name, event.error.message));
  }

  /** @internal a packet on an observed channel. */
  packet(device: number, packet: ObservedPacket): void {
    this.observations.get(device)?.packets.next(packet);
  }

  /** @internal the guest's writer waits on a held ring. */
  ringFull(device: number, state: GuestRingState): void {
    const latch = this.latch(device);
    latch.state = state;
    for (const waiter of latch.waiters.splice(0)) waiter(state);
  }

  /** @internal the VM crashed or (`hostGone`) the host is going away. */
  fail(error: Error, hostGone = false): void {
    this.settle.reject(error);
    if (!hostGone) return;
    for (const observation of this.observations.values()) observation.packets.complete();
    this.observations.clear();
  }

  private latch(device: number): RingFullLatch {
    let latch = this.ringFullLatches.get(device);
    if (latch === undefined) {
      latch = { state: undefined, waiters: [] };
      this.ringFullLatches.set(device, latch);
    }
    return latch;
  }
}
