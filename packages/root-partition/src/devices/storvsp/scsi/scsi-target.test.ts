/**
 * The SCSI target per command: data, status and sense (SPC-4, SBC-3), on real raw disks in a temp
 * folder, and host I/O failures through a disk that fails on purpose.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdditionalSense, FixedSense, ScsiOp, ScsiStatus, SenseKey, VpdPage } from '@viridian/vmbus';
import { createDisk, openDisk } from '../../../storage/disk-files.ts';
import { DiskIoError } from '../../../storage/errors.ts';
import type { VirtualDisk } from '../../../storage/virtual-disk.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { ArrayDataBuffer, INVALID_LUN, ScsiController, type ScsiOutcome } from './index.ts';

const MiB = 1024 * 1024;
let dir: string;
let disk: VirtualDisk;
let readOnly: VirtualDisk;
let controller: ScsiController;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viridian-scsi-'));
  disk = await createDisk(join(dir, 'a.img'), { format: 'raw', size: 4 * MiB });
  await (await createDisk(join(dir, 'b.img'), { format: 'raw', size: MiB })).close();
  readOnly = await openDisk(join(dir, 'b.img'), { readOnly: true });
  controller = new ScsiController('test', 2 * MiB, 64);
  controller.attach(0, disk);
  controller.attach(5, readOnly);
});
afterAll(async () => {
  await disk.close();
  await readOnly.close();
  await rm(dir, { recursive: true, force: true });
});

async function run(lun: number, cdb: number[], buffer = new ArrayDataBuffer(new Uint8Array(4096))): Promise<ScsiOutcome & { data: Uint8Array }> {
  const outcome = await controller.executeCdb(lun, Uint8Array.from(cdb), buffer);
  if (outcome === INVALID_LUN) throw new Error('invalid LUN');
  return { ...outcome, data: buffer.bytes.subarray(0, outcome.transferred) };
}

function expectSense(outcome: ScsiOutcome, key: number, ascAscq: number): void {
  expect(outcome.status).toBe(ScsiStatus.checkCondition);
  expect(outcome.sense![FixedSense.responseCode]).toBe(0x70);
  expect(outcome.sense![FixedSense.senseKey]).toBe(key);
  expect((outcome.sense![FixedSense.asc]! << 8) | outcome.sense![FixedSense.ascq]!).toBe(ascAscq);
}

const be32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const read16 = (lba: number, blocks: number) => [ScsiOp.read16, 0, 0, 0, 0, 0, ...be32(lba), ...be32(blocks), 0, 0];
const write16 = (lba: number, blocks: number) => [ScsiOp.write16, 0, 0, 0, 0, 0, ...be32(lba), ...be32(blocks), 0, 0];

describe('SCSI target', () => {
  it('TEST UNIT READY is GOOD', async () => {
    expect(await run(0, [0, 0, 0, 0, 0, 0])).toMatchObject({ status: ScsiStatus.good, transferred: 0 });
  });

  it('INQUIRY: standard data, cut to the allocation length', async () => {
    const { status, data } = await run(0, [ScsiOp.inquiry, 0, 0, 0, 96, 0]);
    expect(status).toBe(ScsiStatus.good);
    expect(data.length).toBe(36);
    expect(data[0]).toBe(0);
    expect(data[2]).toBe(6);
    expect(Buffer.from(data.subarray(8, 16)).toString()).toBe('Msft    ');
    expect(Buffer.from(data.subarray(16, 32)).toString()).toBe('Virtual Disk    ');
    expect((await run(0, [ScsiOp.inquiry, 0, 0, 0, 5, 0])).transferred).toBe(5);
  });

  it('INQUIRY VPD pages 0x00, 0x80, 0x83, 0xB0, 0xB2', async () => {
    const supported = await run(0, [ScsiOp.inquiry, 1, VpdPage.supportedPages, 0, 255, 0]);
    expect([...supported.data.subarray(4)]).toEqual([0x00, 0x80, 0x83, 0xb0, 0xb2]);
    const serial = await run(0, [ScsiOp.inquiry, 1, VpdPage.unitSerialNumber, 0, 255, 0]);
    expect(serial.data[1]).toBe(0x80);
    expect(Buffer.from(serial.data.subarray(4)).toString()).toMatch(/^[0-9a-f]{20}$/);
    const id = await run(0, [ScsiOp.inquiry, 1, VpdPage.deviceIdentification, 0, 255, 0]);
    expect(id.data[4 + 1]! & 0x0f).toBe(3); // NAA designator
    expect(id.data[8]! >> 4).toBe(6);
    const otherId = await run(5, [ScsiOp.inquiry, 1, VpdPage.deviceIdentification, 0, 255, 0]);
    expect(otherId.data).not.toEqual(id.data);
    const limits = await run(0, [ScsiOp.inquiry, 1, VpdPage.blockLimits, 0, 255, 0]);
    const lv = new DataView(limits.data.buffer, limits.data.byteOffset);
    expect(limits.data.length).toBe(64);
    expect(lv.getUint32(8)).toBe((2 * MiB) / 512);
    expect(lv.getUint32(20)).toBeGreaterThan(0);
    const provisioning = await run(0, [ScsiOp.inquiry, 1, VpdPage.logicalBlockProvisioning, 0, 255, 0]);
    expect(provisioning.data[5]! & 0x80).toBe(0x80); // LBPU
    expectSense(await run(0, [ScsiOp.inquiry, 1, 0x99, 0, 255, 0]), SenseKey.illegalRequest, AdditionalSense.invalidFieldInCdb);
    expectSense(await run(0, [ScsiOp.inquiry, 0, 0x80, 0, 255, 0]), SenseKey.illegalRequest, AdditionalSense.invalidFieldInCdb);
  });

  it('READ CAPACITY (10) and (16)', async () => {
    const ten = await run(0, [ScsiOp.readCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(new DataView(ten.data.buffer).getUint32(0)).toBe((4 * MiB) / 512 - 1);
    expect(new DataView(ten.data.buffer).getUint32(4)).toBe(512);
    const sixteen = await run(0, [ScsiOp.serviceActionIn16, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0]);
    const v = new DataView(sixteen.data.buffer);
    expect(sixteen.transferred).toBe(32);
    expect(v.getBigUint64(0)).toBe(BigInt((4 * MiB) / 512 - 1));
    expect(v.getUint32(8)).toBe(512);
    expect(v.getUint16(14) & 0x8000).toBe(0x8000); // LBPME
    expectSense(await run(0, [ScsiOp.serviceActionIn16, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0]), SenseKey.illegalRequest, AdditionalSense.invalidCommandOperationCode);
  });

  it('WRITE and READ (6, 10, 16) move the data; FUA flushes', async () => {
    const block = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7 + 1) & 0xff);
    expect(await run(0, write16(100, 2), new ArrayDataBuffer(block.slice()))).toMatchObject({ status: ScsiStatus.good, transferred: 1024 });
    expect((await run(0, read16(100, 2))).data).toEqual(block);
    expect((await run(0, [ScsiOp.read10, 0, 0, 0, 0, 100, 0, 0, 2, 0])).data).toEqual(block);
    expect((await run(0, [ScsiOp.read6, 0, 0, 100, 2, 0])).data).toEqual(block);
    const other = block.map((b) => b ^ 0xff);
    await run(0, [ScsiOp.write10, 0x08, 0, 0, 0, 101, 0, 0, 1, 0], new ArrayDataBuffer(other.slice(0, 512)));
    await run(0, [ScsiOp.write6, 0, 0, 102, 1, 0], new ArrayDataBuffer(other.slice(512)));
    expect((await run(0, read16(101, 2))).data).toEqual(other);
    expect(await run(0, read16(0, 0))).toMatchObject({ status: ScsiStatus.good, transferred: 0 });
  });

  it('out-of-range LBAs and oversized transfers are CHECK CONDITION', async () => {
    const blocks = (4 * MiB) / 512;
    expectSense(await run(0, read16(blocks - 1, 2)), SenseKey.illegalRequest, AdditionalSense.lbaOutOfRange);
    expectSense(await run(0, write16(blocks, 1)), SenseKey.illegalRequest, AdditionalSense.lbaOutOfRange);
    expectSense(await run(0, [ScsiOp.read16, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0]), SenseKey.illegalRequest, AdditionalSense.lbaOutOfRange);
    // 16 blocks into a 4 KiB buffer: more than the buffer holds.
    expectSense(await run(0, read16(0, 16)), SenseKey.illegalRequest, AdditionalSense.invalidFieldInCdb);
  });

  it('a read-only LUN refuses writes and UNMAP with DATA PROTECT and says WP in MODE SENSE', async () => {
    expectSense(await run(5, write16(0, 1)), SenseKey.dataProtect, AdditionalSense.writeProtected);
    expectSense(await run(5, [ScsiOp.unmap, 0, 0, 0, 0, 0, 0, 0, 24, 0]), SenseKey.dataProtect, AdditionalSense.writeProtected);
    const mode = await run(5, [ScsiOp.modeSense6, 0, 0x3f, 0, 255, 0]);
    expect(mode.data[2]! & 0x80).toBe(0x80);
  });

  it('SYNCHRONIZE CACHE (10, 16) is GOOD', async () => {
    expect((await run(0, [ScsiOp.synchronizeCache10, 0, 0, 0, 0, 0, 0, 0, 0, 0])).status).toBe(ScsiStatus.good);
    expect((await run(0, [ScsiOp.synchronizeCache16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).status).toBe(ScsiStatus.good);
  });

  it('UNMAP takes block descriptors and checks the parameter list', async () => {
    const list = (lba: number, blocks: number, descriptorBytes = 16) => {
      const bytes = new Uint8Array(24);
      const v = new DataView(bytes.buffer);
      v.setUint16(0, 22);
      v.setUint16(2, descriptorBytes);
      v.setBigUint64(8, BigInt(lba));
      v.setUint32(16, blocks);
      return new ArrayDataBuffer(bytes);
    };
    const unmap = [ScsiOp.unmap, 0, 0, 0, 0, 0, 0, 0, 24, 0];
    expect((await run(0, unmap, list(8, 8))).status).toBe(ScsiStatus.good);
    expectSense(await run(0, unmap, list((4 * MiB) / 512, 1)), SenseKey.illegalRequest, AdditionalSense.lbaOutOfRange);
    expectSense(await run(0, unmap, list(0, 1, 12)), SenseKey.illegalRequest, AdditionalSense.parameterListLengthError);
    expectSense(await run(0, [ScsiOp.unmap, 0, 0, 0, 0, 0, 0, 0, 4, 0], list(0, 1)), SenseKey.illegalRequest, AdditionalSense.parameterListLengthError);
    expect((await run(0, [ScsiOp.unmap, 0, 0, 0, 0, 0, 0, 0, 0, 0])).status).toBe(ScsiStatus.good);
  });

  it('MODE SENSE (6, 10): header, block descriptor, caching and control pages', async () => {
    const six = await run(0, [ScsiOp.modeSense6, 0, 0x3f, 0, 255, 0]);
    expect(six.data[0]).toBe(six.data.length - 1);
    expect(six.data[3]).toBe(8);
    expect((six.data[4 + 5]! << 16) | (six.data[4 + 6]! << 8) | six.data[4 + 7]!).toBe(512);
    expect(six.data[12]).toBe(0x08);
    expect(six.data[14]! & 0x04).toBe(0x04); // WCE
    expect(six.data[32]).toBe(0x0a);
    const ten = await run(0, [ScsiOp.modeSense10, 0x08, 0x08, 0, 0, 0, 0, 1, 0, 0]);
    expect(new DataView(ten.data.buffer).getUint16(0)).toBe(ten.data.length - 2);
    expect(new DataView(ten.data.buffer).getUint16(6)).toBe(0); // DBD
    expect(ten.data[8]).toBe(0x08);
    expectSense(await run(0, [ScsiOp.modeSense6, 0, 0x1c, 0, 255, 0]), SenseKey.illegalRequest, AdditionalSense.invalidFieldInCdb);
    expectSense(await run(0, [ScsiOp.modeSense6, 0, 0xc8, 0, 255, 0]), SenseKey.illegalRequest, AdditionalSense.invalidFieldInCdb);
  });

  it('REPORT LUNS lists every LUN, from any LUN address', async () => {
    for (const lun of [0, 9]) {
      const { data } = await run(lun, [ScsiOp.reportLuns, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
      expect(new DataView(data.buffer).getUint32(0)).toBe(16);
      expect([data[9], data[17]]).toEqual([0, 5]);
    }
  });

  it('REQUEST SENSE returns the last sense once, then NO SENSE; unknown opcodes are INVALID COMMAND OPERATION CODE', async () => {
    expectSense(await run(0, [0xc5, 0, 0, 0, 0, 0]), SenseKey.illegalRequest, AdditionalSense.invalidCommandOperationCode);
    const first = await run(0, [ScsiOp.requestSense, 0, 0, 0, 18, 0]);
    expect(first.status).toBe(ScsiStatus.good);
    expect(first.data[2]).toBe(SenseKey.illegalRequest);
    expect(first.data[12]).toBe(0x20);
    const second = await run(0, [ScsiOp.requestSense, 0, 0, 0, 18, 0]);
    expect(second.data[2]).toBe(SenseKey.noSense);
  });

  it('a LUN without a disk is INVALID_LUN', async () => {
    expect(await controller.executeCdb(3, Uint8Array.of(0, 0, 0, 0, 0, 0))).toBe(INVALID_LUN);
  });

  it('host I/O errors become MEDIUM ERROR and SPACE ALLOCATION FAILED sense', async () => {
    const failing = (errno: string): VirtualDisk =>
      new Proxy(disk, {
        get(target, key) {
          if (key === 'readInto' || key === 'write' || key === 'flush') return () => Promise.reject(new DiskIoError(target.path, String(key), errno, new Error(errno)));
          if (key === 'path') return `${target.path}-${errno}`;
          return Reflect.get(target, key) as unknown;
        },
      });
    const broken = new ScsiController('broken', 2 * MiB, 64);
    broken.attach(0, failing('EIO'));
    broken.attach(1, failing('ENOSPC'));
    broken.attach(2, failing('EACCES'));
    const exec = async (lun: number, cdb: number[]) => (await broken.executeCdb(lun, Uint8Array.from(cdb), new ArrayDataBuffer(new Uint8Array(512)))) as ScsiOutcome;
    expectSense(await exec(0, read16(0, 1)), SenseKey.mediumError, AdditionalSense.unrecoveredReadError);
    expectSense(await exec(0, write16(0, 1)), SenseKey.mediumError, AdditionalSense.writeError);
    expectSense(await exec(0, [ScsiOp.synchronizeCache10, 0, 0, 0, 0, 0, 0, 0, 0, 0]), SenseKey.mediumError, AdditionalSense.writeError);
    expectSense(await exec(1, write16(0, 1)), SenseKey.dataProtect, AdditionalSense.spaceAllocationFailedWriteProtect);
    expectSense(await exec(2, read16(0, 1)), SenseKey.hardwareError, AdditionalSense.internalTargetFailure);
  });

  it('a disk that throws instead of rejecting still gets sense (and REQUEST SENSE returns it); idle() waits for running I/O', async () => {
    const throwing = new Proxy(disk, {
      get(target, key) {
        if (key === 'readInto') return () => {
          throw new DiskIoError(target.path, 'read', 'EIO', new Error('EIO'));
        };
        if (key === 'path') return `${target.path}-throwing`;
        return Reflect.get(target, key) as unknown;
      },
    });
    const odd = new ScsiController('odd', 2 * MiB, 64);
    const lun = odd.attach(0, throwing);
    const outcome = odd.executeCdb(0, Uint8Array.from(read16(0, 1)), new ArrayDataBuffer(new Uint8Array(512)));
    expect(outcome).toBeInstanceOf(Promise);
    let idle = false;
    const waiting = lun.idle().then(() => (idle = true));
    expectSense((await outcome) as ScsiOutcome, SenseKey.mediumError, AdditionalSense.unrecoveredReadError);
    await waiting;
    expect(idle).toBe(true);
    const sense = new ArrayDataBuffer(new Uint8Array(18));
    await odd.executeCdb(0, Uint8Array.of(ScsiOp.requestSense, 0, 0, 0, 18, 0), sense);
    expect(sense.bytes[FixedSense.senseKey]! & 0x0f).toBe(SenseKey.mediumError);
  });
});
