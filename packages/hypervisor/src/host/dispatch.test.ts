import { describe, expect, it } from 'vitest';
import { HvCallCode } from '../abi/call-codes.ts';
import { HvStatus } from '../abi/status.ts';
import { VpExitKind, VpPageLayout } from '../abi/vp-page.ts';
import { testMachine } from '../testing/in-process.ts';

describe('hypercall dispatch: the common failures (TLFS 2.0 §4.11.3)', () => {
  it('unknown call codes get INVALID_HYPERCALL_CODE', () => {
    const hc = testMachine().rootVp.ctx.hypercalls;
    for (const code of [0x0000, 0x0001, 0x0057, 0x0059, 0x00ff, 0xffff]) expect(hc.call(code).status).toBe(HvStatus.INVALID_HYPERCALL_CODE);
  });

  it('reserved bits and a variable header get INVALID_HYPERCALL_INPUT', () => {
    const { exits } = testMachine().rootVp.ctx;
    expect(exits.hypercall(HvCallCode.GetPartitionId | (1 << 27), 0).lo).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(exits.hypercall(HvCallCode.GetPartitionId | (1 << 17), 0).lo).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(exits.hypercall(HvCallCode.GetPartitionId, 1 << 30).lo).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
  });

  it('rep fields that do not fit the call get INVALID_HYPERCALL_INPUT', () => {
    const hc = testMachine().rootVp.ctx.hypercalls;
    expect(hc.call(HvCallCode.GetPartitionId, { repCount: 1 }).status).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(hc.call(HvCallCode.DepositMemory, { repCount: 0 }).status).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(hc.call(HvCallCode.DepositMemory, { repCount: 2, repStart: 2 }).status).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(hc.call(HvCallCode.DepositMemory, { repCount: 2, fast: true }).status).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(hc.call(HvCallCode.PostMessage, { fast: true }).status).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
  });

  it('parameters that would cross the parameter page get INVALID_ALIGNMENT', () => {
    const hc = testMachine().rootVp.ctx.hypercalls;
    // SetVpRegisters: 16-byte header + 128 x 32-byte elements = 4112 bytes.
    expect(hc.call(HvCallCode.SetVpRegisters, { repCount: 128 }).status).toBe(HvStatus.INVALID_ALIGNMENT);
    // GetVpRegisters: 300 x 16-byte outputs.
    expect(hc.call(HvCallCode.GetVpRegisters, { repCount: 300 }).status).toBe(HvStatus.INVALID_ALIGNMENT);
  });

  it('an unknown exit kind is answered, not thrown', () => {
    const m = testMachine();
    const words = m.rootVp.ctx.exits.words;
    words[VpPageLayout.EXIT_KIND >> 2] = 99;
    Atomics.add(words, VpPageLayout.CALL_SEQ >> 2, 1);
    m.rootVp.vp.pollExit();
    expect(words[VpPageLayout.EXIT_STATUS >> 2]).toBe(HvStatus.INVALID_PARAMETER);
    expect(VpExitKind.Hypercall).toBe(1);
    expect(m.core.metrics.internalErrors).toBe(0);
  });
});
