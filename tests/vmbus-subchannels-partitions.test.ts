/**
 * Sub-channels across real worker partitions: the multi-queue echo VSP (tests/fixtures/mq) in the
 * root partition, its VSC in a child, through the hypervisor's SynIC messages and events. The guest
 * asks for sub-channels, its kernel's VMBus opens them over their own GPADLs and rings in child
 * memory, requests go round-robin over every queue (the root signals each sub-channel on its own
 * event flag; the child signals them on their primary's connection, as the root's SynIC wiring
 * gives them no connection of their own), and closing the primary closes the sub-channels first.
 * The VSP can also withdraw one sub-channel mid-traffic (rescind): the child's VMBus closes and
 * releases it and the driver's traffic goes on over the other queues.
 */
import { afterEach, expect, it } from 'vitest';
import { vmbusTestbed, type VmbusTestbed } from '@viridian/root-partition/testing';

const mq = (file: string) => new URL(`./fixtures/mq/${file}`, import.meta.url);

let bed: VmbusTestbed | undefined;
afterEach(() => bed?.close());

it('offers, opens and serves three sub-channels between partitions, and closes them with their primary', async () => {
  bed = await vmbusTestbed({
    device: { url: mq('device.ts'), options: { maxQueues: 3 } },
    driver: mq('driver.ts'),
    program: mq('guest.ts'),
    args: { queues: 3, requests: 2000, inFlight: 16 },
  });
  await bed.start();
  const result = (await bed.result) as {
    queues: { id: number; index: number; connectionId: number }[];
    served: Record<number, number>;
    mismatches: number;
    stats: { opened: number; closed: number; subChannelsOpened: number };
    openAfterClose: number;
    afterClose: string[];
  };
  expect(result.queues.map((q) => q.index)).toEqual([0, 1, 2, 3]);
  expect(new Set(result.queues.map((q) => q.id)).size).toBe(4);
  // Each sub-channel has its own guest → host interrupt path (connection and root event flag).
  expect(new Set(result.queues.map((q) => q.connectionId)).size).toBe(4);
  expect(result.served).toEqual({ 0: 500, 1: 500, 2: 500, 3: 500 });
  expect(result.mismatches).toBe(0);
  expect(result.stats).toEqual({ opened: 4, closed: 0, subChannelsOpened: 3 });
  expect(result.openAfterClose).toBe(0);
  expect(result.afterClose).toEqual(['GuestChannelClosedError', 'GuestChannelClosedError', 'GuestChannelClosedError']);
});

it('withdraws one sub-channel while traffic flows on every queue: the guest closes and releases it, the other queues go on', async () => {
  bed = await vmbusTestbed({
    device: { url: mq('device.ts'), options: { maxQueues: 3 } },
    driver: mq('driver.ts'),
    program: mq('guest.ts'),
    args: { queues: 3, requests: 600, inFlight: 12, revoke: 2 },
  });
  await bed.start();
  const result = (await bed.result) as {
    served: Record<number, number>;
    stats: { opened: number; closed: number; subChannelsOpened: number };
    afterClose: string[];
    revoked: { retried: number; during: Record<number, number>; remaining: number[]; after: Record<number, number>; mismatches: number };
  };
  expect(result.served).toEqual({ 0: 150, 1: 150, 2: 150, 3: 150 });
  expect(result.revoked.remaining).toEqual([1, 3]);
  expect(result.revoked.mismatches).toBe(0);
  // Every request of the phase the withdrawal ran in was answered (failed ones were retried).
  expect(Object.values(result.revoked.during).reduce((a, b) => a + b, 0)).toBe(600);
  expect(result.revoked.after).toEqual({ 0: 200, 1: 200, 3: 200 });
  expect(result.stats).toEqual({ opened: 4, closed: 1, subChannelsOpened: 3 });
  expect(result.afterClose).toEqual(['GuestChannelClosedError', 'GuestChannelClosedError']);
});
