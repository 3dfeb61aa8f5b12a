/**
 * Helpers shared by the VHDX tests: temporary folders, qemu tools run with `execFile` (never a
 * shell), and deterministic fill patterns that reveal misplaced sectors.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A fresh temporary folder and its removal. */
export async function tempFolder(prefix = 'viridian-vhdx-'): Promise<{ dir: string; file: (name: string) => string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(nodePath.join(tmpdir(), prefix));
  return { dir, file: (name) => nodePath.join(dir, name), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs `qemu-img` with `args`; resolves with stdout, rejects with the tool's stderr. */
export async function qemuImg(...args: string[]): Promise<string> {
  return (await run('qemu-img', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

/** Runs `qemu-io` with `args`. */
export async function qemuIo(...args: string[]): Promise<string> {
  return (await run('qemu-io', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

/** `length` bytes whose every 512-byte sector starts with its tag and absolute sector number. */
export function pattern(offset: number, length: number, tag: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += 512) {
    const sector = (offset + at) / 512;
    out.fill((tag * 7 + sector) & 0xff, at, at + 512);
    out.writeUInt32LE(tag >>> 0, at);
    out.writeUInt32LE(sector >>> 0, at + 4);
  }
  return out;
}
