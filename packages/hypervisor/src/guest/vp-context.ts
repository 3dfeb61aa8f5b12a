/**
 * What a VP's entry module is given: its partition's memory, its hypercall client, SynIC client,
 * interrupt doorbell, direct event cells and exits (I/O ports, synthetic MSRs). Built from the
 * VP's boot data inside the VP worker; it holds nothing the VP was not handed (buffers a hypercall
 * hands over arrive as hypervisor mail, hypervisor-mail.ts).
 */
import { HvStatus } from '../abi/status.ts';
import { HypercallFailedError } from '../errors.ts';
import { CHILD_MEMORY_MESSAGE, type VpBootData } from './boot-data.ts';
import { DirectEventReceiver } from './direct-event-receiver.ts';
import { isMail, workerMail, type MailReader } from './hypervisor-mail.ts';
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

  /** Direct event cells targeting this VP (used by `onInterrupt`). */
  readonly directEvents: DirectEventReceiver;

  /**
   * The guest memory of `childId`, a child of this partition (ViridianGetChildMemory): a parent
   * holds its children's memory. Touch it only through what the child named (GPADLs, GPA ranges).
   * @throws {HypercallFailedError} when the hypervisor refuses (not a child, no privilege)
   */
  childMemory(childId: bigint): SharedArrayBuffer {
    const status = this.hypercalls.getChildMemory(childId);
    if (status !== HvStatus.SUCCESS) throw new HypercallFailedError('ViridianGetChildMemory', status);
    const id = String(childId);
    const mail = this.mail((body): body is { kind: string; memory: SharedArrayBuffer } => isMail(body, CHILD_MEMORY_MESSAGE) && body.partitionId === id && body.memory instanceof SharedArrayBuffer);
    if (!mail) throw new HypercallFailedError('ViridianGetChildMemory', HvStatus.INVALID_VP_STATE);
    return mail.memory;
  }

  /**
   * Runs `handler(sintMask)` on the event loop for every SINT delivery until the returned function
   * is called: deliveries the hypervisor raises (the doorbell) and, unless `direct` is false, events
   * signalled straight through direct event cells (abi/direct-events.ts), which cost the signaller
   * no exit and this VP one wake-up instead of two. The handler takes messages and event flags
   * from the SynIC pages as usual (enable the SynIC first: cells deliver into the SIEF page).
   */
  onInterrupt(handler: (sints: number) => void, options: { direct?: boolean } = {}): () => void {
    const stopCells = options.direct === false ? undefined : this.directEvents.start(handler);
    const stopDoorbell = this.interrupts.onInterrupt(handler, stopCells ? () => this.directEvents.refresh() : undefined);
    return () => {
      stopDoorbell();
      stopCells?.();
    };
  }

  constructor(
    boot: Pick<VpBootData, 'vpIndex' | 'partitionId' | 'memory' | 'vpPage'>,
    trap?: ExitTrap,
    /** Where hypervisor mail comes from (the worker's port; a queue for in-process tests). */
    private readonly mail: MailReader = workerMail,
  ) {
    this.vpIndex = boot.vpIndex;
    this.partitionId = BigInt(boot.partitionId);
    this.memory = boot.memory;
    this.exits = new VpExits(boot.vpPage, trap);
    this.hypercalls = new HypercallClient(this.exits);
    this.hypercalls.useSignalCells(mail);
    this.synic = new SynicClient(boot.memory, this.exits);
    this.interrupts = new InterruptDoorbell(boot.vpPage);
    this.directEvents = new DirectEventReceiver(this.exits.words, this.hypercalls, this.synic, mail);
  }
}

/** The shape of a VP entry module's default export. */
export type VpEntry = (vp: VpContext, args: unknown) => void | Promise<void>;
