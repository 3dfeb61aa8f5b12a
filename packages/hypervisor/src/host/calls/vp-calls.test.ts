import { describe, expect, it } from 'vitest';
import { HvInterceptAccess, HvInterceptType } from '../../abi/partition.ts';
import { HvRegister } from '../../abi/registers.ts';
import { HvStatus } from '../../abi/status.ts';
import { HvMessageType, HvSynicMsr } from '../../abi/synic.ts';
import { parseIoIntercept } from '../../guest/child-partitions.ts';
import { enableSynic, makeChild } from '../../testing/children.ts';
import { testMachine } from '../../testing/in-process.ts';

const entry = new URL('../../fixtures/idle-vp.ts', import.meta.url).href;

describe('VP hypercalls (TLFS 2.0 §10)', () => {
  it('CreateVp: reset state is ExplicitSuspend=1, SINTs masked; errors for index, duplicates, pool', () => {
    const m = testMachine();
    const { partition } = makeChild(m, { extraPages: 3 });
    const hc = m.rootVp.ctx.hypercalls;
    const id = partition.id;
    expect(hc.createVp(id, 0)).toBe(HvStatus.INVALID_VP_INDEX); // exists
    expect(hc.createVp(id, 8)).toBe(HvStatus.INVALID_VP_INDEX); // over the limit
    expect(hc.createVp(id, 1)).toBe(HvStatus.SUCCESS);
    expect(hc.getVpRegisters(id, 1, [HvRegister.ExplicitSuspend, HvRegister.InterceptSuspend, HvRegister.Sint0 + 2, HvRegister.Sversion])).toEqual({
      status: HvStatus.SUCCESS,
      value: [1n, 0n, 0x10000n, 1n],
    });
    expect(hc.createVp(id, 2)).toBe(HvStatus.SUCCESS);
    expect(hc.createVp(id, 3)).toBe(HvStatus.INSUFFICIENT_MEMORY);
    expect(hc.deleteVp(id, 2)).toBe(HvStatus.SUCCESS);
    expect(hc.deleteVp(id, 2)).toBe(HvStatus.INVALID_VP_INDEX);
    expect(hc.createVp(id, 3)).toBe(HvStatus.SUCCESS); // its pages came back
  });

  it('SetVpRegisters validates entry registers and suspend values, reporting reps completed', () => {
    const m = testMachine();
    const { partition } = makeChild(m, { extraPages: 3 });
    const hc = m.rootVp.ctx.hypercalls;
    const id = partition.id;
    expect(hc.createVp(id, 1)).toBe(HvStatus.SUCCESS);
    expect(hc.setVpRegisters(id, 1, [{ name: HvRegister.EntryModule, value: '/no/such/module.ts' }])).toEqual({ status: HvStatus.INVALID_REGISTER_VALUE, value: 0 });
    expect(hc.setVpRegisters(id, 1, [{ name: HvRegister.EntryModule, value: entry }, { name: HvRegister.EntryArguments, value: '{not json' }])).toEqual({ status: HvStatus.INVALID_REGISTER_VALUE, value: 1 });
    expect(hc.setVpRegisters(id, 1, [{ name: HvRegister.ExplicitSuspend, value: 2n }]).status).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.setVpRegisters(id, 1, [{ name: HvRegister.InterceptSuspend, value: 1n }]).status).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.setVpRegisters(id, 1, [{ name: 0x12345678, value: 0n }]).status).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.getVpRegisters(id, 1, [HvRegister.EntryModule]).status).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.getVpRegisters(id, 9, [HvRegister.Rax]).status).toBe(HvStatus.INVALID_VP_INDEX);
    // A string register pointing into the rep list itself is refused.
    hc.setVpRegisters(id, 1, [{ name: HvRegister.EntryArguments, value: '1' }]);
    hc.input.setUint32(16 + 16, 0, true);
    expect(hc.call(0x51, { repCount: 1 }).status).toBe(HvStatus.INVALID_PARAMETER);
    // Starting a VP without an entry point is INVALID_VP_STATE.
    expect(hc.createVp(id, 2)).toBe(HvStatus.SUCCESS);
    expect(hc.setVpRegisters(id, 2, [{ name: HvRegister.ExplicitSuspend, value: 0n }]).status).toBe(HvStatus.INVALID_VP_STATE);
  });

  it('synthetic MSRs: SIMP/SIEFP overlays hide and restore the page underneath', () => {
    const m = testMachine();
    const { partition, vp } = makeChild(m);
    const bytes = new Uint8Array(partition.memory!.buffer);
    bytes[4096 + 7] = 0xaa;
    expect(vp.ctx.synic.enable({ simpGpfn: 1, siefpGpfn: 2 })).toBe(HvStatus.SUCCESS);
    expect(bytes[4096 + 7]).toBe(0);
    expect(vp.ctx.exits.readMsr(HvSynicMsr.Simp)).toEqual({ status: HvStatus.SUCCESS, lo: 4096 + 1, hi: 0 });
    expect(vp.ctx.exits.writeMsr(HvSynicMsr.Simp, 5 * 4096 + 1)).toBe(HvStatus.SUCCESS);
    expect(bytes[4096 + 7]).toBe(0xaa);
    expect(vp.ctx.exits.writeMsr(HvSynicMsr.Simp, 4000 * 4096 + 1)).toBe(HvStatus.INVALID_PARAMETER); // unmapped
    expect(vp.ctx.exits.writeMsr(HvSynicMsr.Simp, 4096 + 2)).toBe(HvStatus.INVALID_PARAMETER); // reserved bits
    expect(vp.ctx.exits.writeMsr(HvSynicMsr.Sversion, 2)).toBe(HvStatus.INVALID_PARAMETER);
    expect(vp.ctx.exits.writeMsr(HvSynicMsr.Sint0, 5)).toBe(HvStatus.INVALID_PARAMETER); // vector < 16
    expect(vp.ctx.exits.readMsr(0x1234).status).toBe(HvStatus.INVALID_PARAMETER);
    expect(vp.ctx.exits.readMsr(HvSynicMsr.VpIndex)).toMatchObject({ status: HvStatus.SUCCESS, lo: 0 });
  });

  it('I/O without an intercept reads all ones and drops writes', () => {
    const m = testMachine();
    const { vp } = makeChild(m);
    expect(vp.ctx.exits.ioRead(0x60, 1)).toEqual({ status: HvStatus.SUCCESS, value: 0xff });
    expect(vp.ctx.exits.ioRead(0x60, 4)).toEqual({ status: HvStatus.SUCCESS, value: 0xffffffff });
    expect(vp.ctx.exits.ioWrite(0x60, 2, 5)).toBe(HvStatus.SUCCESS);
    expect(vp.ctx.exits.ioRead(0x60, 3 as 1).status).toBe(HvStatus.INVALID_PARAMETER);
  });

  it('an intercepted I/O read suspends the VP, messages the parent on SINT0, and completes with the parent’s Rax', () => {
    const m = testMachine();
    enableSynic(m.rootVp);
    const { partition, vp } = makeChild(m);
    const hc = m.rootVp.ctx.hypercalls;
    expect(hc.installIntercept(partition.id, HvInterceptType.X64IoPort, HvInterceptAccess.Read | HvInterceptAccess.Write, 0x3f8n)).toBe(HvStatus.SUCCESS);
    expect(hc.installIntercept(partition.id, HvInterceptType.X64Msr, HvInterceptAccess.Read, 0n)).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.installIntercept(partition.id, HvInterceptType.X64IoPort, HvInterceptAccess.Execute, 1n)).toBe(HvStatus.INVALID_PARAMETER);
    expect(hc.installIntercept(partition.id, HvInterceptType.X64IoPort, HvInterceptAccess.Read, 0x10000n)).toBe(HvStatus.INVALID_PARAMETER);
    vp.ctx.exits.ioRead(0x3f8, 1); // held: in-process, the trap returns without completion
    expect(vp.vp.interceptSuspend).toBe(true);
    const message = m.rootVp.ctx.synic.takeMessage(0)!;
    expect(message.type).toBe(HvMessageType.X64IoPortIntercept);
    expect(parseIoIntercept(message)).toEqual({ partitionId: partition.id, vpIndex: 0, port: 0x3f8, size: 1, write: false, value: 0 });
    expect(hc.getVpRegisters(partition.id, 0, [HvRegister.InterceptSuspend]).value).toEqual([1n]);
    expect(hc.setVpRegisters(partition.id, 0, [{ name: HvRegister.Rax, value: 0x1234n }, { name: HvRegister.InterceptSuspend, value: 0n }]).status).toBe(HvStatus.SUCCESS);
    expect(vp.vp.interceptSuspend).toBe(false);
    expect(vp.ctx.exits.words[40 >> 2]).toBe(0x34); // RESULT_LO, masked to one byte
    // Removing the intercept restores the default behaviour.
    expect(hc.installIntercept(partition.id, HvInterceptType.X64IoPort, HvInterceptAccess.None, 0x3f8n)).toBe(HvStatus.SUCCESS);
    expect(vp.ctx.exits.ioRead(0x3f8, 1).value).toBe(0xff);
  });
});
