/**
 * I/O port accesses and their intercepts (TLFS 2.0 §9, §11.9, §16; hyperv-tlfs.md §4).
 *
 * A VP's IN/OUT is an exit (`VpExitKind.IoRead`/`IoWrite`, port and size in ARG0, value in ARG1).
 * Without an intercept installed by the parent, a read returns all ones and a write is dropped.
 * With one, the VP is intercept-suspended (its exit held), and an HvMessageTypeX64IoPortIntercept
 * message goes to SINT0 of a parent VP; the parent sets Rax (for a read) and clears
 * InterceptSuspend with SetVpRegisters, which completes the access and resumes the VP.
 */
import { IoInterceptMessage } from '../abi/inputs.ts';
import { HvInterceptAccess } from '../abi/partition.ts';
import { HvStatus } from '../abi/status.ts';
import { HvMessageType } from '../abi/synic.ts';
import { VpPageLayout } from '../abi/vp-page.ts';
import type { HypervisorCore } from './core.ts';
import type { Vp } from './vp.ts';

const VALID_SIZES: ReadonlySet<number> = new Set([1, 2, 4]);

/** Handles an I/O exit; returns false when it is held for the parent. */
export function handleIoExit(core: HypervisorCore, vp: Vp, write: boolean): boolean {
  core.metrics.ioExits++;
  const words = vp.words;
  const arg0 = Atomics.load(words, VpPageLayout.ARG0_LO >> 2) >>> 0;
  const value = Atomics.load(words, VpPageLayout.ARG1_LO >> 2) >>> 0;
  const port = arg0 & 0xffff;
  const size = arg0 >>> 16;
  if (!VALID_SIZES.has(size)) return finish(vp, HvStatus.INVALID_PARAMETER, 0);
  const parent = vp.partition.parent;
  const access = vp.partition.ioIntercepts.get(port) ?? 0;
  const wanted = write ? HvInterceptAccess.Write : HvInterceptAccess.Read;
  if (!parent || (access & wanted) === 0) return finish(vp, HvStatus.SUCCESS, write ? 0 : mask(size));
  vp.interceptSuspend = true;
  vp.pendingIo = { port, size, write };
  vp.rax = write ? value & mask(size) : 0;
  const payload = new Uint8Array(IoInterceptMessage.SIZE);
  const view = new DataView(payload.buffer);
  view.setUint32(IoInterceptMessage.VP_INDEX, vp.index, true);
  view.setUint8(IoInterceptMessage.ACCESS_TYPE, write ? 1 : 0);
  view.setUint16(IoInterceptMessage.PORT, port, true);
  view.setUint8(IoInterceptMessage.ACCESS_INFO, size);
  view.setUint32(IoInterceptMessage.RAX, vp.rax, true);
  core.metrics.interceptsDelivered++;
  core.sendToParent(parent, HvMessageType.X64IoPortIntercept, vp.partition.id, payload);
  return false;
}

/** Completes a held I/O access with the parent's Rax and resumes the VP (no-op when none is held). */
export function completeIo(_core: HypervisorCore, vp: Vp): void {
  const io = vp.pendingIo;
  vp.interceptSuspend = false;
  if (!io) return;
  vp.pendingIo = undefined;
  finish(vp, HvStatus.SUCCESS, io.write ? 0 : vp.rax & mask(io.size));
  vp.complete();
  vp.kick();
}

function finish(vp: Vp, status: number, value: number): true {
  Atomics.store(vp.words, VpPageLayout.EXIT_STATUS >> 2, status);
  Atomics.store(vp.words, VpPageLayout.RESULT_LO >> 2, value | 0);
  Atomics.store(vp.words, VpPageLayout.RESULT_HI >> 2, 0);
  return true;
}

function mask(size: number): number {
  return size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
}
