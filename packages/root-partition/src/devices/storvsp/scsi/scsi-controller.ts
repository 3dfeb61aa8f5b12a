/**
 * The SCSI controller's target side: the LUNs of one synthetic SCSI controller (target 0, LUNs
 * 0..63) and the commands that concern the controller rather than one disk (REPORT LUNS, which any
 * LUN address answers, as SPC-4 requires of LUN 0). A command to a LUN without a disk gets SRB
 * status INVALID_LUN, as Hyper-V's storvsp answers; LUNs can be added and removed at any time.
 */
import { createHash } from 'node:crypto';
import { ReportLunsData } from '@viridian/vmbus';
import type { VirtualDisk } from '../../../storage/virtual-disk.ts';
import { parseCdb, type ScsiCommand } from './cdb.ts';
import { good, type ScsiDataBuffer, type ScsiOutcome } from './outcome.ts';
import { ScsiDisk } from './scsi-disk.ts';

/** No disk answers at this address. */
export const INVALID_LUN = 'invalid-lun';

export class ScsiController {
  private readonly luns = new Map<number, ScsiDisk>();

  constructor(
    /** Names the controller in LUN identities (serial, NAA). */
    private readonly name: string,
    private readonly maxTransferBytes: number,
    readonly maxLuns: number,
  ) {}

  /** Attaches `disk` at `lun`. */
  attach(lun: number, disk: VirtualDisk): ScsiDisk {
    if (!Number.isInteger(lun) || lun < 0 || lun >= this.maxLuns) throw new RangeError(`LUN ${lun} is not in 0..${this.maxLuns - 1}`);
    if (this.luns.has(lun)) throw new RangeError(`LUN ${lun} is taken`);
    const digest = createHash('sha256').update(`${this.name}/${lun}/${disk.path}`).digest();
    const naa = Uint8Array.from(digest.subarray(0, 16));
    naa[0] = 0x60 | (naa[0]! & 0x0f); // NAA 6: IEEE Registered Extended
    const target = new ScsiDisk(disk, { identity: { serial: digest.subarray(0, 10).toString('hex'), naa }, maxTransferBytes: this.maxTransferBytes });
    this.luns.set(lun, target);
    return target;
  }

  /** Detaches the disk at `lun` (the caller closes it). */
  detach(lun: number): ScsiDisk | undefined {
    const target = this.luns.get(lun);
    this.luns.delete(lun);
    return target;
  }

  lun(lun: number): ScsiDisk | undefined {
    return this.luns.get(lun);
  }

  /** The LUNs with disks, ascending. */
  get lunNumbers(): number[] {
    return [...this.luns.keys()].sort((a, b) => a - b);
  }

  /** Executes an already parsed `command` for `target`/`lun`. */
  execute(targetId: number, lun: number, command: ScsiCommand, buffer: ScsiDataBuffer | undefined): ScsiOutcome | Promise<ScsiOutcome> | typeof INVALID_LUN {
    if (targetId !== 0) return INVALID_LUN;
    if (command.op === 'report-luns') return this.reportLuns(command.allocationLength, buffer);
    const disk = this.luns.get(lun);
    if (disk === undefined) return INVALID_LUN;
    return disk.execute(command, buffer);
  }

  /** Parses and executes `cdb` (tests and tools; storvsp parses first to count malformed CDBs). */
  executeCdb(lun: number, cdb: Uint8Array, buffer?: ScsiDataBuffer): ScsiOutcome | Promise<ScsiOutcome> | typeof INVALID_LUN {
    return this.execute(0, lun, parseCdb(cdb), buffer);
  }

  private reportLuns(allocationLength: number, buffer: ScsiDataBuffer | undefined): ScsiOutcome {
    const luns = this.lunNumbers;
    const data = new Uint8Array(ReportLunsData.HEADER_SIZE + luns.length * ReportLunsData.ENTRY_SIZE);
    new DataView(data.buffer).setUint32(ReportLunsData.listLength, luns.length * ReportLunsData.ENTRY_SIZE);
    luns.forEach((lun, i) => {
      // Peripheral device addressing, single level: bus 0, LUN in byte 1.
      data[ReportLunsData.HEADER_SIZE + i * ReportLunsData.ENTRY_SIZE + 1] = lun;
    });
    const length = Math.min(data.length, allocationLength, buffer?.length ?? 0);
    if (length > 0) buffer!.write(0, data.subarray(0, length));
    return good(length);
  }
}
