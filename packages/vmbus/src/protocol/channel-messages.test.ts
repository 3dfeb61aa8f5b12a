/**
 * Channel messages against vmbus-wire.md §4: every layout's offsets and SIZE written out
 * literally from the reference, the table's coverage and directions, round trips of every type
 * (fast-check), golden byte images, and one malformed message per decode rejection reason.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChannelMessageType as T,
  GPADL_BODY_MAX_PFNS,
  GPADL_HEADER_MAX_PFNS,
  GpadlBodyLayout,
  GpadlCreatedLayout,
  GpadlHeaderLayout,
  GpadlTeardownLayout,
  GpadlTorndownLayout,
  HeaderOnlyLayout,
  InitiateContactLayout,
  MAX_CHANNEL_MESSAGE_SIZE,
  ModifyChannelLayout,
  ModifyChannelResponseLayout,
  OfferChannelLayout,
  OpenChannelLayout,
  OpenChannelResultLayout,
  RelidOnlyLayout,
  TlConnectRequestLayout,
  VersionResponseLayout,
} from './channel-message-layout.ts';
import { decodeChannelMessage, encodeChannelMessage } from './channel-message-codec.ts';
import { CHANNEL_MESSAGE_TABLE, channelMessageSpec, type DecodeFailureReason } from './channel-message-table.ts';
import { channelId, gpadlId, type ChannelMessage } from './channel-messages.ts';
import { anyMessage, messageArbitraries } from './channel-message-arbitraries.test-support.ts';
import { parseGuid } from './guid.ts';
import { VmbusVersions } from './vmbus-version.ts';
import { InvalidArgumentError } from '../errors.ts';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('layouts (§4.4, §4.5)', () => {
  it('has the reference offsets and sizes', () => {
    expect(MAX_CHANNEL_MESSAGE_SIZE).toBe(240);
    expect(HeaderOnlyLayout.SIZE).toBe(8);
    expect({ ...OfferChannelLayout }).toEqual({
      interfaceType: 8,
      interfaceInstance: 24,
      reserved1: 40,
      reserved2: 48,
      channelFlags: 56,
      mmioMegabytes: 58,
      userDefined: 60,
      subChannelIndex: 180,
      mmioMegabytesOptional: 182,
      childRelid: 184,
      monitorId: 188,
      monitorAllocated: 189,
      isDedicatedInterrupt: 190,
      connectionId: 192,
      USER_DEFINED_SIZE: 120,
      SIZE: 196,
    });
    expect({ ...RelidOnlyLayout }).toEqual({ childRelid: 8, SIZE: 12 });
    expect({ ...OpenChannelLayout }).toEqual({
      childRelid: 8,
      openId: 12,
      ringBufferGpadlHandle: 16,
      targetVp: 20,
      downstreamRingBufferPageOffset: 24,
      userData: 28,
      USER_DATA_SIZE: 120,
      SIZE: 148,
    });
    expect({ ...OpenChannelResultLayout }).toEqual({ childRelid: 8, openId: 12, status: 16, SIZE: 20 });
    expect({ ...GpadlHeaderLayout }).toEqual({
      childRelid: 8,
      gpadl: 12,
      rangeBufferLength: 16,
      rangeCount: 18,
      rangeByteCount: 20,
      rangeByteOffset: 24,
      pfns: 28,
      RANGE_DATA: 20,
      PFN_SIZE: 8,
      SIZE: 28,
    });
    expect({ ...GpadlBodyLayout }).toEqual({ messageNumber: 8, gpadl: 12, pfns: 16, PFN_SIZE: 8, SIZE: 16 });
    expect({ ...GpadlCreatedLayout }).toEqual({ childRelid: 8, gpadl: 12, status: 16, SIZE: 20 });
    expect({ ...GpadlTeardownLayout }).toEqual({ childRelid: 8, gpadl: 12, SIZE: 16 });
    expect({ ...GpadlTorndownLayout }).toEqual({ gpadl: 8, SIZE: 12 });
    expect({ ...InitiateContactLayout }).toEqual({
      versionRequested: 8,
      targetVcpu: 12,
      interruptPage: 16,
      messageSint: 16,
      messageVtl: 17,
      reserved: 18,
      featureFlags: 20,
      monitorPage1: 24,
      monitorPage2: 32,
      SIZE: 40,
    });
    expect({ ...VersionResponseLayout }).toEqual({ versionSupported: 8, connectionState: 9, padding: 10, messageConnectionId: 12, SIZE: 16 });
    expect({ ...TlConnectRequestLayout }).toEqual({ guestEndpointId: 8, hostServiceId: 24, SIZE: 40 });
    expect({ ...ModifyChannelLayout }).toEqual({ childRelid: 8, targetVp: 12, SIZE: 16 });
    expect({ ...ModifyChannelResponseLayout }).toEqual({ childRelid: 8, status: 12, SIZE: 16 });
  });

  it('fits 26 PFNs in a header (236 bytes) and 28 in a body (240 bytes)', () => {
    expect(GPADL_HEADER_MAX_PFNS).toBe(26);
    expect(GPADL_BODY_MAX_PFNS).toBe(28);
    expect(GpadlHeaderLayout.SIZE + 26 * 8).toBe(236);
    expect(GpadlBodyLayout.SIZE + 28 * 8).toBe(240);
  });
});

describe('message table (§4.2)', () => {
  const expected: [number, 'guestToHost' | 'hostToGuest', number][] = [
    [1, 'hostToGuest', 196],
    [2, 'hostToGuest', 12],
    [3, 'guestToHost', 8],
    [4, 'hostToGuest', 8],
    [5, 'guestToHost', 148],
    [6, 'hostToGuest', 20],
    [7, 'guestToHost', 12],
    [8, 'guestToHost', 28],
    [9, 'guestToHost', 24],
    [10, 'hostToGuest', 20],
    [11, 'guestToHost', 16],
    [12, 'hostToGuest', 12],
    [13, 'guestToHost', 12],
    [14, 'guestToHost', 40],
    [15, 'hostToGuest', 16],
    [16, 'guestToHost', 8],
    [17, 'hostToGuest', 8],
    [18, 'guestToHost', 8],
    [19, 'guestToHost', 8],
    [20, 'hostToGuest', 8],
    [21, 'guestToHost', 40],
    [22, 'guestToHost', 16],
    [23, 'hostToGuest', 8],
    [24, 'hostToGuest', 16],
    [25, 'guestToHost', 8],
    [26, 'hostToGuest', 8],
  ];

  it('has one row per message number 1..26 with the reference direction and minimum length', () => {
    expect(CHANNEL_MESSAGE_TABLE.map((row) => [row.type, row.direction, row.minSize])).toEqual(expected);
    expect(channelMessageSpec(0)).toBeUndefined();
    expect(channelMessageSpec(27)).toBeUndefined();
  });

  it('gates MODIFYCHANNEL at 4.1, MODIFYCHANNEL_RESPONSE at 5.3 and ModifyConnection on a feature', () => {
    expect(channelMessageSpec(T.modifyChannel)?.minVersion).toBe(VmbusVersions.win10V4_1);
    expect(channelMessageSpec(T.modifyChannelResponse)?.minVersion).toBe(VmbusVersions.win10V5_3);
    expect(channelMessageSpec(T.initiateContact)?.minVersion).toBeUndefined();
    expect(channelMessageSpec(T.versionResponse)?.minVersion).toBeUndefined();
    expect(channelMessageSpec(T.modifyConnection)?.features).toBe(0x4);
  });
});

describe('round trips', () => {
  for (const [type, arbitrary] of messageArbitraries) {
    it(`decode(encode(m)) = m for ${channelMessageSpec(type)?.name}`, () => {
      fc.assert(
        fc.property(arbitrary, (message) => {
          const bytes = encodeChannelMessage(message);
          expect(bytes.byteLength).toBeLessThanOrEqual(240);
          const decoded = decodeChannelMessage(bytes);
          expect(decoded).toEqual({ ok: true, message });
          // Re-encoding the decoded value gives the same bytes.
          if (decoded.ok) expect(hex(encodeChannelMessage(decoded.message))).toBe(hex(bytes));
        }),
        { numRuns: 150 },
      );
    });
  }

  it('never throws on random bytes, and whatever decodes re-encodes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 260 }), fc.integer({ min: 1, max: 30 }), (bytes, type) => {
        if (bytes.byteLength >= 4) new DataView(bytes.buffer).setUint32(0, type, true);
        const result = decodeChannelMessage(bytes, VmbusVersions.win10V5_3);
        if (result.ok) expect(() => encodeChannelMessage(result.message)).not.toThrow();
        else expect(typeof result.reason).toBe('string');
      }),
      { numRuns: 3000 },
    );
  });
});

describe('golden bytes', () => {
  it('OFFERCHANNEL puts each field at its §4.4 offset', () => {
    const userDefined = new Uint8Array(120).fill(0xab);
    const bytes = encodeChannelMessage({
      type: T.offerChannel,
      interfaceType: parseGuid('f8615163-df3e-46c5-913f-f2d2f965ed0e'),
      interfaceInstance: parseGuid('00112233-4455-6677-8899-aabbccddeeff'),
      channelFlags: 0x2001,
      mmioMegabytes: 0x0203,
      userDefined,
      subChannelIndex: 5,
      mmioMegabytesOptional: 7,
      childRelid: channelId(0x1a),
      monitorId: 0x21,
      monitorAllocated: true,
      dedicatedInterrupt: true,
      connectionId: 0x10203,
    });
    expect(bytes.byteLength).toBe(196);
    expect(hex(bytes.subarray(0, 8))).toBe('0100000000000000');
    expect(hex(bytes.subarray(8, 24))).toBe('635161f83edfc546913ff2d2f965ed0e');
    expect(hex(bytes.subarray(24, 40))).toBe('33221100554477668899aabbccddeeff');
    expect(hex(bytes.subarray(40, 56))).toBe('00'.repeat(16));
    expect(hex(bytes.subarray(56, 60))).toBe('01200302');
    expect(bytes.subarray(60, 180).every((b) => b === 0xab)).toBe(true);
    expect(hex(bytes.subarray(180, 196))).toBe('0500' + '0700' + '1a000000' + '21' + '01' + '0100' + '03020100');
  });

  it('OPENCHANNEL puts each field at its §4.4 offset', () => {
    const bytes = encodeChannelMessage({
      type: T.openChannel,
      childRelid: channelId(3),
      openId: 3,
      ringBufferGpadlId: gpadlId(0xe1e10),
      targetVp: 1,
      downstreamRingBufferPageOffset: 9,
      userData: new Uint8Array(120),
    });
    expect(bytes.byteLength).toBe(148);
    expect(hex(bytes.subarray(0, 28))).toBe('0500000000000000' + '03000000' + '03000000' + '101e0e00' + '01000000' + '09000000');
  });

  it('GPADL_HEADER carries buflen, one range and the PFNs at 28 (§4.5)', () => {
    const bytes = encodeChannelMessage({
      type: T.gpadlHeader,
      childRelid: channelId(1),
      gpadlId: gpadlId(0xe1e11),
      rangeBufferLength: 8 + 8 * 2,
      rangeCount: 1,
      byteCount: 8192,
      byteOffset: 0,
      pfns: [0x100, 0x1_0000_0001],
    });
    expect(hex(bytes)).toBe(
      '0800000000000000' + '01000000' + '111e0e00' + '1800' + '0100' + '00200000' + '00000000' + '0001000000000000' + '0100000001000000',
    );
  });

  it('INITIATE_CONTACT carries the SINT from 5.0 and the interrupt page before', () => {
    const modern = encodeChannelMessage({
      type: T.initiateContact,
      versionRequested: VmbusVersions.win10V5_3,
      targetVcpu: 0,
      target: { kind: 'sint', messageSint: 2, messageVtl: 0, featureFlags: 0 },
      monitorPage1: 0x5000,
      monitorPage2: 0x6000,
    });
    expect(hex(modern)).toBe('0e00000000000000' + '03000500' + '00000000' + '02000000' + '00000000' + '0050000000000000' + '0060000000000000');
    const old = encodeChannelMessage({
      type: T.initiateContact,
      versionRequested: VmbusVersions.win8,
      targetVcpu: 1,
      target: { kind: 'interruptPage', interruptPage: 0x4000 },
      monitorPage1: 0,
      monitorPage2: 0,
    });
    expect(hex(old.subarray(8, 24))).toBe('04000200' + '01000000' + '0040000000000000');
  });
});

describe('malformed messages (one per rejection reason)', () => {
  function withType(type: number, size: number, fill?: (view: DataView) => void): Uint8Array {
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, type, true);
    fill?.(view);
    return bytes;
  }
  const cases: [DecodeFailureReason, Uint8Array, number?][] = [
    ['oversize', withType(T.gpadlBody, 248)],
    ['too-short', new Uint8Array(7)],
    ['too-short', withType(T.offerChannel, 195)],
    ['too-short', withType(T.gpadlBody, 16)],
    ['unknown-type', withType(0, 8)],
    ['unknown-type', withType(27, 8)],
    ['unknown-type', withType(0xffff_ffff, 8)],
    ['not-in-version', withType(T.modifyChannel, 16, (v) => v.setUint32(8, 1, true)), VmbusVersions.win10],
    ['not-in-version', withType(T.modifyChannelResponse, 16, (v) => v.setUint32(8, 1, true)), VmbusVersions.win10V5_2],
    ['missing-feature', withType(T.modifyConnection, 8), 0x0006_0000],
    ['misaligned-length', withType(T.gpadlHeader, 30, (v) => v.setUint32(8, 1, true))],
    ['misaligned-length', withType(T.gpadlBody, 236)],
    ['relid-out-of-range', withType(T.openChannel, 148)],
    ['relid-out-of-range', withType(T.closeChannel, 12, (v) => v.setUint32(8, 2048, true))],
    ['pfn-out-of-range', withType(T.gpadlBody, 24, (v) => v.setUint32(20, 0x100, true))],
    ['address-out-of-range', withType(T.initiateContact, 40, (v) => v.setUint32(36, 0x0010_0000, true))],
    ['address-out-of-range', withType(T.initiateContact, 40, (v) => v.setUint32(20, 0xffff_ffff, true))],
  ];

  for (const [reason, bytes, negotiated] of cases) {
    it(`rejects ${reason} (${bytes.byteLength} bytes)`, () => {
      const result = decodeChannelMessage(bytes, negotiated);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.reason).toBe(reason);
        expect(result.detail.length).toBeGreaterThan(0);
      }
    });
  }

  it('covers every reason', () => {
    const all: DecodeFailureReason[] = [
      'too-short',
      'oversize',
      'unknown-type',
      'not-in-version',
      'missing-feature',
      'misaligned-length',
      'relid-out-of-range',
      'pfn-out-of-range',
      'address-out-of-range',
    ];
    expect(new Set(cases.map(([reason]) => reason))).toEqual(new Set(all));
  });

  it('accepts trailing bytes up to 240 (forward-compatible extensions)', () => {
    const bytes = new Uint8Array(56);
    bytes.set(encodeChannelMessage({ type: T.relidReleased, childRelid: channelId(9) }));
    expect(decodeChannelMessage(bytes)).toEqual({ ok: true, message: { type: T.relidReleased, childRelid: 9 } });
  });

  it('refuses to encode fields that do not fit', () => {
    const bad: ChannelMessage[] = [
      { type: T.closeChannel, childRelid: 0 as never },
      { type: T.openChannelResult, childRelid: channelId(1), openId: -1, status: 0 },
      { type: T.gpadlBody, messageNumber: 0, gpadlId: gpadlId(1), pfns: [] },
      { type: T.gpadlBody, messageNumber: 0, gpadlId: gpadlId(1), pfns: new Array<number>(29).fill(1) },
      { type: T.gpadlHeader, childRelid: channelId(1), gpadlId: gpadlId(1), rangeBufferLength: 0, rangeCount: 1, byteCount: 0, byteOffset: 0, pfns: new Array<number>(27).fill(1) },
      { type: T.openReservedChannel, body: new Uint8Array(233) },
      {
        type: T.initiateContact,
        versionRequested: VmbusVersions.win10V5,
        targetVcpu: 0,
        target: { kind: 'interruptPage', interruptPage: 0 },
        monitorPage1: 0,
        monitorPage2: 0,
      },
    ];
    for (const message of bad) expect(() => encodeChannelMessage(message)).toThrow(InvalidArgumentError);
  });

  it('decodes any message with the version gate off before negotiation', () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        expect(decodeChannelMessage(encodeChannelMessage(message)).ok).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
