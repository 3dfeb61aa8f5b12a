/**
 * The one way Viridian starts a worker thread.
 *
 * Node.js 20 does not hand the parent's module loader hooks to worker threads, so a worker whose
 * entry is TypeScript cannot simply be `new Worker(file.ts)`. Every worker the project starts goes
 * through {@link startWorker}, which picks one of two paths:
 *
 * - **TypeScript entry** (`.ts`, `.mts`): an eval worker registers tsx inside the new thread, then
 *   imports the entry: `import(tsxApi).then(m => { m.register(); return import(entry) })`.
 * - **JavaScript entry** (`.js`, `.mjs`, compiled output): a plain `new Worker(url)`.
 *
 * A `.ts` entry that no longer exists next to the caller (the caller was compiled to JavaScript)
 * falls back to the `.js` file of the same name, so `new URL('./vp.ts', import.meta.url)` works
 * from source and from `dist/` alike. Nested workers go through the same helper.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { WorkerEntryNotFoundError } from './errors.ts';

const require = createRequire(import.meta.url);

/** Options for {@link startWorker}: the usual `WorkerOptions` except `eval`, which is ours. */
export type StartWorkerOptions = Omit<WorkerOptions, 'eval'>;

/** How an entry will be started: through tsx, or directly as JavaScript. */
export interface ResolvedEntry {
  readonly url: URL;
  readonly typescript: boolean;
}

const TS_EXTENSION = /\.(c|m)?ts$/;

/**
 * Decides how to start `entry`.
 * @throws {WorkerEntryNotFoundError} when neither the file nor its compiled `.js` sibling exists.
 */
export function resolveWorkerEntry(entry: URL | string): ResolvedEntry {
  const url = typeof entry === 'string' ? toFileUrl(entry) : entry;
  const path = fileURLToPath(url);
  if (existsSync(path)) return { url, typescript: TS_EXTENSION.test(path) };
  if (TS_EXTENSION.test(path)) {
    const compiled = path.replace(TS_EXTENSION, (ext) => ext.replace('ts', 'js'));
    if (existsSync(compiled)) return { url: pathToFileURL(compiled), typescript: false };
  }
  throw new WorkerEntryNotFoundError(path);
}

/**
 * Starts a worker thread running `entry` (a file URL or absolute path).
 * @throws {WorkerEntryNotFoundError} when the entry file does not exist.
 */
export function startWorker(entry: URL | string, options: StartWorkerOptions = {}): Worker {
  const resolved = resolveWorkerEntry(entry);
  if (!resolved.typescript) return new Worker(resolved.url, options);
  return new Worker(bootstrapSource(resolved.url), { ...options, eval: true });
}

let tsxApiUrl: string | undefined;

/** The eval source that registers tsx in the new thread and then imports the entry. */
function bootstrapSource(entry: URL): string {
  tsxApiUrl ??= resolveTsxEsmApi();
  // Errors thrown by the entry surface as the worker's 'error' event: rethrow them untouched.
  return [
    `import(${JSON.stringify(tsxApiUrl)})`,
    `.then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`,
    `.catch((e) => { setImmediate(() => { throw e; }); });`,
  ].join('');
}

/** tsx's ESM registration API; `require.resolve` gives its CommonJS twin, so take the sibling. */
function resolveTsxEsmApi(): string {
  const cjs = require.resolve('tsx/esm/api');
  const esm = cjs.replace(/\.cjs$/, '.mjs');
  return pathToFileURL(existsSync(esm) ? esm : cjs).href;
}

function toFileUrl(entry: string): URL {
  return entry.startsWith('file:') ? new URL(entry) : pathToFileURL(entry);
}
