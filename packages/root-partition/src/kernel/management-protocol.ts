/**
 * The management protocol between the host process (scripts, the CLI) and the root partition's
 * management service, over the MessagePort the host hands the root at boot. Like Hyper-V's
 * management clients talking to the root's VMMS: the host asks, the root acts through hypercalls
 * and VMBus. Plain structured-clone messages; the root validates every request.
 */
import type { MessagePort } from 'node:worker_threads';
import type { GuestRingState, ObservedPacket } from '../vmbus/host-channel.ts';

/**
 * A synthetic device a VM gets: the echo device, a synthetic SCSI controller (storvsp) with its
 * disks, or a user's VSP from a module (compiled JavaScript, file URL) whose default export is
 * `(options) => VmbusDevice`, called in the root.
 */
export type DeviceSpec =
  | { readonly kind: 'echo' }
  /** `queues`: the primary channel plus sub-channels the guest may open (1-64, default 1). */
  | { readonly kind: 'scsi'; readonly disks: readonly ScsiDiskSpec[]; readonly queues?: number }
  | { readonly kind: 'module'; readonly url: string; readonly options?: unknown };

/**
 * A disk of a SCSI controller: an image file (raw, VHD, VHDX; absolute path) at `lun` (default:
 * the next free LUN, from 0), read-only or not (default writable).
 */
export interface ScsiDiskSpec {
  readonly path: string;
  readonly lun?: number;
  readonly readOnly?: boolean;
}

/**
 * A fault to inject on a device's channel, applied in the root to guest-to-host packets before the
 * device's handler sees them. Counted faults apply to `count` packets (default 1) after letting
 * `after` packets through (default 0), counted from when the fault is armed; while several are
 * armed, each packet gets the first that applies.
 * - `drop`: the handler never sees the packet.
 * - `delay`: the packet is held `ms` milliseconds; packets behind it wait too (order is kept).
 * - `duplicate`: the handler sees the packet twice.
 * - `corrupt`: the handler sees a copy whose payload bytes `[offset, offset + length)` (default:
 *   all of it) are XORed with `xor` (default 0xff).
 * - `hold-ring-full`: the root stops draining the guest-to-host ring, so the guest's writer finds
 *   it full and waits, until `clear`.
 * - `clear`: disarms every fault, releases the ring and delivers delayed packets now.
 */
export type ChannelFault =
  | { readonly kind: 'drop'; readonly count?: number; readonly after?: number }
  | { readonly kind: 'delay'; readonly ms: number; readonly count?: number; readonly after?: number }
  | { readonly kind: 'duplicate'; readonly count?: number; readonly after?: number }
  | { readonly kind: 'corrupt'; readonly count?: number; readonly after?: number; readonly offset?: number; readonly length?: number; readonly xor?: number }
  | { readonly kind: 'hold-ring-full' }
  | { readonly kind: 'clear' };

/** What a VM is made of. */
export interface VmSpec {
  readonly name: string;
  /** Guest memory, bytes (a multiple of 4096). */
  readonly memoryBytes: number;
  /** The guest program module (file URL). */
  readonly program: string;
  /**
   * The VP entry the child boots instead of Viridian's guest kernel (file URL, compiled): another
   * "operating system", such as a hostile one in tests. It gets the VP context and `args`.
   */
  readonly kernel?: string;
  /** Arguments for the program (structured-clonable, JSON-serialisable). */
  readonly args?: unknown;
  readonly devices: readonly DeviceSpec[];
  /** Extra VSC driver modules for the guest kernel (compiled JavaScript, file URLs). */
  readonly drivers?: readonly string[];
}

export type ManagementRequest =
  | { readonly id: number; readonly op: 'create-vm'; readonly spec: VmSpec }
  | { readonly id: number; readonly op: 'start-vm'; readonly vm: string }
  | { readonly id: number; readonly op: 'vm-stats'; readonly vm: string }
  /** Starts (or stops) forwarding every packet of device `device`'s channel as `channel-packet` events. */
  | { readonly id: number; readonly op: 'observe-channel'; readonly vm: string; readonly device: number; readonly observe: boolean }
  | { readonly id: number; readonly op: 'inject-fault'; readonly vm: string; readonly device: number; readonly fault: ChannelFault }
  /** Hot-adds a disk to SCSI device `device` (the root opens the image); the value is the LUN. */
  | { readonly id: number; readonly op: 'scsi-attach-disk'; readonly vm: string; readonly device: number; readonly disk: ScsiDiskSpec }
  /** Hot-removes the disk at `lun` of SCSI device `device` and closes its image once its I/O is done. */
  | { readonly id: number; readonly op: 'scsi-detach-disk'; readonly vm: string; readonly device: number; readonly lun: number };

export type ManagementReply = { readonly id: number; readonly ok: true; readonly value?: unknown } | { readonly id: number; readonly ok: false; readonly error: { code: string; message: string } };

/** Events the root sends without being asked. */
export type ManagementEvent =
  | { readonly event: 'vm-report'; readonly vm: string; readonly outcome: 'completed'; readonly result: unknown }
  | { readonly event: 'vm-report'; readonly vm: string; readonly outcome: 'failed'; readonly error: { name: string; message: string } }
  | { readonly event: 'vm-crashed'; readonly vm: string; readonly reason: string }
  /** A packet on an observed channel (`device` is the index in the VM spec's devices). */
  | { readonly event: 'channel-packet'; readonly vm: string; readonly device: number; readonly packet: ObservedPacket }
  /** Under `hold-ring-full`, the guest's writer found the ring full and waits for space. */
  | { readonly event: 'channel-ring-full'; readonly vm: string; readonly device: number; readonly state: GuestRingState }
  | { readonly event: 'root-ready' };

/** Host data of the root partition's VP 0. */
export interface RootBootData {
  readonly management: MessagePort;
  /** The guest kernel's entry module (file URL), resolved by the host. */
  readonly guestKernel: string;
  readonly logLevel?: string;
}
