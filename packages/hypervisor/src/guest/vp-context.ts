/**
 * What a VP's entry module is given: its partition's memory, its hypercall client, SynIC client,
 * interrupt doorbell and exits (I/O ports, synthetic MSRs). Built from the VP's boot data inside
 * the VP worker; it holds nothing the VP was not handed.
 */
import type { VpBootData } from './boot-data.ts';
import { HypercallClient } from './hypercall-client.ts';
import { InterruptDoorbell } from './interrupts.ts';
import { SynicClient } from './synic-client.ts';
import { VpExits, type ExitTrap } from './vp-exits.ts';

export class VpContext {
  /** This VP's index in its partition. */
  readonly vpIndex: number;
  /** The partition id (also available through GetPartitionId with AccessPartitionId). */
  readonly partitionId: bigint;
  /** The partition's guest memory (growable; GPA = byte offset). */
  readonly memory: SharedArrayBuffer;
  readonly exits: VpExits;
  readonly hypercalls: HypercallClient;
  readonly synic: SynicClient;
  readonly interrupts: InterruptDoorbell;

  constructor(boot: Pick<VpBootData, 'vpIndex' | 'partitionId' | 'memory' | 'vpPage'>, trap?: ExitTrap) {
    this.vpIndex = boot.vpIndex;
    this.partitionId = BigInt(boot.partitionId);
    this.memory = boot.memory;
    this.exits = new VpExits(boot.vpPage, trap);
    this.hypercalls = new HypercallClient(this.exits);
    this.synic = new SynicClient(boot.memory, this.exits);
    this.interrupts = new InterruptDoorbell(boot.vpPage);
  }
}

/** The shape of a VP entry module's default export. */
export type VpEntry = (vp: VpContext, args: unknown) => void | Promise<void>;
