/**
 * Typed errors of the guest kernel, each with a stable `code`.
 */

/** Base class of the guest kernel's errors. */
export class GuestKernelError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A request on a channel that closed (or was rescinded) before it completed. */
export class GuestChannelClosedError extends GuestKernelError {
  constructor(readonly channel: number) {
    super('VIRIDIAN_GUEST_CHANNEL_CLOSED', `channel ${channel} is closed`);
  }
}

/** The host refused a VMBus operation (a failed status in GPADL_CREATED or OPENCHANNEL_RESULT). */
export class VmbusOperationError extends GuestKernelError {
  constructor(
    readonly operation: 'connect' | 'gpadl' | 'open',
    readonly status: number,
    detail: string,
  ) {
    super('VIRIDIAN_VMBUS_OPERATION_FAILED', `VMBus ${operation} failed (status 0x${(status >>> 0).toString(16)}): ${detail}`);
  }
}

/** The guest's memory cannot hold what a driver asked for (ring pages, buffers). */
export class GuestOutOfMemoryError extends GuestKernelError {
  constructor(readonly pages: number) {
    super('VIRIDIAN_GUEST_OUT_OF_MEMORY', `no ${pages} contiguous free guest pages`);
  }
}
