/**
 * Typed errors of @viridian/hypervisor, each with a stable `code`.
 *
 * The hypervisor itself never throws at a guest: a guest mistake is an HV_STATUS. These errors are
 * for host code misusing the `Hypervisor` class, and for the guest-side libraries, which turn a
 * failing status into {@link HypercallFailedError} where a caller asked for "do it or throw".
 */
import { hvStatusName } from './abi/status.ts';

/** Base class: every error this package throws has a stable `code`. */
export class HypervisorError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Host misuse of the `Hypervisor` class (booted twice, bad configuration). */
export class HypervisorConfigError extends HypervisorError {
  constructor(message: string) {
    super('VIRIDIAN_HV_CONFIG', message);
  }
}

/** A hypercall (or synthetic MSR/I/O exit) completed with a failing HV_STATUS. */
export class HypercallFailedError extends HypervisorError {
  constructor(
    readonly call: string,
    readonly status: number,
    readonly repsCompleted = 0,
  ) {
    super('VIRIDIAN_HV_HYPERCALL_FAILED', `${call} failed: ${hvStatusName(status)} (0x${status.toString(16)})`);
  }
}

/** The VP page or worker data a VP runtime was started with is not what the hypervisor hands out. */
export class VpBootError extends HypervisorError {
  constructor(message: string) {
    super('VIRIDIAN_HV_VP_BOOT', message);
  }
}
