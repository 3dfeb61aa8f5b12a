import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CALL_SHAPES, HvCallCode, isFastCapable } from './call-codes.ts';
import { decodeInput, decodeResult, encodeInput, encodeResult } from './control.ts';
import * as L from './inputs.ts';
import { RegisterAssocLayout } from './registers.ts';
import { HvStatus, hvStatusName } from './status.ts';
import { HvMessageLayout, SIMP_SIZE, SiefLayout } from './synic.ts';
import { PAGE_SIZE, VpPageLayout } from './vp-page.ts';

describe('ABI layouts', () => {
  it('hv_message is 256 bytes: 16-byte header + 240-byte payload; SIMP and SIEFP are one page', () => {
    expect(HvMessageLayout.SIZE).toBe(256);
    expect(HvMessageLayout.PAYLOAD + HvMessageLayout.PAYLOAD_MAX).toBe(HvMessageLayout.SIZE);
    expect(SIMP_SIZE).toBe(PAGE_SIZE);
    expect(SiefLayout.SIZE).toBe(PAGE_SIZE);
    expect(SiefLayout.BYTES_PER_SINT * 8).toBe(SiefLayout.FLAGS_PER_SINT);
  });

  it('each input layout matches its call shape', () => {
    const pairs: [number, { SIZE: number }][] = [
      [HvCallCode.CreatePartition, L.CreatePartitionInput],
      [HvCallCode.InitializePartition, L.PartitionIdInput],
      [HvCallCode.GetPartitionProperty, L.GetPropertyInput],
      [HvCallCode.SetPartitionProperty, L.SetPropertyInput],
      [HvCallCode.GetNextChildPartition, L.NextChildInput],
      [HvCallCode.DepositMemory, L.DepositInput],
      [HvCallCode.WithdrawMemory, L.WithdrawInput],
      [HvCallCode.MapGpaPages, L.MapGpaInput],
      [HvCallCode.UnmapGpaPages, L.UnmapGpaInput],
      [HvCallCode.InstallIntercept, L.InstallInterceptInput],
      [HvCallCode.CreateVp, L.CreateVpInput],
      [HvCallCode.DeleteVp, L.VpInput],
      [HvCallCode.GetVpRegisters, L.VpInput],
      [HvCallCode.SetVpRegisters, L.VpInput],
      [HvCallCode.CreatePort, L.CreatePortInput],
      [HvCallCode.DeletePort, L.DeletePortInput],
      [HvCallCode.ConnectPort, L.ConnectPortInput],
      [HvCallCode.DisconnectPort, L.DisconnectPortInput],
      [HvCallCode.PostMessage, L.PostMessageInput],
      [HvCallCode.SignalEvent, L.SignalEventInput],
      [HvCallCode.ViridianEnableDirectEvents, L.EnableDirectEventsInput],
      [HvCallCode.ViridianGetSignalCell, L.GetSignalCellInput],
    ];
    for (const [code, layout] of pairs) expect(CALL_SHAPES[code as keyof typeof CALL_SHAPES].header, `0x${code.toString(16)}`).toBe(layout.SIZE);
    expect(CALL_SHAPES[HvCallCode.SetVpRegisters].element).toBe(RegisterAssocLayout.SIZE);
    expect(L.PostMessageInput.SIZE).toBe(256);
    expect(L.IoInterceptMessage.SIZE).toBeLessThanOrEqual(HvMessageLayout.PAYLOAD_MAX);
  });

  it('SignalEvent, Initialize/Finalize/Delete, DeleteVp and DisconnectPort are fast-capable; PostMessage is not', () => {
    for (const code of [HvCallCode.SignalEvent, HvCallCode.InitializePartition, HvCallCode.FinalizePartition, HvCallCode.DeletePartition, HvCallCode.DeleteVp, HvCallCode.DisconnectPort]) {
      expect(isFastCapable(CALL_SHAPES[code])).toBe(true);
    }
    expect(isFastCapable(CALL_SHAPES[HvCallCode.PostMessage])).toBe(false);
    expect(isFastCapable(CALL_SHAPES[HvCallCode.MapGpaPages])).toBe(false);
  });

  it('the VP page keeps its atomics 4-byte aligned and its parameter pages page-aligned', () => {
    for (const key of ['CALL_SEQ', 'DONE_SEQ', 'EXIT_KIND', 'INTERRUPT_SEQ', 'PENDING_SINTS', 'EXIT_STATUS'] as const) expect(VpPageLayout[key] % 4).toBe(0);
    expect(VpPageLayout.INPUT_PAGE % PAGE_SIZE).toBe(0);
    expect(VpPageLayout.SIZE).toBe(3 * PAGE_SIZE);
  });

  it('uses the current numbers for CreatePort and ConnectPort', () => {
    expect(HvCallCode.CreatePort).toBe(0x95);
    expect(HvCallCode.ConnectPort).toBe(0x96);
    expect(HvCallCode.PostMessage).toBe(0x5c);
    expect(HvCallCode.SignalEvent).toBe(0x5d);
  });
});

describe('control word', () => {
  it('round-trips code, fast, rep count and rep start (TLFS bit positions)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.boolean(), fc.integer({ min: 0, max: 0xfff }), fc.integer({ min: 0, max: 0xfff }), (code, fast, repCount, repStart) => {
        const { lo, hi } = encodeInput({ code, fast, repCount, repStart });
        const decoded = decodeInput(lo, hi);
        expect(decoded).toEqual({ code, fast, varHeaderSize: 0, repCount, repStart, reservedBitsSet: false });
        const full = (BigInt(hi) << 32n) | BigInt(lo);
        expect(Number(full & 0xffffn)).toBe(code);
        expect(Number((full >> 32n) & 0xfffn)).toBe(repCount);
        expect(Number((full >> 48n) & 0xfffn)).toBe(repStart);
      }),
    );
  });

  it('flags reserved bits (30:27, nested 31, 47:44, 63:60)', () => {
    expect(decodeInput(1 << 27, 0).reservedBitsSet).toBe(true);
    expect(decodeInput(1 << 31, 0).reservedBitsSet).toBe(true);
    expect(decodeInput(0, 1 << 12).reservedBitsSet).toBe(true);
    expect(decodeInput(0, 1 << 28).reservedBitsSet).toBe(true);
    expect(decodeInput(0x5c, 0).reservedBitsSet).toBe(false);
  });

  it('round-trips the result value', () => {
    const { lo, hi } = encodeResult(HvStatus.INSUFFICIENT_MEMORY, 17);
    expect(decodeResult(lo, hi)).toEqual({ status: 0xb, repsCompleted: 17 });
  });

  it('names statuses, and unknown values as unrecognized', () => {
    expect(hvStatusName(0x12)).toBe('INVALID_CONNECTION_ID');
    expect(hvStatusName(0x1234)).toBe('UNRECOGNIZED(0x1234)');
  });
});
