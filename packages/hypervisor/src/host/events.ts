/**
 * Host-visible hypervisor events (rxjs), for the code that booted the host: partition crashes and
 * life-cycle changes. A parent partition learns of a child's crash through its SINT0 message
 * (HvMessageTypeUnrecoverableException); this stream is the host's view of the same facts.
 */
import type { CrashReasonValue } from '../abi/inputs.ts';

/** An event of the hypervisor. */
export type HypervisorEvent =
  | { readonly kind: 'partition-created'; readonly partitionId: bigint; readonly parentId: bigint | undefined }
  | { readonly kind: 'partition-deleted'; readonly partitionId: bigint }
  | {
      readonly kind: 'partition-crashed';
      readonly partitionId: bigint;
      readonly parentId: bigint | undefined;
      readonly vpIndex: number;
      readonly reason: CrashReasonValue;
      readonly exitCode: number | undefined;
      readonly message: string | undefined;
    };

/** Counters of the hypervisor (for tests, benchmarks and health checks). */
export interface HypervisorMetrics {
  hypercalls: number;
  failedHypercalls: number;
  msrExits: number;
  ioExits: number;
  interceptsDelivered: number;
  messagesPosted: number;
  eventsSignalled: number;
  crashes: number;
  /** Handler exceptions: hypervisor bugs, answered with OPERATION_FAILED. Must stay 0. */
  internalErrors: number;
}
