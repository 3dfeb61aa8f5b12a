/**
 * The synthetic MSRs a VP reads and writes (TLFS 2.0 §14.8; vmbus-wire.md §5.2): SCONTROL,
 * SVERSION, SIMP, SIEFP, EOM, SINT0-15, plus GuestOsId, Hypercall and VpIndex.
 *
 * Values are 64-bit; a VP passes them as two u32 halves. A write that x64 would answer with #GP
 * (read-only MSR, reserved bits, an overlay on an unmapped page) answers INVALID_PARAMETER; an MSR
 * the partition's privileges do not cover answers ACCESS_DENIED; an unknown MSR INVALID_PARAMETER.
 * Placing SIMP or SIEFP makes the page an overlay (see `GuestMemory.placeOverlay`).
 */
import { HvPrivilege } from '../abi/partition.ts';
import { HvStatus } from '../abi/status.ts';
import { HvSynicMsr, SintRegister, SYNIC_ENABLE } from '../abi/synic.ts';
import type { Vp } from './vp.ts';

/** A read's outcome: status and the value's halves. */
export interface MsrRead {
  readonly status: number;
  readonly lo: number;
  readonly hi: number;
}

const SINT_WRITABLE = SintRegister.VECTOR_MASK | SintRegister.MASKED | SintRegister.AUTO_EOI | SintRegister.POLLING;
const GPFN_REGISTER_RESERVED = 0xffe; // bits 11:1

/** Reads MSR `msr` of `vp`. */
export function readMsr(vp: Vp, msr: number): MsrRead {
  const synic = vp.synic;
  const denied = privilegeFor(vp, msr);
  if (denied !== HvStatus.SUCCESS) return { status: denied, lo: 0, hi: 0 };
  if (msr >= HvSynicMsr.Sint0 && msr <= HvSynicMsr.Sint15) return ok(synic.sints[msr - HvSynicMsr.Sint0]!, 0);
  switch (msr) {
    case HvSynicMsr.Scontrol:
      return ok(synic.scontrol, 0);
    case HvSynicMsr.Sversion:
      return ok(1, 0);
    case HvSynicMsr.Simp:
      return gpfnRegister(synic.simpGpfn);
    case HvSynicMsr.Siefp:
      return gpfnRegister(synic.siefpGpfn);
    case HvSynicMsr.Eom:
      return ok(0, 0);
    case HvSynicMsr.VpIndex:
      return ok(vp.index, 0);
    case HvSynicMsr.GuestOsId:
    case HvSynicMsr.Hypercall:
      return ok(0, 0);
    default:
      return { status: HvStatus.INVALID_PARAMETER, lo: 0, hi: 0 };
  }
}

/** Writes MSR `msr` of `vp` with the 64-bit value `hi:lo`; returns the status. */
export function writeMsr(vp: Vp, msr: number, lo: number, hi: number): number {
  const synic = vp.synic;
  const memory = vp.partition.memory;
  const denied = privilegeFor(vp, msr);
  if (denied !== HvStatus.SUCCESS) return denied;
  if (msr >= HvSynicMsr.Sint0 && msr <= HvSynicMsr.Sint15) {
    if (hi !== 0 || (lo & ~SINT_WRITABLE) !== 0) return HvStatus.INVALID_PARAMETER;
    const vector = lo & SintRegister.VECTOR_MASK;
    if ((lo & SintRegister.MASKED) === 0 && vector < 16 && vector !== 0) return HvStatus.INVALID_PARAMETER;
    const sint = msr - HvSynicMsr.Sint0;
    const wasMasked = synic.masked(sint);
    synic.sints[sint] = lo >>> 0;
    synic.deliverAll(memory);
    if (wasMasked) synic.resignal(sint, memory);
    return HvStatus.SUCCESS;
  }
  switch (msr) {
    case HvSynicMsr.Scontrol:
      if (hi !== 0 || (lo & ~1) !== 0) return HvStatus.INVALID_PARAMETER;
      synic.scontrol = lo;
      synic.deliverAll(memory);
      return HvStatus.SUCCESS;
    case HvSynicMsr.Simp:
    case HvSynicMsr.Siefp: {
      if ((lo & GPFN_REGISTER_RESERVED) !== 0 || !memory) return HvStatus.INVALID_PARAMETER;
      const enable = (lo & SYNIC_ENABLE) !== 0;
      const gpfn = hi * 0x10_0000 + (lo >>> 12);
      const isSimp = msr === HvSynicMsr.Simp;
      const current = isSimp ? synic.simpGpfn : synic.siefpGpfn;
      if (enable && gpfn === current) return HvStatus.SUCCESS;
      if (enable && !memory.placeOverlay(gpfn)) return HvStatus.INVALID_PARAMETER;
      if (current >= 0) memory.removeOverlay(current);
      if (isSimp) synic.simpGpfn = enable ? gpfn : -1;
      else synic.siefpGpfn = enable ? gpfn : -1;
      synic.deliverAll(memory);
      return HvStatus.SUCCESS;
    }
    case HvSynicMsr.Eom:
      synic.deliverAll(memory);
      return HvStatus.SUCCESS;
    case HvSynicMsr.GuestOsId:
    case HvSynicMsr.Hypercall:
      return HvStatus.SUCCESS;
    case HvSynicMsr.Sversion:
    case HvSynicMsr.VpIndex:
      return HvStatus.INVALID_PARAMETER; // read-only
    default:
      return HvStatus.INVALID_PARAMETER;
  }
}

function privilegeFor(vp: Vp, msr: number): number {
  const partition = vp.partition;
  if (msr >= HvSynicMsr.Scontrol && msr <= HvSynicMsr.Sint15) return partition.has(HvPrivilege.AccessSynicMsrs) ? HvStatus.SUCCESS : HvStatus.ACCESS_DENIED;
  if (msr === HvSynicMsr.VpIndex) return partition.has(HvPrivilege.AccessVpIndex) ? HvStatus.SUCCESS : HvStatus.ACCESS_DENIED;
  if (msr === HvSynicMsr.GuestOsId || msr === HvSynicMsr.Hypercall) return partition.has(HvPrivilege.AccessHypercallMsrs) ? HvStatus.SUCCESS : HvStatus.ACCESS_DENIED;
  return HvStatus.SUCCESS;
}

function ok(lo: number, hi: number): MsrRead {
  return { status: HvStatus.SUCCESS, lo: lo >>> 0, hi: hi >>> 0 };
}

function gpfnRegister(gpfn: number): MsrRead {
  if (gpfn < 0) return ok(0, 0);
  return ok(((gpfn % 0x10_0000) * 0x1000 + SYNIC_ENABLE) >>> 0, Math.floor(gpfn / 0x10_0000));
}
