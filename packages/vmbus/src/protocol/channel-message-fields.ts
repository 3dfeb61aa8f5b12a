/**
 * The pieces every row of the channel-message table is built from (STYLE rule 9): the row type
 * ({@link ChannelMessageSpec}), decode failures with their stable reasons, the checked field
 * readers and writers, and the builders for the rows that share a shape (header only, relid only,
 * opaque). Decoders never throw; encoders throw `InvalidArgumentError` on a field out of range.
 */
import { InvalidArgumentError } from '../errors.ts';
import { ChannelMessageWriter, type ChannelMessageReader } from './channel-message-bytes.ts';
import { ChannelMessageHeader, ChannelMessageType, HeaderOnlyLayout, MAX_CHANNEL_MESSAGE_SIZE, RelidOnlyLayout } from './channel-message-layout.ts';
import { isChannelId, type ChannelId, type ChannelMessage, type ChannelMessageOf, type OpaqueChannelMessage, type OpaqueMessageType } from './channel-messages.ts';
import { MAX_PFN } from './packet-layout.ts';
import { VmbusVersions, type VmbusVersion } from './vmbus-version.ts';

/** Who sends a message type. */
export type MessageDirection = 'guestToHost' | 'hostToGuest';

/** Why bytes were not a valid channel message: one stable reason per validation branch. */
export type DecodeFailureReason =
  /** Shorter than the 8-byte header or than the type's minimum. */
  | 'too-short'
  /** Longer than the 240-byte SynIC payload. */
  | 'oversize'
  /** A message number the table does not know (0 included). */
  | 'unknown-type'
  /** The type needs a newer protocol version than the one negotiated. */
  | 'not-in-version'
  /** The type needs a feature flag that was not negotiated. */
  | 'missing-feature'
  /** A PFN list whose length is not a whole number of u64s. */
  | 'misaligned-length'
  /** A channel id of 0 or above 2047. */
  | 'relid-out-of-range'
  /** A PFN beyond 52-bit guest physical addresses. */
  | 'pfn-out-of-range'
  /** A guest physical address beyond 52 bits. */
  | 'address-out-of-range';

/** A rejected message: the reason, a human detail, and the type number when it was readable. */
export interface DecodeFailure {
  readonly ok: false;
  readonly reason: DecodeFailureReason;
  readonly detail: string;
  readonly messageType?: number;
}

/** One row of the table. Methods (not function properties) so rows of every type share one type. */
export interface ChannelMessageSpec<M extends ChannelMessage = ChannelMessage> {
  readonly type: M['type'];
  /** The Linux name (`CHANNELMSG_*`), for logs. */
  readonly name: string;
  readonly direction: MessageDirection;
  /** Oldest negotiated version the type is valid in; `undefined` = valid before negotiation too. */
  readonly minVersion: VmbusVersion | undefined;
  /** Feature flags ({@link VmbusFeature}) that must have been negotiated; 0 = none. */
  readonly features: number;
  /** Shortest acceptable message, header included. */
  readonly minSize: number;
  /** Decodes a message whose length is in [minSize, 240] (checked by the caller). */
  decode(reader: ChannelMessageReader): M | DecodeFailure;
  /** @throws {InvalidArgumentError} when a field is out of range for its wire width */
  encode(message: M): Uint8Array;
}

/** The largest guest physical address: 52 bits (a 40-bit PFN of 4 KiB pages). */
export const MAX_GPA = (MAX_PFN + 1) * 4096 - 1;

export function failure(reason: DecodeFailureReason, detail: string, messageType?: number): DecodeFailure {
  return messageType === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, messageType };
}

/** Whether a decoder returned a failure. */
export function isDecodeFailure(value: object): value is DecodeFailure {
  return (value as { ok?: unknown }).ok === false;
}

export function relid(r: ChannelMessageReader, offset: number): ChannelId | DecodeFailure {
  const id = r.u32(offset);
  return isChannelId(id) ? id : failure('relid-out-of-range', `child_relid ${id} is outside 1..2047`);
}

export function address(r: ChannelMessageReader, offset: number, field: string): number | DecodeFailure {
  const gpa = r.u64(offset);
  return gpa <= MAX_GPA ? gpa : failure('address-out-of-range', `${field} 0x${gpa.toString(16)} is beyond 52 bits`);
}

export function pfnList(r: ChannelMessageReader, start: number): number[] | DecodeFailure {
  const bytes = r.length - start;
  if (bytes % 8 !== 0) return failure('misaligned-length', `${bytes} bytes of PFNs is not a multiple of 8`);
  const pfns = new Array<number>(bytes / 8);
  for (let i = 0; i < pfns.length; i++) {
    const pfn = r.u64(start + i * 8);
    if (pfn > MAX_PFN) return failure('pfn-out-of-range', `PFN ${i} (0x${pfn.toString(16)}) is beyond 52-bit addresses`);
    pfns[i] = pfn;
  }
  return pfns;
}

export function check(ok: boolean, field: string, value: unknown, range: string): void {
  if (!ok) throw new InvalidArgumentError(`${field} must be ${range}, got ${String(value)}`);
}
export const isU8 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xff;
export const isU16 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffff;
export const isU32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;

export function u8(w: ChannelMessageWriter, offset: number, value: number, field: string): void {
  check(isU8(value), field, value, 'a u8');
  w.u8(offset, value);
}
export function u16(w: ChannelMessageWriter, offset: number, value: number, field: string): void {
  check(isU16(value), field, value, 'a u16');
  w.u16(offset, value);
}
export function u32(w: ChannelMessageWriter, offset: number, value: number, field: string): void {
  check(isU32(value), field, value, 'a u32');
  w.u32(offset, value);
}
export function relidField(w: ChannelMessageWriter, offset: number, value: number): void {
  check(isChannelId(value), 'childRelid', value, 'in 1..2047');
  w.u32(offset, value);
}
export function gpaField(w: ChannelMessageWriter, offset: number, value: number, field: string): void {
  check(Number.isInteger(value) && value >= 0 && value <= MAX_GPA, field, value, 'a 52-bit address');
  w.u64(offset, value);
}
export function pfnFields(w: ChannelMessageWriter, offset: number, pfns: readonly number[]): void {
  pfns.forEach((pfn, i) => {
    check(Number.isInteger(pfn) && pfn >= 0 && pfn <= MAX_PFN, `pfns[${i}]`, pfn, `in 0..${MAX_PFN}`);
    w.u64(offset + i * 8, pfn);
  });
}
export function bytesField(w: ChannelMessageWriter, offset: number, value: Uint8Array, size: number, field: string): void {
  check(value.byteLength === size, field, `${value.byteLength} bytes`, `exactly ${size} bytes`);
  w.set(offset, value);
}
export function start(type: number, size: number): ChannelMessageWriter {
  const w = new ChannelMessageWriter(size);
  w.u32(ChannelMessageHeader.messageType, type);
  return w;
}

export type Row<K extends ChannelMessage['type']> = ChannelMessageSpec<ChannelMessageOf<K>>;
export const T = ChannelMessageType;
export const V = VmbusVersions;

/** A row for a message that is the 8-byte header alone. */
export type HeaderOnlyMessage = ChannelMessageOf<(typeof T)['requestOffers' | 'allOffersDelivered' | 'unload' | 'unloadResponse']>;
export type RelidOnlyMessage = ChannelMessageOf<(typeof T)['rescindChannelOffer' | 'closeChannel' | 'relidReleased']>;

export function headerOnly(type: HeaderOnlyMessage['type'], name: string, direction: MessageDirection): ChannelMessageSpec<HeaderOnlyMessage> {
  return {
    type,
    name,
    direction,
    minVersion: V.win8,
    features: 0,
    minSize: HeaderOnlyLayout.SIZE,
    decode: () => ({ type }) as HeaderOnlyMessage,
    encode: () => start(type, HeaderOnlyLayout.SIZE).bytes,
  };
}

/** A row for a message that is the header and a relid. */
export function relidOnly(type: RelidOnlyMessage['type'], name: string, direction: MessageDirection): ChannelMessageSpec<RelidOnlyMessage> {
  return {
    type,
    name,
    direction,
    minVersion: V.win8,
    features: 0,
    minSize: RelidOnlyLayout.SIZE,
    decode(r) {
      const childRelid = relid(r, RelidOnlyLayout.childRelid);
      return typeof childRelid === 'number' ? ({ type, childRelid } as RelidOnlyMessage) : childRelid;
    },
    encode(m) {
      const w = start(type, RelidOnlyLayout.SIZE);
      relidField(w, RelidOnlyLayout.childRelid, m.childRelid);
      return w.bytes;
    },
  };
}

/** A row for a type whose layout the reference does not give: the body is kept as bytes. */
export function opaque(type: OpaqueMessageType, name: string, direction: MessageDirection, minVersion: VmbusVersion, features = 0): ChannelMessageSpec<OpaqueChannelMessage> {
  return {
    type,
    name,
    direction,
    minVersion,
    features,
    minSize: ChannelMessageHeader.SIZE,
    decode: (r) => ({ type, body: r.copy(ChannelMessageHeader.SIZE, r.length - ChannelMessageHeader.SIZE) }),
    encode(m) {
      check(m.body.byteLength <= MAX_CHANNEL_MESSAGE_SIZE - ChannelMessageHeader.SIZE, 'body', `${m.body.byteLength} bytes`, 'at most 232 bytes');
      const w = start(type, ChannelMessageHeader.SIZE + m.body.byteLength);
      w.set(ChannelMessageHeader.SIZE, m.body);
      return w.bytes;
    },
  };
}
