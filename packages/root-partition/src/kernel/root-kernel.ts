/**
 * The root partition's kernel: the entry module of the root's VP 0. It places its SynIC pages,
 * unmasks the SINTs it serves (0: the hypervisor's messages about children, 2: VMBus messages from
 * children, 3: channel interrupts from children), starts the VMBus host side and the management
 * service, and dispatches the VP's interrupts to them.
 */
import { pino } from 'pino';
import { parseChildCrash, type VpContext } from '@viridian/hypervisor';
import { acquireChildMemory } from './child-memory.ts';
import type { ManagementRequest, RootBootData } from './management-protocol.ts';
import { ManagementService } from './management-service.ts';
import { RootVmbus } from './root-vmbus.ts';
import { ROOT_EVENT_SINT, ROOT_MESSAGE_SINT } from './synic-vmbus-link.ts';

/** The hypervisor's messages to a parent (child crashes, intercepts) arrive on SINT 0. */
const HYPERVISOR_SINT = 0;

export default function rootKernel(vp: VpContext, data: RootBootData): void {
  const logger = pino({ level: data.logLevel ?? 'warn' }).child({ partition: 'root' });
  vp.synic.enable({ simpGpfn: 1, siefpGpfn: 2 });
  for (const sint of [HYPERVISOR_SINT, ROOT_MESSAGE_SINT, ROOT_EVENT_SINT]) vp.synic.configureSint(sint);
  const vmbus = new RootVmbus(vp, logger);
  const management = new ManagementService(vp, vmbus, data.management, data.guestKernel, (id) => acquireChildMemory(vp, id), logger);
  vp.onInterrupt((sints) => {
    if ((sints & (1 << HYPERVISOR_SINT)) !== 0) {
      for (let message = vp.synic.takeMessage(HYPERVISOR_SINT); message; message = vp.synic.takeMessage(HYPERVISOR_SINT)) {
        const crash = parseChildCrash(message);
        if (crash) management.childCrashed(crash.partitionId, `reason ${crash.reason}, exit code ${crash.exitCode}`);
      }
    }
    vmbus.handleInterrupt(sints);
  });
  data.management.on('message', (request: ManagementRequest) => management.handle(request));
  data.management.postMessage({ event: 'root-ready' });
}
