/**
 * Helpers for the CLI tests only: run `viridian` as a real process (node + tsx on `main.ts`, the
 * way `bin/viridian.mjs` does) and collect its exit code and output, and a temporary folder per test.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The CLI entry the tests run. */
export const CLI_ENTRY = fileURLToPath(new URL('./main.ts', import.meta.url));
/** The repository root: `--import tsx` resolves from the working directory. */
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** What one CLI run did. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `viridian …args` to completion (never rejects on a non-zero exit). */
export function viridian(...args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

/** Runs `fn` with a fresh temporary folder, removed afterwards whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'viridian-cli-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every stderr line is `viridian: <message> (<code>)` or the usage hint, and no stack trace. */
export const ERROR_LINE = /^viridian: .+ \((VIRIDIAN_[A-Z_]+|commander\.[A-Za-z]+)\)$/;
