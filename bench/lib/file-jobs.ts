/**
 * The storage benchmark's baseline: the same I/O pattern as the guest's, issued by the host
 * directly on the same file with `FileHandle` (random 4 KiB-aligned offsets from the same
 * generator, or sequential), `qd` requests in flight.
 */
import { open } from 'node:fs/promises';

/** One measured pattern (the same shape the storage guest program uses). */
export interface IoJob {
  readonly name: string;
  readonly op: 'read' | 'write';
  readonly random: boolean;
  readonly size: number;
  readonly qd: number;
  readonly count: number;
}

/** The outcome of one job. */
export interface IoResult {
  readonly name: string;
  readonly iops: number;
  readonly bytesPerSecond: number;
}

export async function runFileJobs(path: string, span: number, jobs: readonly IoJob[]): Promise<IoResult[]> {
  const file = await open(path, 'r+');
  const results: IoResult[] = [];
  try {
    for (const job of jobs) {
      const buffers = Array.from({ length: job.qd }, () => Buffer.alloc(job.size, 0x5a));
      const slots = Math.floor(span / job.size);
      let next = 0;
      let seed = 12345;
      const offset = (i: number): number => {
        if (!job.random) return (i % slots) * job.size;
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; // exact 32-bit LCG: every slot once per period
        return (seed % slots) * job.size;
      };
      const worker = async (lane: number): Promise<void> => {
        const buffer = buffers[lane]!;
        while (next < job.count) {
          const at = offset(next++);
          if (job.op === 'read') await file.read(buffer, 0, job.size, at);
          else await file.write(buffer, 0, job.size, at);
        }
      };
      const start = performance.now();
      await Promise.all(Array.from({ length: job.qd }, (_, lane) => worker(lane)));
      const ms = performance.now() - start;
      results.push({ name: job.name, iops: (job.count / ms) * 1000, bytesPerSecond: ((job.count * job.size) / ms) * 1000 });
    }
  } finally {
    await file.close();
  }
  return results;
}
