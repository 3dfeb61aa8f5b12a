/**
 * Decoding and encoding of channel messages, driven by {@link CHANNEL_MESSAGE_TABLE}
 * (vmbus-wire.md §4.1-§4.5). Decoding is the single place bytes from a peer become a
 * {@link ChannelMessage}: it never throws, and every rejection has a stable
 * {@link DecodeFailureReason}. The checks, in order: at most 240 bytes, at least the 8-byte
 * header, a known type, at least the type's minimum length, the type allowed by the negotiated
 * version and features, then the type's field checks.
 */
import { ChannelMessageReader } from './channel-message-bytes.ts';
import { ChannelMessageHeader, MAX_CHANNEL_MESSAGE_SIZE } from './channel-message-layout.ts';
import type { ChannelMessage } from './channel-messages.ts';
import { channelMessageSpec, decodeFailure, isDecodeFailure, type ChannelMessageSpec, type DecodeFailure } from './channel-message-table.ts';
import { InvalidArgumentError } from '../errors.ts';
import { formatVersion } from './vmbus-version.ts';

/** The outcome of {@link decodeChannelMessage}. */
export type DecodeResult = { readonly ok: true; readonly message: ChannelMessage } | DecodeFailure;

/**
 * Whether `spec`'s type may be used on a connection at `negotiatedVersion` with `features`.
 * `negotiatedVersion` undefined means "before negotiation": no version gate applies.
 * Returns the failure, or `undefined` when allowed.
 */
export function checkMessageAllowed(spec: ChannelMessageSpec, negotiatedVersion: number | undefined, features = 0): DecodeFailure | undefined {
  if (negotiatedVersion === undefined) return undefined;
  if (spec.minVersion !== undefined && negotiatedVersion < spec.minVersion) {
    return decodeFailure('not-in-version', `${spec.name} needs version ${formatVersion(spec.minVersion)}, negotiated ${formatVersion(negotiatedVersion)}`, spec.type);
  }
  if ((spec.features & ~features) !== 0) {
    return decodeFailure('missing-feature', `${spec.name} needs feature flags 0x${spec.features.toString(16)}`, spec.type);
  }
  return undefined;
}

/**
 * Decodes one channel message from the payload of a SynIC message. Never throws.
 * @param bytes the payload (a private copy: the decoder reads each field once)
 * @param negotiatedVersion the connection's version; omit before negotiation
 * @param features the negotiated feature flags (none before 6.0)
 */
export function decodeChannelMessage(bytes: Uint8Array, negotiatedVersion?: number, features = 0): DecodeResult {
  if (bytes.byteLength > MAX_CHANNEL_MESSAGE_SIZE) {
    return decodeFailure('oversize', `${bytes.byteLength} bytes exceed the ${MAX_CHANNEL_MESSAGE_SIZE}-byte SynIC payload`);
  }
  if (bytes.byteLength < ChannelMessageHeader.SIZE) {
    return decodeFailure('too-short', `${bytes.byteLength} bytes cannot hold the ${ChannelMessageHeader.SIZE}-byte header`);
  }
  const reader = new ChannelMessageReader(bytes);
  const type = reader.u32(ChannelMessageHeader.messageType);
  const spec = channelMessageSpec(type);
  if (spec === undefined) return decodeFailure('unknown-type', `message type ${type} is unknown`, type);
  if (bytes.byteLength < spec.minSize) {
    return decodeFailure('too-short', `${spec.name} of ${bytes.byteLength} bytes is below its ${spec.minSize}-byte minimum`, type);
  }
  const gate = checkMessageAllowed(spec, negotiatedVersion, features);
  if (gate !== undefined) return gate;
  const decoded = spec.decode(reader);
  if (isDecodeFailure(decoded)) return { ...decoded, messageType: type };
  return { ok: true, message: decoded as ChannelMessage };
}

/**
 * Encodes a message into a new array of its exact wire length.
 * @throws {InvalidArgumentError} when the type is unknown or a field does not fit its wire field
 */
export function encodeChannelMessage(message: ChannelMessage): Uint8Array {
  const spec = channelMessageSpec(message.type);
  if (spec === undefined) throw new InvalidArgumentError(`message type ${String(message.type)} is unknown`);
  return spec.encode(message);
}

/** The Linux name of a message type, or `type <n>` for an unknown one (for logs). */
export function channelMessageName(type: number): string {
  return channelMessageSpec(type)?.name ?? `type ${type}`;
}
