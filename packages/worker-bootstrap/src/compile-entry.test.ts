import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compiledPath, compileWorkerEntry, execArgvWithoutPreloads, startWorker, WorkerCompileError, WorkerEntryNotFoundError } from './index.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const scratch = mkdtempSync(join(tmpdir(), 'viridian-compile-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('compileWorkerEntry', () => {
  it('compiles a TypeScript entry and its TypeScript imports into .mjs files a plain worker runs', async () => {
    const url = await compileWorkerEntry(fixture('echo-worker.ts'));
    expect(url.pathname.endsWith('/fixtures/echo-worker.mjs')).toBe(true);
    expect(fileURLToPath(url)).toBe(compiledPath(fileURLToPath(fixture('echo-worker.ts'))));
    expect(existsSync(compiledPath(fileURLToPath(fixture('nested-import.ts'))))).toBe(true);
    const worker = startWorker(url, { workerData: { value: 21 } });
    const [message] = await once(worker, 'message');
    expect(message).toEqual({ echoed: 42, language: 'ts' });
  });

  it('keeps import.meta pointing at the source, so URLs relative to it name the source tree', async () => {
    const worker = startWorker(await compileWorkerEntry(fixture('meta-worker.ts')));
    const [message] = await once(worker, 'message');
    expect(message).toEqual({
      url: fixture('meta-worker.ts').href,
      sibling: fixture('nested-import.ts').href,
      filename: fileURLToPath(fixture('meta-worker.ts')),
      echoed: 4,
    });
  });

  it('returns a JavaScript entry as it is', async () => {
    expect((await compileWorkerEntry(fixture('echo-worker.mjs'))).href).toBe(fixture('echo-worker.mjs').href);
  });

  it('rejects with typed errors for a missing entry and a module that does not compile, and recompiles once fixed', async () => {
    await expect(compileWorkerEntry(fixture('missing.ts'))).rejects.toThrow(WorkerEntryNotFoundError);
    const file = join(scratch, 'entry.ts');
    writeFileSync(file, 'const x: number = ;\n');
    const failure = await compileWorkerEntry(pathToFileURL(file)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WorkerCompileError);
    expect((failure as WorkerCompileError).code).toBe('VIRIDIAN_WORKER_COMPILE_FAILED');
    writeFileSync(file, "import { parentPort } from 'node:worker_threads';\nconst fixed: string = 'fixed';\nparentPort?.postMessage(fixed);\n");
    const [message] = await once(startWorker(await compileWorkerEntry(pathToFileURL(file))), 'message');
    expect(message).toBe('fixed');
  });

  it('drops preload and loader flags from an execArgv a compiled worker would inherit', () => {
    const argv = ['--require', '/x/preflight.cjs', '--import', 'file:///x/loader.mjs', '--enable-source-maps', '--import=tsx', '-r', 'a', '--loader=b', '--max-old-space-size=64'];
    expect(execArgvWithoutPreloads(argv)).toEqual(['--enable-source-maps', '--max-old-space-size=64']);
  });
});
