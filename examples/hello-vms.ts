/**
 * The README's ten-line script: two VMs with an echo device each, a guest program in both.
 * Run it with `npx tsx examples/hello-vms.ts`.
 */
import { Host, MiB } from '@viridian/root-partition';

const host = await Host.boot({ memoryBytes: 512 * MiB });
const program = new URL('./echo-guest.ts', import.meta.url);
const vms = await Promise.all(['alpha', 'beta'].map((name) =>
  host.createVm({ name, memoryBytes: 32 * MiB, program, args: { count: 5000, inFlight: 16 }, devices: [{ kind: 'echo' }] })));
await Promise.all(vms.map((vm) => vm.start()));
for (const vm of vms) console.log(vm.name, await vm.result, (await vm.stats()).echo[0]);
await host.shutdown();
