/**
 * The one little-endian reader/writer pair every VHDX structure goes through (STYLE rule 7): a
 * `DataView` over the view's own `byteOffset`/`byteLength`, bounds checked in one method, GUIDs in
 * Microsoft's mixed-endian layout and u64s either as exact `bigint`s (sequence numbers) or as
 * `number`s (file offsets and sizes: callers compare them against limits far below 2^53, so a
 * larger hostile value still compares as too large).
 */
import { GUID_SIZE, decodeGuid, encodeGuid, type Guid } from '@viridian/vmbus';

const TWO_32 = 2 ** 32;

/** A structure was read or written past the end of its buffer: a bug in a codec, not bad input. */
export class VhdxBoundsError extends RangeError {
  constructor(offset: number, length: number, size: number) {
    super(`VHDX field [${offset}, ${offset + length}) outside a ${size}-byte buffer`);
    this.name = 'VhdxBoundsError';
  }
}

/** Reads little-endian fields at offsets relative to `base` of one buffer. */
export class VhdxReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly base = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** @throws {VhdxBoundsError} */
  private at(offset: number, length: number): number {
    const absolute = this.base + offset;
    if (offset < 0 || absolute + length > this.bytes.byteLength) throw new VhdxBoundsError(absolute, length, this.bytes.byteLength);
    return absolute;
  }

  /** A reader of the same buffer whose offsets start at `offset`. */
  sub(offset: number): VhdxReader {
    return new VhdxReader(this.bytes, this.at(offset, 0));
  }

  /** @throws {VhdxBoundsError} */
  u16(offset: number): number {
    return this.view.getUint16(this.at(offset, 2), true);
  }

  /** @throws {VhdxBoundsError} */
  u32(offset: number): number {
    return this.view.getUint32(this.at(offset, 4), true);
  }

  /** A u64 as a number (inexact above 2^53; see the module comment). @throws {VhdxBoundsError} */
  u64(offset: number): number {
    const at = this.at(offset, 8);
    return this.view.getUint32(at + 4, true) * TWO_32 + this.view.getUint32(at, true);
  }

  /** A u64, exact. @throws {VhdxBoundsError} */
  u64big(offset: number): bigint {
    return this.view.getBigUint64(this.at(offset, 8), true);
  }

  /** @throws {VhdxBoundsError} */
  guid(offset: number): Guid {
    return decodeGuid(this.bytes, this.at(offset, GUID_SIZE));
  }

  /** ASCII text of `length` bytes. @throws {VhdxBoundsError} */
  ascii(offset: number, length: number): string {
    const at = this.at(offset, length);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, length).toString('latin1');
  }

  /** UTF-16LE text of `length` bytes. @throws {VhdxBoundsError} */
  utf16(offset: number, length: number): string {
    const at = this.at(offset, length);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, length).toString('utf16le');
  }

  /** A view (not a copy) of `length` bytes. @throws {VhdxBoundsError} */
  view8(offset: number, length: number): Uint8Array {
    const at = this.at(offset, length);
    return this.bytes.subarray(at, at + length);
  }
}

/** Writes little-endian fields at offsets relative to `base` of one buffer. */
export class VhdxWriter {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly base = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A writer over a new zero-filled buffer of `size` bytes. */
  static alloc(size: number): VhdxWriter {
    return new VhdxWriter(new Uint8Array(size));
  }

  /** @throws {VhdxBoundsError} */
  private at(offset: number, length: number): number {
    const absolute = this.base + offset;
    if (offset < 0 || absolute + length > this.bytes.byteLength) throw new VhdxBoundsError(absolute, length, this.bytes.byteLength);
    return absolute;
  }

  /** A writer of the same buffer whose offsets start at `offset`. */
  sub(offset: number): VhdxWriter {
    return new VhdxWriter(this.bytes, this.at(offset, 0));
  }

  /** @throws {VhdxBoundsError} */
  u16(offset: number, value: number): this {
    this.view.setUint16(this.at(offset, 2), value, true);
    return this;
  }

  /** @throws {VhdxBoundsError} */
  u32(offset: number, value: number): this {
    this.view.setUint32(this.at(offset, 4), value >>> 0, true);
    return this;
  }

  /** A u64 from a safe non-negative integer. @throws {VhdxBoundsError} */
  u64(offset: number, value: number): this {
    const at = this.at(offset, 8);
    this.view.setUint32(at, value % TWO_32, true);
    this.view.setUint32(at + 4, Math.floor(value / TWO_32), true);
    return this;
  }

  /** @throws {VhdxBoundsError} */
  u64big(offset: number, value: bigint): this {
    this.view.setBigUint64(this.at(offset, 8), value, true);
    return this;
  }

  /** @throws {VhdxBoundsError} */
  guid(offset: number, value: Guid): this {
    encodeGuid(value, this.bytes, this.at(offset, GUID_SIZE));
    return this;
  }

  /** ASCII text (no terminator). @throws {VhdxBoundsError} */
  ascii(offset: number, text: string): this {
    const at = this.at(offset, text.length);
    this.bytes.set(Buffer.from(text, 'latin1'), at);
    return this;
  }

  /** UTF-16LE text (no terminator); returns the byte length. @throws {VhdxBoundsError} */
  utf16(offset: number, text: string): number {
    const encoded = Buffer.from(text, 'utf16le');
    this.bytes.set(encoded, this.at(offset, encoded.length));
    return encoded.length;
  }

  /** Copies `data` in. @throws {VhdxBoundsError} */
  copy(offset: number, data: Uint8Array): this {
    this.bytes.set(data, this.at(offset, data.length));
    return this;
  }
}
