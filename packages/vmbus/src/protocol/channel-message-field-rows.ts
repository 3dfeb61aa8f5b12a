/**
 * Rows of the channel-message table made from a field list: for a message of fixed layout, each
 * field names its offset and its codec, and one decoder and one encoder serve every such row
 * (STYLE rule 9). Rows whose layout is not fixed (GPADL page lists, INITIATE_CONTACT's
 * version-dependent target) keep hand-written codecs.
 *
 * Decoding reads every field once and stops at the first field that fails validation (a relid out
 * of range); encoding checks each value against its wire width and throws `InvalidArgumentError`.
 */
import type { ChannelMessageReader, ChannelMessageWriter } from './channel-message-bytes.ts';
import { type DecodeFailure, type MessageDirection, type Row, bytesField, relid, relidField, start, u16, u32, u8 } from './channel-message-fields.ts';
import type { ChannelId, ChannelMessage, ChannelMessageOf, GpadlId } from './channel-messages.ts';
import type { Guid } from './guid.ts';
import type { VmbusVersion } from './vmbus-version.ts';

/** How one field is read and written. */
export interface FieldCodec<V> {
  /** Reads the field; a `DecodeFailure` rejects the message. */
  read(r: ChannelMessageReader, offset: number): V | DecodeFailure;
  /** @throws {InvalidArgumentError} when `value` does not fit the field */
  write(w: ChannelMessageWriter, offset: number, value: V, name: string): void;
}

export const u8Field: FieldCodec<number> = { read: (r, o) => r.u8(o), write: (w, o, v, n) => u8(w, o, v, n) };
export const u16Field: FieldCodec<number> = { read: (r, o) => r.u16(o), write: (w, o, v, n) => u16(w, o, v, n) };
export const u32Field: FieldCodec<number> = { read: (r, o) => r.u32(o), write: (w, o, v, n) => u32(w, o, v, n) };
export const gpadlIdField: FieldCodec<GpadlId> = { read: (r, o) => r.u32(o) as GpadlId, write: (w, o, v, n) => u32(w, o, v, n) };
export const relidCodec: FieldCodec<ChannelId> = { read: (r, o) => relid(r, o), write: (w, o, v) => relidField(w, o, v) };
export const guidField: FieldCodec<Guid> = { read: (r, o) => r.guid(o), write: (w, o, v) => w.guid(o, v) };
/** A boolean in bit 0 of a u8 (other bits ignored); written as 1 or 0. */
export const bit0U8Field: FieldCodec<boolean> = { read: (r, o) => (r.u8(o) & 1) !== 0, write: (w, o, v) => w.u8(o, v ? 1 : 0) };
/** A boolean in bit 0 of a u16 (other bits ignored); written as 1 or 0. */
export const bit0U16Field: FieldCodec<boolean> = { read: (r, o) => (r.u16(o) & 1) !== 0, write: (w, o, v) => w.u16(o, v ? 1 : 0) };
/** A boolean u8: any non-zero value is true; written as 1 or 0. */
export const nonZeroU8Field: FieldCodec<boolean> = { read: (r, o) => r.u8(o) !== 0, write: (w, o, v) => w.u8(o, v ? 1 : 0) };
/** A fixed-size byte field, copied out. */
export function bytesCodec(size: number): FieldCodec<Uint8Array> {
  return { read: (r, o) => r.copy(o, size), write: (w, o, v, n) => bytesField(w, o, v, size, n) };
}

/** The fields of message `M`: every property but `type`, each at its offset with its codec. */
export type FieldList<M extends ChannelMessage> = { readonly [P in Exclude<keyof M, 'type'>]-?: readonly [offset: number, codec: FieldCodec<M[P]>] };

/** What a field-list row says besides its fields. */
export interface FieldRowHead<K extends ChannelMessage['type']> {
  readonly type: K;
  readonly name: string;
  readonly direction: MessageDirection;
  readonly minVersion: VmbusVersion | undefined;
  /** The layout's size: both the shortest message accepted and the size written. */
  readonly size: number;
}

/** A table row for a message of fixed layout, from its field list. */
export function fieldRow<K extends ChannelMessage['type']>(head: FieldRowHead<K>, fields: FieldList<ChannelMessageOf<K>>): Row<K> {
  const entries = Object.entries(fields) as [string, readonly [number, FieldCodec<unknown>]][];
  const row: Row<K> = {
    type: head.type as Row<K>['type'],
    name: head.name,
    direction: head.direction,
    minVersion: head.minVersion,
    features: 0,
    minSize: head.size,
    decode(r) {
      const message: Record<string, unknown> = { type: head.type };
      for (const [name, [offset, codec]] of entries) {
        const value = codec.read(r, offset);
        if (isFailure(value)) return value;
        message[name] = value;
      }
      return message as unknown as ChannelMessageOf<K>;
    },
    encode(m) {
      const w = start(head.type, head.size);
      const values = m as unknown as Record<string, unknown>;
      for (const [name, [offset, codec]] of entries) codec.write(w, offset, values[name], name);
      return w.bytes;
    },
  };
  return row;
}

/** Field values are numbers, booleans, strings and byte arrays; only a failure is a plain object with `ok: false`. */
function isFailure(value: unknown): value is DecodeFailure {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && (value as { ok?: unknown }).ok === false;
}
