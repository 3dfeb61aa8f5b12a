/**
 * `npm run lab`: boots a host, creates two VMs with an echo device each, runs a guest program in
 * both that echoes through VMBus, and prints what each guest and the root's devices counted.
 */
import { Host, MiB } from '@viridian/root-partition';

const host = await Host.boot({ memoryBytes: 512 * MiB });
const program = new URL('./echo-guest.ts', import.meta.url);
const vms = await Promise.all(['alpha', 'beta'].map((name) => host.createVm({ name, memoryBytes: 32 * MiB, program, args: { count: 5000, inFlight: 16 }, devices: [{ kind: 'echo' }] })));
await Promise.all(vms.map((vm) => vm.start()));
for (const vm of vms) console.log(vm.name, 'guest:', await vm.result, 'root echo device:', (await vm.stats()).echo[0]);
await host.shutdown();
