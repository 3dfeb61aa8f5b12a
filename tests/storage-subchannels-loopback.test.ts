/**
 * storvsp/storvsc multi-queue in one thread: storvsp with `maxSubChannels` announces multi-channel
 * in QUERY_PROPERTIES, CREATE_SUB_CHANNELS makes the VMBus host offer sub-channels, the guest's
 * VMBus opens them and storvsc spreads SRBs over every queue; data written through all queues reads
 * back exactly. Also the limits (storvsc's `subChannels`, the VSP's maximum), closing the primary
 * with its sub-channels, and every refusal a hostile guest gets for CREATE_SUB_CHANNELS (before
 * initialization ends, on a sub-channel, a count of 0 or beyond the maximum, and without
 * multi-queue), each counted while the queues keep serving; and an action-sequence fuzz of the
 * control path (random vstor control packets on random queues) after which I/O still verifies.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChannelPropertyFlags,
  StorvscProtocol,
  VstorFlags,
  VstorOperation,
  VstorPacket,
  VstorStatus,
  encodeSubChannelCount,
  vstorPacket,
} from '@viridian/vmbus';
import { ScsiController, createDisk, storvspDevice, type VirtualDisk } from '@viridian/root-partition';
import { pattern, same, scsiLoopback } from './support/scsi-loopback.ts';
import { StorvscController, type GuestChannel } from '@viridian/child-partition';

const MiB = 1024 * 1024;

let dir: string;
let disk: VirtualDisk;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viridian-mq-storage-'));
  disk = await createDisk(join(dir, 'raw.img'), { format: 'raw', size: 32 * MiB });
});
afterAll(async () => {
  await disk.close();
  await rm(dir, { recursive: true, force: true });
});

/** The loopback with storvsp offering up to `maxSubChannels`, serving the raw disk on LUN 0. */
async function loopback(maxSubChannels: number | undefined) {
  const controller = new ScsiController('mq', StorvscProtocol.MAX_TRANSFER_BYTES, StorvscProtocol.MAX_LUNS);
  controller.attach(0, disk);
  return scsiLoopback(controller, { guestMemoryBytes: 48 * MiB, ...(maxSubChannels === undefined ? {} : { maxSubChannels }) });
}

/** Sends a header-only vstor packet (with `count` for CREATE_SUB_CHANNELS) and returns the answer's status. */
async function control(channel: GuestChannel, operation: number, count?: number): Promise<number> {
  const packet = vstorPacket(operation, VstorFlags.requestCompletion);
  if (count !== undefined) encodeSubChannelCount(packet, count);
  const reply = await channel.request(packet);
  return new DataView(reply.buffer, reply.byteOffset, VstorPacket.SIZE).getUint32(VstorPacket.status, true);
}

describe('storvsp/storvsc multi-queue', () => {
  it('opens the sub-channels the VSP announces and spreads I/O over every queue, data verified', async () => {
    const loop = await loopback(3);
    const scsi = await StorvscController.attach(await loop.open(), loop);
    expect(scsi.properties).toMatchObject({ maxChannelCount: 3, flags: ChannelPropertyFlags.supportsMultiChannel });
    expect(scsi.queues.count).toBe(4);
    const subs = scsi.channel.subChannels.open;
    expect(subs.map((s) => s.subChannelIndex)).toEqual([1, 2, 3]);
    expect(loop.host.server.subChannels(loop.id)).toEqual(subs.map((s) => s.id));
    const [lun0] = scsi.disks;
    // 96 writes of 64 KiB at distinct offsets, 48 at a time, then read back through all queues.
    const chunk = 64 * 1024;
    const writes = Array.from({ length: 96 }, (_, i) => i);
    const before = [loop.id, ...subs.map((s) => s.id)].map((id) => loop.host.channel(id)!.counters.packets);
    for (let at = 0; at < writes.length; at += 48) await Promise.all(writes.slice(at, at + 48).map((i) => lun0!.write(i * chunk, pattern(chunk, i))));
    await lun0!.flush();
    const reads = await Promise.all(writes.map((i) => lun0!.read(i * chunk, chunk)));
    for (const i of writes) expect(same(reads[i]!, pattern(chunk, i)), `chunk ${i}`).toBe(true);
    // Every queue carried a fair share (fewest in flight first, ties round-robin).
    const served = [loop.id, ...subs.map((s) => s.id)].map((id, k) => loop.host.channel(id)!.counters.packets - before[k]!);
    for (const count of served) expect(count).toBeGreaterThanOrEqual(30);
    expect(served.reduce((a, b) => a + b, 0)).toBe(96 * 2 + 1);
    expect(loop.device.metrics.protocolErrors).toBe(0);
    // A sub-channel serves SRBs at once, at the primary's version, without an initialization.
    expect(await control(subs[0]!, VstorOperation.beginInitialization)).toBe(VstorStatus.invalidDeviceState);
    expect(loop.host.server.checkConsistency()).toEqual([]);
  });

  it("asks for no more than storvsc's subChannels option, and none with 0", async () => {
    const one = await loopback(4);
    const scsi = await StorvscController.attach(await one.open(), { ...one, subChannels: 1 });
    expect(scsi.queues.count).toBe(2);
    expect(one.host.server.subChannels(one.id)).toHaveLength(1);
    const none = await loopback(4);
    const single = await StorvscController.attach(await none.open(), { ...none, subChannels: 0 });
    expect(single.queues.count).toBe(1);
    expect(none.host.server.subChannels(none.id)).toEqual([]);
    expect(same(await single.disks[0]!.read(0, 4096), await scsi.disks[0]!.read(0, 4096))).toBe(true);
  });

  it('keeps one queue when the VSP does not announce multi-queue (the default), and answers CREATE_SUB_CHANNELS NOT_SUPPORTED', async () => {
    const loop = await loopback(undefined);
    const scsi = await StorvscController.attach(await loop.open(), loop);
    expect(scsi.properties).toMatchObject({ maxChannelCount: 0, flags: 0 });
    expect(scsi.queues.count).toBe(1);
    expect(await control(scsi.channel, VstorOperation.createSubChannels, 2)).toBe(VstorStatus.notSupported);
    expect(loop.host.server.subChannels(loop.id)).toEqual([]);
    expect(() => storvspDevice({ guestMemory: loop.memory, maxSubChannels: 64 })).toThrow(RangeError);
    expect(() => storvspDevice({ guestMemory: loop.memory, maxSubChannels: -1 })).toThrow(RangeError);
  });

  it('closes the sub-channels with their primary; the primary opens again with new ones', async () => {
    const loop = await loopback(2);
    const primary = await loop.open();
    const scsi = await StorvscController.attach(primary, loop);
    const subs = [...primary.subChannels.open];
    expect(subs).toHaveLength(2);
    await Promise.all(Array.from({ length: 8 }, (_, i) => scsi.disks[0]!.write(i * 4096, pattern(4096, i))));
    scsi.detach();
    await primary.shutdown();
    await loop.guest.subChannels.idle();
    await expect.poll(() => loop.host.server.channels.size).toBe(1);
    for (const sub of subs) await expect(sub.request(new Uint8Array(64))).rejects.toThrow(/closed/);
    const again = await StorvscController.attach(await loop.open(), loop);
    expect(again.queues.count).toBe(3);
    for (let i = 0; i < 8; i++) expect(same(await again.disks[0]!.read(i * 4096, 4096), pattern(4096, i))).toBe(true);
  });

  it('refuses CREATE_SUB_CHANNELS from a hostile guest: before initialization, on a sub-channel, 0, too many; each counted, I/O goes on', async () => {
    const loop = await loopback(3);
    const raw = await loop.open();
    expect(await control(raw, VstorOperation.createSubChannels, 1)).toBe(VstorStatus.invalidDeviceState); // before BEGIN
    expect(await control(raw, VstorOperation.beginInitialization)).toBe(VstorStatus.success);
    expect(await control(raw, VstorOperation.createSubChannels, 1)).toBe(VstorStatus.invalidDeviceState); // before END
    expect(loop.host.server.subChannels(loop.id)).toEqual([]);
    await loop.guest.closeChannel(raw);
    // A well-behaved controller on a fresh open, asking for 2 of 3.
    const primary = await loop.open();
    const scsi = await StorvscController.attach(primary, { ...loop, subChannels: 2 });
    const errors = loop.device.metrics.protocolErrors;
    expect(await control(primary, VstorOperation.createSubChannels, 0)).toBe(VstorStatus.invalidParameter);
    expect(await control(primary, VstorOperation.createSubChannels, 2)).toBe(VstorStatus.invalidParameter); // 1 left
    expect(await control(primary, VstorOperation.createSubChannels, 0xffff)).toBe(VstorStatus.invalidParameter);
    expect(await control(primary.subChannels.open[0]!, VstorOperation.createSubChannels, 1)).toBe(VstorStatus.invalidDeviceState);
    expect(loop.device.metrics.protocolErrors - errors).toBe(4);
    // The last one left is still there to take; then none.
    expect(await control(primary, VstorOperation.createSubChannels, 1)).toBe(VstorStatus.success);
    await primary.subChannels.waitFor(3);
    expect(await control(primary, VstorOperation.createSubChannels, 1)).toBe(VstorStatus.invalidParameter);
    expect(loop.host.server.subChannels(loop.id)).toHaveLength(3);
    // A short CREATE_SUB_CHANNELS is malformed, as any short vstor packet.
    const short = await primary.request(Uint8Array.of(VstorOperation.createSubChannels, 0, 0, 0));
    expect(new DataView(short.buffer, short.byteOffset).getUint32(VstorPacket.status, true)).toBe(VstorStatus.invalidParameter);
    await Promise.all(Array.from({ length: 16 }, (_, i) => scsi.disks[0]!.write(i * 8192, pattern(8192, i + 100))));
    for (let i = 0; i < 16; i++) expect(same(await scsi.disks[0]!.read(i * 8192, 8192), pattern(8192, i + 100))).toBe(true);
    expect(loop.host.server.checkConsistency()).toEqual([]);
  });

  it('survives random control packets on random queues (action-sequence fuzz): bounded sub-channels, consistent state, I/O still verified', async () => {
    type Action =
      | { readonly kind: 'create'; readonly queue: number; readonly count: number }
      | { readonly kind: 'control'; readonly queue: number; readonly operation: number }
      | { readonly kind: 'raw'; readonly queue: number; readonly bytes: Uint8Array };
    const operations = [
      VstorOperation.beginInitialization,
      VstorOperation.endInitialization,
      VstorOperation.queryProperties,
      VstorOperation.queryProtocolVersion,
      VstorOperation.resetBus,
      VstorOperation.enumerateBus,
      VstorOperation.completeIo,
    ];
    const action: fc.Arbitrary<Action> = fc.oneof(
      fc.record({ kind: fc.constant('create' as const), queue: fc.nat(4), count: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 0xffff })) }),
      fc.record({ kind: fc.constant('control' as const), queue: fc.nat(4), operation: fc.constantFrom(...operations) }),
      // Never an EXECUTE_SRB (op 3): random SRBs would write random data where the check reads.
      fc.record({ kind: fc.constant('raw' as const), queue: fc.nat(4), bytes: fc.uint8Array({ maxLength: 80 }).filter((b) => b.length < 4 || b[0] !== 3 || b[1] !== 0 || b[2] !== 0 || b[3] !== 0) }),
    );
    const statuses = new Set<number>(Object.values(VstorStatus));
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 40 }), async (actions) => {
        const loop = await loopback(3);
        const primary = await loop.open();
        const scsi = await StorvscController.attach(primary, { ...loop, subChannels: 1 });
        for (const a of actions) {
          const queues = [primary, ...primary.subChannels.open];
          const queue = queues[a.queue % queues.length]!;
          let reply: Uint8Array;
          if (a.kind === 'raw') reply = await queue.request(a.bytes);
          else {
            const packet = vstorPacket(a.kind === 'create' ? VstorOperation.createSubChannels : a.operation, VstorFlags.requestCompletion);
            if (a.kind === 'create') encodeSubChannelCount(packet, a.count);
            reply = await queue.request(packet);
          }
          expect(reply.length).toBeGreaterThanOrEqual(VstorPacket.SIZE);
          expect(statuses.has(new DataView(reply.buffer, reply.byteOffset).getUint32(VstorPacket.status, true))).toBe(true);
        }
        await loop.guest.subChannels.idle();
        expect(loop.host.server.subChannels(loop.id).length).toBeLessThanOrEqual(3);
        expect(loop.host.server.checkConsistency()).toEqual([]);
        const data = pattern(16 * 1024, actions.length);
        await scsi.disks[0]!.write(1 * MiB, data);
        expect(same(await scsi.disks[0]!.read(1 * MiB, data.length), data)).toBe(true);
        await primary.shutdown();
      }),
      { numRuns: 25 },
    );
  });
});
