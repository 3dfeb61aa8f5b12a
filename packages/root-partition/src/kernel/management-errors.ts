/**
 * The management service's refusals: a request it will not carry out, with a stable `code` the
 * host turns into a `ManagementRequestError`.
 */

/** A request the service refuses, with a stable code for the host. */
export class ManagementError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ManagementError';
  }
}
