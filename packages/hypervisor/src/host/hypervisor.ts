/**
 * `Hypervisor`: boots the machine (ARCHITECTURE.md "physical model"). Imported only by the code that
 * boots a host.
 *
 * Boot takes the host's memory budget (the root's pool, from which every partition's memory is
 * deposited), the number of processors (the root's VPs, one per LP, TLFS 2.0 §22.4), and the root
 * partition's entry module. The root is created Active with every privilege, its memory mapped
 * RWX from page 0, and its VPs started at once. From then on the hypervisor's tables change only
 * through hypercalls from VPs; the host sees events and counters, never the tables.
 */
import { pino, type Logger } from 'pino';
import type { Observable } from 'rxjs';
import { pathToFileURL } from 'node:url';
import type { TransferListItem } from 'node:worker_threads';
import { ALL_PRIVILEGES } from '../abi/partition.ts';
import { PAGE_SIZE } from '../abi/vp-page.ts';
import type { PartitionId } from '../abi/ids.ts';
import { HypervisorConfigError } from '../errors.ts';
import { HypervisorCore } from './core.ts';
import { handleExit } from './dispatch.ts';
import type { HypervisorEvent, HypervisorMetrics } from './events.ts';
import { HvCosts } from './memory-pool.ts';
import { DEFAULT_VP_HEAP_LIMIT_MB } from './partition.ts';
import { EXIT_POLL_US, ExitPoller } from './exit-poller.ts';
import { VpWorkerPool, type VpWorkerOptions, type VpWorkerStats } from './vp-workers.ts';

/** What the root partition runs. */
export interface RootPartitionOptions {
  /** The root VPs' entry module (default export `(vp, hostData) => void | Promise<void>`). */
  readonly entry: URL | string;
  /** The root's own guest memory, bytes (default 16 MiB), drawn from the budget. */
  readonly memoryBytes?: number;
  /** Structured-cloned to every root VP as its host data (e.g. a MessagePort for the host). */
  readonly data?: unknown;
  /** Transferables in `data` (handed to root VP 0). */
  readonly transferList?: readonly TransferListItem[];
  /** Root VP heap limit, MiB (default 256). */
  readonly heapLimitMb?: number;
}

/** Boot options. */
export interface HypervisorOptions {
  /** The host memory budget in bytes: the pool every partition's memory comes from. */
  readonly memoryBytes: number;
  /** Root VPs (one per logical processor; default 1). */
  readonly processors?: number;
  readonly root: RootPartitionOptions;
  /** Parent logger (default: pino at `warn`). */
  readonly logger?: Logger;
  /** Deepest nesting allowed, the root being depth 1 (default 3; TLFS requires at least 2). */
  readonly maxNestingDepth?: number;
  /** VPs per partition (default 64). */
  readonly maxVpsPerPartition?: number;
  /**
   * The pool of pre-started VP workers (the logical processors): idle workers per VP heap limit
   * (default 2; the default child heap limit's pool fills at boot) and how many heap limits keep a
   * pool at once (default 4).
   */
  readonly vpWorkers?: VpWorkerOptions;
  /**
   * Adaptive polling: after handling an exit the hypervisor polls recently active VPs for this
   * many microseconds before it sleeps (default 50; 0 turns polling off). Bounded: see exit-poller.ts.
   */
  readonly exitPollUs?: number;
}

/** Host-level memory figures. */
export interface HypervisorMemoryStats {
  readonly budgetPages: number;
  readonly partitions: number;
  readonly mappedPages: number;
}

export class Hypervisor {
  private constructor(
    private readonly core: HypervisorCore,
    /** The root partition's id. */
    readonly rootPartitionId: PartitionId,
    private readonly budgetPages: number,
  ) {}

  /**
   * Boots the machine and starts the root partition's VPs.
   * @throws {HypervisorConfigError} when the budget cannot hold the root's memory, or options are invalid.
   */
  static boot(options: HypervisorOptions): Hypervisor {
    const processors = options.processors ?? 1;
    const rootBytes = options.root.memoryBytes ?? 16 * 1024 * 1024;
    if (!Number.isSafeInteger(options.memoryBytes) || options.memoryBytes <= 0) throw new HypervisorConfigError('memoryBytes must be a positive integer');
    if (!Number.isInteger(processors) || processors < 1 || processors > 64) throw new HypervisorConfigError('processors must be 1..64');
    if (rootBytes % PAGE_SIZE !== 0 || rootBytes <= 0) throw new HypervisorConfigError('root.memoryBytes must be a positive multiple of 4096');
    const logger = options.logger ?? pino({ level: 'warn' });
    const budgetPages = Math.floor(options.memoryBytes / PAGE_SIZE);
    const rootPages = rootBytes / PAGE_SIZE;
    const workers = new VpWorkerPool(logger.child({ component: 'vp-workers' }), options.vpWorkers);
    const pollUs = options.exitPollUs ?? EXIT_POLL_US;
    const vpHost = { handleExit: (vp: Parameters<typeof handleExit>[1]) => handleExit(core, vp), poller: pollUs > 0 ? new ExitPoller(pollUs) : undefined };
    const core: HypervisorCore = new HypervisorCore(
      logger.child({ component: 'hypervisor' }),
      { maxNestingDepth: options.maxNestingDepth ?? 3, maxVpsPerPartition: options.maxVpsPerPartition ?? 64 },
      vpHost,
      { data: options.root.data, transferList: options.root.transferList ?? [] },
      workers,
    );
    const root = core.createRecord(undefined);
    root.properties.privileges = ALL_PRIVILEGES;
    root.properties.gpaSpacePages = Math.max(rootPages, root.properties.gpaSpacePages);
    root.properties.vpHeapLimitMb = options.root.heapLimitMb ?? 256;
    root.pool.available = budgetPages;
    const needed = HvCosts.PARTITION_TABLES + rootPages + processors * HvCosts.VP;
    if (needed > budgetPages || !core.initialize(root)) throw new HypervisorConfigError(`the budget (${budgetPages} pages) cannot hold the root (${needed} pages)`);
    root.memory!.mapUnchecked(0, rootPages, 0x7, root.pool);
    const entry = typeof options.root.entry === 'string' && !options.root.entry.startsWith('file:') ? pathToFileURL(options.root.entry).href : options.root.entry.toString();
    const hv = new Hypervisor(core, root.id, budgetPages);
    for (let i = 0; i < processors; i++) {
      root.pool.draw(HvCosts.VP);
      const vp = core.createVp(root, i);
      vp.entry = entry;
      vp.explicitSuspend = false;
      core.startVpUnchecked(vp);
    }
    workers.warm(DEFAULT_VP_HEAP_LIMIT_MB);
    return hv;
  }

  /** Partition life-cycle and crash events. */
  get events$(): Observable<HypervisorEvent> {
    return this.core.events.asObservable();
  }

  /** A snapshot of the hypervisor's counters. */
  metrics(): Readonly<HypervisorMetrics> {
    return { ...this.core.metrics };
  }

  /** Host-level memory figures (no per-partition detail: that is reachable through hypercalls only). */
  memoryStats(): HypervisorMemoryStats {
    let mappedPages = 0;
    for (const partition of this.core.partitions.values()) mappedPages += partition.memory?.mappedPages ?? 0;
    return { budgetPages: this.budgetPages, partitions: this.core.partitions.size, mappedPages };
  }

  /** Counters of the VP workers (pooled and on-demand starts). */
  vpWorkerStats(): Readonly<VpWorkerStats> {
    return { ...this.core.workers.stats };
  }

  /**
   * Resolves once the pre-started worker pool for VPs with a heap limit of `heapLimitMb` (default:
   * the default child limit) holds its idle workers, loaded and waiting. Starts that pool if needed.
   */
  vpWorkersReady(heapLimitMb: number = DEFAULT_VP_HEAP_LIMIT_MB): Promise<void> {
    return this.core.workers.whenReady(heapLimitMb);
  }

  /** Stops every VP and completes `events$`. */
  async shutdown(): Promise<void> {
    await this.core.shutdown();
  }
}
