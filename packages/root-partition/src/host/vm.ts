/**
 * A VM as a host script holds it: start it, await its program's result, read its counters.
 */
import type { ManagementEvent, ManagementRequest } from '../kernel/management-protocol.ts';

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
  /** Per echo channel: packets received, interrupts the root raised at the guest, root sleeps. */
  readonly channels: readonly { id: number; packets: number; signalsSent: number; sleeps: number }[];
  /** The VMBus server's counters for this VM (messages, protocol errors, opens, GPADLs…). */
  readonly vmbus: Record<string, unknown>;
}

type Request = (request: ManagementRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never) => Promise<unknown>;

export class Vm {
  /** The guest program's result (rejects if it throws or the VM crashes). */
  readonly result: Promise<unknown>;
  private settle!: { resolve: (value: unknown) => void; reject: (error: Error) => void };

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

  /** @internal the root's report of the guest program's outcome. */
  report(event: Extract<ManagementEvent, { event: 'vm-report' }>): void {
    if (event.outcome === 'completed') this.settle.resolve(event.result);
    else this.settle.reject(new GuestProgramError(this.name, event.error.name, event.error.message));
  }

  /** @internal the VM crashed or the host is going away. */
  fail(error: Error): void {
    this.settle.reject(error);
  }
}
