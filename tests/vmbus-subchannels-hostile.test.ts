/**
 * Sub-channels and a hostile child across real partitions: one child runs a hostile kernel
 * (tests/fixtures/mq/hostile-kernel.ts) that opens sub-channels of its multi-queue echo device and
 * then attacks their control plane with raw VMBus messages and crashes; another child at the same
 * time runs the normal guest kernel with the same device pair and must see every queue serve with
 * no error and no stall. Afterwards a new child gets sub-channels again (the crashed one's channels,
 * sub-channels and interrupt paths were released).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Host, MiB } from '@viridian/root-partition';

const mq = (file: string) => new URL(`./fixtures/mq/${file}`, import.meta.url);

let host: Host;
beforeAll(async () => {
  host = await Host.boot({ memoryBytes: 512 * MiB });
});
afterAll(async () => {
  await host.shutdown();
});

it("keeps a well-behaved child's sub-channels serving while a hostile child attacks its own sub-channels' control plane", async () => {
  const devices = [{ kind: 'module' as const, url: mq('device.ts'), options: { maxQueues: 3 } }];
  const hostile = await host.createVm({ name: 'hostile-mq', memoryBytes: 16 * MiB, program: mq('guest.ts'), kernel: mq('hostile-kernel.ts'), devices, drivers: [mq('driver.ts')] });
  const good = await host.createVm({ name: 'good-mq', memoryBytes: 16 * MiB, program: mq('guest.ts'), args: { queues: 3, requests: 3000, inFlight: 12 }, devices, drivers: [mq('driver.ts')] });
  await Promise.all([hostile.start(), good.start()]);
  await expect(hostile.result).rejects.toThrow(/crashed/);
  const result = (await good.result) as { served: Record<number, number>; mismatches: number; stats: { subChannelsOpened: number } };
  expect(result.served).toEqual({ 0: 750, 1: 750, 2: 750, 3: 750 });
  expect(result.mismatches).toBe(0);
  expect(result.stats.subChannelsOpened).toBe(3);
  const hostileStats = await hostile.stats();
  // The attack arrived: reopens and opens of revoked sub-channels, bad target VPs, bad GPADLs.
  expect(hostileStats.vmbus.protocolErrors as number).toBeGreaterThan(1000);
  expect(hostileStats.vmbus).toMatchObject({
    closesRequested: 4,
    // 'bad-target-vp': 20 rounds × 3 sub-channels × 2 message connections.
    errorsByReason: { 'wrong-channel-state': expect.any(Number), 'bad-target-vp': 120, 'pfn-beyond-memory': expect.any(Number) },
  });
  expect((await good.stats()).vmbus).toMatchObject({ protocolErrors: 0 });
  // The crashed child's channels and sub-channels were released: a new child gets its queues.
  const after = await host.createVm({ name: 'after-mq', memoryBytes: 16 * MiB, program: mq('guest.ts'), args: { queues: 2, requests: 90, inFlight: 3 }, devices, drivers: [mq('driver.ts')] });
  await after.start();
  expect(await after.result).toMatchObject({ served: { 0: 30, 1: 30, 2: 30 }, mismatches: 0 });
});
