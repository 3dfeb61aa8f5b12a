/**
 * Typed errors of the worker bootstrap, each with a stable `code`.
 */

/** Base class: every error this package throws has a stable `code`. */
export class WorkerBootstrapError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The worker's entry module does not exist (neither as given nor as compiled JavaScript). */
export class WorkerEntryNotFoundError extends WorkerBootstrapError {
  constructor(readonly path: string) {
    super('VIRIDIAN_WORKER_ENTRY_NOT_FOUND', `worker entry not found: ${path}`);
  }
}

/** A TypeScript worker entry (or a module it imports) could not be compiled to JavaScript. */
export class WorkerCompileError extends WorkerBootstrapError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super('VIRIDIAN_WORKER_COMPILE_FAILED', `cannot compile worker module ${path}: ${reason}`);
  }
}
