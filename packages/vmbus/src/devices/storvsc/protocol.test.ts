import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ChannelProperties,
  ProtocolVersion,
  ScsiRequest,
  STORVSC_NEGOTIABLE_VERSIONS,
  SubChannelRequest,
  StorvscVersions,
  VstorOperation,
  VstorPacket,
  storvscVersion,
} from './protocol.ts';
import { BlockLimitsPage, FixedSense, InquiryData, ReadCapacity16Data, UnmapParameters } from './scsi.ts';
import { decodeVstorPacket, encodeSubChannelCount, encodeProtocolVersion, encodeScsiCompletion, encodeScsiRequest, readCompletionSense, readScsiRequest, vstorPacket } from './codec.ts';

describe('vstor protocol layouts (vmbus-wire.md §8.1)', () => {
  it('has the spec sizes', () => {
    expect(VstorPacket.SIZE).toBe(64);
    expect(VstorPacket.union + VstorPacket.UNION_SIZE).toBe(VstorPacket.SIZE);
    expect(ScsiRequest.SIZE).toBe(52);
    expect(ScsiRequest.queueSortKey + 4 - VstorPacket.union).toBe(ScsiRequest.SIZE);
    expect(ScsiRequest.cdb - VstorPacket.union).toBe(16);
    expect(ScsiRequest.reserve - VstorPacket.union).toBe(36);
    expect(ScsiRequest.senseData + ScsiRequest.SENSE_SIZE).toBe(ScsiRequest.reserve);
    expect(ChannelProperties.reserved2 + 8 - VstorPacket.union).toBe(ChannelProperties.SIZE);
    expect(ProtocolVersion.revision + 2 - VstorPacket.union).toBe(ProtocolVersion.SIZE);
    expect(SubChannelRequest.count).toBe(VstorPacket.union);
    expect(SubChannelRequest.SIZE).toBe(2);
    expect(FixedSense.SIZE).toBeLessThanOrEqual(ScsiRequest.SENSE_SIZE);
    expect(InquiryData.revision + InquiryData.REVISION_SIZE).toBe(InquiryData.SIZE);
    expect(ReadCapacity16Data.SIZE).toBe(32);
    expect(BlockLimitsPage.SIZE).toBe(64);
    expect(UnmapParameters.DESCRIPTOR_SIZE).toBe(16);
  });

  it('numbers versions major << 8 | minor and negotiates newest first', () => {
    expect(StorvscVersions.win10).toBe(0x0602);
    expect(StorvscVersions.win8_1).toBe(0x0600);
    expect(StorvscVersions.win8).toBe(0x0501);
    expect(storvscVersion(4, 2)).toBe(0x0402);
    expect(STORVSC_NEGOTIABLE_VERSIONS).toEqual([0x0602, 0x0600, 0x0501]);
  });

  it('round-trips a request and a completion', () => {
    const packet = vstorPacket(VstorOperation.executeSrb, 1);
    encodeScsiRequest(packet, { lun: 3, cdb: Uint8Array.of(0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0), dataIn: 1, dataTransferLength: 512, srbFlags: 0x48 });
    const decoded = decodeVstorPacket(packet, 0, packet.length);
    expect(decoded).toMatchObject({ ok: true, flags: 1, message: { op: 'execute-srb', srb: { lun: 3, cdbLength: 10, dataIn: 1, dataTransferLength: 512, srbFlags: 0x48, senseInfoLength: 20 } } });
    const reply = new Uint8Array(64);
    const srb = (decoded as { message: { srb: Parameters<typeof encodeScsiCompletion>[1] } }).message.srb;
    encodeScsiCompletion(reply, srb, { srbStatus: 0x84, scsiStatus: 2, dataTransferLength: 0, sense: Uint8Array.of(0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0, 0, 0, 0, 0) }, 0);
    const completion = readScsiRequest(reply, 0, false);
    expect(completion).toMatchObject({ srbStatus: 0x84, scsiStatus: 2, lun: 3, senseInfoLength: 18 });
    expect(readCompletionSense(reply)[12]).toBe(0x21);
  });

  it('round-trips CREATE_SUB_CHANNELS with its u16 count (Linux writes it at byte 12)', () => {
    const packet = vstorPacket(VstorOperation.createSubChannels, 1);
    encodeSubChannelCount(packet, 7);
    expect(Array.from(packet.subarray(0, 16))).toEqual([13, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0]);
    expect(decodeVstorPacket(packet, 0, 64)).toMatchObject({ ok: true, message: { op: 'create-sub-channels', count: 7 } });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (count) => {
        encodeSubChannelCount(packet, count);
        expect(decodeVstorPacket(packet, 0, 64)).toMatchObject({ ok: true, message: { op: 'create-sub-channels', count } });
      }),
    );
  });

  it('decodes a version query', () => {
    const packet = vstorPacket(VstorOperation.queryProtocolVersion, 1);
    encodeProtocolVersion(packet, 0x0602);
    expect(decodeVstorPacket(packet, 0, 64)).toMatchObject({ ok: true, message: { op: 'query-protocol-version', version: 0x0602, revision: 0 } });
  });

  it('refuses short packets and bad SRB fields', () => {
    expect(decodeVstorPacket(new Uint8Array(40), 0, 40)).toMatchObject({ ok: false, reason: 'packet-too-short' });
    const bad = (patch: (p: Uint8Array) => void) => {
      const packet = vstorPacket(VstorOperation.executeSrb, 1);
      encodeScsiRequest(packet, { lun: 0, cdb: new Uint8Array(6), dataIn: 2, dataTransferLength: 0, srbFlags: 0 });
      patch(packet);
      return decodeVstorPacket(packet, 0, 64);
    };
    expect(bad((p) => (p[ScsiRequest.length] = 36))).toMatchObject({ ok: false, reason: 'srb-length' });
    expect(bad((p) => (p[ScsiRequest.cdbLength] = 0))).toMatchObject({ ok: false, reason: 'cdb-length' });
    expect(bad((p) => (p[ScsiRequest.cdbLength] = 17))).toMatchObject({ ok: false, reason: 'cdb-length' });
    expect(bad((p) => (p[ScsiRequest.senseInfoLength] = 21))).toMatchObject({ ok: false, reason: 'sense-length' });
    expect(bad((p) => (p[ScsiRequest.dataIn] = 3))).toMatchObject({ ok: false, reason: 'data-direction' });
    expect(decodeVstorPacket(vstorPacket(99, 0), 0, 64)).toMatchObject({ ok: true, message: { op: 'unrecognized', operation: 99 } });
  });

  it('never throws on arbitrary bytes, and a decoded SRB respects the wire limits (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), fc.nat(8), (bytes, offset) => {
        const result = decodeVstorPacket(bytes, offset, Math.max(0, bytes.length - offset));
        if (result.ok && result.message.op === 'execute-srb') {
          const { srb } = result.message;
          expect(srb.cdb.length).toBe(srb.cdbLength);
          expect(srb.cdbLength).toBeGreaterThan(0);
          expect(srb.cdbLength).toBeLessThanOrEqual(16);
          expect(srb.senseInfoLength).toBeLessThanOrEqual(20);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
