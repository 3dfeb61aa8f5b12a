/**
 * The synthetic SCSI controller end to end in one thread: storvsp in the root's VMBus host serving
 * a raw and a dynamic VHDX disk (temp files), storvsc in a guest's VMBus, real rings and GPA-direct
 * data buffers in one guest memory. Covers the handshake and version fallback, LUN discovery,
 * write/flush/read-back on both formats, trim, out-of-range sense, many requests in flight, and
 * hostile packets (each answered with an error status and counted, the channel serving on).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdditionalSense,
  ScsiOp,
  ScsiRequest,
  SenseKey,
  SrbStatus,
  StorvscProtocol,
  VstorOperation,
  VstorStatus,
  encodeScsiRequest,
  readScsiRequest,
  vstorPacket,
} from '@viridian/vmbus';
import { ScsiController, createDisk, type StorvspDevice, type VirtualDisk } from '@viridian/root-partition';
import { pattern, same, scsiLoopback } from './support/scsi-loopback.ts';
import { DiskRequestError, ScsiCommandError, StorvscController, StorvscProtocolError } from '@viridian/child-partition';

const MiB = 1024 * 1024;


describe('storvsp + storvsc loopback', () => {
  let dir: string;
  let raw: VirtualDisk;
  let vhdx: VirtualDisk;
  let controller: ScsiController;
  let loop: Awaited<ReturnType<typeof scsiLoopback>>;
  let scsi: StorvscController;
  let device: StorvspDevice;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'viridian-storage-'));
    raw = await createDisk(join(dir, 'raw.img'), { format: 'raw', size: 16 * MiB });
    vhdx = await createDisk(join(dir, 'dyn.vhdx'), { format: 'vhdx-dynamic', size: 64 * MiB });
    controller = new ScsiController('loopback', StorvscProtocol.MAX_TRANSFER_BYTES, StorvscProtocol.MAX_LUNS);
    controller.attach(0, raw);
    controller.attach(3, vhdx);
    loop = await scsiLoopback(controller);
    device = loop.device;
    scsi = await StorvscController.attach(await loop.open(), loop);
  });
  afterAll(async () => {
    await raw.close();
    await vhdx.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('initializes with the newest version and finds both LUNs', () => {
    expect(scsi.version).toBe(0x0602);
    expect(scsi.properties.maxTransferBytes).toBe(StorvscProtocol.MAX_TRANSFER_BYTES);
    expect(scsi.disks.map((d) => [d.lun, d.capacity, d.blockSize, d.readOnly])).toEqual([
      [0, 16 * MiB, 512, false],
      [3, 64 * MiB, 512, false],
    ]);
  });

  it('falls back to an older version when the VSP only speaks 5.1', async () => {
    const old = await scsiLoopback(new ScsiController('old', 2 * MiB, 64), { versions: [0x0501] });
    const client = await StorvscController.attach(await old.open(), old);
    expect(client.version).toBe(0x0501);
    expect(client.disks).toEqual([]);
  });

  it('writes, flushes and reads back on the raw and the VHDX disk, including transfers split at the maximum', async () => {
    for (const disk of scsi.disks) {
      const small = pattern(4096, disk.lun);
      await disk.write(8192, small);
      const large = pattern(5 * MiB + 512, disk.lun + 1);
      await disk.write(MiB, large);
      await disk.flush();
      expect(same(await disk.read(8192, 4096), small)).toBe(true);
      expect(same(await disk.read(MiB, large.length), large)).toBe(true);
    }
    // The bytes are in the image files, as the host reads them.
    expect(same(await raw.read(8192, 4096), pattern(4096, 0))).toBe(true);
    expect(same(await vhdx.read(8192, 4096), pattern(4096, 3))).toBe(true);
    expect(device.metrics.flushes).toBeGreaterThanOrEqual(2);
    expect(device.metrics.bytesWritten).toBeGreaterThan(10 * MiB);
  });

  it('trims a range of the VHDX disk', async () => {
    const disk = scsi.disks.find((d) => d.lun === 3)!;
    await disk.write(32 * MiB, pattern(2 * MiB, 9));
    await disk.flush();
    const before = vhdx.info().allocatedBytes;
    await disk.trim(32 * MiB, 2 * MiB);
    expect(device.metrics.unmaps).toBeGreaterThan(0);
    const after = await disk.read(32 * MiB, 2 * MiB);
    if (vhdx.trimReadsZeros) expect(after.every((b) => b === 0)).toBe(true);
    expect(vhdx.info().allocatedBytes).toBeLessThanOrEqual(before);
  });

  it('answers out-of-range reads and writes with ILLEGAL REQUEST / LBA OUT OF RANGE', async () => {
    const disk = scsi.disks[0]!;
    const failure = await disk.read(disk.capacity - 512, 1024).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ScsiCommandError);
    expect(failure).toMatchObject({ senseKey: SenseKey.illegalRequest, asc: AdditionalSense.lbaOutOfRange >> 8, scsiStatus: 2 });
    expect(((failure as ScsiCommandError).srbStatus & SrbStatus.autosenseValid) !== 0).toBe(true);
    await expect(disk.write(disk.capacity, new Uint8Array(512))).rejects.toMatchObject({ senseKey: SenseKey.illegalRequest, asc: 0x21 });
  });

  it('serves many requests in flight (up to 256 at once) and every one reads back', async () => {
    const disk = scsi.disks.find((d) => d.lun === 3)!;
    const count = 600;
    await Promise.all(Array.from({ length: count }, (_, i) => disk.write(40 * MiB + i * 4096, pattern(4096, i))));
    const reads = await Promise.all(Array.from({ length: count }, (_, i) => disk.read(40 * MiB + i * 4096, 4096)));
    expect(reads.every((data, i) => same(data, pattern(4096, i)))).toBe(true);
    expect(device.metrics.maxInFlight).toBeGreaterThan(16);
    expect(device.metrics.maxInFlight).toBeLessThanOrEqual(StorvscProtocol.MAX_IN_FLIGHT);
    expect(device.metrics.busy).toBe(0);
  });

  it('reads into and writes from DMA buffers in place (views inside them too), with no bounce pages', async () => {
    const disk = scsi.disks.find((d) => d.lun === 3)!;
    const buffer = await disk.allocateBuffer(3 * MiB);
    expect(buffer.buffer).toBe(loop.memory);
    const data = pattern(3 * MiB, 11);
    buffer.set(data);
    const free = loop.pages.available;
    // Above the 2 MiB maximum: split in two SRBs, each naming the buffer's own pages.
    const writing = disk.write(4 * MiB, buffer);
    expect(loop.pages.available).toBe(free);
    await writing;
    buffer.fill(0);
    const reading = disk.readInto(4 * MiB, buffer);
    expect(loop.pages.available).toBe(free);
    await reading;
    expect(same(buffer, data)).toBe(true);
    // A view that starts inside a page: the range's byte offset says where.
    const view = buffer.subarray(512, 512 + 8192);
    view.fill(0);
    await disk.readInto(4 * MiB + 512, view);
    expect(same(view, data.subarray(512, 512 + 8192))).toBe(true);
    expect(same(await vhdx.read(4 * MiB, 3 * MiB), data)).toBe(true);
    disk.freeBuffer(buffer);
    expect(loop.pages.available).toBe(free + (3 * MiB) / 4096);
    expect(() => disk.freeBuffer(buffer)).toThrow(DiskRequestError);
    expect(() => disk.freeBuffer(new Uint8Array(4096))).toThrow(DiskRequestError);
    await expect(disk.allocateBuffer(0)).rejects.toBeInstanceOf(DiskRequestError);
  });

  it('keeps a DMA buffer freed during its I/O until the I/O completes; a freed buffer goes through bounce pages', async () => {
    const disk = scsi.disks.find((d) => d.lun === 3)!;
    const buffer = await disk.allocateBuffer(64 * 1024);
    buffer.set(pattern(64 * 1024, 12));
    const free = loop.pages.available;
    const writing = disk.write(12 * MiB, buffer);
    disk.freeBuffer(buffer);
    expect(loop.pages.available).toBe(free); // still in use by the write
    await writing;
    expect(loop.pages.available).toBe(free + 16);
    // The array still views guest memory, but no longer a live buffer: its data is copied.
    const copy = pattern(64 * 1024, 13);
    buffer.set(copy);
    await disk.write(12 * MiB, buffer);
    expect(same(await disk.read(12 * MiB, 64 * 1024), copy)).toBe(true);
  });

  it('refuses hostile packets with an error status, counts them, and keeps serving', async () => {
    const channel = scsi.channel;
    const statusOf = (reply: Uint8Array) => new DataView(reply.buffer, reply.byteOffset).getUint32(8, true);
    const srb = (cdb: number[], length: number, patch?: (p: Uint8Array) => void) => {
      const p = vstorPacket(VstorOperation.executeSrb, 1);
      encodeScsiRequest(p, { lun: 0, cdb: Uint8Array.from(cdb), dataIn: 1, dataTransferLength: length, srbFlags: 0x40 });
      patch?.(p);
      return p;
    };
    const read10 = [ScsiOp.read10, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    const before = device.metrics.malformed;
    expect(statusOf(await channel.request(new Uint8Array(24)))).toBe(VstorStatus.invalidParameter);
    expect(statusOf(await channel.request(vstorPacket(77, 1)))).toBe(VstorStatus.invalidParameter);
    const outside = await channel.requestGpaDirect([{ byteCount: 512, byteOffset: 0, pfns: [loop.memory.byteLength / 4096 + 10] }], srb(read10, 512));
    expect(statusOf(outside)).toBe(VstorStatus.invalidParameter);
    expect((readScsiRequest(outside, 0, false) as { srbStatus: number }).srbStatus).toBe(SrbStatus.invalidRequest);
    const pfn = loop.pages.allocate(1)!;
    expect(statusOf(await channel.requestGpaDirect([{ byteCount: 512, byteOffset: 0, pfns: [pfn] }], srb(read10, 512, (p) => (p[ScsiRequest.cdbLength] = 6))))).toBe(VstorStatus.invalidParameter);
    expect(statusOf(await channel.requestGpaDirect([{ byteCount: 512, byteOffset: 0, pfns: [pfn] }], srb(read10, 1024)))).toBe(VstorStatus.invalidParameter);
    expect(statusOf(await channel.request(srb(read10, 512)))).toBe(VstorStatus.invalidParameter);
    loop.pages.free(pfn, 1);
    expect(device.metrics.malformed - before).toBe(6);
    expect(device.metrics.malformedReasons).toMatchObject({ 'packet-too-short': 1, 'unrecognized-operation': 1, 'range-outside-memory': 1, 'cdb-too-short': 1, 'transfer-exceeds-range': 1, 'transfer-without-range': 1 });
    // An SRB to a LUN without a disk, and the channel still serves.
    await expect(scsi.command(9, Uint8Array.of(0, 0, 0, 0, 0, 0), { direction: 'none' })).rejects.toMatchObject({ srbStatus: SrbStatus.invalidLun });
    expect(same(await scsi.disks[0]!.read(8192, 4096), pattern(4096, 0))).toBe(true);
  });

  it('hot-adds and hot-removes disks while the guest runs', async () => {
    const extraPath = join(dir, 'hot.img');
    const extra = await createDisk(extraPath, { format: 'raw', size: 4 * MiB });
    const added = firstValueFrom(scsi.diskChanges$);
    device.attachDisk(7, extra);
    expect(await added).toMatchObject({ kind: 'added', disk: { lun: 7, capacity: 4 * MiB } });
    expect(scsi.disks.map((d) => d.lun)).toEqual([0, 3, 7]);
    const hot = scsi.disks[2]!;
    await hot.write(0, pattern(4096, 7));
    expect(same(await hot.read(0, 4096), pattern(4096, 7))).toBe(true);
    const removed = firstValueFrom(scsi.diskChanges$);
    const detached = await device.detachDisk(7);
    expect(detached).toBe(extra);
    expect(await removed).toMatchObject({ kind: 'removed', disk: { lun: 7 } });
    expect(scsi.disks.map((d) => d.lun)).toEqual([0, 3]);
    await expect(hot.read(0, 4096)).rejects.toMatchObject({ srbStatus: SrbStatus.invalidLun });
    await extra.close();
  });

  it('survives arbitrary packet sequences from a hostile guest (action-sequence fuzz)', async () => {
    const scratch = loop.pages.allocate(8)!;
    const beyond = loop.memory.byteLength / 4096;
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc.tuple(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.nat(70_000)).map(([noise, cdb, length]) => {
        const p = noise.slice();
        p.set([VstorOperation.executeSrb, 0, 0, 0], 0);
        // LUNs 1..6: never LUN 0, whose data the other tests check.
        encodeScsiRequest(p, { lun: 1 + (noise[0]! % 6), cdb, dataIn: noise[1]! % 3, dataTransferLength: length, srbFlags: 0 });
        return p;
      }),
    );
    const range = fc.record({
      byteOffset: fc.nat(4095),
      byteCount: fc.integer({ min: 1, max: 3 * 4096 }),
      outside: fc.boolean(),
    });
    const action = fc.record({ payload, range: fc.option(range, { nil: undefined }) });
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 12 }), async (actions) => {
        for (const { payload: bytes, range: r } of actions) {
          if (r === undefined) {
            await scsi.channel.request(bytes);
            continue;
          }
          const count = Math.ceil((r.byteOffset + r.byteCount) / 4096);
          // In-memory ranges stay inside the test's scratch pages (a guest aiming the host at its
          // own ring pages would only hurt itself); the others point past the guest's memory.
          const pfns = Array.from({ length: count }, (_, i) => (r.outside ? beyond + i : scratch + (i % 8)));
          await scsi.channel.requestGpaDirect([{ byteOffset: r.byteOffset, byteCount: r.byteCount, pfns }], bytes);
        }
        // The channel still serves.
        expect(same(await scsi.disks[0]!.read(8192, 4096), pattern(4096, 0))).toBe(true);
      }),
      { numRuns: 40 },
    );
    loop.pages.free(scratch, 8);
    expect(device.metrics.malformed).toBeGreaterThan(0);
  });

  it('answers BUSY beyond the per-channel byte budget, and the guest retries until all complete', async () => {
    const budget = 4 * MiB;
    const disk2 = await createDisk(join(dir, 'budget.img'), { format: 'raw', size: 16 * MiB });
    const budgeted = new ScsiController('budget', 2 * MiB, 64);
    budgeted.attach(0, disk2);
    const other = await scsiLoopback(budgeted, { maxInFlightBytes: budget });
    const guestScsi = await StorvscController.attach(await other.open(), other);
    const target = guestScsi.disks[0];
    expect(target).toBeDefined();
    // Eight 2 MiB writes at once: 16 MiB asked for, 4 MiB allowed in flight.
    await Promise.all(Array.from({ length: 8 }, (_, i) => target!.write(i * 2 * MiB, pattern(2 * MiB, i))));
    expect(other.device.metrics.busy).toBeGreaterThan(0);
    const back = await target!.read(6 * MiB, 2 * MiB);
    expect(same(back, pattern(2 * MiB, 3))).toBe(true);
    await disk2.close();
  });

  it('refuses SRBs before initialization ends', async () => {
    const other = await scsiLoopback(new ScsiController('fresh', 2 * MiB, 64));
    const fresh = await other.open();
    const p = vstorPacket(VstorOperation.executeSrb, 1);
    encodeScsiRequest(p, { lun: 0, cdb: new Uint8Array(6), dataIn: 2, dataTransferLength: 0, srbFlags: 0 });
    const reply = await fresh.request(p);
    expect(new DataView(reply.buffer, reply.byteOffset).getUint32(8, true)).toBe(VstorStatus.invalidDeviceState);
    await expect(StorvscController.attach(fresh, other)).resolves.toBeInstanceOf(StorvscController);
    // Initializing twice on one channel is out of order.
    await expect(StorvscController.attach(fresh, other)).rejects.toBeInstanceOf(StorvscProtocolError);
    expect(other.device.metrics.protocolErrors).toBe(2);
  });
});
