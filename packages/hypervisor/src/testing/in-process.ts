/**
 * An in-process test machine: the hypervisor core with a root partition whose VP 0 is driven
 * from the test's own thread (its exits are handled synchronously through an injected trap), and
 * helpers to make children whose VPs are driven the same way. No workers, so hypercall unit tests
 * and the fuzz test run in microseconds. Worker behaviour is covered by the worker tests.
 */
import { pino } from 'pino';
import { ALL_PRIVILEGES } from '../abi/partition.ts';
import { HvCosts } from '../abi/costs.ts';
import { HypervisorCore } from '../host/core.ts';
import { handleExit } from '../host/dispatch.ts';
import type { Partition } from '../host/partition.ts';
import type { Vp } from '../host/vp.ts';
import { queueMail } from '../guest/hypervisor-mail.ts';
import { VpContext } from '../guest/vp-context.ts';

/** A VP driven in-process: its guest context and the hypervisor's record of it. */
export interface DrivenVp {
  readonly ctx: VpContext;
  readonly vp: Vp;
}

/** The test machine. */
export interface TestMachine {
  readonly core: HypervisorCore;
  readonly root: Partition;
  readonly rootVp: DrivenVp;
  /** Drives an existing (not started) VP of any partition from this thread. */
  drive(partition: Partition, index: number): DrivenVp;
}

/** Boots a test machine with `budgetPages` and a root of `rootPages` mapped pages. */
export function testMachine(budgetPages = 65_536, rootPages = 256, maxNestingDepth = 3): TestMachine {
  const core: HypervisorCore = new HypervisorCore(pino({ level: 'silent' }), { maxNestingDepth, maxVpsPerPartition: 8 }, { handleExit: (vp) => handleExit(core, vp) });
  const root = core.createRecord(undefined);
  root.properties.privileges = ALL_PRIVILEGES;
  root.pool.available = budgetPages;
  core.initialize(root);
  root.memory!.mapUnchecked(0, rootPages, 7, root.pool);
  root.pool.draw(HvCosts.VP);
  core.createVp(root, 0);
  const drive = (partition: Partition, index: number): DrivenVp => {
    const vp = partition.vps.get(index);
    if (!vp || !partition.memory) throw new Error(`no VP ${index} in an active partition ${partition.id}`);
    vp.explicitSuspend = false;
    // Mail the hypervisor hands this VP goes through a queue instead of a worker's port.
    const mailbox: unknown[] = [];
    vp.mailbox = (message) => mailbox.push(message);
    const trap = (): void => {
      vp.pollExit();
    };
    const ctx = new VpContext({ vpIndex: index, partitionId: partition.id.toString(), memory: partition.memory.buffer, vpPage: vp.page }, trap, queueMail(mailbox));
    return { ctx, vp };
  };
  return { core, root, rootVp: drive(root, 0), drive };
}
