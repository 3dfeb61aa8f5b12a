/**
 * Virtual-processor hypercalls (TLFS 2.0 §10; hyperv-tlfs.md §4): CreateVp, DeleteVp,
 * GetVpRegisters, SetVpRegisters, and InstallIntercept (which arms the VP intercept path).
 *
 * SetVpRegisters is how a parent starts a child: it sets the entry-point string registers, then
 * clears ExplicitSuspend, which starts the VP's worker. Clearing InterceptSuspend (after setting
 * Rax for a read) completes an intercepted I/O access and resumes the VP.
 */
import { VP_INDEX_SELF } from '../../abi/ids.ts';
import { CreateVpInput, InstallInterceptInput, VpInput } from '../../abi/inputs.ts';
import { HvInterceptAccess, HvInterceptType } from '../../abi/partition.ts';
import { HvRegister, MAX_STRING_REGISTER_BYTES, RegisterAssocLayout, STRING_REGISTERS } from '../../abi/registers.ts';
import { HvStatus } from '../../abi/status.ts';
import { HvSynicMsr } from '../../abi/synic.ts';
import { resolveWorkerEntry } from '@viridian/worker-bootstrap';
import { resolveTarget, type CallContext, type CallOutcome } from '../call-context.ts';
import { completeIo } from '../io-exits.ts';
import { HvCosts } from '../memory-pool.ts';
import { readMsr, writeMsr } from '../synic-msrs.ts';
import type { Vp } from '../vp.ts';

const REGISTER_MSRS = new Map<number, number>([
  [HvRegister.Scontrol, HvSynicMsr.Scontrol],
  [HvRegister.Sversion, HvSynicMsr.Sversion],
  [HvRegister.Siefp, HvSynicMsr.Siefp],
  [HvRegister.Simp, HvSynicMsr.Simp],
  [HvRegister.Eom, HvSynicMsr.Eom],
  ...Array.from({ length: 16 }, (_, i): [number, number] => [HvRegister.Sint0 + i, HvSynicMsr.Sint0 + i]),
]);

export function createVp(ctx: CallContext): CallOutcome {
  const { input, core } = ctx;
  const target = resolveTarget(ctx, input.partition(CreateVpInput.PARTITION), 'child');
  if (typeof target === 'number') return target;
  if (target.state.kind !== 'active') return HvStatus.INVALID_PARTITION_STATE;
  const index = input.u32(CreateVpInput.VP);
  if (index >= core.limits.maxVpsPerPartition || target.vps.has(index)) return HvStatus.INVALID_VP_INDEX;
  if (input.u64(CreateVpInput.FLAGS) !== 0n) return HvStatus.INVALID_PARAMETER;
  if (!target.pool.draw(HvCosts.VP)) return HvStatus.INSUFFICIENT_MEMORY;
  core.createVp(target, index);
  return HvStatus.SUCCESS;
}

export function deleteVp(ctx: CallContext): CallOutcome {
  const vp = resolveVp(ctx, 'child');
  if (typeof vp === 'number') return vp;
  ctx.core.deleteVp(vp);
  return HvStatus.SUCCESS;
}

export function getVpRegisters(ctx: CallContext): CallOutcome {
  const { input, output, repStart, repCount } = ctx;
  const vp = resolveVp(ctx, 'child-or-self');
  if (typeof vp === 'number') return { status: vp, reps: repStart };
  for (let i = repStart; i < repCount; i++) {
    const name = input.u32(VpInput.SIZE + i * 4);
    const value = readRegister(vp, name);
    if (typeof value === 'number') return { status: value, reps: i };
    output.u32(i * 16, value.lo);
    output.u32(i * 16 + 4, value.hi);
  }
  return { status: HvStatus.SUCCESS, reps: repCount };
}

export function setVpRegisters(ctx: CallContext): CallOutcome {
  const { input, repStart, repCount, core } = ctx;
  const vp = resolveVp(ctx, 'child');
  if (typeof vp === 'number') return { status: vp, reps: repStart };
  const listEnd = VpInput.SIZE + repCount * RegisterAssocLayout.SIZE;
  for (let i = repStart; i < repCount; i++) {
    const at = VpInput.SIZE + i * RegisterAssocLayout.SIZE;
    const name = input.u32(at + RegisterAssocLayout.NAME);
    const lo = input.u32(at + RegisterAssocLayout.VALUE_LO);
    const hi = input.u32(at + RegisterAssocLayout.VALUE_LO + 4);
    let status: number;
    if (STRING_REGISTERS.has(name)) {
      const text = readString(input.bytes, listEnd, lo, hi);
      status = text === undefined ? HvStatus.INVALID_PARAMETER : setString(ctx, vp, name, text);
    } else if (name === HvRegister.ExplicitSuspend) {
      status = setExplicitSuspend(ctx, vp, lo, hi);
    } else if (name === HvRegister.InterceptSuspend) {
      status = lo === 0 && hi === 0 ? (completeIo(core, vp), HvStatus.SUCCESS) : HvStatus.INVALID_PARAMETER;
    } else if (name === HvRegister.Rax) {
      vp.rax = lo;
      status = HvStatus.SUCCESS;
    } else {
      const msr = REGISTER_MSRS.get(name);
      status = msr === undefined ? HvStatus.INVALID_PARAMETER : writeMsr(vp, msr, lo, hi);
    }
    if (status !== HvStatus.SUCCESS) return { status, reps: i };
  }
  return { status: HvStatus.SUCCESS, reps: repCount };
}

export function installIntercept(ctx: CallContext): CallOutcome {
  const { input } = ctx;
  const target = resolveTarget(ctx, input.partition(InstallInterceptInput.PARTITION), 'child');
  if (typeof target === 'number') return target;
  if (target.state.kind !== 'active') return HvStatus.INVALID_PARTITION_STATE;
  const access = input.u32(InstallInterceptInput.ACCESS);
  const type = input.u32(InstallInterceptInput.TYPE);
  const port = input.u64(InstallInterceptInput.PARAMETER);
  if (type !== HvInterceptType.X64IoPort) return HvStatus.INVALID_PARAMETER;
  if ((access & ~(HvInterceptAccess.Read | HvInterceptAccess.Write)) !== 0 || port > 0xffffn) return HvStatus.INVALID_PARAMETER;
  if (access === HvInterceptAccess.None) target.ioIntercepts.delete(Number(port));
  else target.ioIntercepts.set(Number(port), access);
  return HvStatus.SUCCESS;
}

function resolveVp(ctx: CallContext, rule: 'child' | 'child-or-self'): Vp | number {
  const target = resolveTarget(ctx, ctx.input.partition(VpInput.PARTITION), rule);
  if (typeof target === 'number') return target;
  const index = ctx.input.u32(VpInput.VP);
  if (index === VP_INDEX_SELF && target === ctx.caller) return ctx.vp;
  return target.vps.get(index) ?? HvStatus.INVALID_VP_INDEX;
}

function readRegister(vp: Vp, name: number): { lo: number; hi: number } | number {
  switch (name) {
    case HvRegister.ExplicitSuspend:
      return { lo: vp.explicitSuspend ? 1 : 0, hi: 0 };
    case HvRegister.InterceptSuspend:
      return { lo: vp.interceptSuspend ? 1 : 0, hi: 0 };
    case HvRegister.Rax:
      return { lo: vp.rax >>> 0, hi: 0 };
    default: {
      const msr = REGISTER_MSRS.get(name);
      if (msr === undefined || msr === HvSynicMsr.Eom) return HvStatus.INVALID_PARAMETER;
      const read = readMsr(vp, msr);
      return read.status === HvStatus.SUCCESS ? read : read.status;
    }
  }
}

function readString(bytes: Uint8Array, listEnd: number, offset: number, length: number): string | undefined {
  if (offset < listEnd || length > MAX_STRING_REGISTER_BYTES || offset + length > bytes.length) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(offset, offset + length));
  } catch {
    return undefined; // not UTF-8: a guest mistake, answered with a status
  }
}

function setString(ctx: CallContext, vp: Vp, name: number, text: string): number {
  if (vp.run.kind !== 'not-started') return HvStatus.INVALID_VP_STATE;
  if (name === HvRegister.EntryArguments) {
    try {
      JSON.parse(text);
    } catch {
      return HvStatus.INVALID_REGISTER_VALUE;
    }
    vp.args = text;
    return HvStatus.SUCCESS;
  }
  try {
    resolveWorkerEntry(text.startsWith('file:') ? new URL(text) : text);
  } catch {
    return HvStatus.INVALID_REGISTER_VALUE;
  }
  vp.entry = text;
  ctx.core.workers.prepare(text); // compile the entry now, so it is ready when the VP starts
  return HvStatus.SUCCESS;
}

function setExplicitSuspend(ctx: CallContext, vp: Vp, lo: number, hi: number): number {
  if (hi !== 0 || lo > 1) return HvStatus.INVALID_PARAMETER;
  if (lo === 1) {
    vp.explicitSuspend = true;
    return HvStatus.SUCCESS;
  }
  if (vp.run.kind === 'not-started') {
    if (vp.entry === undefined) return HvStatus.INVALID_VP_STATE;
    vp.explicitSuspend = false;
    ctx.core.startVpUnchecked(vp);
    return HvStatus.SUCCESS;
  }
  vp.explicitSuspend = false;
  vp.kick();
  return HvStatus.SUCCESS;
}
