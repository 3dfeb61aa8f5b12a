/**
 * The guest kernel's VMBus transport over its own hypercalls: HvPostMessage (message type 1) for
 * channel-management messages and HvSignalEvent (flag 0) for channel interrupts (vmbus-wire.md
 * §3.4, §4.1).
 */
import { HvStatus, type HypercallClient } from '@viridian/hypervisor';
import { VMBUS_MESSAGE_TYPE } from '@viridian/vmbus';
import type { GuestTransport, PostOutcome } from '../vmbus/guest-transport.ts';

export function synicGuestTransport(hc: HypercallClient): GuestTransport {
  return {
    postMessage(bytes: Uint8Array, connectionId: number): PostOutcome {
      const status = hc.postMessage(connectionId, VMBUS_MESSAGE_TYPE, bytes);
      if (status === HvStatus.INSUFFICIENT_BUFFERS) return 'retry';
      if (status === HvStatus.INVALID_CONNECTION_ID) return 'no-connection';
      return 'ok';
    },
    signalHost(connectionId: number): void {
      hc.signalEvent(connectionId, 0);
    },
  };
}
