/**
 * What a VP's entry module is given: its partition's memory, its hypercall client, SynIC client,
 * interrupt doorbell and exits (I/O ports, synthetic MSRs). Built from the VP's boot data inside
 * the VP worker; it holds nothing the VP was not handed.
 */
import { receiveMessageOnPort, parentPort } from 'node:worker_threads';
import { HvStatus } from '../abi/status.ts';
import { HypercallFailedError } from '../errors.ts';
import { CHILD_MEMORY_MESSAGE, type VpBootData } from './boot-data.ts';
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

  /**
   * The guest memory of `childId`, a child of this partition (ViridianGetChildMemory): a parent
   * holds its children's memory. Touch it only through what the child named (GPADLs, GPA ranges).
   * @throws {HypercallFailedError} when the hypervisor refuses (not a child, no privilege)
   */
  childMemory(childId: bigint): SharedArrayBuffer {
    const status = this.hypercalls.getChildMemory(childId);
    if (status !== HvStatus.SUCCESS) throw new HypercallFailedError('ViridianGetChildMemory', status);
    const memory = receiveChildMemory(childId);
    if (!memory) throw new HypercallFailedError('ViridianGetChildMemory', HvStatus.INVALID_VP_STATE);
    return memory;
  }

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

/**
 * Receives the child memory the hypervisor just posted to this VP's worker. The hypercall has
 * completed, so the message is already queued: it is taken synchronously, before the event loop
 * could hand it to any listener.
 */
function receiveChildMemory(partitionId: bigint): SharedArrayBuffer | undefined {
  if (!parentPort) return undefined;
  for (let message = receiveMessageOnPort(parentPort); message; message = receiveMessageOnPort(parentPort)) {
    const body = message.message as { kind?: unknown; partitionId?: unknown; memory?: unknown };
    if (body?.kind === CHILD_MEMORY_MESSAGE && body.partitionId === String(partitionId) && body.memory instanceof SharedArrayBuffer) return body.memory;
  }
  return undefined;
}

/** The shape of a VP entry module's default export. */
export type VpEntry = (vp: VpContext, args: unknown) => void | Promise<void>;
