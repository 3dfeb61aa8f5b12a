/**
 * The storvsc VSC driver: claims synthetic SCSI controller offers and turns each open channel into
 * a {@link StorvscController} (initialized, with its disks found). Built by the guest kernel with
 * its memory and page allocator, where SRB data buffers come from.
 */
import { StorvscProtocol } from '@viridian/vmbus';
import type { VscDriver } from '../vsc-driver.ts';
import { StorvscController, type GuestMemoryContext } from './controller.ts';
import type { StorvscQueueOptions } from './queues.ts';

/** The storvsc driver over the guest's memory `context` (and its multi-queue options). */
export function storvscDriver(context: GuestMemoryContext & StorvscQueueOptions): VscDriver<StorvscController> {
  return {
    name: 'scsi',
    classId: StorvscProtocol.classId,
    rings: { sendRingBytes: StorvscProtocol.sendRingBytes, receiveRingBytes: StorvscProtocol.receiveRingBytes },
    attach: (channel) => StorvscController.attach(channel, context),
    detach: (controller) => controller.detach(),
  };
}
