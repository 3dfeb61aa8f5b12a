/**
 * Sub-channels in the VMBus server (vmbus-wire.md §4.4 "Sub-channels"; Linux `vmbus_process_offer`;
 * OpenVMM `enable_subchannels`). A device with an open primary channel offers sub-channels: offers
 * with the primary's interface type and instance and a non-zero `sub_channel_index`, each with its
 * own channel id (and so its own event flag) and connection id. The guest matches them to the
 * primary's driver and opens each over its own GPADL and rings, like any channel.
 *
 * A sub-channel never outlives its primary's open: when the primary closes, is rescinded or the
 * connection unloads, every sub-channel is revoked. One the guest never opened is rescinded at
 * once; an open one is closed on the device side first (`closeRequested`, then the device's
 * `completeClose`) and rescinded after; one opening fails its open and is rescinded. The guest then
 * closes its end, tears down the GPADL and sends RELID_RELEASED, which frees the id. On an unload
 * they are dropped with the connection (a new connection starts without them). A sub-channel the
 * guest declines (RELID_RELEASED while offered) is dropped too: it is never offered again.
 *
 * Functions over the server's state, like `server-dispatch.ts`; `VmbusServer` exposes them.
 */
import { ChannelStateError, InvalidArgumentError } from '../errors.ts';
import type { ChannelId } from '../protocol/channel-messages.ts';
import type { ServerChannel } from './server-channel-state.ts';
import type { OfferParams, VmbusServer } from './server-state.ts';

/** The largest sub-channel index (`sub_channel_index` is a u16; 0 is the primary). */
export const MAX_SUB_CHANNEL_INDEX = 0xffff;

/**
 * Offers sub-channel `index` of the open primary `primaryId`. Returns its channel id.
 * @throws {ChannelStateError} when `primaryId` is not an open primary channel
 * @throws {InvalidArgumentError} when `index` is not in 1..65535 or a live sub-channel has it
 * @throws {ChannelIdsExhaustedError} when all channel ids are taken
 */
export function offerSubChannel(server: VmbusServer, primaryId: ChannelId, index: number, connectionId?: number): ChannelId {
  const primary = server.channels.get(primaryId);
  if (primary === undefined || isSubChannel(primary)) throw new ChannelStateError(`channel ${primaryId} is not a primary channel`);
  if (primary.state.kind !== 'open' || server.state.kind !== 'connected') {
    throw new ChannelStateError(`sub-channels need an open primary; channel ${primaryId} is ${primary.state.kind}`);
  }
  if (!Number.isInteger(index) || index < 1 || index > MAX_SUB_CHANNEL_INDEX) throw new InvalidArgumentError(`sub-channel index must be in 1..${MAX_SUB_CHANNEL_INDEX}, got ${index}`);
  if (liveSubChannels(server, primaryId).some((sub) => sub.offer.subChannelIndex === index)) {
    throw new InvalidArgumentError(`channel ${primaryId} already has a sub-channel ${index}`);
  }
  const o = primary.offer;
  const params: OfferParams = {
    interfaceType: o.interfaceType,
    interfaceInstance: o.interfaceInstance,
    channelFlags: o.channelFlags,
    userDefined: o.userDefined,
    subChannelIndex: index,
    ...(connectionId === undefined ? {} : { connectionId }),
  };
  return server.addChannel(params, primaryId);
}

/** Whether `channel` was offered as a sub-channel (it stays one when its primary is gone). */
export function isSubChannel(channel: ServerChannel): boolean {
  return channel.offer.subChannelIndex !== 0;
}

/** The sub-channels of `primaryId` that are not rescinded, in offer order. */
export function liveSubChannels(server: VmbusServer, primaryId: ChannelId): ServerChannel[] {
  return subChannelsOf(server, primaryId).filter((sub) => sub.state.kind !== 'rescinded');
}

/** Every sub-channel of `primaryId` (rescinded ones until released), in offer order. */
export function subChannelsOf(server: VmbusServer, primaryId: ChannelId): ServerChannel[] {
  const subs: ServerChannel[] = [];
  for (const channel of server.channels.values()) if (channel.primary === primaryId) subs.push(channel);
  return subs;
}

/**
 * The primary `primaryId` is leaving `open` (closing or rescinded): revokes each of its
 * sub-channels as the module header describes. Call it while connected.
 */
export function revokeSubChannels(server: VmbusServer, primaryId: ChannelId): void {
  for (const sub of subChannelsOf(server, primaryId)) {
    const s = sub.state;
    switch (s.kind) {
      case 'pending':
        server.releaseChannel(sub);
        break;
      case 'offered':
      case 'opening':
        server.rescindChannel(sub.id);
        break;
      case 'open':
        server.beginClose(sub, s.request, true);
        break;
      case 'closing':
        s.reopen = undefined;
        s.revoke = true;
        break;
      case 'rescinded':
        break;
      default: {
        const never: never = s;
        return never;
      }
    }
  }
}

/** An unload drained: every sub-channel goes with the connection. */
export function dropSubChannels(server: VmbusServer): void {
  for (const channel of [...server.channels.values()]) if (isSubChannel(channel)) server.releaseChannel(channel);
}

/** The guest released primary `primaryId` before some of its (revoked) sub-channels: cut the links. */
export function orphanSubChannels(server: VmbusServer, primaryId: ChannelId): void {
  for (const sub of subChannelsOf(server, primaryId)) sub.primary = undefined;
}

/** Broken sub-channel invariants, for `checkConsistency`. */
export function subChannelProblems(server: VmbusServer): string[] {
  const problems: string[] = [];
  for (const sub of server.channels.values()) {
    if (!isSubChannel(sub)) {
      if (sub.primary !== undefined) problems.push(`primary channel ${sub.id} has a primary`);
      continue;
    }
    // While unloading every channel closes at once, primaries and sub-channels alike.
    const live =
      server.state.kind === 'connected' &&
      (sub.state.kind === 'offered' || sub.state.kind === 'opening' || sub.state.kind === 'open' || (sub.state.kind === 'closing' && !sub.state.revoke));
    const primary = sub.primary === undefined ? undefined : server.channels.get(sub.primary);
    if (primary === undefined || isSubChannel(primary)) {
      if (live) problems.push(`sub-channel ${sub.id} is ${sub.state.kind} without its primary`);
      continue;
    }
    if (live && primary.state.kind !== 'open') problems.push(`sub-channel ${sub.id} is ${sub.state.kind} while its primary ${primary.id} is ${primary.state.kind}`);
  }
  return problems;
}
