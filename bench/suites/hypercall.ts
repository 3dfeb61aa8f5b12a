/**
 * `hypercall`: the hypervisor's costs (issue 3). A root partition (packages/hypervisor/src/perf/
 * bench-root.ts) measures from inside its VP, as a root would:
 * - a null hypercall's round trip (GetPartitionId) vs a MessagePort round trip between the same two
 *   threads (root VP worker and the host's main thread);
 * - PostMessage and SignalEvent latency from a child VP until the root's handler runs (one-way, one
 *   in flight, on the process-wide monotonic clock) vs a one-way MessagePort post from the main
 *   thread to the root VP's handler;
 * - create-to-first-instruction (CreatePartition … resume until the child's entry runs) vs starting
 *   a bare worker through the same bootstrap;
 * - how many 16 MiB children the host holds at once (up to 500) and the host memory (RSS) each adds,
 *   measured with every worker up and idle (RSS settled, median of samples, before and after), and
 *   the host's CPU use while they all sit idle (adaptive polling must not spin on an idle host).
 *   Guest memory a child never touches is not resident, so the RSS figure is the overhead alone.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { once } from 'node:events';
import { pino } from 'pino';
import { startWorker } from '@viridian/worker-bootstrap';
import { Hypervisor } from '@viridian/hypervisor';
import { median, percentile } from '../lib/stats.ts';
import { row, type BenchRow, type BenchSuite } from '../lib/suite.ts';

const ROOT = new URL('../../packages/hypervisor/src/perf/bench-root.ts', import.meta.url);
const IDLE = new URL('../../packages/hypervisor/src/fixtures/idle-vp.ts', import.meta.url);
const MiB = 1024 * 1024;

function request<T>(port: MessagePort, message: unknown, match: (m: Record<string, unknown>) => boolean = () => true, send = true): Promise<T> {
  return new Promise((resolve) => {
    const listener = (m: Record<string, unknown>) => {
      if (!match(m)) return;
      port.off('message', listener);
      resolve(m as T);
    };
    port.on('message', listener);
    if (send) port.postMessage(message);
  });
}

const suite: BenchSuite = {
  name: 'hypercall',
  description: 'null hypercall, PostMessage/SignalEvent latency to the root, partition creation and density',
  async run({ quick, progress }) {
    const rows: BenchRow[] = [];
    const iterations = quick ? 2000 : 20000;
    const { port1, port2 } = new MessageChannel();
    const hv = Hypervisor.boot({
      memoryBytes: 520 * 16 * MiB,
      logger: pino({ level: 'error' }),
      root: { entry: ROOT, data: { port: port2 }, transferList: [port2], heapLimitMb: 512 },
    });
    try {
      await request(port1, undefined, (m) => m.ready === true, false);
      progress('null hypercall');
      const nullRt = (await request<{ samples: number[] }>(port1, { op: 'null', iterations })).samples;
      // Baseline: a MessagePort round trip between the same threads (main ↔ root VP).
      const echo: number[] = [];
      for (let i = 0; i < (quick ? 500 : 5000); i++) {
        const t0 = performance.now();
        await request(port1, { op: 'port-echo' }, (m) => m.echo === true);
        echo.push((performance.now() - t0) * 1000);
      }
      const echoP50 = median([...echo]);
      rows.push(row('null hypercall round trip (GetPartitionId)', 'latency_us_p50', median([...nullRt]), { name: 'MessagePort round trip, same threads', value: echoP50 }));
      rows.push(row('null hypercall round trip (GetPartitionId)', 'latency_us_p99', percentile([...nullRt], 99), { name: 'MessagePort round trip, same threads', value: percentile([...echo], 99) }));

      for (const mode of ['post', 'signal'] as const) {
        progress(`${mode} latency`);
        const samples = (await request<{ samples: number[] }>(port1, { op: 'latency', mode, iterations: quick ? 1000 : 10000 }, (m) => Array.isArray(m.samples))).samples;
        const name = mode === 'post' ? 'PostMessage child VP → root handler' : 'SignalEvent child VP → root handler';
        const baseline = { name: 'MessagePort one-way (≈ half its round trip)', value: echoP50 / 2 };
        rows.push(row(name, 'latency_us_p50', median([...samples]), baseline));
        rows.push(row(name, 'latency_us_p99', percentile([...samples], 99)));
      }

      progress('create to first instruction');
      const create = (await request<{ samples: number[] }>(port1, { op: 'create', times: quick ? 5 : 20 }, (m) => Array.isArray(m.samples))).samples;
      const bare: number[] = [];
      for (let i = 0; i < (quick ? 3 : 10); i++) {
        bare.push(await bareWorker());
      }
      rows.push(row('partition create → first instruction', 'ms', median([...create]), { name: 'bare worker start (bootstrap, tsx entry)', value: median([...bare]) }));

      progress('density');
      const before = await settledRss();
      const max = quick ? 40 : 500;
      const result = await new Promise<{ done: number; error?: string }>((resolve) => {
        const listener = (m: { done?: number; progress?: number; error?: string }) => {
          if (m.progress) progress(`  ${m.progress} partitions`);
          if (m.done !== undefined) {
            port1.off('message', listener);
            resolve(m as { done: number });
          }
        };
        port1.on('message', listener);
        port1.postMessage({ op: 'density', max, memoryBytes: 16 * MiB });
      });
      const rss = (await settledRss()) - before;
      if (result.error) progress(`density stopped: ${result.error}`);
      rows.push(row(`16 MiB partitions held at once (cap ${max})`, 'partitions', result.done));
      rows.push(row('host memory per partition beyond guest memory (RSS)', 'bytes', rss / Math.max(1, result.done)));
      // Idle: every partition (and the root) waiting; the whole process's CPU time per wall second.
      // Right after start-up, each fresh isolate's garbage collector still shrinks its heap in the
      // background (V8's memory reducer: a few GCs over the first tens of seconds), which with
      // hundreds of isolates costs a few hundred ms/s for a while; the steady state is measured
      // once that has passed, and the transient is reported too.
      const idleCpu = async (ms: number): Promise<number> => {
        const cpu0 = process.cpuUsage();
        const wall0 = performance.now();
        await sleep(ms);
        const cpu = process.cpuUsage(cpu0);
        return (cpu.user + cpu.system) / 1000 / ((performance.now() - wall0) / 1000);
      };
      rows.push(row(`host CPU while ${result.done} partitions idle, first 3 s after start-up (per wall second)`, 'ms', await idleCpu(quick ? 1000 : 3000)));
      progress('idle partitions settling (memory reducer)');
      await sleep(quick ? 5000 : 30_000);
      rows.push(row(`host CPU while ${result.done} partitions idle, settled (per wall second)`, 'ms', await idleCpu(quick ? 1000 : 3000)));
      const stats = hv.vpWorkerStats();
      progress(`VP workers: ${stats.pooledStarts} pooled starts, ${stats.onDemandStarts} on demand, ${stats.tsxStarts} through tsx, ${stats.started} started`);
    } finally {
      port1.close();
      await hv.shutdown();
    }
    return rows;
  },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Process RSS once workers have settled: wait, then the median of several samples. */
async function settledRss(): Promise<number> {
  await sleep(1000);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(process.memoryUsage().rss);
    await sleep(100);
  }
  return median(samples);
}

/** Time from starting a worker through the bootstrap until its (TypeScript) entry has run and it exits, ms. */
async function bareWorker(): Promise<number> {
  const t0 = performance.now();
  await once(startWorker(IDLE, {}), 'exit');
  return performance.now() - t0;
}

export default suite;
