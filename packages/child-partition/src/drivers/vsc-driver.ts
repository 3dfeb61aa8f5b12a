/**
 * The VSC framework's driver interface: a driver claims offers by device class, says how big its
 * rings are, and turns an open {@link GuestChannel} into the device object guest programs use.
 */
import type { Guid } from '@viridian/vmbus';
import type { GuestChannel } from '../vmbus/guest-channel.ts';
import type { RingSizes } from '../vmbus/vmbus-guest.ts';

export interface VscDriver<Device = unknown> {
  readonly name: string;
  /** The device class (`if_type` of the offer) this driver serves. */
  readonly classId: Guid;
  readonly rings: RingSizes;
  /** Builds the device over its open channel (may negotiate with the VSP first). */
  attach(channel: GuestChannel): Device | Promise<Device>;
  /** The channel is about to close (rescind, shutdown): fail or finish outstanding work. */
  detach?(device: Device): void | Promise<void>;
}
