/**
 * Hypercall fuzz: a hostile child fills its hypercall page with random control words, fast
 * registers, input bytes and exit kinds. Every exit must complete with a known HV_STATUS, and no
 * handler may throw (metrics.internalErrors stays 0). A small fast-check budget keeps it quick.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HvCallCode } from '../abi/call-codes.ts';
import { HvStatus } from '../abi/status.ts';
import { PAGE_SIZE, VpExitKind, VpPageLayout } from '../abi/vp-page.ts';
import { HvPrivilege } from '../abi/partition.ts';
import { enableSynic, makeChild } from '../testing/children.ts';
import { testMachine } from '../testing/in-process.ts';

const KNOWN = new Set<number>(Object.values(HvStatus));
const CODES = Object.values(HvCallCode);

describe('hypercall fuzz from a hostile child', () => {
  it('random hypercall pages never throw and always return a TLFS status', () => {
    const m = testMachine();
    enableSynic(m.rootVp);
    const hostile = makeChild(m, { privileges: HvPrivilege.CreatePartitions | HvPrivilege.AccessMemoryPool | HvPrivilege.PostMessages | HvPrivilege.SignalEvents | HvPrivilege.CreatePort | HvPrivilege.ConnectPort, extraPages: 64 });
    enableSynic(hostile.vp);
    const exits = hostile.vp.ctx.exits;
    const bytes = new Uint8Array(exits.page);
    const exit = fc.record({
      code: fc.oneof(fc.constantFrom(...CODES), fc.integer({ min: 0, max: 0xffff })),
      fast: fc.boolean(),
      rep: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xfff })),
      start: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xfff })),
      junkBits: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff })),
      input: fc.uint8Array({ minLength: 0, maxLength: 512 }),
      ids: fc.array(fc.constantFrom(0n, 1n, 2n, 3n, hostile.partition.id, 0xffff_ffff_ffff_ffffn, 2n ** 63n), { minLength: 1, maxLength: 4 }),
      kind: fc.oneof(fc.constant(VpExitKind.Hypercall as number), fc.integer({ min: 0, max: 7 })),
      arg0: fc.integer({ min: 0, max: 0xffffffff }),
      arg1: fc.integer({ min: 0, max: 0xffffffff }),
    });
    fc.assert(
      fc.property(exit, (e) => {
        const input = bytes.subarray(VpPageLayout.INPUT_PAGE, VpPageLayout.INPUT_PAGE + PAGE_SIZE);
        input.fill(0);
        input.set(e.input);
        const view = new DataView(exits.page, VpPageLayout.INPUT_PAGE, PAGE_SIZE);
        e.ids.forEach((id, i) => view.setBigUint64(i * 8, id, true)); // plausible partition ids in the header
        const w = exits.words;
        w[VpPageLayout.ARG0_LO >> 2] = e.arg0;
        w[VpPageLayout.ARG1_LO >> 2] = e.arg1;
        w[VpPageLayout.EXIT_KIND >> 2] = e.kind;
        w[VpPageLayout.CONTROL_LO >> 2] = e.code | (e.fast ? 1 << 16 : 0) | (e.junkBits & 0x0800_0000);
        w[VpPageLayout.CONTROL_HI >> 2] = e.rep | (e.start << 16) | (e.junkBits & 0xf000_0000);
        Atomics.add(w, VpPageLayout.CALL_SEQ >> 2, 1);
        hostile.vp.vp.pollExit();
        if (hostile.vp.vp.interceptSuspend) {
          m.rootVp.ctx.hypercalls.setVpRegisters(hostile.partition.id, 0, [{ name: 1, value: 0n }]);
        }
        const status = e.kind === VpExitKind.Hypercall ? w[VpPageLayout.RESULT_LO >> 2]! & 0xffff : w[VpPageLayout.EXIT_STATUS >> 2]!;
        expect(KNOWN.has(status), `status 0x${status.toString(16)}`).toBe(true);
        expect(m.core.metrics.internalErrors).toBe(0);
        // Drain the root's SIM so the hostile child cannot fill its queues forever.
        for (let sint = 0; sint < 16; sint++) while (m.rootVp.ctx.synic.takeMessage(sint)) continue;
      }),
      { numRuns: 3000, seed: 42 },
    );
    expect(m.core.metrics.hypercalls).toBeGreaterThan(0);
    expect(m.core.metrics.internalErrors).toBe(0);
  });
});
