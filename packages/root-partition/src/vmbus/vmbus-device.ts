/**
 * The VSP framework's device interface: what a device in the root registers (its offer) and what
 * it receives (an opened {@link HostChannel} to serve). Modelled on OpenVMM's `SimpleVmbusDevice`:
 * `open` returns the handler that serves the channel until it closes. A device that wants more
 * queues asks its open primary channel for sub-channels (`HostChannel.offerSubChannels`); `open`
 * is then called for each sub-channel too, with `channel.primary` and `channel.subChannelIndex` set.
 */
import type { Guid, IncomingPacket } from '@viridian/vmbus';
import type { HostChannel } from './host-channel.ts';

/** What a device offers to the guest (vmbus-wire.md §4.4 OFFERCHANNEL). */
export interface DeviceOffer {
  /** The device class (`if_type`): VSCs match on it. */
  readonly interfaceType: Guid;
  /** This device's instance id. */
  readonly interfaceInstance: Guid;
  /** Up to 120 bytes the driver may read (for example a pipe mode). Sub-channels repeat them. */
  readonly userDefined?: Uint8Array;
}

/** Serves one open channel: called for every packet the guest sends, in order. */
export interface ChannelHandler {
  /**
   * One packet, valid only during the call. Replies are written to `channel.endpoint.outgoing`;
   * the framework flushes once per batch. A handler that throws closes the channel's service.
   */
  onPacket(packet: IncomingPacket, channel: HostChannel): void;
  /** The channel is closing: stop using its rings and GPADLs. */
  onClose?(channel: HostChannel): void | Promise<void>;
}

/** A VSP. */
export interface VmbusDevice {
  readonly name: string;
  readonly offer: DeviceOffer;
  /**
   * The guest opened a channel of this device: the primary, or one of its sub-channels
   * (`channel.primary` set). Reject (or throw) to fail the open.
   */
  open(channel: HostChannel): ChannelHandler | Promise<ChannelHandler>;
}
