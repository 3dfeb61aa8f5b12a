/**
 * The hypervisor's record of a partition (TLFS 2.0 §5.2): id, parent, privileges, properties,
 * memory pool, life-cycle state, VPs, ports, connections and intercepts.
 *
 * The life cycle is a discriminated union whose variants carry only what is valid in that state:
 * guest memory exists only while Active. A crashed partition is Finalized with `crash` set: its
 * VPs are gone, its memory reclaimed into its parent's pool, and its parent may delete it.
 */
import type { Logger } from 'pino';
import type { CrashReasonValue } from '../abi/inputs.ts';
import { DEFAULT_CHILD_PRIVILEGES } from '../abi/partition.ts';
import type { PartitionId } from '../abi/ids.ts';
import type { GuestMemory } from './guest-memory.ts';
import { MemoryPool } from './memory-pool.ts';
import type { Connection, Port } from './ports.ts';
import type { Vp } from './vp.ts';

/** Why and where a partition crashed. */
export interface CrashInfo {
  readonly reason: CrashReasonValue;
  readonly vpIndex: number;
  readonly exitCode: number | undefined;
  readonly message: string | undefined;
}

/** The TLFS partition states (Finalizing is instantaneous here, so it has no variant). */
export type PartitionState =
  /** Created; only Deposit, GetMemoryBalance, GetNextChild, Initialize and Delete apply. */
  | { readonly kind: 'uninitialized' }
  /** Initialized: has guest memory, may have VPs, ports, connections, children. */
  | { readonly kind: 'active'; readonly memory: GuestMemory }
  /** Finalized (or crashed): no VPs, no memory; pages can be withdrawn, then Delete. */
  | { readonly kind: 'finalized'; readonly crash: CrashInfo | undefined };

/** Properties a parent sets (TLFS and Viridian codes, see `HvPartitionProperty`). */
export interface PartitionProperties {
  privileges: bigint;
  cpuReserve: number;
  cpuCap: number;
  cpuWeight: number;
  gpaSpacePages: number;
  vpHeapLimitMb: number;
}

/** Defaults for a new partition's properties. */
export const DEFAULT_GPA_SPACE_PAGES = 262_144; // 1 GiB
/** Default VP heap limit, MiB. */
export const DEFAULT_VP_HEAP_LIMIT_MB = 64;

export class Partition {
  state: PartitionState = { kind: 'uninitialized' };
  readonly pool = new MemoryPool();
  readonly children = new Map<PartitionId, Partition>();
  readonly vps = new Map<number, Vp>();
  readonly ports = new Map<number, Port>();
  readonly connections = new Map<number, Connection>();
  /** I/O port → HV_INTERCEPT_ACCESS mask. */
  readonly ioIntercepts = new Map<number, number>();
  readonly properties: PartitionProperties = {
    privileges: DEFAULT_CHILD_PRIVILEGES,
    cpuReserve: 0,
    cpuCap: 0x10000,
    cpuWeight: 100,
    gpaSpacePages: DEFAULT_GPA_SPACE_PAGES,
    vpHeapLimitMb: DEFAULT_VP_HEAP_LIMIT_MB,
  };

  constructor(
    readonly id: PartitionId,
    readonly parent: Partition | undefined,
    readonly depth: number,
    readonly log: Logger,
  ) {}

  /** Whether the partition holds every bit of `privilege`. */
  has(privilege: bigint): boolean {
    return (this.properties.privileges & privilege) === privilege;
  }

  /** The guest memory, when Active. */
  get memory(): GuestMemory | undefined {
    return this.state.kind === 'active' ? this.state.memory : undefined;
  }
}
