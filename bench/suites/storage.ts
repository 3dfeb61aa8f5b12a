/**
 * Benchmark `storage`: disk I/O from a child partition through storvsc, VMBus and storvsp to an
 * image file on the host (raw and dynamic VHDX): 4 KiB random reads and writes at queue depth 1
 * and 32, 1 MiB sequential reads and writes (queue depth 4); in the same run the same pattern
 * issued by the host directly with `FileHandle` on a raw file of the same size (for VHDX the
 * baseline is the raw file too: direct writes into a VHDX file would corrupt it). Medians of
 * several runs, each side timed at its steady state: before the timed runs, both run the whole
 * job list once untimed (JIT warm-up; the guest side has far more code to warm than the direct
 * loop, and its first jobs ran at a fraction of their later speed without it).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Host, MiB, createDisk } from '@viridian/root-partition';
import { runFileJobs, type IoJob, type IoResult } from '../lib/file-jobs.ts';
import { median, repeat } from '../lib/stats.ts';
import { row, type BenchRow, type BenchSuite } from '../lib/suite.ts';

const DISK_BYTES = 256 * MiB;
const BASELINE = 'direct FileHandle I/O on a raw file';

/** The job list once more, named apart from the timed runs (never reported). */
function warmups(list: readonly IoJob[]): IoJob[] {
  return list.map((job) => ({ ...job, name: `warm-up: ${job.name}` }));
}

function jobs(quick: boolean): IoJob[] {
  const scale = quick ? 0.2 : 1;
  const n = (count: number): number => Math.max(64, Math.round(count * scale));
  return [
    { name: '4 KiB random read, QD1', op: 'read', random: true, size: 4096, qd: 1, count: n(3000) },
    { name: '4 KiB random read, QD32', op: 'read', random: true, size: 4096, qd: 32, count: n(30000) },
    { name: '4 KiB random write, QD1', op: 'write', random: true, size: 4096, qd: 1, count: n(3000) },
    { name: '4 KiB random write, QD32', op: 'write', random: true, size: 4096, qd: 32, count: n(30000) },
    { name: '1 MiB sequential read', op: 'read', random: false, size: MiB, qd: 4, count: n(512) },
    { name: '1 MiB sequential write', op: 'write', random: false, size: MiB, qd: 4, count: n(512) },
  ];
}

/** Creates an image with every block written (so reads hit data, and VHDX blocks are allocated). */
async function prepare(dir: string, format: 'raw' | 'vhdx-dynamic', name: string): Promise<string> {
  const file = path.join(dir, name);
  const disk = await createDisk(file, { format, size: DISK_BYTES });
  const chunk = new Uint8Array(4 * MiB).fill(0xa5);
  for (let at = 0; at < DISK_BYTES; at += chunk.length) await disk.write(at, chunk);
  await disk.flush();
  await disk.close();
  return file;
}

const suite: BenchSuite = {
  name: 'storage',
  description: 'disk I/O from a child through storvsc/storvsp to an image file vs direct FileHandle I/O',
  async run({ quick, progress }) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'viridian-bench-storage-'));
    const host = await Host.boot({ memoryBytes: 512 * MiB });
    const program = new URL('../guests/storage-perf-guest.ts', import.meta.url);
    const rows: BenchRow[] = [];
    const repetitions = quick ? 1 : 3;
    try {
      const list = jobs(quick);
      // The baseline: the same pattern on a raw file of the same size, directly with FileHandle.
      progress(`preparing the ${DISK_BYTES / MiB} MiB baseline file`);
      const baselineFile = await prepare(dir, 'raw', 'baseline.raw');
      progress('direct FileHandle I/O, warm-up');
      await runFileJobs(baselineFile, DISK_BYTES, warmups(list));
      const theirs = await repeat(repetitions, (i) => {
        progress(`direct FileHandle I/O, run ${i + 1}/${repetitions}`);
        return runFileJobs(baselineFile, DISK_BYTES, list);
      });
      for (const format of ['raw', 'vhdx-dynamic'] as const) {
        progress(`preparing a ${DISK_BYTES / MiB} MiB ${format} image`);
        const file = await prepare(dir, format, format === 'raw' ? 'disk.raw' : 'disk.vhdx');
        // One VM per image (an image is opened once): it runs every job `repetitions` times.
        progress(`${format}: guest I/O through storvsc (${repetitions} runs)`);
        const runs = [...warmups(list), ...Array.from({ length: repetitions }, (_, r) => list.map((job) => ({ ...job, name: `${job.name}#${r}` }))).flat()];
        const vm = await host.createVm({ name: `storage-${format}`, memoryBytes: 64 * MiB, program, args: { jobs: runs }, devices: [{ kind: 'scsi', disks: [{ path: file }] }] });
        await vm.start();
        const results = (await vm.result) as IoResult[];
        const ours = Array.from({ length: repetitions }, (_, r) => results.filter((x) => x.name.endsWith(`#${r}`)).map((x) => ({ ...x, name: x.name.slice(0, x.name.lastIndexOf('#')) })));
        for (const job of list) {
          const pick = (sets: IoResult[][], key: 'iops' | 'bytesPerSecond'): number => median(sets.map((r) => r.find((x) => x.name === job.name)![key]));
          const metric = job.size >= MiB ? 'bytes_per_s' : 'iops';
          const key = metric === 'iops' ? 'iops' : 'bytesPerSecond';
          rows.push(row(`${format}: ${job.name}`, metric, pick(ours, key), { name: BASELINE, value: pick(theirs, key) }));
        }
      }
    } finally {
      await host.shutdown();
      await rm(dir, { recursive: true, force: true });
    }
    return rows;
  },
};

export default suite;
