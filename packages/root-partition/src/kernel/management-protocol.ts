/**
 * The management protocol between the host process (scripts, the CLI) and the root partition's
 * management service, over the MessagePort the host hands the root at boot. Like Hyper-V's
 * management clients talking to the root's VMMS: the host asks, the root acts through hypercalls
 * and VMBus. Plain structured-clone messages; the root validates every request.
 */
import type { MessagePort } from 'node:worker_threads';

/** A synthetic device a VM gets. */
export type DeviceSpec = { readonly kind: 'echo' };

/** What a VM is made of. */
export interface VmSpec {
  readonly name: string;
  /** Guest memory, bytes (a multiple of 4096). */
  readonly memoryBytes: number;
  /** The guest program module (file URL). */
  readonly program: string;
  /** Arguments for the program (structured-clonable, JSON-serialisable). */
  readonly args?: unknown;
  readonly devices: readonly DeviceSpec[];
}

export type ManagementRequest =
  | { readonly id: number; readonly op: 'create-vm'; readonly spec: VmSpec }
  | { readonly id: number; readonly op: 'start-vm'; readonly vm: string }
  | { readonly id: number; readonly op: 'vm-stats'; readonly vm: string };

export type ManagementReply = { readonly id: number; readonly ok: true; readonly value?: unknown } | { readonly id: number; readonly ok: false; readonly error: { code: string; message: string } };

/** Events the root sends without being asked. */
export type ManagementEvent =
  | { readonly event: 'vm-report'; readonly vm: string; readonly outcome: 'completed'; readonly result: unknown }
  | { readonly event: 'vm-report'; readonly vm: string; readonly outcome: 'failed'; readonly error: { name: string; message: string } }
  | { readonly event: 'vm-crashed'; readonly vm: string; readonly reason: string }
  | { readonly event: 'root-ready' };

/** Host data of the root partition's VP 0. */
export interface RootBootData {
  readonly management: MessagePort;
  /** The guest kernel's entry module (file URL), resolved by the host. */
  readonly guestKernel: string;
  readonly logLevel?: string;
}
