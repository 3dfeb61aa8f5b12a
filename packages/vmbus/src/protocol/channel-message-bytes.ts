/**
 * The one reader/writer pair every channel-message codec goes through (STYLE rule 7): a
 * `DataView` over the view's own `byteOffset`/`byteLength`, always little-endian, with the bounds
 * check in one method. The decoder checks a message's length against the table before it reads a
 * field, so the bounds check firing means a codec bug, not hostile input.
 */
import { MessageBoundsError } from '../errors.ts';
import { GUID_SIZE, decodeGuid, encodeGuid, type Guid } from './guid.ts';

const TWO_32 = 2 ** 32;

/** Reads little-endian fields at absolute offsets of one message. */
export class ChannelMessageReader {
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  /** @throws {MessageBoundsError} */
  private check(offset: number, length: number): void {
    if (offset < 0 || offset + length > this.bytes.byteLength) throw new MessageBoundsError(offset, length, this.bytes.byteLength);
  }

  /** @throws {MessageBoundsError} */
  u8(offset: number): number {
    this.check(offset, 1);
    return this.view.getUint8(offset);
  }

  /** @throws {MessageBoundsError} */
  u16(offset: number): number {
    this.check(offset, 2);
    return this.view.getUint16(offset, true);
  }

  /** @throws {MessageBoundsError} */
  u32(offset: number): number {
    this.check(offset, 4);
    return this.view.getUint32(offset, true);
  }

  /**
   * A u64 as a number. Values above 2^53 lose precision; callers compare the result against
   * limits far below 2^53 (a 52-bit GPA, a 40-bit PFN), so the comparison stays exact.
   * @throws {MessageBoundsError}
   */
  u64(offset: number): number {
    this.check(offset, 8);
    return this.view.getUint32(offset + 4, true) * TWO_32 + this.view.getUint32(offset, true);
  }

  /** @throws {MessageBoundsError} */
  guid(offset: number): Guid {
    this.check(offset, GUID_SIZE);
    return decodeGuid(this.bytes, offset);
  }

  /** A private copy of `length` bytes at `offset`. @throws {MessageBoundsError} */
  copy(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    return this.bytes.slice(offset, offset + length);
  }
}

/** Writes little-endian fields at absolute offsets of a new zero-filled message. */
export class ChannelMessageWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  /** @throws {MessageBoundsError} */
  private check(offset: number, length: number): void {
    if (offset < 0 || offset + length > this.bytes.byteLength) throw new MessageBoundsError(offset, length, this.bytes.byteLength);
  }

  /** @throws {MessageBoundsError} */
  u8(offset: number, value: number): void {
    this.check(offset, 1);
    this.view.setUint8(offset, value);
  }

  /** @throws {MessageBoundsError} */
  u16(offset: number, value: number): void {
    this.check(offset, 2);
    this.view.setUint16(offset, value, true);
  }

  /** @throws {MessageBoundsError} */
  u32(offset: number, value: number): void {
    this.check(offset, 4);
    this.view.setUint32(offset, value, true);
  }

  /** A u64 from a non-negative safe integer. @throws {MessageBoundsError} */
  u64(offset: number, value: number): void {
    this.check(offset, 8);
    this.view.setUint32(offset, value % TWO_32, true);
    this.view.setUint32(offset + 4, Math.floor(value / TWO_32), true);
  }

  /** @throws {MessageBoundsError} */
  guid(offset: number, value: Guid): void {
    this.check(offset, GUID_SIZE);
    encodeGuid(value, this.bytes, offset);
  }

  /** @throws {MessageBoundsError} */
  set(offset: number, source: Uint8Array): void {
    this.check(offset, source.byteLength);
    this.bytes.set(source, offset);
  }
}
