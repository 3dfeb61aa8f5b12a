/**
 * The VMBus server's connection life cycle (vmbus-wire.md §4.3, §4.6): negotiating INITIATE_CONTACT
 * into VERSION_RESPONSE, and unloading (UNLOAD, or a reset by a new INITIATE_CONTACT) once every
 * channel is closed and every GPADL dropped. Functions over the server's state, like
 * `server-dispatch.ts` and `server-subchannels.ts`.
 */
import { ChannelMessageType as T, ConnectionState } from '../protocol/channel-message-layout.ts';
import type { InitiateContactMessage } from '../protocol/channel-messages.ts';
import { PAGE_SIZE } from '../protocol/ring-layout.ts';
import { NEGOTIABLE_VERSIONS, SINT_COUNT, VmbusConnectionId, VmbusVersions, type VmbusVersion } from '../protocol/vmbus-version.ts';
import type { ConnectionInfo, UnloadNext } from './server-channel-state.ts';
import { ServerGpadlTable } from './server-gpadls.ts';
import type { VmbusServer } from './server-state.ts';
import { dropSubChannels } from './server-subchannels.ts';

/** Answers INITIATE_CONTACT on a disconnected server. */
export function negotiate(server: VmbusServer, request: InitiateContactMessage): void {
  const version = request.versionRequested;
  const { minVersion, maxVersion, vpCount } = server.options;
  const refuse = (): void => {
    server.metrics.versionsRefused++;
    server.send({ type: T.versionResponse, versionSupported: false, connectionState: ConnectionState.successful, messageConnectionId: 0 });
  };
  if (!NEGOTIABLE_VERSIONS.includes(version as VmbusVersion) || version < minVersion || version > maxVersion) return refuse();
  const mapped = server.options.isPageMapped;
  const badPage = (gpa: number): boolean =>
    gpa !== 0 && (gpa % PAGE_SIZE !== 0 || gpa / PAGE_SIZE >= server.guestMemoryPages || (mapped !== undefined && !mapped(gpa / PAGE_SIZE)));
  const target = request.target;
  const problem =
    vpCount !== undefined && request.targetVcpu >= vpCount
      ? `target VP ${request.targetVcpu} of ${vpCount}`
      : target.kind === 'sint' && (target.messageSint >= SINT_COUNT || target.messageVtl !== 0)
        ? `SINT ${target.messageSint} / VTL ${target.messageVtl}`
        : target.kind === 'interruptPage' && badPage(target.interruptPage)
          ? `interrupt page 0x${target.interruptPage.toString(16)}`
          : badPage(request.monitorPage1) || badPage(request.monitorPage2)
            ? 'monitor pages outside guest memory or unaligned'
            : undefined;
  if (problem !== undefined) {
    server.protocolError('bad-contact', problem, T.initiateContact);
    return refuse();
  }
  const messageConnectionId = version >= VmbusVersions.win10V5 ? server.options.messageConnectionId : VmbusConnectionId.message;
  const info: ConnectionInfo = {
    version: version as VmbusVersion,
    targetVcpu: request.targetVcpu,
    target,
    monitorPage1: request.monitorPage1,
    monitorPage2: request.monitorPage2,
    messageConnectionId,
  };
  server.state = { kind: 'connected', info, offersSent: false };
  server.gpadls = new ServerGpadlTable(server.options);
  server.send({
    type: T.versionResponse,
    versionSupported: true,
    connectionState: ConnectionState.successful,
    messageConnectionId: version >= VmbusVersions.win10V5 ? messageConnectionId : 0,
  });
  server.emit({ kind: 'connected', info });
}

/** Starts an unload (UNLOAD, or a reset by INITIATE_CONTACT) from `connected`. */
export function beginUnload(server: VmbusServer, next: UnloadNext): void {
  if (server.state.kind !== 'connected') return;
  server.state = { kind: 'unloading', info: server.state.info, next };
  for (const channel of [...server.channels.values()]) {
    const s = channel.state;
    switch (s.kind) {
      case 'open':
        server.beginClose(channel, s.request);
        break;
      case 'closing':
        s.reopen = undefined;
        break;
      case 'rescinded':
        server.releaseChannel(channel);
        break;
      case 'offered':
        channel.state = { kind: 'pending' };
        break;
      case 'opening':
      case 'pending':
        break;
      default: {
        const never: never = s;
        return never;
      }
    }
  }
  settleUnload(server);
}

/** Finishes the unload once no device completion is outstanding. */
export function settleUnload(server: VmbusServer): void {
  if (server.state.kind !== 'unloading') return;
  for (const channel of server.channels.values()) {
    if (channel.state.kind === 'opening' || channel.state.kind === 'closing') return;
  }
  for (const gpadl of [...server.gpadls.values()]) {
    server.gpadls.remove(gpadl.id);
    if (gpadl.state.kind !== 'assembling') {
      server.metrics.gpadlsTornDown++;
      server.emit({ kind: 'gpadlTornDown', channel: gpadl.channel, gpadlId: gpadl.id });
    }
  }
  dropSubChannels(server);
  const next = server.state.next;
  server.state = { kind: 'disconnected' };
  if (next.kind === 'unloadResponse') {
    server.send({ type: T.unloadResponse });
    server.emit({ kind: 'disconnected', reason: 'unload' });
  } else {
    server.emit({ kind: 'disconnected', reason: 'reset' });
    negotiate(server, next.request);
  }
}
