/**
 * storvsp/storvsc multi-queue across real worker partitions: a storvsp controller with sub-channels
 * (a module device, tests/fixtures/scsi-mq) in the root partition, the guest kernel's own storvsc
 * in a child. storvsc asks for the sub-channels QUERY_PROPERTIES announces, the child's VMBus opens
 * them over their own rings, and the guest program's I/O to a dynamic VHDX is spread over every
 * queue; all data read back matches what was written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Host, MiB, createDisk } from '@viridian/root-partition';

const fixture = (file: string) => new URL(`./fixtures/scsi-mq/${file}`, import.meta.url);

let host: Host;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viridian-scsi-mq-'));
  await (await createDisk(join(dir, 'disk.vhdx'), { format: 'vhdx-dynamic', size: 32 * MiB })).close();
  host = await Host.boot({ memoryBytes: 512 * MiB });
});
afterAll(async () => {
  await host.shutdown();
  await rm(dir, { recursive: true, force: true });
});

it('spreads a child\'s disk I/O over the primary and three sub-channels, data verified', async () => {
  const vm = await host.createVm({
    name: 'scsi-mq',
    memoryBytes: 48 * MiB,
    program: fixture('guest.ts'),
    args: { chunks: 256, chunkBytes: 64 * 1024, inFlight: 32 },
    devices: [{ kind: 'module', url: fixture('device.ts'), options: { path: join(dir, 'disk.vhdx'), maxSubChannels: 3 } }],
  });
  await vm.start();
  const result = (await vm.result) as { queues: number; subChannels: { id: number; index: number }[]; sent: number[]; properties: { maxChannelCount: number; flags: number }; mismatches: number };
  expect(result.properties).toMatchObject({ maxChannelCount: 3, flags: 1 });
  expect(result.queues).toBe(4);
  expect(result.subChannels.map((s) => s.index)).toEqual([1, 2, 3]);
  expect(result.mismatches).toBe(0);
  // Every queue carried a fair share of the 512 SRBs (plus LUN discovery on whichever was free).
  expect(result.sent.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(513);
  for (const sent of result.sent) expect(sent).toBeGreaterThan(64);
});
