/**
 * storvsp's parser and state machine: every validation branch of `parseStorvspPacket`, a
 * fast-check fuzz of it (arbitrary vstor bytes and GPA ranges never throw), the initialization
 * state machine, and data moving through a guest buffer whose pages are not contiguous.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GpaRangeAccess,
  ScsiOp,
  ScsiRequest,
  VstorOperation,
  VstorStatus,
  encodeProtocolVersion,
  encodeScsiRequest,
  vstorPacket,
  type GpaRange,
  type IncomingPacket,
} from '@viridian/vmbus';
import { createDisk } from '../../storage/disk-files.ts';
import { GuestDataBuffer, parseStorvspPacket } from './parse.ts';
import { ScsiController } from './scsi/scsi-controller.ts';
import { INITIAL_STATE, initStep, restoreState, saveState, type StorvspInitState } from './state.ts';

const memory = new SharedArrayBuffer(64 * 4096);

/** A parsed packet as the ring hands it over (the fields storvsp reads). */
function packet(payload: Uint8Array, ranges?: GpaRange[]): IncomingPacket {
  const bytes = new Uint8Array(16 + payload.length);
  bytes.set(payload, 16);
  const common = { type: ranges ? 9 : 6, flags: 1, completionRequested: true, transactionId: 7n, bytes, packetLength: bytes.length, payloadOffset: 16, payloadLength: payload.length, payload: () => payload };
  return (ranges ? { ...common, kind: 'gpa-direct', ranges } : { ...common, kind: 'inband' }) as IncomingPacket;
}

function srb(cdb: number[], dataTransferLength: number, patch?: (p: Uint8Array) => void): Uint8Array {
  const p = vstorPacket(VstorOperation.executeSrb, 1);
  encodeScsiRequest(p, { lun: 0, cdb: Uint8Array.from(cdb), dataIn: 1, dataTransferLength, srbFlags: 0x40 });
  patch?.(p);
  return p;
}

const read10 = [ScsiOp.read10, 0, 0, 0, 0, 0, 0, 0, 1, 0];

describe('storvsp parser', () => {
  it('parses init messages and SRBs', () => {
    const version = vstorPacket(VstorOperation.queryProtocolVersion, 1);
    encodeProtocolVersion(version, 0x0602);
    expect(parseStorvspPacket(packet(version), memory)).toEqual({ kind: 'init', message: { op: 'query-protocol-version', version: 0x0602 } });
    expect(parseStorvspPacket(packet(vstorPacket(VstorOperation.beginInitialization, 1)), memory)).toEqual({ kind: 'init', message: { op: 'begin-initialization' } });
    expect(parseStorvspPacket(packet(vstorPacket(VstorOperation.resetBus, 1)), memory)).toEqual({ kind: 'unsupported', operation: VstorOperation.resetBus });
    const parsed = parseStorvspPacket(packet(srb(read10, 512), [{ byteCount: 512, byteOffset: 0, pfns: [3] }]), memory);
    expect(parsed).toMatchObject({ kind: 'srb', command: { op: 'read', lba: 0, blocks: 1 } });
    expect((parsed as unknown as { buffer: GuestDataBuffer }).buffer.length).toBe(512);
    expect(parseStorvspPacket(packet(srb([0, 0, 0, 0, 0, 0], 0)), memory)).toMatchObject({ kind: 'srb', command: { op: 'test-unit-ready' }, buffer: undefined });
  });

  it.each([
    ['packet-too-short', packet(new Uint8Array(40))],
    ['srb-length', packet(srb(read10, 0, (p) => (p[ScsiRequest.length] = 40)))],
    ['cdb-length', packet(srb(read10, 0, (p) => (p[ScsiRequest.cdbLength] = 0)))],
    ['sense-length', packet(srb(read10, 0, (p) => (p[ScsiRequest.senseInfoLength] = 200)))],
    ['data-direction', packet(srb(read10, 0, (p) => (p[ScsiRequest.dataIn] = 9)))],
    ['cdb-too-short', packet(srb(read10, 0, (p) => (p[ScsiRequest.cdbLength] = 6)))],
    ['unrecognized-operation', packet(vstorPacket(42, 1))],
    ['transfer-without-range', packet(srb(read10, 512))],
    ['range-count', packet(srb(read10, 512), [{ byteCount: 512, byteOffset: 0, pfns: [3] }, { byteCount: 512, byteOffset: 0, pfns: [4] }])],
    ['range-outside-memory', packet(srb(read10, 512), [{ byteCount: 512, byteOffset: 0, pfns: [64] }])],
    ['range-outside-memory', packet(srb(read10, 8192), [{ byteCount: 8192, byteOffset: 0, pfns: [3] }])],
    ['transfer-exceeds-range', packet(srb(read10, 1024), [{ byteCount: 512, byteOffset: 0, pfns: [3] }])],
    ['transfer-too-large', packet(srb(read10, 4 * 1024 * 1024), [{ byteCount: 512, byteOffset: 0, pfns: [3] }])],
  ] as const)('refuses %s', (reason, p) => {
    expect(parseStorvspPacket(p, memory)).toMatchObject({ kind: 'malformed', reason });
  });

  it('refuses packet kinds storvsc never sends', () => {
    const completion = { ...packet(vstorPacket(1, 0)), kind: 'completion' } as IncomingPacket;
    expect(parseStorvspPacket(completion, memory)).toMatchObject({ kind: 'malformed', reason: 'packet-kind' });
  });

  it('never throws on arbitrary vstor bytes and GPA ranges (fuzz)', () => {
    const range = fc.record({ byteCount: fc.nat(3 * 4096), byteOffset: fc.nat(4200), pfns: fc.array(fc.nat(80), { maxLength: 5 }) });
    const srbBytes = fc.tuple(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.nat(70_000)).map(([noise, cdb, length]) => {
      const p = noise.slice();
      p.set([3, 0, 0, 0], 0);
      encodeScsiRequest(p, { lun: noise[0]! & 0x3f, cdb, dataIn: noise[1]! % 4, dataTransferLength: length, srbFlags: 0 });
      if (noise[2]! < 64) p[ScsiRequest.cdbLength] = noise[3]!;
      return p;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), srbBytes), fc.option(fc.array(range, { minLength: 1, maxLength: 2 }), { nil: undefined }), (payload, ranges) => {
        const parsed = parseStorvspPacket(packet(payload, ranges), memory);
        if (parsed.kind === 'srb' && parsed.buffer !== undefined) {
          expect(parsed.buffer.length).toBe(parsed.srb.dataTransferLength);
          // Every byte the buffer covers is inside guest memory.
          for (const view of parsed.buffer.views(0, parsed.buffer.length)) expect(view.byteOffset + view.length).toBeLessThanOrEqual(memory.byteLength);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('storvsp initialization state machine', () => {
  it('goes BEGIN → version (newest accepted) → properties → END → ready', () => {
    let state: StorvspInitState = INITIAL_STATE;
    const go = (message: Parameters<typeof initStep>[1], versions?: number[]) => {
      const step = initStep(state, message, versions);
      state = step.next;
      return step;
    };
    expect(go({ op: 'query-properties' })).toMatchObject({ status: VstorStatus.invalidDeviceState, outOfOrder: true });
    expect(go({ op: 'begin-initialization' }).status).toBe(VstorStatus.success);
    expect(go({ op: 'end-initialization' }).outOfOrder).toBe(true);
    expect(go({ op: 'query-protocol-version', version: 0x0602 }, [0x0501]).status).toBe(VstorStatus.revisionMismatch);
    expect(go({ op: 'query-protocol-version', version: 0x0402 }, [0x0501]).status).toBe(VstorStatus.revisionMismatch);
    expect(go({ op: 'query-protocol-version', version: 0x0501 }, [0x0501]).status).toBe(VstorStatus.success);
    expect(go({ op: 'query-properties' }).status).toBe(VstorStatus.success);
    expect(go({ op: 'end-initialization' }).status).toBe(VstorStatus.success);
    expect(state).toEqual({ kind: 'ready', version: 0x0501 });
    expect(go({ op: 'begin-initialization' }).outOfOrder).toBe(true);
    expect(restoreState(JSON.parse(JSON.stringify(saveState(state))))).toEqual(state);
    expect(() => restoreState({ kind: 'ready', version: 0x0200 })).toThrow(TypeError);
  });
});

describe('data through guest pages', () => {
  it('reads and writes through non-contiguous pages, page-aligned and not (bounce)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'viridian-storvsp-'));
    try {
      const disk = await createDisk(join(dir, 'd.img'), { format: 'raw', size: 1024 * 1024 });
      const controller = new ScsiController('t', 2 * 1024 * 1024, 8);
      controller.attach(0, disk);
      const guest = new Uint8Array(memory);
      const data = Uint8Array.from({ length: 3 * 4096 }, (_, i) => (i * 13 + 5) & 0xff);
      for (const [byteOffset, pfns] of [
        [0, [5, 9, 10]],
        [256, [20, 30, 31, 40]],
      ] as const) {
        const range = new GpaRangeAccess(memory, { byteCount: data.length, byteOffset, pfns: [...pfns] });
        range.copyFrom(data);
        const buffer = new GuestDataBuffer(range, data.length);
        const blocks = data.length / 512;
        expect(await controller.executeCdb(0, Uint8Array.of(ScsiOp.write10, 0, 0, 0, 0, 16, 0, 0, blocks, 0), buffer)).toMatchObject({ status: 0, transferred: data.length });
        range.fill(0, data.length);
        expect(await controller.executeCdb(0, Uint8Array.of(ScsiOp.read10, 0, 0, 0, 0, 16, 0, 0, blocks, 0), buffer)).toMatchObject({ status: 0, transferred: data.length });
        const back = new Uint8Array(data.length);
        range.copyTo(back);
        expect(back).toEqual(data);
      }
      expect(guest[0]).toBe(0);
      await disk.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
