/**
 * How the guest kernel's VMBus client reaches the host: post a channel-management message on a
 * connection, and signal a channel's connection. Over the hypervisor these are HvPostMessage and
 * HvSignalEvent; in-process tests connect them directly.
 */

/** The outcome of a post, as the TLFS statuses that matter to VMBus sort it. */
export type PostOutcome =
  /** Delivered (HV_STATUS_SUCCESS). */
  | 'ok'
  /** The host's message buffers are full (HV_STATUS_INSUFFICIENT_BUFFERS): try again later. */
  | 'retry'
  /** No such connection (HV_STATUS_INVALID_CONNECTION_ID): an older host, for INITIATE_CONTACT. */
  | 'no-connection';

export interface GuestTransport {
  /** Posts a VMBus message (at most 240 bytes) on `connectionId`. */
  postMessage(bytes: Uint8Array, connectionId: number): PostOutcome;
  /** Signals the host on a channel's `connectionId` (flag 0), as `vmbus_setevent` does. */
  signalHost(connectionId: number): void;
}
