/**
 * The one reader/writer pair for on-disk structures (STYLE.md 7): a `DataView` over the given
 * bytes (honouring `byteOffset`/`byteLength`) with a fixed endianness per instance (VHD is
 * big-endian, VHDX little-endian). Running off the end is checked in one place and is a bug in
 * the caller's layout, so it throws a plain `RangeError`, never a disk error.
 */

/** Reads fixed-width fields from a structure copied out of a file. */
export class FieldReader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly littleEndian: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(offset: number): number {
    this.assertBounds(offset, 1);
    return this.view.getUint8(offset);
  }

  u16(offset: number): number {
    this.assertBounds(offset, 2);
    return this.view.getUint16(offset, this.littleEndian);
  }

  u32(offset: number): number {
    this.assertBounds(offset, 4);
    return this.view.getUint32(offset, this.littleEndian);
  }

  u64(offset: number): bigint {
    this.assertBounds(offset, 8);
    return this.view.getBigUint64(offset, this.littleEndian);
  }

  /** A copy of `length` bytes at `offset`. */
  slice(offset: number, length: number): Uint8Array {
    this.assertBounds(offset, length);
    return new Uint8Array(this.bytes.subarray(offset, offset + length));
  }

  /** `length` bytes at `offset` decoded as Latin-1 (for four- and eight-character cookies). */
  ascii(offset: number, length: number): string {
    this.assertBounds(offset, length);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + offset, length).toString('latin1');
  }

  /** @throws RangeError if `[offset, offset + length)` is outside the bytes. */
  assertBounds(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.byteLength) {
      throw new RangeError(`field [${offset}, ${offset + length}) is outside a ${this.bytes.byteLength}-byte structure`);
    }
  }
}

/** Writes fixed-width fields into a structure about to be written to a file. */
export class FieldWriter {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly littleEndian: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(offset: number, value: number): void {
    this.assertBounds(offset, 1);
    this.view.setUint8(offset, value);
  }

  u16(offset: number, value: number): void {
    this.assertBounds(offset, 2);
    this.view.setUint16(offset, value, this.littleEndian);
  }

  u32(offset: number, value: number): void {
    this.assertBounds(offset, 4);
    this.view.setUint32(offset, value, this.littleEndian);
  }

  u64(offset: number, value: bigint | number): void {
    this.assertBounds(offset, 8);
    this.view.setBigUint64(offset, BigInt(value), this.littleEndian);
  }

  bytesAt(offset: number, value: Uint8Array): void {
    this.assertBounds(offset, value.byteLength);
    this.bytes.set(value, offset);
  }

  ascii(offset: number, value: string): void {
    this.bytesAt(offset, Buffer.from(value, 'latin1'));
  }

  /** @throws RangeError if `[offset, offset + length)` is outside the bytes. */
  assertBounds(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.byteLength) {
      throw new RangeError(`field [${offset}, ${offset + length}) is outside a ${this.bytes.byteLength}-byte structure`);
    }
  }
}
