/**
 * `npm run lab`: boots a host, creates two VMs, each with an echo device and its own dynamic VHDX
 * disk, and runs a guest program in both that echoes through VMBus and then writes, flushes and
 * verifies data on its disk through the synthetic SCSI controller; prints what each guest and the
 * root's echo device counted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Host, MiB, createDisk } from '@viridian/root-partition';

const dir = await mkdtemp(path.join(os.tmpdir(), 'viridian-lab-'));
const host = await Host.boot({ memoryBytes: 512 * MiB });
const program = new URL('./lab-guest.ts', import.meta.url);
const vms = await Promise.all(
  ['alpha', 'beta'].map(async (name) => {
    const disk = path.join(dir, `${name}.vhdx`);
    await (await createDisk(disk, { format: 'vhdx-dynamic', size: 64 * MiB })).close();
    return host.createVm({ name, memoryBytes: 32 * MiB, program, args: { count: 5000, inFlight: 16 }, devices: [{ kind: 'echo' }, { kind: 'scsi', disks: [{ path: disk }] }] });
  }),
);
await Promise.all(vms.map((vm) => vm.start()));
for (const vm of vms) {
  const result = (await vm.result) as { echo: unknown; disks: unknown[] };
  const stats = await vm.stats();
  console.log(`${vm.name}: echo ${JSON.stringify(result.echo)}`);
  console.log(`${vm.name}: disk ${JSON.stringify(result.disks[0])}`);
  console.log(`${vm.name}: root's echo device ${JSON.stringify(stats.echo[0])}`);
}
await host.shutdown();
await rm(dir, { recursive: true, force: true });
