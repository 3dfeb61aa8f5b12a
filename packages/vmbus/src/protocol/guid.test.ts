/** GUID parsing and the mixed-endian wire form of vmbus-wire.md §0. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeGuid, encodeGuid, formatGuidBraced, guidToBytes, isGuid, NIL_GUID, parseGuid } from './guid.ts';
import { InvalidArgumentError } from '../errors.ts';

describe('GUID', () => {
  it('encodes the §0 example in mixed-endian order', () => {
    const guid = parseGuid('{f8615163-df3e-46c5-913f-f2d2f965ed0e}');
    expect(guid).toBe('f8615163-df3e-46c5-913f-f2d2f965ed0e');
    expect(Buffer.from(guidToBytes(guid)).toString('hex')).toBe('635161f83edfc546913ff2d2f965ed0e');
    const wire = Uint8Array.from([0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e]);
    expect(decodeGuid(wire)).toBe(guid);
    expect(formatGuidBraced(guid)).toBe('{f8615163-df3e-46c5-913f-f2d2f965ed0e}');
  });

  it('canonicalises case and braces, and refuses non-GUIDs', () => {
    expect(parseGuid('F8615163-DF3E-46C5-913F-F2D2F965ED0E')).toBe('f8615163-df3e-46c5-913f-f2d2f965ed0e');
    for (const bad of ['', 'f8615163df3e46c5913ff2d2f965ed0e', '{f8615163-df3e-46c5-913f-f2d2f965ed0e', 'g8615163-df3e-46c5-913f-f2d2f965ed0e']) {
      expect(isGuid(bad)).toBe(false);
      expect(() => parseGuid(bad)).toThrow(InvalidArgumentError);
    }
    expect(decodeGuid(new Uint8Array(16))).toBe(NIL_GUID);
  });

  it('round-trips any GUID and any 16 bytes, at any offset', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 0, max: 8 }), (uuid, offset) => {
        const guid = parseGuid(uuid);
        const buffer = new Uint8Array(offset + 16);
        encodeGuid(guid, buffer, offset);
        expect(decodeGuid(buffer, offset)).toBe(guid);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        expect(guidToBytes(decodeGuid(bytes))).toEqual(bytes);
      }),
    );
  });

  it('refuses offsets outside the buffer', () => {
    expect(() => decodeGuid(new Uint8Array(15))).toThrow(InvalidArgumentError);
    expect(() => encodeGuid(NIL_GUID, new Uint8Array(16), 1)).toThrow(InvalidArgumentError);
  });
});
