/**
 * The hypervisor core: the partition table and everything that changes it outside a single
 * hypercall handler: creating records, initializing memory, creating, starting and stopping VPs,
 * finalizing, deleting, and crash isolation (ARCHITECTURE.md "Isolation" 4).
 *
 * A crash (a VP worker throws, exits, or runs out of heap) tears down that partition alone: its
 * descendants are removed, its VPs stopped, its memory unmapped and its whole pool moved into its
 * parent's pool at once; it is left Finalized (with the crash recorded) for the parent to delete.
 * The parent is told with an HvMessageTypeUnrecoverableException message on SINT0 of one of its VPs
 * and the host with a `partition-crashed` event.
 */
import type { Logger } from 'pino';
import { Subject } from 'rxjs';
import type { TransferListItem } from 'node:worker_threads';
import { CrashMessage, CrashReason } from '../abi/inputs.ts';
import { partitionId, type PartitionId } from '../abi/ids.ts';
import { HYPERVISOR_SINT, HvMessageType } from '../abi/synic.ts';
import type { VpBootData } from '../guest/boot-data.ts';
import { disableDirectEvents, revokeCell } from './direct-events.ts';
import { GuestMemory } from './guest-memory.ts';
import { HvCosts } from './memory-pool.ts';
import { Partition, type CrashInfo } from './partition.ts';
import type { Port } from './ports.ts';
import { RateLimitedLog } from './rate-limited-log.ts';
import type { HypervisorEvent, HypervisorMetrics } from './events.ts';
import { Vp, type VpHost, type VpRun } from './vp.ts';
import { VpWorkerPool } from './vp-workers.ts';

/** Limits the core enforces. */
export interface CoreLimits {
  readonly maxNestingDepth: number;
  readonly maxVpsPerPartition: number;
}

export class HypervisorCore {
  readonly partitions = new Map<PartitionId, Partition>();
  readonly events = new Subject<HypervisorEvent>();
  readonly metrics: HypervisorMetrics = {
    hypercalls: 0,
    failedHypercalls: 0,
    msrExits: 0,
    ioExits: 0,
    interceptsDelivered: 0,
    messagesPosted: 0,
    eventsSignalled: 0,
    crashes: 0,
    internalErrors: 0,
  };
  readonly mistakes = new Map<PartitionId, RateLimitedLog>();
  private nextId = 1n;

  constructor(
    readonly log: Logger,
    readonly limits: CoreLimits,
    readonly vpHost: VpHost,
    /** Host data for the root's VPs (structured-cloned into their worker data). */
    private readonly rootData: { data: unknown; transferList: readonly TransferListItem[] } = { data: undefined, transferList: [] },
    /** The logical processors VP workers come from (default: none pre-started). */
    readonly workers: VpWorkerPool = new VpWorkerPool(log, { idle: 0 }),
  ) {}

  /** Creates a partition record (Uninitialized); the caller charged the record page already. */
  createRecord(parent: Partition | undefined): Partition {
    const id = partitionId(this.nextId++);
    const partition = new Partition(id, parent, (parent?.depth ?? 0) + 1, this.log.child({ partition: id.toString() }));
    this.partitions.set(id, partition);
    parent?.children.set(id, partition);
    this.events.next({ kind: 'partition-created', partitionId: id, parentId: parent?.id });
    return partition;
  }

  /** Uninitialized → Active: draws the tables page and creates guest memory. False when short. */
  initialize(partition: Partition): boolean {
    if (!partition.pool.draw(HvCosts.PARTITION_TABLES)) return false;
    partition.state = { kind: 'active', memory: new GuestMemory(partition.properties.gpaSpacePages) };
    return true;
  }

  /** Creates VP `index` in reset state (ExplicitSuspend = 1). The caller drew its pages. */
  createVp(partition: Partition, index: number): Vp {
    const vp = new Vp(partition, index, this.vpHost);
    partition.vps.set(index, vp);
    return vp;
  }

  /** Starts the VP's worker running its entry module. Unchecked: entry set, partition Active. */
  startVpUnchecked(vp: Vp): void {
    const partition = vp.partition;
    const memory = partition.memory!;
    const isRoot = partition.parent === undefined;
    const boot: VpBootData = {
      kind: 'viridian-vp',
      partitionId: partition.id.toString(),
      vpIndex: vp.index,
      memory: memory.buffer,
      vpPage: vp.page,
      entry: vp.entry!,
      args: vp.args,
      hostData: isRoot ? this.rootData.data : undefined,
    };
    // The VP's run record exists before its worker does: the worker's events refer to it.
    const run: Extract<VpRun, { kind: 'running' }> = { kind: 'running', worker: undefined!, error: undefined };
    run.worker = this.workers.launch(boot, isRoot && vp.index === 0 ? this.rootData.transferList : [], partition.properties.vpHeapLimitMb, {
      error: (error) => {
        run.error = error;
      },
      exit: (exitCode) => {
        if (vp.run !== run) return; // stopped by the hypervisor
        const oom = (run.error as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
        this.crash(partition, {
          reason: oom ? CrashReason.OutOfMemory : run.error ? CrashReason.Exception : CrashReason.Exit,
          vpIndex: vp.index,
          exitCode,
          message: run.error?.message,
        });
      },
    });
    vp.run = run;
    vp.watch();
  }

  /** Stops a VP's worker and releases its pages to its partition's pool. */
  deleteVp(vp: Vp): void {
    const run = vp.run;
    vp.stop();
    disableDirectEvents(this, vp);
    if (run.kind === 'running') void run.worker.terminate();
    vp.partition.vps.delete(vp.index);
    vp.partition.pool.release(HvCosts.VP);
  }

  /** Deletes a port: frees its queued messages and its page; connections to it go stale. */
  deletePort(port: Port): void {
    revokeCell(this, port);
    port.deleted = true;
    port.owner.ports.delete(port.id);
    for (const vp of port.owner.vps.values()) {
      for (const queue of vp.synic.queues) {
        for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.port === port) queue.splice(i, 1);
      }
    }
    port.buffersInUse = 0;
    port.owner.pool.release(HvCosts.PORT);
  }

  /** Active → Finalized: stops VPs, drops ports, connections, intercepts and memory into the pool. */
  finalize(partition: Partition, crash: CrashInfo | undefined): void {
    for (const vp of [...partition.vps.values()]) this.deleteVp(vp);
    for (const port of [...partition.ports.values()]) this.deletePort(port);
    for (const connection of partition.connections.values()) revokeCell(this, connection.port);
    partition.pool.release(partition.connections.size * HvCosts.CONNECTION);
    partition.connections.clear();
    partition.ioIntercepts.clear();
    const memory = partition.memory;
    if (memory) {
      memory.unmapAll(partition.pool);
      partition.pool.release(HvCosts.PARTITION_TABLES);
    }
    partition.state = { kind: 'finalized', crash };
  }

  /** Deletes a partition record (Uninitialized/Finalized, empty pool); frees the record page. */
  deleteRecord(partition: Partition): void {
    this.partitions.delete(partition.id);
    this.mistakes.delete(partition.id);
    const parent = partition.parent;
    if (parent) {
      parent.children.delete(partition.id);
      parent.pool.release(HvCosts.PARTITION_RECORD);
    }
    this.events.next({ kind: 'partition-deleted', partitionId: partition.id });
  }

  /** Crash isolation: see the module comment. Idempotent for an already finalized partition. */
  crash(partition: Partition, info: CrashInfo): void {
    if (partition.state.kind === 'finalized' || !this.partitions.has(partition.id)) return;
    this.metrics.crashes++;
    partition.log.warn({ vp: info.vpIndex, reason: info.reason, exitCode: info.exitCode, error: info.message }, 'partition crashed');
    for (const child of [...partition.children.values()]) this.removeSubtree(child);
    this.finalize(partition, info);
    const parent = partition.parent;
    if (parent) {
      partition.pool.moveTo(parent.pool, partition.pool.available);
      this.notifyParentOfCrash(parent, partition, info);
    } else {
      // The root crashed: every partition is its descendant and is already gone.
      partition.log.error('root partition crashed; the machine is down');
    }
    this.events.next({
      kind: 'partition-crashed',
      partitionId: partition.id,
      parentId: parent?.id,
      vpIndex: info.vpIndex,
      reason: info.reason,
      exitCode: info.exitCode,
      message: info.message,
    });
  }

  /** Removes a partition and its descendants entirely, moving their pages to its parent's pool. */
  removeSubtree(partition: Partition): void {
    for (const child of [...partition.children.values()]) this.removeSubtree(child);
    if (partition.state.kind !== 'finalized') this.finalize(partition, undefined);
    if (partition.parent) partition.pool.moveTo(partition.parent.pool, partition.pool.available);
    this.deleteRecord(partition);
  }

  /** The guest-mistake log of a partition. */
  mistakeLog(partition: Partition): RateLimitedLog {
    let log = this.mistakes.get(partition.id);
    if (!log) this.mistakes.set(partition.id, (log = new RateLimitedLog(partition.log)));
    return log;
  }

  /** Queues a hypervisor message on SINT0 of `parent`'s VP 0 (or lowest-numbered VP). */
  sendToParent(parent: Partition, type: number, sender: bigint, payload: Uint8Array): boolean {
    const target = [...parent.vps.values()].find((vp) => vp.synic.messagesEnabled) ?? parent.vps.values().next().value;
    if (!target) return false;
    target.synic.enqueue(HYPERVISOR_SINT, { type, sender, payload, port: undefined }, parent.memory);
    return true;
  }

  /** Stops every VP of every partition (host shutdown). */
  async shutdown(): Promise<void> {
    const exits: Promise<number>[] = [];
    for (const partition of this.partitions.values()) {
      for (const vp of partition.vps.values()) {
        const run = vp.run;
        vp.stop();
        if (run.kind === 'running') exits.push(run.worker.terminate());
      }
    }
    exits.push(this.workers.shutdown().then(() => 0));
    await Promise.all(exits);
    this.events.complete();
  }

  private notifyParentOfCrash(parent: Partition, child: Partition, info: CrashInfo): void {
    const payload = new Uint8Array(CrashMessage.SIZE);
    const view = new DataView(payload.buffer);
    view.setUint32(CrashMessage.VP_INDEX, info.vpIndex, true);
    view.setUint32(CrashMessage.REASON, info.reason, true);
    view.setInt32(CrashMessage.EXIT_CODE, info.exitCode ?? 0, true);
    this.sendToParent(parent, HvMessageType.UnrecoverableException, child.id, payload);
  }
}
