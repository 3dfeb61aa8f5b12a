/**
 * Errors of the storvsc driver (coded, on the guest kernel's base class).
 */
import { GuestKernelError } from '../../errors.ts';

/** The VSP refused a vstor operation (initialization step, or an SRB it could not take). */
export class StorvscProtocolError extends GuestKernelError {
  constructor(
    readonly operation: string,
    readonly status: number,
    detail: string,
  ) {
    super('VIRIDIAN_STORVSC_PROTOCOL', `vstor ${operation} failed (status 0x${(status >>> 0).toString(16)}): ${detail}`);
  }
}

/** A SCSI command failed: SRB status, SCSI status and the sense key / ASC / ASCQ when sense came back. */
export class ScsiCommandError extends GuestKernelError {
  constructor(
    readonly opcode: number,
    readonly srbStatus: number,
    readonly scsiStatus: number,
    readonly senseKey: number | undefined,
    readonly asc: number | undefined,
    readonly ascq: number | undefined,
  ) {
    const sense = senseKey === undefined ? '' : `, sense ${hex(senseKey)}/${hex(asc ?? 0)}/${hex(ascq ?? 0)}`;
    super('VIRIDIAN_SCSI_COMMAND_FAILED', `SCSI command 0x${hex(opcode)} failed: SRB status 0x${hex(srbStatus)}, SCSI status 0x${hex(scsiStatus)}${sense}`);
  }
}

/** A disk request with an offset or length that is not whole blocks, or a negative one. */
export class DiskRequestError extends GuestKernelError {
  constructor(detail: string) {
    super('VIRIDIAN_GUEST_DISK_BAD_REQUEST', detail);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
