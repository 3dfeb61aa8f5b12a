/**
 * The VMBus client's state unions, its events and its one way out ({@link ClientNotifier}), for
 * the guest side of the control plane (vmbus-wire.md §4). Types only; the transitions are in
 * `client-state.ts`. An async adapter turns each request method into a promise settled by the
 * matching event (by channel id, GPADL id or open id).
 */
import type { DecodeFailureReason } from '../protocol/channel-message-table.ts';
import type { ChannelId, GpadlId, GuestToHostMessage, OfferChannelMessage } from '../protocol/channel-messages.ts';
import type { VmbusVersion } from '../protocol/vmbus-version.ts';

/** The client's connection. */
export type ClientConnectionState =
  /** Not connected; `connect()` starts. */
  | { readonly kind: 'disconnected' }
  /** INITIATE_CONTACT for `versions[candidate]` posted; waiting for VERSION_RESPONSE. */
  | { readonly kind: 'contacting'; readonly candidate: number; readonly version: VmbusVersion }
  /** Version agreed. `offers`: REQUESTOFFERS posted (`requested`), ALLOFFERS_DELIVERED seen (`delivered`). */
  | { readonly kind: 'connected'; readonly version: VmbusVersion; readonly messageConnectionId: number; offers: 'requested' | 'delivered' }
  /** UNLOAD posted; waiting for UNLOAD_RESPONSE. */
  | { readonly kind: 'unloading'; readonly version: VmbusVersion; readonly messageConnectionId: number };

/** One offered channel, as the guest sees it. */
export type ClientChannelState =
  /** Offered and closed. */
  | { readonly kind: 'closed' }
  /** OPENCHANNEL posted; waiting for OPENCHANNEL_RESULT. */
  | { readonly kind: 'opening'; readonly openId: number; readonly gpadlId: GpadlId }
  /** Open over `gpadlId`. */
  | { readonly kind: 'open'; readonly openId: number; readonly gpadlId: GpadlId };

/** A channel the host offered. */
export interface ClientChannel {
  readonly offer: OfferChannelMessage;
  state: ClientChannelState;
  /**
   * For a sub-channel offer (`offer.subChannelIndex` ≠ 0): the primary it belongs to, the live
   * offer with the same interface type and instance and index 0 (vmbus-wire.md §4.4); `undefined`
   * for a primary, and for a sub-channel offer that matches no primary or repeats a live
   * sub-channel's index (the guest declines it).
   */
  readonly primary: ChannelId | undefined;
  /**
   * The host rescinded the offer. Orthogonal to `state` on purpose: a rescinded channel may still be
   * open, and the guest still closes it and tears down its GPADLs before RELID_RELEASED.
   */
  rescinded: boolean;
}

/** One GPADL the guest created. */
export type ClientGpadlState =
  /** Header and bodies posted; waiting for GPADL_CREATED. */
  | { readonly kind: 'creating' }
  | { readonly kind: 'created' }
  /** GPADL_TEARDOWN posted; waiting for GPADL_TORNDOWN. */
  | { readonly kind: 'tearingDown' };

/** A GPADL and its channel. */
export interface ClientGpadl {
  readonly id: GpadlId;
  readonly channel: ChannelId;
  state: ClientGpadlState;
}

/** Why the client dropped something the host sent. */
export type ClientProtocolErrorReason =
  | DecodeFailureReason
  /** A guest→host type sent by the host. */
  | 'wrong-direction'
  /** A reply nobody asked for, or a message not valid in the connection's state. */
  | 'unexpected-message'
  /** A message for a channel the host never offered. */
  | 'unknown-channel'
  /** An offer for a channel id already in use. */
  | 'duplicate-offer'
  /** A sub-channel offer whose interface matches no live primary channel. */
  | 'unknown-primary'
  /** A sub-channel offer with the index of a live sub-channel of the same primary. */
  | 'duplicate-sub-channel'
  /** A known type the client does not implement. */
  | 'unsupported-message';

/** Results and notices for the guest's drivers. */
export type ClientEvent =
  /** Version agreed; REQUESTOFFERS was posted. */
  | { readonly kind: 'connected'; readonly version: VmbusVersion; readonly messageConnectionId: number }
  /** The host refused `version` (or the post failed); the next one is being tried. */
  | { readonly kind: 'versionRefused'; readonly version: VmbusVersion }
  /** The host refused every candidate version. */
  | { readonly kind: 'connectFailed' }
  /**
   * An offer: `initial` before ALLOFFERS_DELIVERED, hot-added after. `primary` is set for a
   * sub-channel of a known primary (see {@link ClientChannel.primary}).
   */
  | { readonly kind: 'offer'; readonly offer: OfferChannelMessage; readonly initial: boolean; readonly primary: ChannelId | undefined }
  /** Every initial offer has arrived. */
  | { readonly kind: 'allOffersDelivered'; readonly channels: readonly ChannelId[] }
  /** The host withdrew a channel: close it, tear down its GPADLs, then `releaseChannel`. */
  | { readonly kind: 'rescinded'; readonly channel: ChannelId }
  | { readonly kind: 'gpadlCreated'; readonly channel: ChannelId; readonly gpadlId: GpadlId; readonly status: number }
  | { readonly kind: 'gpadlTornDown'; readonly channel: ChannelId; readonly gpadlId: GpadlId }
  | { readonly kind: 'openResult'; readonly channel: ChannelId; readonly openId: number; readonly status: number }
  | { readonly kind: 'modifyResult'; readonly channel: ChannelId; readonly status: number }
  /** UNLOAD_RESPONSE arrived: disconnected, every channel forgotten. */
  | { readonly kind: 'unloaded' }
  | { readonly kind: 'protocolError'; readonly reason: ClientProtocolErrorReason; readonly detail: string; readonly messageType?: number };

/** The client's only way out. */
export interface ClientNotifier {
  /** Post `message` to the host with HvPostMessage (message type 1) on `connectionId`. */
  send(message: GuestToHostMessage, connectionId: number): void;
  emit(event: ClientEvent): void;
}
