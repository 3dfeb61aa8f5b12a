/**
 * How the root's VMBus host reaches one child: post a channel-management message to the guest's
 * VMBus SINT, and raise a channel's interrupt in the guest. Over the hypervisor these are
 * HvPostMessage and HvSignalEvent on connections the root made to ports in the child; in-process
 * tests connect them directly.
 */
import type { ChannelId } from '@viridian/vmbus';

export interface HostTransport {
  /**
   * Posts a VMBus message (at most 240 bytes) to the guest's VP `targetVp`. Returns false when the
   * guest's message buffers are full (HV_STATUS_INSUFFICIENT_BUFFERS): the host retries later.
   */
  postMessage(bytes: Uint8Array, targetVp: number): boolean;
  /** Raises channel `channel`'s interrupt at the guest's VP `targetVp` (event flag = the channel id). */
  signalChannel(channel: ChannelId, targetVp: number): void;
  /**
   * Optional: makes the guest → host interrupt path of sub-channel `channel`, which its offer names
   * as `connectionId` (the guest signals it there; the host then hears `channel`). Without it a
   * sub-channel shares its primary's connection (`host-subchannels.ts`).
   * @throws when the path cannot be made (the sub-channel is then withdrawn)
   */
  connectSubChannel?(channel: ChannelId, connectionId: number): void;
  /**
   * Optional: `channel`'s id was released (the guest's RELID_RELEASED after a rescind): remove its
   * guest → host interrupt path on `connectionId`, the one `connectSubChannel` made for a
   * sub-channel or the one made for a primary channel when its device was added. Not called for a
   * sub-channel that shares its primary's connection.
   */
  releaseChannel?(channel: ChannelId, connectionId: number): void;
}
