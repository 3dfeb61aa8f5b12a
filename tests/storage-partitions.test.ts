/**
 * Storage across real partitions: a host boots the root; a child with a synthetic SCSI controller
 * holding a raw and a dynamic VHDX disk (temp files) runs a guest program that writes, flushes and
 * verifies each disk through storvsc, storvsp and the image files; the host then reads the files.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Host, MiB, createDisk, openDisk } from '@viridian/root-partition';

const storageGuest = new URL('./fixtures/storage-guest.ts', import.meta.url);
const hotplugGuest = new URL('./fixtures/storage-hotplug-guest.ts', import.meta.url);

describe('storage between partitions', () => {
  let host: Host;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'viridian-storage-vm-'));
    host = await Host.boot({ memoryBytes: 256 * MiB });
  });
  afterAll(async () => {
    await host.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it('a child writes, flushes and verifies its raw and VHDX disks over a four-queue controller', async () => {
    const rawPath = join(dir, 'a.img');
    const vhdxPath = join(dir, 'b.vhdx');
    await (await createDisk(rawPath, { format: 'raw', size: 16 * MiB })).close();
    await (await createDisk(vhdxPath, { format: 'vhdx-dynamic', size: 32 * MiB })).close();
    const vm = await host.createVm({
      name: 'disks',
      memoryBytes: 32 * MiB,
      program: storageGuest,
      args: { blocks: 64 },
      devices: [{ kind: 'scsi', disks: [{ path: rawPath }, { path: vhdxPath, lun: 2 }], queues: 4 }],
    });
    await vm.start();
    const result = (await vm.result) as { disks: { lun: number; capacity: number; verified: boolean; outOfRange: string }[]; queues: number[] };
    expect(result.queues).toEqual([4]); // the primary and the three sub-channels storvsp offered
    expect(result.disks).toEqual([
      { lun: 0, capacity: 16 * MiB, blockSize: 512, verified: true, outOfRange: 'sense 5/21' },
      { lun: 2, capacity: 32 * MiB, blockSize: 512, verified: true, outOfRange: 'sense 5/21' },
    ]);
    const stats = await vm.stats();
    expect(stats.scsi[0]).toMatchObject({ malformed: 0, protocolErrors: 0, flushes: 2 });
    expect(stats.scsi[0]!.writes).toBeGreaterThanOrEqual(2 * 65);
    // The guest's data is in the raw file, as the host reads it (the VHDX stays open in the root).
    const first = await readFile(rawPath);
    expect([first[0], first[1], first[4096 + 1]]).toEqual([0, 31, (31 + 17) & 0xff]);
  });

  it('hot-adds a disk to a running child and removes it again', async () => {
    const basePath = join(dir, 'base.img');
    const hotPath = join(dir, 'hot.vhdx');
    await (await createDisk(basePath, { format: 'raw', size: 4 * MiB })).close();
    await (await createDisk(hotPath, { format: 'vhdx-dynamic', size: 8 * MiB })).close();
    const vm = await host.createVm({ name: 'hotplug', memoryBytes: 16 * MiB, program: hotplugGuest, args: { lun: 4 }, devices: [{ kind: 'echo' }, { kind: 'scsi', disks: [{ path: basePath }] }] });
    await vm.start();
    expect(await vm.attachDisk(1, { path: hotPath, lun: 4 })).toBe(4);
    // The guest may see the disk at once or after a rescan, depending on when its program starts.
    expect(await vm.result).toMatchObject({ after: [0, 4], capacity: 8 * MiB, verified: true });
    await expect(vm.attachDisk(0, { path: hotPath })).rejects.toMatchObject({ code: 'VIRIDIAN_DEVICE_NOT_FOUND' });
    await vm.detachDisk(1, 4);
    await expect(vm.detachDisk(1, 4)).rejects.toMatchObject({ code: 'VIRIDIAN_DEVICE_NOT_FOUND' });
    // Closed by the root: the image opens cleanly and holds the guest's block.
    const image = await openDisk(hotPath, { readOnly: true });
    const block = await image.read(4096, 4096);
    await image.close();
    expect([block[0], block[1]]).toEqual([1, 4]);
    expect((await vm.stats()).scsi[0]).toMatchObject({ malformed: 0, flushes: 1 });
  });

  it('refuses a scsi controller with a bad queue count', async () => {
    for (const queues of [0, 65, 1.5, '2']) {
      await expect(host.createVm({ name: `q-${String(queues)}`, memoryBytes: 8 * MiB, program: storageGuest, devices: [{ kind: 'scsi', disks: [], queues: queues as number }] })).rejects.toMatchObject({ code: 'VIRIDIAN_VM_BAD_SPEC' });
    }
  });

  it('refuses a VM whose disk does not exist', async () => {
    await expect(host.createVm({ name: 'nodisk', memoryBytes: 16 * MiB, program: storageGuest, devices: [{ kind: 'scsi', disks: [{ path: join(dir, 'missing.img') }] }] })).rejects.toMatchObject({
      code: 'VIRIDIAN_DISK_OPEN_FAILED',
    });
  });
});
