/**
 * `npx tsx bench/echo-sequence.ts [steps]`: runs the `vmbus` benchmark's echo in one host as a
 * sequence of steps, to see whether throughput depends on what ran before (it did, through the
 * garbage collector, until requests in flight left their `Map`: README, `vmbus`). Steps,
 * comma-separated: `v1`/`v32` one VM echoing with 1 or 32 requests in flight (after the same 0.5 s
 * warm-up as the benchmark), `p1`/`p32` the MessagePort echo, `s` six seconds idle. Prints each
 * step's rate and, for VMs, the guest's sleeps and signals and the host channel's.
 * Example: `npx tsx bench/echo-sequence.ts v32,v32,s,v32,v32`.
 */
import { Host, MiB } from '@viridian/root-partition';
import { portEcho } from './lib/port-echo.ts';

const steps = (process.argv[2] ?? 'v32,v32,s,v32,v32').split(',');
const COUNTS = { 1: 20_000, 32: 300_000 } as const;

const host = await Host.boot({ memoryBytes: 512 * MiB });
const program = new URL('./guests/echo-bench-guest.ts', import.meta.url);
try {
  let index = 0;
  for (const step of steps) {
    if (step === 's') {
      await new Promise((resolve) => setTimeout(resolve, 6000));
      console.log('s    idle 6 s');
      continue;
    }
    const inFlight = step.endsWith('32') ? 32 : 1;
    const count = COUNTS[inFlight];
    if (step.startsWith('p')) {
      console.log(`${step.padEnd(4)} ${Math.round((await portEcho(count, inFlight, 64)).perSecond)}/s`);
      continue;
    }
    const vm = await host.createVm({ name: `seq-${index++}`, memoryBytes: 16 * MiB, program, args: { count, inFlight, size: 64 }, devices: [{ kind: 'echo' }] });
    await vm.start();
    const result = (await vm.result) as { perSecond: number; guestSleeps: number; guestSignals: number };
    const channel = (await vm.stats()).channels[0]!;
    console.log(`${step.padEnd(4)} ${Math.round(result.perSecond)}/s  guest sleeps ${result.guestSleeps} signals ${result.guestSignals}  host sleeps ${channel.sleeps} signals ${channel.signalsSent}`);
  }
} finally {
  await host.shutdown();
}
