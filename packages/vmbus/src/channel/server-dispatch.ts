/**
 * The VMBus server's handlers for guest→host messages (vmbus-wire.md §4.2-§4.6), one per type,
 * chosen by the decoded message's `type` with an exhaustive `switch`. Each handler checks the
 * connection and channel state first; anything out of place gets the protocol's failure reply
 * where there is one, else a drop, and always a `protocolError` (server-state.ts counts them).
 * Handlers assume the message was decoded and direction-checked by `VmbusServer.handle`.
 */
import { ChannelMessageType as T, ChannelStatus } from '../protocol/channel-message-layout.ts';
import type {
  ChannelMessage,
  CloseChannelMessage,
  GpadlBodyMessage,
  GpadlHeaderMessage,
  GpadlTeardownMessage,
  GuestToHostMessage,
  ModifyChannelMessage,
  OpaqueChannelMessage,
  OpenChannelMessage,
  RelidReleasedMessage,
} from '../protocol/channel-messages.ts';
import { VmbusVersions } from '../protocol/vmbus-version.ts';
import type { OpenRequest, ServerChannel } from './server-channel-state.ts';
import type { VmbusServer } from './server-state.ts';
import { beginUnload, negotiate } from './server-connection.ts';

/** Routes one decoded guest→host message. */
export function dispatchGuestMessage(server: VmbusServer, message: ChannelMessage): void {
  const m = message as GuestToHostMessage | OpaqueChannelMessage;
  switch (m.type) {
    case T.initiateContact:
      if (server.state.kind === 'disconnected') return negotiate(server, m);
      if (server.state.kind === 'connected') return beginUnload(server, { kind: 'contact', request: m });
      return server.protocolError('wrong-connection-state', 'INITIATE_CONTACT while unloading', m.type);
    case T.requestOffers:
      return requestOffers(server);
    case T.openChannel:
      return openChannel(server, m);
    case T.closeChannel:
      return closeChannel(server, m);
    case T.gpadlHeader:
      return gpadlHeader(server, m);
    case T.gpadlBody:
      return gpadlBody(server, m);
    case T.gpadlTeardown:
      return gpadlTeardown(server, m);
    case T.relidReleased:
      return relidReleased(server, m);
    case T.unload:
      if (server.state.kind !== 'connected') return server.protocolError('wrong-connection-state', `UNLOAD while ${server.state.kind}`, m.type);
      return beginUnload(server, { kind: 'unloadResponse' });
    case T.modifyChannel:
      return modifyChannel(server, m);
    case T.tlConnectRequest:
      if (server.state.kind !== 'connected') return server.protocolError('wrong-connection-state', `TL_CONNECT_REQUEST while ${server.state.kind}`, m.type);
      return server.emit({ kind: 'tlConnectRequested', guestEndpointId: m.guestEndpointId, hostServiceId: m.hostServiceId });
    case T.openReservedChannel:
    case T.closeReservedChannel:
    case T.closeReservedResponse:
    case T.tlConnectResult:
    case T.modifyConnection:
    case T.modifyConnectionResponse:
      return server.protocolError('unsupported-message', `message type ${m.type} is not implemented`, m.type);
    default: {
      const never: never = m;
      return never;
    }
  }
}

/** The connected server's channel `id` as the guest knows it, or a reported error. */
function visibleChannel(server: VmbusServer, id: number, messageType: number): ServerChannel | undefined {
  if (server.state.kind !== 'connected') {
    server.protocolError('wrong-connection-state', `message ${messageType} while ${server.state.kind}`, messageType);
    return undefined;
  }
  const channel = server.channels.get(id as ServerChannel['id']);
  if (channel === undefined || channel.state.kind === 'pending') {
    server.protocolError('unknown-channel', `channel ${id} was not offered to this guest`, messageType);
    return undefined;
  }
  return channel;
}

function requestOffers(server: VmbusServer): void {
  const state = server.state;
  if (state.kind !== 'connected' || state.offersSent) {
    return server.protocolError('wrong-connection-state', state.kind === 'connected' ? 'second REQUESTOFFERS' : `REQUESTOFFERS while ${state.kind}`, T.requestOffers);
  }
  state.offersSent = true;
  for (const channel of server.channels.values()) {
    if (channel.state.kind === 'pending') server.sendOffer(channel);
  }
  server.send({ type: T.allOffersDelivered });
}

function openChannel(server: VmbusServer, m: OpenChannelMessage): void {
  const failed = (status: number): void => server.send({ type: T.openChannelResult, childRelid: m.childRelid, openId: m.openId, status });
  if (server.state.kind !== 'connected') {
    // No result: the guest is not connected (or is unloading and will not wait for one).
    return server.protocolError('wrong-connection-state', `OPENCHANNEL while ${server.state.kind}`, m.type);
  }
  const channel = visibleChannel(server, m.childRelid, m.type);
  if (channel === undefined) return failed(ChannelStatus.invalidParameter);
  const s = channel.state;
  switch (s.kind) {
    case 'offered':
      return server.tryOpen(channel, openRequestOf(m));
    case 'rescinded':
      // §4.6: the host may silently ignore an OPENCHANNEL for a rescinded channel.
      server.metrics.ignoredAfterRescind++;
      return;
    case 'closing':
      if (s.revoke) {
        // A sub-channel whose primary closed: it is being revoked, never reopened.
        server.protocolError('wrong-channel-state', `OPENCHANNEL for sub-channel ${channel.id} of a closed primary`, m.type);
        return failed(ChannelStatus.invalidDeviceState);
      }
      if (s.reopen === undefined) {
        s.reopen = openRequestOf(m);
        return;
      }
      server.protocolError('wrong-channel-state', `second OPENCHANNEL for closing channel ${channel.id}`, m.type);
      return failed(ChannelStatus.invalidDeviceState);
    case 'opening':
    case 'open':
    case 'pending':
      server.protocolError('wrong-channel-state', `OPENCHANNEL for ${s.kind} channel ${channel.id}`, m.type);
      return failed(ChannelStatus.invalidDeviceState);
    default: {
      const never: never = s;
      return never;
    }
  }
}

function closeChannel(server: VmbusServer, m: CloseChannelMessage): void {
  const channel = visibleChannel(server, m.childRelid, m.type);
  if (channel === undefined) return;
  const s = channel.state;
  switch (s.kind) {
    case 'open':
      return server.beginClose(channel, s.request);
    case 'rescinded':
      // The guest cleaning up after a rescind: nothing left to close on the device side.
      return;
    case 'closing':
      // A sub-channel being revoked with its primary: the guest cleaning up, as after a rescind.
      if (s.revoke) return;
      return server.protocolError('wrong-channel-state', `CLOSECHANNEL for closing channel ${channel.id}`, m.type);
    case 'offered':
    case 'opening':
    case 'pending':
      return server.protocolError('wrong-channel-state', `CLOSECHANNEL for ${s.kind} channel ${channel.id}`, m.type);
    default: {
      const never: never = s;
      return never;
    }
  }
}

function gpadlHeader(server: VmbusServer, m: GpadlHeaderMessage): void {
  if (server.state.kind !== 'connected') return server.protocolError('wrong-connection-state', `GPADL_HEADER while ${server.state.kind}`, m.type);
  const refuse = (reason: 'unknown-channel' | 'wrong-channel-state', detail: string): void => {
    server.protocolError(reason, detail, m.type);
    server.send({ type: T.gpadlCreated, childRelid: m.childRelid, gpadlId: m.gpadlId, status: ChannelStatus.unsuccessful });
  };
  const channel = server.channels.get(m.childRelid);
  if (channel === undefined || channel.state.kind === 'pending') return refuse('unknown-channel', `GPADL for channel ${m.childRelid}, never offered`);
  if (channel.state.kind === 'rescinded') return refuse('wrong-channel-state', `GPADL for rescinded channel ${m.childRelid}`);
  server.gpadlStep(server.gpadls.begin(m, server.guestMemoryPages, server.options.isPageMapped), m.type);
}

function gpadlBody(server: VmbusServer, m: GpadlBodyMessage): void {
  if (server.state.kind !== 'connected') return server.protocolError('wrong-connection-state', `GPADL_BODY while ${server.state.kind}`, m.type);
  server.gpadlStep(server.gpadls.body(m), m.type);
}

function gpadlTeardown(server: VmbusServer, m: GpadlTeardownMessage): void {
  if (server.state.kind !== 'connected') return server.protocolError('wrong-connection-state', `GPADL_TEARDOWN while ${server.state.kind}`, m.type);
  const gpadl = server.gpadls.get(m.gpadlId);
  if (gpadl === undefined || gpadl.channel !== m.childRelid) {
    return server.protocolError('unknown-gpadl', `GPADL ${m.gpadlId} of channel ${m.childRelid} does not exist`, m.type);
  }
  switch (gpadl.state.kind) {
    case 'assembling':
      // Underflow: torn down before its last body. Answer so the guest does not wait.
      server.protocolError('wrong-gpadl-state', `GPADL ${m.gpadlId} torn down while assembling`, m.type);
      return server.finishTeardown(gpadl.id);
    case 'tearingDown':
      return server.protocolError('wrong-gpadl-state', `GPADL ${m.gpadlId} is already being torn down`, m.type);
    case 'created': {
      const channel = server.channels.get(gpadl.channel);
      const s = channel?.state;
      if ((s?.kind === 'opening' || s?.kind === 'open' || s?.kind === 'closing') && s.request.gpadlId === gpadl.id) {
        // The ring of a channel the device may still be using: answer once the channel is closed.
        gpadl.state = { kind: 'tearingDown', range: gpadl.state.range };
        return;
      }
      return server.finishTeardown(gpadl.id);
    }
    default: {
      const never: never = gpadl.state;
      return never;
    }
  }
}

function relidReleased(server: VmbusServer, m: RelidReleasedMessage): void {
  const channel = visibleChannel(server, m.childRelid, m.type);
  if (channel === undefined) return;
  switch (channel.state.kind) {
    case 'rescinded':
      return server.releaseChannel(channel);
    case 'offered':
      // The guest could not use the offer (§4.4): it is withdrawn from this connection.
      if (server.gpadls.ofChannel(channel.id).length > 0) {
        return server.protocolError('wrong-channel-state', `RELID_RELEASED for channel ${channel.id} with GPADLs`, m.type);
      }
      // A declined sub-channel is gone for good (it is never offered again); a primary waits for
      // the next connection's REQUESTOFFERS.
      if (channel.offer.subChannelIndex !== 0) return server.releaseChannel(channel);
      channel.state = { kind: 'pending' };
      return;
    default:
      return server.protocolError('wrong-channel-state', `RELID_RELEASED for ${channel.state.kind} channel ${channel.id}`, m.type);
  }
}

function modifyChannel(server: VmbusServer, m: ModifyChannelMessage): void {
  const channel = visibleChannel(server, m.childRelid, m.type);
  if (channel === undefined) return;
  const respond = (status: number): void => {
    if (server.version !== undefined && server.version >= VmbusVersions.win10V5_3) {
      server.send({ type: T.modifyChannelResponse, childRelid: channel.id, status });
    }
  };
  if (channel.state.kind !== 'open') {
    server.protocolError('wrong-channel-state', `MODIFYCHANNEL for ${channel.state.kind} channel ${channel.id}`, m.type);
    return respond(ChannelStatus.invalidDeviceState);
  }
  const vpCount = server.options.vpCount;
  if (vpCount !== undefined && m.targetVp >= vpCount) {
    server.protocolError('bad-target-vp', `target VP ${m.targetVp} of ${vpCount}`, m.type);
    return respond(ChannelStatus.invalidParameter);
  }
  channel.state = { kind: 'open', request: { ...channel.state.request, targetVp: m.targetVp } };
  server.emit({ kind: 'modifyRequested', channel: channel.id, targetVp: m.targetVp });
  respond(ChannelStatus.success);
}

/** The OPENCHANNEL fields the device needs. */
function openRequestOf(message: OpenChannelMessage): OpenRequest {
  return {
    openId: message.openId,
    gpadlId: message.ringBufferGpadlId,
    downstreamPageOffset: message.downstreamRingBufferPageOffset,
    targetVp: message.targetVp,
    userData: message.userData,
  };
}
