/**
 * @viridian/worker-bootstrap: the single place that starts worker threads, so that workers written
 * in TypeScript run under Node.js 20 (tsx is registered inside each worker) and compiled JavaScript
 * runs directly.
 */

// Starting workers
export { startWorker, resolveWorkerEntry } from './start-worker.ts';
export type { StartWorkerOptions, ResolvedEntry } from './start-worker.ts';

// Errors
export { WorkerBootstrapError, WorkerEntryNotFoundError } from './errors.ts';
