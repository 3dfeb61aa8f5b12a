/**
 * Layout sizes against the spec, golden bytes of a header and a region table, codec round trips
 * (qemu's own header bytes, log entries including one that wraps the circular log, parent
 * locators, BAT entries).
 */
import { crc32c } from '@node-rs/crc32';
import { parseGuid } from '@viridian/vmbus';
import { open } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bat, batGeometry, bitmapEntryIndex, payloadEntryIndex } from './bat.ts';
import { decodeHeader, serializeHeader } from './header.ts';
import * as L from './layout.ts';
import { encodeLogEntry, scanLog } from './log.ts';
import { parseParentLocator, serializeParentLocator } from './parent-locator.ts';
import { parseRegionTable, serializeRegionTable } from './region-table.ts';
import { qemuImg, tempFolder } from './vhdx.test-support.ts';

const G1 = parseGuid('00112233-4455-6677-8899-aabbccddeeff');
const G2 = parseGuid('11111111-2222-3333-4444-555555555555');
const G3 = parseGuid('a0a1a2a3-b0b1-c0c1-d0d1-d2d3d4d5d6d7');

describe('layout sizes (VHDX 1.0 / qemu vhdx.h)', () => {
  it('match the spec', () => {
    expect(L.FileIdentifierLayout.SIZE).toBe(8 + 512);
    expect(L.HeaderLayout.SIZE).toBe(80);
    expect(L.HeaderLayout.CHECKSUM_SIZE).toBe(4096);
    expect(L.RegionTableHeaderLayout.SIZE).toBe(16);
    expect(L.RegionTableEntryLayout.SIZE).toBe(32);
    expect(L.MetadataTableHeaderLayout.SIZE).toBe(32);
    expect(L.MetadataTableEntryLayout.SIZE).toBe(32);
    expect(L.FileParametersLayout.SIZE).toBe(8);
    expect(L.ParentLocatorHeaderLayout.SIZE).toBe(20);
    expect(L.ParentLocatorEntryLayout.SIZE).toBe(12);
    expect(L.LogEntryHeaderLayout.SIZE).toBe(64);
    expect(L.LogDescriptorLayout.SIZE).toBe(32);
    expect(L.LogDataSectorLayout.SIZE).toBe(4096);
    expect(L.LogDataSectorLayout.data + L.LogDataSectorLayout.DATA_SIZE).toBe(L.LogDataSectorLayout.sequenceLow);
    expect(L.BatEntryLayout.SIZE).toBe(8);
    expect(L.HeaderSection.regionTable2 + L.HeaderSection.SLOT_SIZE).toBeLessThanOrEqual(L.HeaderSection.SIZE);
  });
});

describe('golden bytes', () => {
  it('header', () => {
    const bytes = serializeHeader({ sequenceNumber: 0x0102030405n, fileWriteGuid: G1, dataWriteGuid: G2, logGuid: G3, logVersion: 0, version: 1, logLength: L.MiB, logOffset: L.MiB });
    const hex = Buffer.from(bytes.subarray(0, 80)).toString('hex');
    const crc = Buffer.from(bytes.subarray(4, 8)).toString('hex');
    expect(hex).toBe(
      '68656164' + crc + '0504030201000000' +
        '33221100554477668899aabbccddeeff' + '11111111222233334444555555555555' + 'a3a2a1a0b1b0c1c0d0d1d2d3d4d5d6d7' +
        '0000' + '0100' + '00001000' + '0000100000000000',
    );
    expect(bytes.subarray(80).every((b) => b === 0)).toBe(true);
    const zeroed = Buffer.from(bytes);
    zeroed.fill(0, 4, 8);
    expect(Buffer.from(bytes.subarray(4, 8)).readUInt32LE()).toBe(crc32c(zeroed));
  });

  it('region table', () => {
    const bytes = serializeRegionTable({ bat: { fileOffset: 2 * L.MiB, length: L.MiB }, metadata: { fileOffset: 3 * L.MiB, length: L.MiB } });
    expect(bytes.byteLength).toBe(64 * 1024);
    const hex = Buffer.from(bytes.subarray(0, 80)).toString('hex');
    expect(hex.slice(0, 8)).toBe('72656769');
    expect(hex.slice(16)).toBe(
      '02000000' + '00000000' +
        '6677c22d23f600429d64115e9bfd4a08' + '0000200000000000' + '00001000' + '01000000' +
        '06a27c8b90479a4bb8fe575f050f886e' + '0000300000000000' + '00001000' + '01000000',
    );
    const zeroed = Buffer.from(bytes);
    zeroed.fill(0, 4, 8);
    expect(Buffer.from(bytes.subarray(4, 8)).readUInt32LE()).toBe(crc32c(zeroed));
    expect(parseRegionTable(bytes, 'x')).toEqual({ bat: { fileOffset: 2 * L.MiB, length: L.MiB }, metadata: { fileOffset: 3 * L.MiB, length: L.MiB } });
  });

  describe('qemu-img headers', () => {
    let folder: Awaited<ReturnType<typeof tempFolder>>;
    beforeAll(async () => {
      folder = await tempFolder();
    });
    afterAll(async () => {
      await folder.remove();
    });
    it('decode and re-encode to the same 4 KiB', async () => {
      const path = folder.file('q.vhdx');
      await qemuImg('create', '-q', '-f', 'vhdx', path, '8M');
      const file = await open(path, 'r');
      for (const offset of [L.HeaderSection.header1, L.HeaderSection.header2]) {
        const slot = Buffer.alloc(4096);
        await file.read(slot, 0, 4096, offset);
        const decoded = decodeHeader(slot);
        expect(decoded.valid).toBe(true);
        if (decoded.valid) expect(Buffer.from(serializeHeader(decoded.header)).equals(slot)).toBe(true);
      }
      const table = Buffer.alloc(64 * 1024);
      await file.read(table, 0, table.byteLength, L.HeaderSection.regionTable1);
      expect(parseRegionTable(table, path).bat.fileOffset % L.MiB).toBe(0);
      await file.close();
    });
  });
});

describe('codecs', () => {
  it('log entries round trip, also across the end of the circular log', () => {
    const sector = (fill: number): Uint8Array => new Uint8Array(4096).fill(fill).fill(fill + 1, 0, 8).fill(fill + 2, 4092);
    const writes = [
      { kind: 'data' as const, fileOffset: 2 * L.MiB, data: sector(10) },
      { kind: 'zero' as const, fileOffset: 5 * L.MiB, length: 8192 },
      { kind: 'data' as const, fileOffset: 3 * L.MiB + 4096, data: sector(20) },
    ];
    const log = new Uint8Array(L.MiB);
    const entry = encodeLogEntry({ sequenceNumber: 0x100000007n, logGuid: G1, tail: L.MiB - 8192, flushedFileOffset: 6 * L.MiB, lastFileOffset: 6 * L.MiB, writes });
    expect(entry.byteLength).toBe(3 * 4096);
    log.set(entry.subarray(0, 8192), L.MiB - 8192);
    log.set(entry.subarray(8192), 0);
    const plan = scanLog(log, G1, 6 * L.MiB, 'x');
    expect(plan?.entries.length).toBe(1);
    expect(plan?.entries[0]?.writes).toEqual(writes);
    expect(plan?.nextSequenceNumber).toBe(0x100000008n);
    expect(scanLog(log, G2, 6 * L.MiB, 'x')).toBeNull();
  });

  it('parent locators round trip', () => {
    const entries = new Map([
      ['parent_linkage', '{00112233-4455-6677-8899-aabbccddeeff}'],
      ['relative_path', '.\\base.vhdx'],
    ]);
    expect(parseParentLocator(serializeParentLocator(entries), 'x').entries).toEqual(entries);
  });

  it('BAT entries and interleaving', () => {
    const g = batGeometry(10 * 1024 * L.MiB, L.MiB, 512, false);
    expect(g.chunkRatio).toBe(4096);
    expect(payloadEntryIndex(g, 4096)).toBe(4097);
    expect(bitmapEntryIndex(g, 0)).toBe(4096);
    expect(g.totalEntries).toBe(10240 + 2);
    const bat = new Bat(Buffer.alloc(Bat.bytesFor(g)), g);
    bat.set(3, L.PayloadBlockState.fullyPresent, 0x123456 * L.MiB);
    expect(bat.get(3)).toEqual({ state: 6, fileOffset: 0x123456 * L.MiB });
    expect(bat.bytes.readBigUInt64LE(24)).toBe((0x123456n << 20n) | 6n);
    expect(bat.takeDirty()).toEqual([0]);
    const diff = batGeometry(10 * 1024 * L.MiB, 2 * L.MiB, 512, true);
    expect(diff.totalEntries).toBe(3 * (2048 + 1));
  });
});
