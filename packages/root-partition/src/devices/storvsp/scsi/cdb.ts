/**
 * SCSI CDB parsing (SPC-4, SBC-3): the one place a guest's command descriptor block becomes a
 * {@link ScsiCommand}. Fields are big-endian; every command's CDB length is checked before a byte
 * past it is read; reserved/unsupported field values decode to `invalid-field` (CHECK CONDITION,
 * INVALID FIELD IN CDB) and unknown opcodes to `unsupported` (INVALID COMMAND OPERATION CODE).
 * Logic-free of the disk: LBA range checks need the capacity and live in `scsi-disk.ts`.
 */
import { ModePage, ScsiOp, ServiceAction } from '@viridian/vmbus';

/** A decoded CDB. LBAs and counts are numbers: a u64 LBA above 2^53 decodes as `lba-out-of-range`. */
export type ScsiCommand =
  | { readonly op: 'test-unit-ready' }
  | { readonly op: 'inquiry'; readonly evpd: boolean; readonly page: number; readonly allocationLength: number }
  | { readonly op: 'read-capacity-10' }
  | { readonly op: 'read-capacity-16'; readonly allocationLength: number }
  | { readonly op: 'read'; readonly lba: number; readonly blocks: number; readonly fua: boolean }
  | { readonly op: 'write'; readonly lba: number; readonly blocks: number; readonly fua: boolean }
  | { readonly op: 'synchronize-cache' }
  | { readonly op: 'unmap'; readonly parameterListLength: number }
  | { readonly op: 'mode-sense'; readonly ten: boolean; readonly dbd: boolean; readonly pageControl: number; readonly page: number; readonly subpage: number; readonly allocationLength: number }
  | { readonly op: 'report-luns'; readonly allocationLength: number }
  | { readonly op: 'request-sense'; readonly descriptor: boolean; readonly allocationLength: number }
  /** The CDB is shorter than its opcode's CDB. */
  | { readonly op: 'cdb-too-short'; readonly opcode: number; readonly needed: number }
  | { readonly op: 'invalid-field'; readonly opcode: number }
  | { readonly op: 'lba-out-of-range'; readonly opcode: number }
  | { readonly op: 'unsupported'; readonly opcode: number };

/** CDB length of each supported opcode. */
const CDB_LENGTHS: ReadonlyMap<number, number> = new Map<number, number>([
  [ScsiOp.testUnitReady, 6],
  [ScsiOp.requestSense, 6],
  [ScsiOp.read6, 6],
  [ScsiOp.write6, 6],
  [ScsiOp.inquiry, 6],
  [ScsiOp.modeSense6, 6],
  [ScsiOp.readCapacity10, 10],
  [ScsiOp.read10, 10],
  [ScsiOp.write10, 10],
  [ScsiOp.synchronizeCache10, 10],
  [ScsiOp.unmap, 10],
  [ScsiOp.modeSense10, 10],
  [ScsiOp.read16, 16],
  [ScsiOp.write16, 16],
  [ScsiOp.synchronizeCache16, 16],
  [ScsiOp.serviceActionIn16, 16],
  [ScsiOp.reportLuns, 12],
]);

/** Decodes `cdb` (the `cdb_length` bytes the guest sent). */
export function parseCdb(cdb: Uint8Array): ScsiCommand {
  const opcode = cdb[0] ?? -1;
  const needed = CDB_LENGTHS.get(opcode);
  if (needed === undefined) return { op: 'unsupported', opcode };
  if (cdb.length < needed) return { op: 'cdb-too-short', opcode, needed };
  const u16 = (at: number) => (cdb[at]! << 8) | cdb[at + 1]!;
  const u32 = (at: number) => ((cdb[at]! << 24) | (cdb[at + 1]! << 16) | (cdb[at + 2]! << 8) | cdb[at + 3]!) >>> 0;
  const u64 = (at: number) => u32(at) * 2 ** 32 + u32(at + 4);
  switch (opcode) {
    case ScsiOp.testUnitReady:
      return { op: 'test-unit-ready' };
    case ScsiOp.requestSense:
      return { op: 'request-sense', descriptor: (cdb[1]! & 1) !== 0, allocationLength: cdb[4]! };
    case ScsiOp.inquiry: {
      const evpd = (cdb[1]! & 1) !== 0;
      // CMDDT (bit 1) is obsolete; a page code without EVPD is invalid (SPC-4 6.6).
      if ((cdb[1]! & 0xfe) !== 0 || (!evpd && cdb[2] !== 0)) return { op: 'invalid-field', opcode };
      return { op: 'inquiry', evpd, page: cdb[2]!, allocationLength: u16(3) };
    }
    case ScsiOp.readCapacity10:
      return { op: 'read-capacity-10' };
    case ScsiOp.serviceActionIn16:
      if ((cdb[1]! & 0x1f) !== ServiceAction.readCapacity16) return { op: 'unsupported', opcode };
      return { op: 'read-capacity-16', allocationLength: u32(10) };
    case ScsiOp.read6:
    case ScsiOp.write6: {
      // A transfer length of 0 means 256 blocks (SBC-3 5.15).
      const lba = ((cdb[1]! & 0x1f) << 16) | u16(2);
      const blocks = cdb[4] === 0 ? 256 : cdb[4]!;
      return { op: opcode === ScsiOp.read6 ? 'read' : 'write', lba, blocks, fua: false };
    }
    case ScsiOp.read10:
    case ScsiOp.write10:
      return { op: opcode === ScsiOp.read10 ? 'read' : 'write', lba: u32(2), blocks: u16(7), fua: (cdb[1]! & 0x08) !== 0 };
    case ScsiOp.read16:
    case ScsiOp.write16: {
      const lba = u64(2);
      if (!Number.isSafeInteger(lba)) return { op: 'lba-out-of-range', opcode };
      return { op: opcode === ScsiOp.read16 ? 'read' : 'write', lba, blocks: u32(10), fua: (cdb[1]! & 0x08) !== 0 };
    }
    case ScsiOp.synchronizeCache10:
    case ScsiOp.synchronizeCache16:
      // The whole cache is flushed whatever range is named (a superset of what SBC asks).
      return { op: 'synchronize-cache' };
    case ScsiOp.unmap:
      // ANCHOR (byte 1 bit 0) asks for anchored state, which these disks do not have.
      if ((cdb[1]! & 1) !== 0) return { op: 'invalid-field', opcode };
      return { op: 'unmap', parameterListLength: u16(7) };
    case ScsiOp.modeSense6:
    case ScsiOp.modeSense10: {
      const ten = opcode === ScsiOp.modeSense10;
      const page = cdb[2]! & 0x3f;
      const pageControl = cdb[2]! >> 6;
      // Saved values (page control 3) are not supported: there is nothing to save.
      if (pageControl === 3) return { op: 'invalid-field', opcode };
      if (page !== ModePage.caching && page !== ModePage.control && page !== ModePage.all) return { op: 'invalid-field', opcode };
      return { op: 'mode-sense', ten, dbd: (cdb[1]! & 0x08) !== 0, pageControl, page, subpage: cdb[3]!, allocationLength: ten ? u16(7) : cdb[4]! };
    }
    case ScsiOp.reportLuns:
      // Select reports 0 (all LUNs), 1 (well-known: none) and 2 (all) are supported.
      if (cdb[2]! > 2) return { op: 'invalid-field', opcode };
      return { op: 'report-luns', allocationLength: u32(6) };
    default:
      return { op: 'unsupported', opcode };
  }
}
