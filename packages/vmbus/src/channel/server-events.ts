/**
 * What the VMBus server emits (STYLE rule 19, OpenVMM's `Notifier`): messages for the guest and
 * events for the device layer, through one narrow {@link ServerNotifier}; plus its metrics and the
 * stable reasons of the protocol errors it reports. The adapter encodes and posts the messages to
 * the guest's SINT 2 on `targetVcpu` and logs `protocolError` events at a limited rate.
 */
import type { DecodeFailureReason } from '../protocol/channel-message-table.ts';
import type { ChannelId, GpadlId, HostToGuestMessage } from '../protocol/channel-messages.ts';
import type { Guid } from '../protocol/guid.ts';
import type { GpadlAssemblyErrorReason, GpadlRange } from '../protocol/gpadl.ts';
import type { ConnectionInfo, OpenRequest } from './server-channel-state.ts';

/** Why the server refused or dropped something a guest sent. Stable: metrics are keyed by it. */
export type ServerProtocolErrorReason =
  | DecodeFailureReason
  | GpadlAssemblyErrorReason
  /** A host→guest message type sent by the guest. */
  | 'wrong-direction'
  /** A known type the server does not implement (reserved channels, ModifyConnection, …). */
  | 'unsupported-message'
  /** The message is not valid in the connection's state (e.g. OPENCHANNEL before INITIATE_CONTACT). */
  | 'wrong-connection-state'
  /** A channel id that was never offered to this guest. */
  | 'unknown-channel'
  /** The channel's state does not allow the message. */
  | 'wrong-channel-state'
  /** OPENCHANNEL fields out of range: GPADL, page offset, target VP. */
  | 'bad-open-request'
  /** MODIFYCHANNEL with a target VP out of range. */
  | 'bad-target-vp'
  /** INITIATE_CONTACT fields out of range: target VP, SINT, VTL, page addresses. */
  | 'bad-contact'
  /** GPADL_HEADER for an id the connection already has. */
  | 'duplicate-gpadl'
  /** A body or teardown for a GPADL id the connection does not have (or another channel's). */
  | 'unknown-gpadl'
  /** A teardown of a GPADL already being torn down, or a teardown of one still assembling. */
  | 'wrong-gpadl-state'
  /** A per-connection GPADL limit was reached (count, concurrent assemblies, pages). */
  | 'gpadl-limit';

/** Events for the device layer and the adapter. */
export type ServerEvent =
  /** Version agreed. The adapter routes later messages to `info.targetVcpu` and `info.messageConnectionId`. */
  | { readonly kind: 'connected'; readonly info: ConnectionInfo }
  /** The connection ended: after UNLOAD (`unload`) or on a new INITIATE_CONTACT (`reset`). */
  | { readonly kind: 'disconnected'; readonly reason: 'unload' | 'reset' }
  /** The guest asks to open a channel: the device answers with `completeOpen(channel, status)`. */
  | { readonly kind: 'openRequested'; readonly channel: ChannelId; readonly request: OpenRequest; readonly ring: GpadlRange }
  /** The channel is closing: the device stops using its rings, then calls `completeClose(channel)`. */
  | { readonly kind: 'closeRequested'; readonly channel: ChannelId }
  /** A GPADL was created; its PFNs were checked against guest memory. */
  | { readonly kind: 'gpadlCreated'; readonly channel: ChannelId; readonly gpadlId: GpadlId; readonly range: GpadlRange }
  /** A created GPADL is gone (teardown, release, unload): the device must drop its mappings. */
  | { readonly kind: 'gpadlTornDown'; readonly channel: ChannelId; readonly gpadlId: GpadlId }
  /** A rescinded channel was released; its id is free again. */
  | { readonly kind: 'channelReleased'; readonly channel: ChannelId }
  /** The guest retargets an open channel's interrupts. */
  | { readonly kind: 'modifyRequested'; readonly channel: ChannelId; readonly targetVp: number }
  /** An hv_sock connect request, for a socket provider (no reply from the server itself). */
  | { readonly kind: 'tlConnectRequested'; readonly guestEndpointId: Guid; readonly hostServiceId: Guid }
  /** The guest broke the protocol; the message was refused (with a status reply where one exists). */
  | { readonly kind: 'protocolError'; readonly reason: ServerProtocolErrorReason; readonly detail: string; readonly messageType?: number };

/** The server's only way out. */
export interface ServerNotifier {
  /** Post `message` to the guest (the adapter encodes it). */
  send(message: HostToGuestMessage): void;
  /** Deliver an event to the device layer. */
  emit(event: ServerEvent): void;
}

/** Counters of one server. */
export interface ServerMetrics {
  messagesReceived: number;
  messagesSent: number;
  /** Guest messages refused or dropped, all reasons. */
  protocolErrors: number;
  readonly errorsByReason: Partial<Record<ServerProtocolErrorReason, number>>;
  /** OPENCHANNELs for rescinded channels, dropped silently as §4.6 allows. */
  ignoredAfterRescind: number;
  versionsRefused: number;
  offersSent: number;
  opensRequested: number;
  closesRequested: number;
  gpadlsCreated: number;
  gpadlsTornDown: number;
}

/** Fresh zeroed metrics. */
export function newServerMetrics(): ServerMetrics {
  return {
    messagesReceived: 0,
    messagesSent: 0,
    protocolErrors: 0,
    errorsByReason: {},
    ignoredAfterRescind: 0,
    versionsRefused: 0,
    offersSent: 0,
    opensRequested: 0,
    closesRequested: 0,
    gpadlsCreated: 0,
    gpadlsTornDown: 0,
  };
}
