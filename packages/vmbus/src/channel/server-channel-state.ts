/**
 * The VMBus server's state, as discriminated unions whose variants carry only what is valid in
 * that state (STYLE rule 18; OpenVMM `vmbus_server` ConnectionState/ChannelState, openvmm-notes
 * §3): the connection, each offered channel, each GPADL. Types only; the transitions are in
 * `server-state.ts`.
 */
import type { ChannelId, ContactTarget, GpadlId, InitiateContactMessage, OfferChannelMessage } from '../protocol/channel-messages.ts';
import type { GpadlAssembler, GpadlRange } from '../protocol/gpadl.ts';
import type { VmbusVersion } from '../protocol/vmbus-version.ts';

/** What the guest told the server when it connected. */
export interface ConnectionInfo {
  readonly version: VmbusVersion;
  /** VP that receives host→guest messages. */
  readonly targetVcpu: number;
  /** Interrupt page (before 5.0) or SINT and VTL (from 5.0). */
  readonly target: ContactTarget;
  readonly monitorPage1: number;
  readonly monitorPage2: number;
  /** The message connection id later guest→host messages use (§4.1). */
  readonly messageConnectionId: number;
}

/** What happens when an unload (or a reset by a new INITIATE_CONTACT) has drained. */
export type UnloadNext =
  /** The guest sent UNLOAD: answer UNLOAD_RESPONSE. */
  | { readonly kind: 'unloadResponse' }
  /** The guest sent INITIATE_CONTACT while connected: negotiate it afresh. */
  | { readonly kind: 'contact'; readonly request: InitiateContactMessage };

/** The server's connection with one guest. */
export type ServerConnectionState =
  /** No guest connection; every channel is `pending`. */
  | { readonly kind: 'disconnected' }
  /** Version agreed. `offersSent` once REQUESTOFFERS was answered (then new offers go out at once). */
  | { readonly kind: 'connected'; readonly info: ConnectionInfo; offersSent: boolean }
  /** Closing every channel before answering UNLOAD or a reset; waits for the device's completions. */
  | { readonly kind: 'unloading'; readonly info: ConnectionInfo; readonly next: UnloadNext };

/** The parameters of a guest's OPENCHANNEL, as the device receives them. */
export interface OpenRequest {
  readonly openId: number;
  readonly gpadlId: GpadlId;
  /** First page of the host→guest ring within the GPADL. */
  readonly downstreamPageOffset: number;
  readonly targetVp: number;
  /** 120 bytes of driver-defined data. */
  readonly userData: Uint8Array;
}

/** One channel offered by a device. */
export type ServerChannelState =
  /** Offered by the device but not (yet) sent to the guest: no connection, offers not requested, or
   *  the guest released it without a rescind. */
  | { readonly kind: 'pending' }
  /** Sent to the guest and closed. */
  | { readonly kind: 'offered' }
  /** OPENCHANNEL accepted; waiting for the device's `completeOpen`. */
  | { readonly kind: 'opening'; readonly request: OpenRequest }
  /** Open over `request.gpadlId`. */
  | { readonly kind: 'open'; readonly request: OpenRequest }
  /** CLOSECHANNEL received (or the primary of this sub-channel went away); waiting for the device's
   *  `completeClose`. `reopen` is an OPENCHANNEL that arrived meanwhile, run once the close completes
   *  (OpenVMM's ClosingReopen). `revoke`: a sub-channel whose primary closed, rescinded once closed
   *  (it is never reopened). */
  | { readonly kind: 'closing'; readonly request: OpenRequest; reopen: OpenRequest | undefined; revoke: boolean }
  /** RESCIND_CHANNELOFFER sent; the id stays taken until RELID_RELEASED. */
  | { readonly kind: 'rescinded' };

/** A channel and its offer. */
export interface ServerChannel {
  readonly id: ChannelId;
  readonly offer: OfferChannelMessage;
  state: ServerChannelState;
  /**
   * Set for a sub-channel (`offer.subChannelIndex` ≠ 0): its primary channel. Closing, rescinding
   * or unloading the primary revokes it (`server-subchannels.ts`); if the guest releases the
   * primary's id before the sub-channel's, the link is cut (`undefined`) so a new channel that
   * reuses the id never inherits it.
   */
  primary: ChannelId | undefined;
}

/** One GPADL of the current connection. */
export type ServerGpadlState =
  /** Header accepted; bodies still arriving. `reservedPages` counts against the connection's budget. */
  | { readonly kind: 'assembling'; readonly assembler: GpadlAssembler }
  /** Every PFN arrived and was checked. */
  | { readonly kind: 'created'; readonly range: GpadlRange }
  /** GPADL_TEARDOWN received while the ring of an open channel: answered when the channel closes. */
  | { readonly kind: 'tearingDown'; readonly range: GpadlRange };

/** A GPADL and its owner. */
export interface ServerGpadl {
  readonly id: GpadlId;
  readonly channel: ChannelId;
  /** Pages reserved from the connection's budget (the whole range, from the header on). */
  readonly reservedPages: number;
  state: ServerGpadlState;
}
