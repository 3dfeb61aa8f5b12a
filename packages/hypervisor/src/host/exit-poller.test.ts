/**
 * The hypervisor's adaptive polling, driven by a fake clock (each reading advances 1 us) so the
 * bounds are exact: it polls a quiet VP only for its budget, restarts the window on an exit,
 * never polls past its slice, and leaves the VP's HV_POLLING word clear afterwards.
 */
import { describe, expect, it } from 'vitest';
import { HvCallCode } from '../abi/call-codes.ts';
import { encodeInput } from '../abi/control.ts';
import { HvStatus } from '../abi/status.ts';
import { VpExitKind, VpPageLayout } from '../abi/vp-page.ts';
import { testMachine } from '../testing/in-process.ts';
import { ExitPoller } from './exit-poller.ts';
import type { Vp } from './vp.ts';

const W = (offset: number) => offset >> 2;

/** Makes a GetPartitionId exit on `vp`'s page the way a VP worker would (without waiting). */
function exitNullHypercall(vp: Vp): number {
  const { lo, hi } = encodeInput({ code: HvCallCode.GetPartitionId });
  vp.words[W(VpPageLayout.CONTROL_LO)] = lo;
  vp.words[W(VpPageLayout.CONTROL_HI)] = hi;
  vp.words[W(VpPageLayout.EXIT_KIND)] = VpExitKind.Hypercall;
  return Atomics.add(vp.words, W(VpPageLayout.CALL_SEQ), 1) + 1;
}

function fakeClock(onRead: (reading: number) => void = () => {}) {
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    now: () => {
      onRead(++reads);
      return reads / 1000; // ms: 1 us per reading
    },
  };
}

describe('ExitPoller', () => {
  it('handles the exit that rang, polls a quiet VP only for its budget, and clears HV_POLLING', () => {
    const { core, root } = testMachine();
    const vp = root.vps.get(0)!;
    const clock = fakeClock();
    const poller = new ExitPoller(50, 1000, clock.now);
    const seq = exitNullHypercall(vp);
    poller.activity(vp);
    expect(Atomics.load(vp.words, W(VpPageLayout.DONE_SEQ))).toBe(seq);
    expect(Atomics.load(vp.words, W(VpPageLayout.RESULT_LO))).toBe(HvStatus.SUCCESS);
    expect(clock.reads).toBeGreaterThanOrEqual(50);
    expect(clock.reads).toBeLessThan(60); // stopped once 50 us passed without an exit
    expect(Atomics.load(vp.words, W(VpPageLayout.HV_POLLING))).toBe(0);
    expect(core.metrics.hypercalls).toBe(1);
  });

  it('takes exits made while it polls, restarting the window, and publishes a moving heartbeat', () => {
    const { core, root } = testMachine();
    const vp = root.vps.get(0)!;
    const beats = new Set<number>();
    const clock = fakeClock((reading) => {
      if (reading > 2 && reading < 100) beats.add(Atomics.load(vp.words, W(VpPageLayout.HV_POLLING)));
      if (reading === 30 || reading === 70) exitNullHypercall(vp);
    });
    const poller = new ExitPoller(50, 1000, clock.now);
    exitNullHypercall(vp);
    poller.activity(vp);
    expect(poller.polledExits).toBe(2);
    expect(core.metrics.hypercalls).toBe(3);
    expect(clock.reads).toBeGreaterThanOrEqual(120); // 70 + a fresh 50 us window
    expect(beats.size).toBeGreaterThan(10);
    expect(beats.has(0)).toBe(false);
  });

  it('never polls longer than its slice, however busy the VP', () => {
    const { root } = testMachine();
    const vp = root.vps.get(0)!;
    const clock = fakeClock(() => exitNullHypercall(vp)); // an exit before every reading
    const poller = new ExitPoller(50, 200, clock.now);
    exitNullHypercall(vp);
    poller.activity(vp);
    expect(clock.reads).toBeLessThan(210);
  });

  it('does not poll at all with a zero budget', () => {
    const { root } = testMachine();
    const vp = root.vps.get(0)!;
    const clock = fakeClock();
    exitNullHypercall(vp);
    new ExitPoller(0, 1000, clock.now).activity(vp);
    expect(clock.reads).toBeLessThanOrEqual(2);
  });
});
