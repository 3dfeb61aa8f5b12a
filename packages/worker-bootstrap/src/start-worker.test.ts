import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { resolveWorkerEntry, startWorker, WorkerEntryNotFoundError } from './index.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

describe('startWorker', () => {
  it('runs a TypeScript entry (with TypeScript imports) through tsx inside the worker', async () => {
    const worker = startWorker(fixture('echo-worker.ts'), { workerData: { value: 21 } });
    const [message] = await once(worker, 'message');
    expect(message).toEqual({ echoed: 42, language: 'ts' });
    await once(worker, 'exit');
  });

  it('runs a compiled JavaScript entry directly', async () => {
    const worker = startWorker(fixture('echo-worker.mjs'), { workerData: { value: 5 } });
    const [message] = await once(worker, 'message');
    expect(message).toEqual({ echoed: 10, language: 'js' });
    await once(worker, 'exit');
  });

  it('falls back to the compiled .js sibling of a .ts entry that is not in the tree', async () => {
    expect(resolveWorkerEntry(fixture('compiled-only.ts'))).toMatchObject({ typescript: false });
    const worker = startWorker(fixture('compiled-only.ts'));
    const [message] = await once(worker, 'message');
    expect(message).toEqual({ echoed: 'compiled', language: 'js' });
  });

  it("reports an entry's top-level exception as the worker's error event", async () => {
    const worker = startWorker(fixture('throwing-worker.ts'));
    const [error] = await once(worker, 'error');
    expect((error as Error).message).toBe('fixture failure');
  });

  it('throws a typed error for a missing entry', () => {
    expect(() => startWorker(fixture('missing.ts'))).toThrow(WorkerEntryNotFoundError);
    try {
      startWorker('/nonexistent/entry.js');
    } catch (e) {
      expect((e as WorkerEntryNotFoundError).code).toBe('VIRIDIAN_WORKER_ENTRY_NOT_FOUND');
    }
  });
});
