/**
 * VMBus across real partitions: a host boots the hypervisor and the root kernel; child partitions
 * run the guest kernel, negotiate VMBus over SynIC messages, open their echo channels over GPADLs
 * in their own memory, and run guest programs whose results come back through the report device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestProgramError, Host, ManagementRequestError, MiB } from '@viridian/root-partition';

const echoGuest = new URL('../examples/echo-guest.ts', import.meta.url);
const failingGuest = new URL('./fixtures/failing-guest.ts', import.meta.url);
const hostileKernel = new URL('./fixtures/hostile-kernel.ts', import.meta.url);

describe('VMBus between partitions', () => {
  let host: Host;
  beforeAll(async () => {
    host = await Host.boot({ memoryBytes: 512 * MiB });
  });
  afterAll(async () => {
    await host.shutdown();
  });

  it('runs two children echoing through their own echo devices at once', async () => {
    const vms = await Promise.all(
      ['one', 'two'].map((name) => host.createVm({ name, memoryBytes: 16 * MiB, program: echoGuest, args: { count: 2000, inFlight: 16 }, devices: [{ kind: 'echo' }, { kind: 'echo' }] })),
    );
    await Promise.all(vms.map((vm) => vm.start()));
    for (const vm of vms) {
      expect(await vm.result).toMatchObject({ devices: 2, requests: 4000, vmbusVersion: (5 << 16) | 3 });
      const stats = await vm.stats();
      expect(stats.echo.map((d) => d.requests)).toEqual([2000, 2000]);
      expect(stats.vmbus).toMatchObject({ protocolErrors: 0, opensRequested: 3 });
    }
  });

  it("reports a guest program's exception to the host script", async () => {
    const vm = await host.createVm({ name: 'failing', memoryBytes: 8 * MiB, program: failingGuest, devices: [{ kind: 'echo' }] });
    await vm.start();
    await expect(vm.result).rejects.toThrow(GuestProgramError);
    await expect(vm.result).rejects.toThrow('the guest gave up on purpose');
    expect((await vm.stats()).echo[0]!.requests).toBe(1);
  });

  it('keeps a well-behaved child echoing while a hostile child floods the root with bad VMBus traffic', async () => {
    const hostile = await host.createVm({ name: 'hostile', memoryBytes: 8 * MiB, program: failingGuest, kernel: hostileKernel, args: { rounds: 3000, seed: 11 }, devices: [{ kind: 'echo' }] });
    const good = await host.createVm({ name: 'good', memoryBytes: 16 * MiB, program: echoGuest, args: { count: 3000, inFlight: 8 }, devices: [{ kind: 'echo' }] });
    await Promise.all([hostile.start(), good.start()]);
    await expect(hostile.result).rejects.toThrow(/crashed/);
    expect(await good.result).toMatchObject({ requests: 3000 });
    const hostileStats = await hostile.stats();
    expect(hostileStats.vmbus).toMatchObject({ protocolErrors: expect.any(Number) });
    expect(hostileStats.vmbus.protocolErrors as number).toBeGreaterThan(100);
    expect((await good.stats()).vmbus).toMatchObject({ protocolErrors: 0 });
    // The crashed child's ports, connections and event flags were given back: a new VM works.
    const after = await host.createVm({ name: 'after-crash', memoryBytes: 8 * MiB, program: echoGuest, args: { count: 100, inFlight: 4 }, devices: [{ kind: 'echo' }, { kind: 'echo' }] });
    await after.start();
    expect(await after.result).toMatchObject({ devices: 2, requests: 200 });
  });

  it('refuses bad VM specs with a stable code', async () => {
    await expect(host.createVm({ name: 'tiny', memoryBytes: 4096, program: echoGuest })).rejects.toMatchObject({ code: 'VIRIDIAN_VM_BAD_SPEC' });
    await expect(host.createVm({ name: 'odd', memoryBytes: 8 * MiB, program: echoGuest, devices: [{ kind: 'floppy' } as never] })).rejects.toBeInstanceOf(ManagementRequestError);
    // Arguments that cannot fit the EntryArguments register: a clear refusal, not a hypercall status.
    await expect(host.createVm({ name: 'big-args', memoryBytes: 8 * MiB, program: echoGuest, args: { blob: 'x'.repeat(4000) } })).rejects.toMatchObject({
      code: 'VIRIDIAN_VM_BAD_SPEC',
      message: expect.stringContaining('EntryArguments register') as unknown,
    });
    await expect(host.createVm({ name: 'big-args', memoryBytes: 8 * MiB, program: echoGuest, args: { n: 1n } })).rejects.toMatchObject({ code: 'VIRIDIAN_VM_BAD_SPEC' });
  });
});
