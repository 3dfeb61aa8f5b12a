/**
 * Ports (receiver side) and connections (sender side) (TLFS 2.0 §14.3; hyperv-tlfs.md §5).
 *
 * A port is owned by the receiving partition and names the one partition allowed to connect to it.
 * A connection is owned by the sending partition, keyed by a connection id unique in that partition,
 * and holds its port directly: if the port is deleted the connection stays but every post or signal
 * through it fails with INVALID_PORT_ID. A message port owns 16 buffers; a buffer is in use from
 * PostMessage until the message is copied into the target's SIM slot.
 */
import type { PartitionId } from '../abi/ids.ts';
import type { DirectEventCell } from './direct-events.ts';
import type { Partition } from './partition.ts';

/** What a port delivers and where. */
export type PortInfo =
  | { readonly kind: 'message'; readonly sint: number; readonly vp: number }
  | { readonly kind: 'event'; readonly sint: number; readonly vp: number; readonly baseFlag: number; readonly flagCount: number };

/** A port record. */
export interface Port {
  readonly id: number;
  readonly owner: Partition;
  readonly connectionPartition: PartitionId;
  readonly info: PortInfo;
  /** Message buffers queued and not yet delivered (at most PORT_MESSAGE_BUFFERS). */
  buffersInUse: number;
  deleted: boolean;
  /** The port's direct event cell, while it has one (direct-events.ts). */
  directCell?: DirectEventCell | undefined;
}

/** A connection record. */
export interface Connection {
  readonly id: number;
  readonly owner: Partition;
  readonly port: Port;
}
