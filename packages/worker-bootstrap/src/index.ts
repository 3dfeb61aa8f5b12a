/**
 * @viridian/worker-bootstrap: the single place that starts worker threads, so that workers written
 * in TypeScript run under Node.js 20 (tsx is registered inside each worker) and compiled JavaScript
 * runs directly; `compileWorkerEntry` compiles a TypeScript entry's graph once so the worker runs it
 * as plain JavaScript (one isolate, no tsx).
 */

// Starting workers
export { startWorker, resolveWorkerEntry } from './start-worker.ts';
export type { StartWorkerOptions, ResolvedEntry } from './start-worker.ts';
export { compileWorkerEntry, compiledPath, execArgvWithoutPreloads } from './compile-entry.ts';

// Errors
export { WorkerBootstrapError, WorkerEntryNotFoundError, WorkerCompileError } from './errors.ts';
