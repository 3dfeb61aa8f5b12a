/**
 * Crash consistency (issue 5): a real writer process (`node --import tsx`) writes and trims a
 * dynamic VHDX and is killed with SIGKILL at a random point; the image must then open (its log
 * replayed), pass `qemu-img check`, and hold every operation acknowledged by the last completed
 * flush. Sectors touched by operations after that flush may hold either state. Waits on process
 * and stream events only.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDisk, openDisk } from '../disk-files.ts';
import { CRASH_BLOCK_SIZE, CRASH_CONCURRENCY, CRASH_DISK_SIZE, crashOp } from './crash-plan.test-support.ts';
import './index.ts';
import { qemuImg, tempFolder } from './vhdx.test-support.ts';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const ROUNDS = 5;
let folder: Awaited<ReturnType<typeof tempFolder>>;
beforeAll(async () => {
  folder = await tempFolder('viridian-crash-');
});
afterAll(async () => {
  await folder.remove();
});

/**
 * Runs the writer and SIGKILLs it after `flushesBeforeKill` flush lines and `linesAfter` more lines;
 * returns the last acknowledged flush and the last completed count it printed before dying.
 */
async function runAndKill(path: string, seed: number, flushesBeforeKill: number, linesAfter: number): Promise<{ flushed: number; completed: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let flushed = 0;
  let completed = 0;
  let flushes = 0;
  let after = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    const [kind, count] = line.split(' ');
    if (kind === 'F') {
      flushed = Number(count);
      flushes++;
    } else if (kind === 'W') completed = Number(count);
    // Keep reading after the kill: lines the writer printed before it died may still be in the pipe.
    if (!child.killed && flushes >= flushesBeforeKill && after++ >= linesAfter) child.kill('SIGKILL');
  }
  const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  if (signal !== 'SIGKILL') throw new Error(`writer ended by itself (code ${code}): ${stderr}`);
  return { flushed, completed };
}

describe('crash consistency', () => {
  it(`survives ${ROUNDS} SIGKILLs mid-write with the log replayed and flushed data intact`, async () => {
    let replays = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const seed = (Math.random() * 2 ** 31) >>> 0;
      const path = folder.file(`crash-${round}.vhdx`);
      await (await createDisk(path, { format: 'vhdx-dynamic', size: CRASH_DISK_SIZE, blockSize: CRASH_BLOCK_SIZE })).close();
      const { flushed, completed } = await runAndKill(path, seed, 1 + Math.floor(Math.random() * 4), Math.floor(Math.random() * 12));

      const disk = await openDisk(path);
      replays += Number(disk.info().details['replayedLogEntries']);
      const actual = await disk.read(0, CRASH_DISK_SIZE);
      await disk.close();
      await qemuImg('check', '-f', 'vhdx', path);

      const model = Buffer.alloc(CRASH_DISK_SIZE);
      const apply = (i: number, into: Buffer): void => {
        const op = crashOp(seed, i);
        if (op.kind === 'write') op.data.copy(into, op.offset);
        else into.fill(0, op.offset, op.offset + op.length);
      };
      for (let i = 0; i < flushed; i++) apply(i, model);
      // Operations after the flush may or may not have landed, each sector independently.
      const unsure = Array.from({ length: completed + CRASH_CONCURRENCY - flushed }, (_, k) => crashOp(seed, flushed + k));
      for (let at = 0; at < CRASH_DISK_SIZE; at += 512) {
        const got = actual.subarray(at, at + 512);
        if (got.equals(model.subarray(at, at + 512))) continue;
        const explained = unsure.some((op) =>
          op.kind === 'write'
            ? at >= op.offset && at < op.offset + op.data.byteLength && got.equals(op.data.subarray(at - op.offset, at - op.offset + 512))
            : at >= op.offset && at < op.offset + op.length && got.every((b) => b === 0),
        );
        if (!explained) expect.fail(`round ${round} (seed ${seed}, flushed ${flushed}, completed ${completed}): sector ${at / 512} holds data no operation explains`);
      }
    }
    expect(replays).toBeGreaterThan(0);
    console.log(`crash test: ${ROUNDS} kills, ${replays} log entries replayed on reopen`);
  });
});
