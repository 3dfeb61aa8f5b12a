/**
 * The control-plane protocol as ONE declarative table (STYLE rule 9, OpenVMM's `vmbus_messages!`):
 * message number → name → direction → minimum version → required features → minimum length →
 * codec. `decodeChannelMessage` and `encodeChannelMessage` (channel-message-codec.ts) are driven by
 * it, and the server uses `direction` to refuse host→guest types a guest sends.
 *
 * Minimum lengths: the guest's table of §4.2 for host→guest types, the full struct for guest→host
 * types (the host is as strict as the guest). Longer messages (up to 240 bytes) are accepted and
 * their tail ignored, as both sides do for the [MS-hdr] extensions. Minimum versions: §4.2-§4.4
 * where the reference gives one; for types 18-26 Microsoft's header comments ("Since
 * VMBUS_VERSION_WIN10", "…RS3_0", "…IRON", "…COPPER"), as OpenVMM's table also has them.
 *
 * Decoders never throw: the table's minimum length is checked before a field is read, and every
 * guest-controlled value with a range is checked in its row and becomes a {@link DecodeFailure}.
 * The rows live in channel-message-rows-*.ts, the pieces they share in channel-message-fields.ts.
 */
import { VmbusFeature } from './vmbus-version.ts';
import { offerChannel, openChannel, openChannelResult, tlConnectRequest, modifyChannel, modifyChannelResponse } from './channel-message-rows-channel.ts';
import { gpadlHeader, gpadlBody, gpadlCreated, gpadlTeardown, gpadlTorndown } from './channel-message-rows-gpadl.ts';
import { initiateContact, versionResponse } from './channel-message-rows-connection.ts';
import { type ChannelMessageSpec, T, V, failure, headerOnly, opaque, relidOnly } from './channel-message-fields.ts';

export type { MessageDirection, DecodeFailureReason, DecodeFailure, ChannelMessageSpec } from './channel-message-fields.ts';
export { isDecodeFailure } from './channel-message-fields.ts';

/** The table: every message type of §4.2 (and [MS-hdr] 25-26), in number order. */
export const CHANNEL_MESSAGE_TABLE: readonly ChannelMessageSpec[] = Object.freeze([
  offerChannel,
  relidOnly(T.rescindChannelOffer, 'CHANNELMSG_RESCIND_CHANNELOFFER', 'hostToGuest'),
  headerOnly(T.requestOffers, 'CHANNELMSG_REQUESTOFFERS', 'guestToHost'),
  headerOnly(T.allOffersDelivered, 'CHANNELMSG_ALLOFFERS_DELIVERED', 'hostToGuest'),
  openChannel,
  openChannelResult,
  relidOnly(T.closeChannel, 'CHANNELMSG_CLOSECHANNEL', 'guestToHost'),
  gpadlHeader,
  gpadlBody,
  gpadlCreated,
  gpadlTeardown,
  gpadlTorndown,
  relidOnly(T.relidReleased, 'CHANNELMSG_RELID_RELEASED', 'guestToHost'),
  initiateContact,
  versionResponse,
  // Linux sends UNLOAD only from 3.0 on; Microsoft's header has the pair since Win7, so no gate.
  headerOnly(T.unload, 'CHANNELMSG_UNLOAD', 'guestToHost'),
  headerOnly(T.unloadResponse, 'CHANNELMSG_UNLOAD_RESPONSE', 'hostToGuest'),
  opaque(T.openReservedChannel, 'CHANNELMSG_18 (OpenReservedChannel)', 'guestToHost', V.win10),
  opaque(T.closeReservedChannel, 'CHANNELMSG_19 (CloseReservedChannel)', 'guestToHost', V.win10),
  opaque(T.closeReservedResponse, 'CHANNELMSG_20 (CloseReservedResponse)', 'hostToGuest', V.win10),
  tlConnectRequest,
  modifyChannel,
  opaque(T.tlConnectResult, 'CHANNELMSG_TL_CONNECT_RESULT', 'hostToGuest', V.win10V4_1),
  modifyChannelResponse,
  opaque(T.modifyConnection, 'ModifyConnection', 'guestToHost', V.win10V6_0, VmbusFeature.modifyConnection),
  opaque(T.modifyConnectionResponse, 'ModifyConnectionResponse', 'hostToGuest', V.win10V6_0, VmbusFeature.modifyConnection),
] as ChannelMessageSpec[]);

const BY_TYPE: ReadonlyMap<number, ChannelMessageSpec> = new Map(CHANNEL_MESSAGE_TABLE.map((spec) => [spec.type, spec]));

/** The row of message number `type`, or `undefined` for an unknown number. */
export function channelMessageSpec(type: number): ChannelMessageSpec | undefined {
  return BY_TYPE.get(type);
}

/** The same value as `failure`, for the codec module. */
export { failure as decodeFailure };
