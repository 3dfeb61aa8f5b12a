/**
 * The VMBus test bed on a user's own device pair (the key-value VSP/VSC of fixtures/kv): traffic
 * observed both ways, each fault kind with the effect the guest and the observer see, refused
 * device and driver modules, and the README example kept identical to the test that runs.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GuestProgramError, Host, MiB } from '@viridian/root-partition';
import { vmbusTestbed, type ObservedPacket, type VmbusTestbed } from '@viridian/root-partition/testing';
import type { KvScenario } from './fixtures/kv/guest.ts';

const kv = (file: string) => new URL(`./fixtures/kv/${file}`, import.meta.url);
const text = (payload: Uint8Array) => new TextDecoder().decode(payload);
const requests = (packets: ObservedPacket[]) => packets.filter((p) => p.direction === 'guest-to-host');
const replies = (packets: ObservedPacket[]) => packets.filter((p) => p.direction === 'host-to-guest');

describe('VMBus test bed', () => {
  let bed: VmbusTestbed | undefined;
  const boot = async (scenario: KvScenario) => {
    bed = await vmbusTestbed({ device: { url: kv('device.ts'), options: { initial: { greeting: 'hello' } } }, driver: kv('driver.ts'), program: kv('guest.ts'), args: { scenario } });
    return bed;
  };
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('boots the pair and observes every packet both ways: direction, type, length, transaction id, payload', async () => {
    const bed = await boot('basic');
    const packets = bed.record();
    await bed.start();
    expect(await bed.result).toEqual({ colour: 'green', greeting: 'hello', missing: 'notFound' });
    expect(packets.map((p) => p.direction)).toEqual(['guest-to-host', 'host-to-guest', 'guest-to-host', 'host-to-guest', 'guest-to-host', 'host-to-guest', 'guest-to-host', 'host-to-guest']);
    for (const request of requests(packets)) expect(request).toMatchObject({ kind: 'inband', type: 6, length: 16 + request.payload.length });
    for (const reply of replies(packets)) expect(reply).toMatchObject({ kind: 'completion', type: 11, length: 16 + Math.ceil(reply.payload.length / 8) * 8 });
    expect(requests(packets).map((p) => p.transactionId)).toEqual([1n, 2n, 3n, 4n]);
    expect(replies(packets).map((p) => p.transactionId)).toEqual([1n, 2n, 3n, 4n]);
    // put colour=green: header (op 2, key 6 bytes, value 5 bytes), key, value, padding to 8.
    const put = requests(packets)[0]!.payload;
    expect(new DataView(put.buffer).getUint32(0, true)).toBe(2);
    expect(text(put.subarray(16, 27))).toBe('colourgreen');
    expect(text(replies(packets)[2]!.payload.subarray(8))).toBe('hello');
    expect((await bed.vm.stats()).channels[0]!.packets).toBe(4);
  });

  it('delays a request, and the one behind it, then delivers both in order', async () => {
    const bed = await boot('delay');
    const packets = bed.record();
    await bed.injectFault({ kind: 'delay', ms: 150 });
    await bed.start();
    expect(await bed.result).toEqual([1, 2]);
    const [first, second] = requests(packets);
    expect([first!.fault, second!.fault]).toEqual(['delayed', 'delayed']);
    const answered = replies(packets);
    expect(answered.map((p) => p.transactionId)).toEqual([first!.transactionId, second!.transactionId]);
    expect(answered[0]!.time - first!.time).toBeGreaterThanOrEqual(150);
  });

  it('duplicates a request: the VSP handles it twice, the guest gets a stray completion', async () => {
    const bed = await boot('duplicate');
    const packets = bed.record();
    await bed.injectFault({ kind: 'duplicate' });
    await bed.start();
    expect(await bed.result).toEqual({ first: 1, second: 3, strays: 1 });
    expect(requests(packets).map((p) => p.fault)).toEqual(['duplicated', undefined]);
    expect(replies(packets).map((p) => p.transactionId)).toEqual([1n, 1n, 2n]);
  });

  it('corrupts a request: the VSP sees flipped bytes and refuses it; the guest recovers', async () => {
    const bed = await boot('corrupt');
    const packets = bed.record();
    await bed.injectFault({ kind: 'corrupt', offset: 0, length: 1 }); // the op code's low byte
    await bed.start();
    expect(await bed.result).toEqual({ corrupted: 'badRequest', colour: 'blue' });
    const [corrupted] = requests(packets);
    expect(corrupted!.fault).toBe('corrupted');
    expect(corrupted!.payload[0]).toBe(2); // observers see what the guest wrote
    expect(new DataView(replies(packets)[0]!.payload.buffer).getUint32(0, true)).toBe(2); // badRequest
  });

  it('holds the ring full: the guest waits for space, then every request goes through on clear', async () => {
    const bed = await boot('flood');
    const packets = bed.record();
    await bed.injectFault({ kind: 'hold-ring-full' });
    await bed.start();
    const full = await bed.whenRingFull();
    expect(full.pendingSendSize).toBeGreaterThan(0);
    expect(full.queuedBytes + full.pendingSendSize).toBeGreaterThan(full.ringBytes - 1100);
    expect(packets).toEqual([]); // nothing drained while held
    await bed.injectFault({ kind: 'clear' });
    expect(await bed.result).toEqual({ last: 1000, inFlight: 0 });
    // Each request exactly once (concurrent senders that waited for space may write in any order).
    expect(requests(packets).map((p) => p.transactionId).sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 65 }, (_, i) => BigInt(i + 1)));
    expect(replies(packets)).toHaveLength(65);
  });

  it('applies counted faults after letting packets through, and refuses malformed faults', async () => {
    const bed = await boot('duplicate');
    const packets = bed.record();
    await bed.injectFault({ kind: 'duplicate', after: 1 });
    await bed.start();
    expect(await bed.result).toEqual({ first: 1, second: 2, strays: 1 });
    expect(requests(packets).map((p) => p.fault)).toEqual([undefined, 'duplicated']);
    await expect(bed.injectFault({ kind: 'drop', count: 0 })).rejects.toMatchObject({ code: 'VIRIDIAN_FAULT_BAD_SPEC' });
    await expect(bed.injectFault({ kind: 'delay', ms: -1 })).rejects.toMatchObject({ code: 'VIRIDIAN_FAULT_BAD_SPEC' });
    await expect(bed.injectFault({ kind: 'teleport' } as never)).rejects.toMatchObject({ code: 'VIRIDIAN_FAULT_BAD_SPEC' });
    await expect(bed.vm.injectFault(7, { kind: 'clear' })).rejects.toMatchObject({ code: 'VIRIDIAN_DEVICE_NOT_FOUND' });
  });
});

describe('device and driver modules', () => {
  let host: Host;
  beforeAll(async () => {
    host = await Host.boot({ memoryBytes: 256 * MiB });
  });
  afterAll(async () => {
    await host.shutdown();
  });
  const vm = (name: string, device: URL, driver = kv('driver.ts')) =>
    host.createVm({ name, memoryBytes: 8 * MiB, program: kv('guest.ts'), args: { scenario: 'basic' }, devices: [{ kind: 'module', url: device }], drivers: [driver] });

  it('refuses a device module that is not a factory, or whose factory throws, with stable codes', async () => {
    await expect(vm('no-factory', kv('not-a-device.ts'))).rejects.toMatchObject({ code: 'VIRIDIAN_DEVICE_MODULE_INVALID' });
    await expect(vm('throws', kv('throwing-device.ts'))).rejects.toMatchObject({ code: 'VIRIDIAN_DEVICE_MODULE_FAILED', message: expect.stringContaining('no such device here') });
    await expect(vm('missing', kv('no-such-device.ts'))).rejects.toMatchObject({ code: 'VIRIDIAN_WORKER_ENTRY_NOT_FOUND' });
  });

  it("fails the guest program when a driver module is not a VscDriver", async () => {
    const broken = await vm('bad-driver', kv('device.ts'), kv('not-a-driver.ts'));
    await broken.start();
    await expect(broken.result).rejects.toThrow(GuestProgramError);
    await expect(broken.result).rejects.toThrow('GuestDriverModuleError');
  });
});

describe('README', () => {
  it('shows the example test exactly as it runs', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Testing your own VSP/VSC pair'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(readFileSync(new URL('./vmbus-testbed-example.test.ts', import.meta.url), 'utf8'));
  });
});
